"""The arguments of `schedule` and `status`; `cli_operations` runs them.

Imports nothing heavy: every command line builds the whole parser (see `cli`)."""

from __future__ import annotations

import argparse

from aggregator.cli_help import USAGE, add_command

COMMANDS = ("schedule", "status")


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    add_command(
        commands,
        common,
        "schedule",
        summary="long-running scheduler: fetch each source at its `every` (quick refreshes, a "
        "full one every `full_every`) and render after each; stops on SIGTERM/SIGINT",
        description="Run until stopped: fetch each source at its `every` (mostly quick "
        "refreshes, a full one when the last is `full_every` old) and render after each "
        "fetch. One line per run on stderr, with the time and its zone (none under systemd, "
        "whose journal adds its own). SIGTERM or SIGINT stops it within 10 seconds.",
        examples=["showcase schedule", "showcase --config /etc/showcase/showcase.toml schedule"],
        exits={0: "stopped by SIGTERM or SIGINT", **USAGE},
    )
    status = add_command(
        commands,
        common,
        "status",
        summary="per source: last success, last error, data age, quota used today, next run; "
        "exit 0 when all are healthy, 1 otherwise",
        description="Per configured source: the last success, the age of the data, the last "
        "error, the quota units and requests spent today and, while `schedule` runs, the next "
        "run; times in `showcase.timezone`, with the zone. Offline and read-only, so it "
        "serves as a monitoring check.",
        examples=["showcase status", "showcase status --json", "showcase status --check-token"],
        exits={
            0: "every source healthy and fresh",
            1: "a source never fetched, failing or stale (named on the last line)",
            **USAGE,
        },
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument(
        "--check-token",
        action="store_true",
        help="also ask Graph (one request) whether the Facebook token is valid and when it expires",
    )
