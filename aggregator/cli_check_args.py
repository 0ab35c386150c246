"""The arguments of `check`; `cli_check` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse

from aggregator.cli_help import USAGE, add_command

COMMANDS = ("check",)


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
