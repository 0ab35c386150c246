"""The `install` subcommand: `showcase install systemd|cron` lays out a service on this host."""

from __future__ import annotations

import argparse

from aggregator.config import Config
from aggregator.install import (
    Layout,
    install,
)

EXIT_OK = 0


def run(args: argparse.Namespace, config: Config) -> int:
    layout = Layout.under(args.root, args.output)
    report = install(args.kind, config, layout, user=args.user, group=args.group)
    for line in report.done:
        print(line)
    for number, line in enumerate(report.todo, start=1):
        print(f"next {number}: {line}")
    return EXIT_OK
