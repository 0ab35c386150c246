"""The `showcase` command line: parse arguments, call the jobs, turn errors into exit codes.

How it behaves, for every command (a new command module gets all of it by registering in
`_COMMAND_MODULES` and adding its parsers with `cli_help.add_command`, in a `cli_X_args`
module that imports nothing heavy: every command line builds the whole parser first):

- `showcase` alone, or a command left without its subcommand (`showcase figures`), prints that
  help on stdout and exits 2: a missing command is a usage error (the contract's 2), so a
  crontab line that lost its command fails loudly; `showcase --help` is the way to exit 0.
- Each command's `--help` has a description, examples and its exit codes (`cli_help`).
- `-v`/`--verbose`: what happened, debugging detail and tracebacks. `--progress`: one line per
  source and step, and the live counters even where stderr is not a terminal.
- Live progress (`progress`) shows by itself only on a terminal that is not the journal.
- Exit 75 (the lock is held) prints nothing unless `--verbose`: cron mails only failures.
- Output cut short by its reader (`showcase report | head`) ends quietly: no traceback, the
  command's own exit code when it had finished, else 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aggregator import (
    __version__,
    cli_check_args,
    cli_curation_args,
    cli_db_args,
    cli_episodes_args,
    cli_figures_args,
    cli_install_args,
    cli_operations_args,
    cli_serve_args,
    cli_setup_args,
    cli_staff_args,
    progress,
)
from aggregator.cli_help import (
    FETCHED,
    FILE_COMPLETION,
    HELP_PARSER,
    LOCKED,
    SOURCE_FAILED,
    USAGE,
    add_command,
    epilog,
    wrap,
)
from aggregator.config import SOURCES, Config, load_config, require_secrets
from aggregator.cycles import collector_paused
from aggregator.errors import ConfigError, DatabaseError, LockedError, UsageError, redact
from aggregator.publish import PublishError
from aggregator.times import SECONDS, shown_time

if TYPE_CHECKING:
    from aggregator.jobs import FetchOutcome

EXIT_OK = 0
EXIT_SOURCE_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75

CONFIG_VARIABLE = "SHOWCASE_CONFIG"
DEFAULT_CONFIG = "showcase.toml"
COMPLETION_SHELLS = ("bash", "zsh", "tcsh")

log = logging.getLogger("aggregator")


class RedactingFormatter(logging.Formatter):
    """Secrets out of every line; `%(asctime)s`, when used, in `zone` with the zone named."""

    def __init__(self, fmt: str, zone: ZoneInfo | None = None) -> None:
        super().__init__(fmt)
        self.zone = zone

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created).astimezone()
        return shown_time(moment, self.zone, SECONDS) if self.zone else moment.strftime(SECONDS)


class ProgressAwareHandler(logging.StreamHandler):
    """A log line first wipes a live progress line, which the next count draws again."""

    def emit(self, record: logging.LogRecord) -> None:
        progress.clear_line()
        super().emit(record)


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="showcase",
        description=wrap(
            "Fetch a hashtag's videos and the social figures, render the showcase.\n\n"
            "Start with `showcase init` (a config) or `showcase demo` (no keys needed); "
            "`showcase COMMAND --help` tells more about each command, with its exit codes."
        ),
        epilog=epilog(
            ["showcase demo", "showcase --config /etc/showcase/showcase.toml update"],
            {
                0: "done: every source fetched and rendered, every check passed, all healthy",
                1: "a source or a check failed, or `status` found a source unhealthy",
                **USAGE,
                **LOCKED,
            },
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"showcase {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_pipeline_parsers(commands, common)
    for arguments, _runner in _COMMAND_MODULES:
        arguments.add_parsers(commands, common)
    _add_completion_parser(commands, common)
    return parser


def _common_options() -> argparse.ArgumentParser:
    """Accepted before and after the command alike: `showcase -v update`, `showcase update -v`."""
    common = argparse.ArgumentParser(add_help=False)
    config = common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        metavar="FILE",
        help=f"config file (default: ${CONFIG_VARIABLE}, else ./{DEFAULT_CONFIG})",
    )
    config.complete = FILE_COMPLETION  # type: ignore[attr-defined]
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="say what happened, with debugging detail and tracebacks for failures",
    )
    common.add_argument(
        "--progress",
        action="store_true",
        default=argparse.SUPPRESS,
        help="one line per source and step, and the counters of long work (thumbnails, pages "
        "read) even where stderr is not a terminal (on a terminal they show anyway)",
    )
    return common


def _add_pipeline_parsers(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    update = add_command(
        commands,
        common,
        "update",
        summary="fetch every configured source, then render (the one line for cron)",
        description="Fetch every configured source (figures, every video and post), copy new "
        "thumbnails into the output folder, then render. Prints nothing on success; each "
        "failure is one line on stderr naming the source and the cause. Gives up within two "
        "minutes when an API hangs or trickles. A complete listing that suddenly loses most "
        "of its items retires nothing and says so in one line; --accept-shrink confirms it.",
        examples=[
            "showcase update",
            "showcase update --quick",
            "showcase update --progress",
            "showcase update --accept-shrink",
        ],
        exits={**FETCHED, **SOURCE_FAILED, **USAGE, **LOCKED},
    )
    fetch = add_command(
        commands,
        common,
        "fetch",
        summary="fetch only, no render",
        description="Fetch the named sources (all configured ones when none is named) into "
        "the database; render nothing.",
        examples=["showcase fetch youtube facebook", "showcase fetch --record recording/"],
        exits={**FETCHED, **SOURCE_FAILED, **USAGE, **LOCKED},
    )
    fetch.add_argument("sources", nargs="*", metavar="SOURCE", help=f"one of {', '.join(SOURCES)}")
    for command in (update, fetch):
        command.add_argument(
            "--quick",
            action="store_true",
            help="a cheap refresh: figures, the newest items and the showcased videos' "
            "statistics (3 YouTube units, 3 Graph requests); retires nothing",
        )
        command.add_argument(
            "--accept-shrink",
            action="store_true",
            help="retire what a complete listing no longer holds even when it lost most of "
            "its items at once (by default such a sudden shrink retires nothing)",
        )
        command.add_argument(
            "--record",
            type=Path,
            metavar="DIR",
            help="write every request and answer of the run into DIR (a new folder) as JSON "
            "files, secrets removed: what to send with a bug report",
        )
    add_command(
        commands,
        common,
        "render",
        summary="render only, from the database",
        description="Render the page, the fragment, the figures and the feeds from what the "
        "database holds, with no network. Every file is written atomically.",
        examples=["showcase render"],
        exits={0: "rendered", 1: "rendering failed (one line on stderr)", **USAGE},
    )
    demo = add_command(
        commands,
        common,
        "demo",
        summary="the whole pipeline on bundled sample data, no keys",
        description="Fetch bundled sample data from a fake API on 127.0.0.1 (no keys, no "
        "network), render it and print the path of the page. Needs no config.",
        examples=[
            "showcase demo",
            "showcase demo --directory /tmp/showcase-demo",
            "showcase demo --replay recording/ --directory replayed",
        ],
        exits={0: "the page rendered", 1: "the replayed run failed, as it did", **USAGE},
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


def _add_completion_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    completion = add_command(
        commands,
        common,
        "completion",
        summary="print the shell completion script (bash, zsh, tcsh)",
        description="Print a script that completes showcase's commands, options and files "
        "when Tab is pressed. Needs no config; the script calls nothing at run time.",
        examples=[
            "showcase completion bash > ~/.local/share/bash-completion/completions/showcase",
            "showcase completion zsh > ~/.zfunc/_showcase",
        ],
        exits={0: "the script printed", **USAGE},
    )
    completion.add_argument("shell", choices=COMPLETION_SHELLS, help="the shell to complete in")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    asked_progress = getattr(args, "progress", False)
    _configure_logging(steps=asked_progress or verbose, debug=verbose)
    progress.configure(
        progress.Display(sys.stderr, progress.choose_mode(sys.stderr, asked_progress))
    )
    code: int | None = None
    try:
        code = _run_reporting_errors(parser, args, verbose)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _stop_writing_stdout()
        return EXIT_OK if code is None else code
    finally:
        progress.configure(None)


def _run_reporting_errors(
    parser: argparse.ArgumentParser, args: argparse.Namespace, verbose: bool
) -> int:
    try:
        missing = _missing_command_help(parser, args)
        if missing is not None:
            print(missing.format_help(), end="")
            return EXIT_USAGE
        return _run(args)
    except BrokenPipeError:
        raise
    except ConfigError as error:
        _say(f"config: {error}")
        return EXIT_USAGE
    except UsageError as error:
        _say(str(error))
        return EXIT_USAGE
    except DatabaseError as error:  # cannot be opened, read or upgraded: nothing fetched
        _say(str(error))
        return EXIT_USAGE
    except LockedError as error:
        if verbose:
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


def _missing_command_help(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser | None:
    """The parser whose command was chosen but whose subcommand was not given, if any."""
    chosen = getattr(args, HELP_PARSER, parser)
    for action in chosen._actions:
        if isinstance(action, argparse._SubParsersAction) and not getattr(args, action.dest, None):
            return chosen
    return None


def _stop_writing_stdout() -> None:
    """The reader went away (`| head`): point stdout at /dev/null so that the interpreter's
    last flush at exit does not fail again (Python's documented way, see the `signal` docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# Each command module comes in two: `cli_X_args` adds its subcommands to the parser
# (`add_parsers`, `COMMANDS`) and imports nothing heavy, so that `--help` and `status` start
# quickly; `cli_X` runs them (`run`) and is imported only when one of its commands is chosen.
# `add_parsers` uses `cli_help.add_command`, so every `--help` has examples and exit codes.
_COMMAND_MODULES = (
    (cli_figures_args, "aggregator.cli_figures"),
    (cli_operations_args, "aggregator.cli_operations"),
    (cli_serve_args, "aggregator.cli_serve"),
    (cli_curation_args, "aggregator.cli_curation"),
    (cli_episodes_args, "aggregator.cli_episodes"),
    (cli_check_args, "aggregator.cli_check"),
    (cli_install_args, "aggregator.cli_install"),
    (cli_setup_args, "aggregator.cli_setup"),
    (cli_staff_args, "aggregator.cli_staff"),
    (cli_db_args, "aggregator.cli_db"),
)


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return _demo(args)
    if args.command == "completion":
        import shtab

        print(shtab.complete(build_parser(), shell=args.shell).rstrip("\n"))
        return EXIT_OK
    if args.command in cli_setup_args.COMMANDS_WITHOUT_CONFIG:
        return import_module("aggregator.cli_setup").run_without_config(args)
    if args.command in cli_db_args.COMMANDS:  # both databases are named on the command line
        return import_module("aggregator.cli_db").run(args)
    config = load_config(config_path(getattr(args, "config", None)))
    for arguments, runner in _COMMAND_MODULES:
        if args.command in arguments.COMMANDS:
            return import_module(runner).run(args, config)
    if args.command == "render":
        return _render(config)
    return _fetch(args, config)


def _render(config: Config) -> int:
    with collector_paused():  # the imports too: a third of them is the collector's
        from aggregator import jobs

        with _relative_links_warning(config):
            jobs.render_only(config)
    return EXIT_OK


def _fetch(args: argparse.Namespace, config: Config) -> int:
    from aggregator import jobs
    from aggregator.recording import recording

    sources = _requested_sources(config, getattr(args, "sources", None))
    require_secrets(config, sources)
    mode = jobs.QUICK if getattr(args, "quick", False) else jobs.FULL
    render = args.command == "update"
    with (
        recording(args.record, config, sources, args.command),
        _relative_links_warning(config, render),
    ):
        accept_shrink = getattr(args, "accept_shrink", False)
        outcomes = jobs.update(
            config, sources, render=render, mode=mode, accept_shrink=accept_shrink
        )
    return _report(outcomes, getattr(args, "verbose", False))


def config_path(given: Path | None, environ: dict[str, str] | None = None) -> Path:
    """--config, else $SHOWCASE_CONFIG, else ./showcase.toml; one that is not there is a
    ConfigError saying where it looked and how to choose another."""
    env = os.environ if environ is None else environ
    if given is not None:
        path, origin = given, "given with --config"
    elif env.get(CONFIG_VARIABLE):
        path, origin = Path(env[CONFIG_VARIABLE]), f"from ${CONFIG_VARIABLE}"
    else:
        path, origin = Path(DEFAULT_CONFIG), f"the default, as ${CONFIG_VARIABLE} is not set"
    try:
        missing = not path.exists()
    except OSError:  # there, but out of reach: load_config says it cannot be read
        missing = False
    if missing:
        raise ConfigError(
            f"no config file at {path.absolute()} ({origin}); name one with --config FILE or "
            f"{CONFIG_VARIABLE}=FILE, or write one with `showcase init`"
        )
    return path


@contextmanager
def _relative_links_warning(config: Config, rendering: bool = True) -> Iterator[None]:
    """After a render without `output.base_url`: one warning line for a person at a terminal.
    Under cron or systemd nothing: the contract promises that what schedulers run prints
    nothing on success; `status` (the monitoring check) says it instead."""
    from aggregator import jobs

    warning = jobs.relative_links_warning(config) if rendering else None
    tell = warning is not None and sys.stderr.isatty()
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
        from aggregator import jobs

        return jobs.fetchable_sources(config)
    for name in names:
        if name not in SOURCES:
            raise ConfigError(f"unknown source {name!r} (choose from {', '.join(SOURCES)})")
        if name not in config.configured_sources():
            raise ConfigError(f"{name}: not configured (no [{name}] table in the config)")
    return list(dict.fromkeys(names))


def _report(outcomes: list[FetchOutcome], verbose: bool) -> int:
    _tell_skipped(outcomes)
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    for outcome in failed:
        assert outcome.error is not None
        _say(outcome.error.line())
        if verbose:
            _print_traceback(outcome.error)
    return EXIT_SOURCE_FAILED if failed else EXIT_OK


def _tell_skipped(outcomes: list[FetchOutcome]) -> None:
    """Items a source could not understand: one line each for a person at a terminal. Under
    cron nothing (a skipped item is not a failed source, and cron mails any output); the
    lines are in the log at --progress or --verbose."""
    if not sys.stderr.isatty():
        return
    for outcome in outcomes:
        for skip in outcome.skipped:
            _say(f"warning: {skip.line()}")


def _print_traceback(error: BaseException) -> None:
    cause = error.__cause__ or error
    text = "".join(traceback.format_exception(cause))
    print(redact(text), file=sys.stderr)


def _say(line: str) -> None:
    print(f"showcase: {redact(line)}", file=sys.stderr)


def _configure_logging(steps: bool, debug: bool) -> None:
    handler = ProgressAwareHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if debug else logging.INFO if steps else logging.WARNING)
