"""The `check` subcommand: each configured source asked once, with the real credentials."""

from __future__ import annotations

import argparse

from aggregator import jobs
from aggregator.config import Config
from aggregator.errors import redact

EXIT_OK = 0
EXIT_FAILED = 1


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
