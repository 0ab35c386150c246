"""The `check` subcommand: each configured source asked once, with the real credentials."""

from __future__ import annotations

import argparse

from aggregator import jobs
from aggregator.cli_help import USAGE, add_command
from aggregator.config import Config
from aggregator.errors import redact

COMMANDS = ("check",)
EXIT_OK = 0
EXIT_FAILED = 1


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    add_command(
        commands,
        common,
        "check",
        summary="check each configured source once, cheaply, with the real credentials: one "
        "line per check (✓ or ✗ with the fix); exit 0 when all pass, 1 otherwise",
        description="Ask each configured source once, cheaply, with the real credentials "
        "(YouTube 2 quota units, Facebook 4 Graph requests, the website 1 to 3 requests): is "
        "the key accepted, the channel, page and tag found, the token a page token that "
        "lasts, the proxy the one meant? One line per check, ✓ or ✗ with the fix; no secret "
        "is ever printed.",
        examples=["showcase check", "SHOWCASE_CONFIG=/etc/showcase/showcase.toml showcase check"],
        exits={0: "every check passed", 1: "at least one check failed (✗ lines)", **USAGE},
    )


def run(args: argparse.Namespace, config: Config) -> int:
    from aggregator.checks import run_checks

    checks = run_checks(config, jobs.default_policy().start())
    for check in checks:
        print(redact(check.line()))
    failed = sum(not check.ok for check in checks)
    if failed:
        print(f"{failed} of {len(checks)} checks failed")
        return EXIT_FAILED
    print(f"all {len(checks)} checks passed")
    return EXIT_OK
