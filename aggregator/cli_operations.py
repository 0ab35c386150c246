"""The `schedule` and `status` subcommands.

`schedule` runs until SIGTERM or SIGINT and then exits 0 within 10 seconds: a job still
running after `scheduler.SHUTDOWN_SECONDS` is abandoned (its transaction is rolled back by
the database, its lock released by the kernel). `status` prints a table (or `--json`) and
exits 0 when every source is healthy, 1 otherwise, so it serves as a monitoring check.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from types import FrameType
from zoneinfo import ZoneInfo

from aggregator import jobs
from aggregator.cli_help import USAGE, add_command
from aggregator.config import Config, require_secrets

COMMANDS = ("schedule", "status")
EXIT_OK = 0
EXIT_UNHEALTHY = 1


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


def run(args: argparse.Namespace, config: Config) -> int:
    if args.command == "schedule":
        return _schedule(config, getattr(args, "verbose", False))
    return _status(config, json_output=args.json, check_token=args.check_token)


def _schedule(config: Config, verbose: bool) -> int:
    from aggregator.scheduler import Scheduler

    require_secrets(config, jobs.fetchable_sources(config))
    _log_one_line_per_run(verbose, ZoneInfo(config.showcase.timezone))
    runner = Scheduler(config)

    def stop(signum: int, frame: FrameType | None) -> None:
        runner.stop()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        finished = runner.run()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if not finished:
        # The job's worker thread would hold the interpreter's exit past the contract's 10 s.
        logging.shutdown()
        sys.stderr.flush()
        os._exit(EXIT_OK)
    return EXIT_OK


def _log_one_line_per_run(verbose: bool, zone: ZoneInfo) -> None:
    """The scheduler's own lines (one per run) at INFO even without -v, with the time in
    `zone` and the zone named, unless journald (which adds its own) reads stderr.
    APScheduler's warnings about skipped and missed runs are said by the scheduler in its own
    words; its errors still show."""
    from aggregator.cli import RedactingFormatter

    package = logging.getLogger("aggregator")
    prefix = "" if os.environ.get("JOURNAL_STREAM") else "%(asctime)s "
    for handler in package.handlers:
        handler.setFormatter(RedactingFormatter(prefix + "%(message)s", zone))
    scheduler_log = logging.getLogger("aggregator.scheduler")
    scheduler_log.setLevel(logging.DEBUG if verbose else logging.INFO)
    apscheduler_log = logging.getLogger("apscheduler")
    apscheduler_log.handlers[:] = list(package.handlers)
    apscheduler_log.propagate = False
    apscheduler_log.setLevel(logging.DEBUG if verbose else logging.ERROR)


def _status(config: Config, json_output: bool, check_token: bool) -> int:
    from aggregator import status

    token_check = None
    if check_token and config.facebook is not None:
        require_secrets(config, ["facebook"])

        def token_check(config: Config) -> status.TokenView:
            return status.check_facebook_token(config, jobs.default_policy().start())

    found = status.collect(config, token_check=token_check)
    if json_output:
        print(json.dumps(status.as_json(found), indent=2, ensure_ascii=False))
    else:
        print(status.format_table(found, ZoneInfo(config.showcase.timezone)))
    return EXIT_OK if found.healthy else EXIT_UNHEALTHY
