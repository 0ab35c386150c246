"""The `showcase` command line: parse arguments, call the jobs, turn errors into exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from aggregator import (
    __version__,
    cli_check,
    cli_curation,
    cli_figures,
    cli_operations,
    cli_serve,
    jobs,
)
from aggregator.config import SOURCES, Config, default_config_path, load_config, require_secrets
from aggregator.errors import ConfigError, LockedError, UsageError, redact
from aggregator.publish import PublishError
from aggregator.recording import recording
from aggregator.render import FRAGMENT_FILE

EXIT_OK = 0
EXIT_SOURCE_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75

log = logging.getLogger("aggregator")


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: $SHOWCASE_CONFIG, else ./showcase.toml)",
    )
    common.add_argument(
        "-v",
        "--progress",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print progress: one line per source and step",
    )
    common.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="progress and debugging detail, with tracebacks for failures",
    )
    parser = argparse.ArgumentParser(
        prog="showcase",
        description="Fetch a hashtag's videos and the social figures, render the showcase.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"showcase {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    update = commands.add_parser(
        "update",
        parents=[common],
        help="fetch every configured source, then render (the one line for cron)",
    )
    fetch = commands.add_parser("fetch", parents=[common], help="fetch only, no render")
    fetch.add_argument("sources", nargs="*", metavar="SOURCE", help=f"one of {', '.join(SOURCES)}")
    for command in (update, fetch):
        command.add_argument(
            "--quick",
            action="store_true",
            help="a cheap refresh: figures, the newest items and the showcased videos' "
            "statistics (3 YouTube units, 3 Graph requests); retires nothing",
        )
        command.add_argument(
            "--record",
            type=Path,
            metavar="DIR",
            help="write every request and answer of the run into DIR (a new folder) as JSON "
            "files, secrets removed: what to send with a bug report",
        )
    commands.add_parser("render", parents=[common], help="render only, from the database")
    demo = commands.add_parser(
        "demo", parents=[common], help="the whole pipeline on bundled sample data, no keys"
    )
    demo.add_argument(
        "--directory",
        type=Path,
        default=Path("showcase-demo"),
        help="where the demo writes its database and page (default: ./showcase-demo)",
    )
    demo.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="serve a recording (fetch --record DIR) instead of the sample data",
    )
    for module in _COMMAND_MODULES:
        module.add_parsers(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    _configure_logging(progress=getattr(args, "progress", False) or verbose, debug=verbose)
    try:
        return _run(args)
    except ConfigError as error:
        _say(f"config: {error}")
        return EXIT_USAGE
    except UsageError as error:
        _say(str(error))
        return EXIT_USAGE
    except LockedError as error:
        _say(str(error))
        return EXIT_LOCKED
    except PublishError as error:  # after the render: the files are in place
        _report(error.outcomes, verbose)
        _say(str(error))
        return EXIT_SOURCE_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_SOURCE_FAILED
    except Exception as error:  # one line, never a traceback unless asked for
        _say(f"error: {type(error).__name__}: {error}")
        if verbose:
            _print_traceback(error)
        return EXIT_SOURCE_FAILED


# Each adds its subcommands to the parser and runs them: `add_parsers`, `COMMANDS`, `run`.
_COMMAND_MODULES = (cli_figures, cli_operations, cli_serve, cli_curation, cli_check)


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return _demo(args)
    config = load_config(getattr(args, "config", None) or default_config_path())
    for module in _COMMAND_MODULES:
        if args.command in module.COMMANDS:
            return module.run(args, config)
    if args.command == "render":
        with _relative_links_warning(config):
            jobs.render_only(config)
        return EXIT_OK
    sources = _requested_sources(config, getattr(args, "sources", None))
    require_secrets(config, sources)
    mode = jobs.QUICK if getattr(args, "quick", False) else jobs.FULL
    render = args.command == "update"
    with (
        recording(args.record, config, sources, args.command),
        _relative_links_warning(config, render),
    ):
        outcomes = jobs.update(config, sources, render=render, mode=mode)
    return _report(outcomes, getattr(args, "verbose", False))


@contextmanager
def _relative_links_warning(config: Config, rendering: bool = True) -> Iterator[None]:
    """After a render without `output.base_url`: one warning line, on a terminal each time,
    under cron or systemd only when the output folder gets its first fragment.html (one mail
    when the site is set up, not one every run; `status` keeps saying it)."""
    first = not (config.output_dir / FRAGMENT_FILE).exists()
    warning = jobs.relative_links_warning(config) if rendering else None
    tell = warning is not None and (first or sys.stderr.isatty())
    try:
        yield
    except PublishError:  # the render itself went through
        if tell:
            _say(f"warning: {warning}")
        raise
    if tell:
        _say(f"warning: {warning}")


def _demo(args: argparse.Namespace) -> int:
    from aggregator.demo import run_demo, run_replay

    if args.replay is None:
        print(run_demo(args.directory))
        return EXIT_OK
    index, outcomes = run_replay(args.replay, args.directory)
    print(index)
    return _report(outcomes, getattr(args, "verbose", False))


def _requested_sources(config: Config, names: list[str] | None) -> list[str]:
    if not names:
        return jobs.fetchable_sources(config)
    for name in names:
        if name not in SOURCES:
            raise ConfigError(f"unknown source {name!r} (choose from {', '.join(SOURCES)})")
        if name not in config.configured_sources():
            raise ConfigError(f"{name}: not configured (no [{name}] table in the config)")
    return list(dict.fromkeys(names))


def _report(outcomes: list[jobs.FetchOutcome], verbose: bool) -> int:
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    for outcome in failed:
        assert outcome.error is not None
        _say(outcome.error.line())
        if verbose:
            _print_traceback(outcome.error)
    return EXIT_SOURCE_FAILED if failed else EXIT_OK


def _print_traceback(error: BaseException) -> None:
    cause = error.__cause__ or error
    text = "".join(traceback.format_exception(cause))
    print(redact(text), file=sys.stderr)


def _say(line: str) -> None:
    print(f"showcase: {redact(line)}", file=sys.stderr)


def _configure_logging(progress: bool, debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if debug else logging.INFO if progress else logging.WARNING)
