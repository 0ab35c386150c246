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

from aggregator.config import Config, require_secrets

EXIT_OK = 0
EXIT_UNHEALTHY = 1


def run(args: argparse.Namespace, config: Config) -> int:
    if args.command == "schedule":
        return _schedule(config, getattr(args, "verbose", False))
    return _status(config, json_output=args.json, check_token=args.check_token)


def _schedule(config: Config, verbose: bool) -> int:
    from aggregator import jobs
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
            from aggregator import jobs

            return status.check_facebook_token(config, jobs.default_policy().start())

    found = status.collect(config, token_check=token_check)
    if json_output:
        print(json.dumps(status.as_json(found), indent=2, ensure_ascii=False))
    else:
        print(status.format_table(found, ZoneInfo(config.showcase.timezone)))
    return EXIT_OK if found.healthy else EXIT_UNHEALTHY
