"""The `figures` and `report` subcommands: arguments in, one store call, text out.

Usage errors (a bad key, a value that is not a count, a bad date) raise `UsageError`, which
the main command line turns into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from sqlalchemy.orm import Session

from aggregator import actions, figures, jobs, store
from aggregator.cli_help import rendering
from aggregator.config import Config
from aggregator.context import FIGURE_LABELS, figure_label, figure_views
from aggregator.errors import UsageError
from aggregator.files import write_atomic
from aggregator.render import Formats, source_label
from aggregator.report import FORMATS, build_report, render_report
from aggregator.times import shown_time

RENDERED_AFTER = ("set", "unset")  # what changes the page; `--no-render` skips it
EXPORT_COLUMNS = ("key", "label", "source", "taken_at", "value")

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, config: Config, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            if args.command == "report":
                return _report(session, config, args, now)
            action: Callable[[Session, Config, argparse.Namespace, datetime], None] = {
                "set": _set,
                "backfill": _backfill,
                "list": _list,
                "unset": _unset,
                "export": _export,
            }[args.figures_command]
            action(session, config, args, now)
        if args.figures_command in RENDERED_AFTER and not args.no_render:
            jobs.render_output(engine, config)
        return 0
    finally:
        engine.dispose()


def _set(session: Session, config: Config, args: argparse.Namespace, now: datetime) -> None:
    day = figures.parse_day(args.as_of, "--as-of") if args.as_of else None
    outcome = actions.set_figure(
        session, config, args.key, args.value, args.label, day, actions.command_line_actor(), now
    )
    print(f"{outcome.message}; {rendering(args)}")


def _backfill(session: Session, config: Config, args: argparse.Namespace, now: datetime) -> None:
    if args.key not in FIGURE_LABELS:
        raise UsageError(
            f"figure key {args.key!r}: backfill is for the fetched figures "
            f"({', '.join(FIGURE_LABELS)}); use `figures set` for your own"
        )
    value = figures.parse_count(args.value)
    day = figures.parse_day(args.as_of, "--as-of")
    _check_backfill_day(session, config, args.key, day, now)
    try:
        store.backfill_figure(session, args.key, value, figures.entry_moment(day))
    except ValueError as error:
        raise UsageError(f"figures backfill: {error}; only earlier days can be filled in") from None
    print(f"figures backfill: {args.key} was {value} on {day.isoformat()} (history only)")


def _check_backfill_day(
    session: Session, config: Config, key: str, day: date, now: datetime
) -> None:
    """A backfill tells what a figure was before showcase fetched it: a day before its first
    fetched value (in the configured time zone), never one the API has spoken for."""
    first = store.first_fetched_at(session, key)
    first_day = figures.local_day(first, ZoneInfo(config.showcase.timezone)) if first else None
    hint = "only earlier days can be filled in"
    if first_day is not None:
        hint += f" (--as-of {(first_day - timedelta(days=1)).isoformat()} or before)"
    if day > _today(config, now):
        raise UsageError(f"figures backfill: --as-of {day.isoformat()} lies in the future; {hint}")
    if first_day is not None and day >= first_day:
        raise UsageError(
            f"figures backfill: {key} was first fetched on {first_day.isoformat()}; {hint}"
        )


def _unset(session: Session, config: Config, args: argparse.Namespace, now: datetime) -> None:
    outcome = actions.unset_figure(session, config, args.key, actions.command_line_actor(), now)
    print(f"{outcome.message}; {rendering(args)}")


def _list(session: Session, config: Config, args: argparse.Namespace, now: datetime) -> None:
    """A table: key, label, value and date in the configured locale, where it came from."""
    zone = ZoneInfo(config.showcase.timezone)
    formats = Formats(Locale.parse(config.showcase.locale), zone)
    rows = [("key", "label", "value", "as of", "source")]
    for view in figure_views(session, config, now):
        as_of = "" if view.as_of is None else formats.local_date(view.as_of)
        if view.as_of is not None and not view.manual:
            as_of = shown_time(view.as_of, zone)
        origin = "von Hand" if view.manual else source_label(view.source)
        flags = [flag for flag, on in (("gerundet", view.rounded), ("veraltet", view.stale)) if on]
        origin += f" ({', '.join(flags)})" if flags else ""
        rows.append((view.key, view.label, formats.count(view.value), as_of, origin))
    if len(rows) > 1:
        print(_table(rows))


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if column == 2 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _export(session: Session, config: Config, args: argparse.Namespace, now: datetime) -> None:
    """key,label,source,taken_at,value: every recorded value, ISO-8601 UTC, plain integers.
    A figure taken off with `figures unset` keeps the label its history recorded."""
    labels = {row.key: figure_label(row) for row in store.current_figures(session)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in store.figure_history_rows(session):
        taken_at = row.taken_at.isoformat(timespec="seconds")
        label = labels.get(row.key) or row.label or FIGURE_LABELS.get(row.key, row.key)
        writer.writerow([row.key, label, row.source, taken_at, row.value])
    _emit(out.getvalue(), args.output)


def _report(session: Session, config: Config, args: argparse.Namespace, now: datetime) -> int:
    since = figures.parse_day(args.since, "--since")
    until = figures.parse_day(args.until, "--until") if args.until else _today(config, now)
    if args.format not in FORMATS:
        raise UsageError(f"--format {args.format!r}: choose one of {', '.join(FORMATS)}")
    report = build_report(session, config, since, until, now)
    _emit(render_report(report, args.format, config.template_dirs), args.output)
    return 0


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        print(text, end="")
    else:
        write_atomic(output, text.encode("utf-8"))


def _today(config: Config, now: datetime) -> date:
    return figures.local_day(now, ZoneInfo(config.showcase.timezone))
