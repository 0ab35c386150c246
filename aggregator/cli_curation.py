"""Staff curation: `pin`, `hide`, `unhide`, `include` (the contract's four), `unpin` and
`exclude` (extras that undo a pin and an include), and `curation` (the list).

Each command sets or clears one mark of one item in the store's `curation` table and renders
nothing: the next `render` or `update` shows it (see `context.showcase_rows` for the rules).
An item is named `SOURCE:ID`, the platform's id as in the page's `data-id` (split on the first
`:` only); it need not be in the database yet, so an item can be included before it is fetched.
No lock: the change is one short transaction, and SQLite's busy_timeout waits out a running
fetch's writes. Quiet on success; `-v` says what changed and, when the item is not in the
showcase, why (not fetched yet, not public, without the hashtag, hidden).
"""

from __future__ import annotations

import argparse
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from aggregator import store
from aggregator.cli_help import DONE, add_command
from aggregator.config import SOURCES, Config
from aggregator.context import showcase_rows
from aggregator.errors import UsageError
from aggregator.times import shown_time

log = logging.getLogger(__name__)

_ID = re.compile(r"[^\s/]{1,128}")
_TITLE_LENGTH = 60


@dataclass(frozen=True)
class Action:
    mark: str  # a column of `store.CurationRow`
    on: bool  # set the mark, or take it off
    word: str  # the mark for -v: "pinned", "hidden", "included"
    help: str


ACTIONS = {
    "pin": Action("pinned_at", True, "pinned", "pin an item to the top (the latest pin first)"),
    "hide": Action("hidden_at", True, "hidden", "keep an item off the page, fragment and feeds"),
    "unhide": Action("hidden_at", False, "hidden", "show a hidden item again"),
    "include": Action(
        "included_at", True, "included", "add an item that lacks the hashtag (while it is public)"
    ),
    "unpin": Action("pinned_at", False, "pinned", "take an item's pin off"),
    "exclude": Action(
        "included_at", False, "included", "undo `include`: the hashtag decides again"
    ),
}
COMMANDS = (*ACTIONS, "curation")
_BAD_ITEM = {2: "not SOURCE:ID, an unknown source, or a configuration error"}


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for name, action in ACTIONS.items():
        parser = add_command(
            commands,
            common,
            name,
            summary=f"{action.help}; takes effect at the next render",
            description=f"{action.help[0].upper()}{action.help[1:]}. Nothing is rendered: "
            "the change shows at the next render, update or scheduled run. Quiet on success; "
            "-v says what changed and where the item stands. No lock, no keys.",
            examples=[
                f"showcase {name} youtube:A5bUqkYPIw8",
                f"showcase -v {name} facebook:104857293361870_3133062603682029",
            ],
            exits={0: "done (also when the mark was already so)", **_BAD_ITEM},
        )
        parser.add_argument(
            "item",
            metavar="SOURCE:ID",
            help=f"SOURCE is one of {', '.join(SOURCES)}; ID the platform's id (the page's "
            "data-id), e.g. youtube:A5bUqkYPIw8",
        )
    add_command(
        commands,
        common,
        "curation",
        summary="list the pinned, hidden and included items",
        description="One line per curated item: SOURCE:ID, when it was pinned, hidden or "
        "included (with the time zone), its place in the showcase at the next render or why "
        "it is not shown, and its title. Prints nothing when nothing is curated.",
        examples=["showcase curation"],
        exits=DONE,
    )


def run(args: argparse.Namespace, config: Config, now: datetime | None = None) -> int:
    item = None if args.command == "curation" else parse_item(args.item, args.command)
    engine = store.open_database(config.database_url)
    try:
        with store.session_scope(engine) as session:
            if item is None:
                _list(session, config)
            else:
                _curate(session, config, args.command, item, now or datetime.now(UTC))
    finally:
        engine.dispose()
    return 0


def parse_item(text: str, command: str) -> store.ItemKey:
    """`youtube:A5bUqkYPIw8` -> ("youtube", "A5bUqkYPIw8"); a bad one raises UsageError."""
    source, colon, platform_id = text.partition(":")
    source, platform_id = source.strip().lower(), platform_id.strip()
    if not colon or not source or not platform_id:
        raise UsageError(f"{command}: {text!r} is not SOURCE:ID (e.g. youtube:A5bUqkYPIw8)")
    if source not in SOURCES:
        raise UsageError(
            f"{command}: unknown source {source!r} in {text!r} (choose from {', '.join(SOURCES)})"
        )
    if not _ID.fullmatch(platform_id):
        raise UsageError(
            f"{command}: {platform_id!r} is not a platform id (the page's data-id, not a URL)"
        )
    return source, platform_id


def _curate(
    session: Session, config: Config, command: str, item: store.ItemKey, now: datetime
) -> None:
    action = ACTIONS[command]
    changed = store.set_curation_mark(session, *item, action.mark, now if action.on else None)
    if log.isEnabledFor(logging.INFO):
        name = ":".join(item)
        if action.on:
            done = f"is {action.word} now" if changed else f"was {action.word} already"
        else:
            done = f"is no longer {action.word}" if changed else f"was not {action.word}"
        log.info("%s: %s %s", command, name, done)
        log.info("%s: %s", command, _describe(session, config, item, action.on))


def _describe(session: Session, config: Config, item: store.ItemKey, marked: bool) -> str:
    """Where the item stands at the next render, in a few words."""
    name = ":".join(item)
    row = _item_row(session, item)
    if row is None:
        if not marked:
            return f"{name} is not in the database"
        return f"{name} is not in the database yet: this takes effect once it is fetched"
    keys = [(shown.source, shown.platform_id) for shown in showcase_rows(session, config)]
    if item in keys:
        standing = f"item {keys.index(item) + 1} of {len(keys)}"
    else:
        why = _why_not_shown(row, store.curation(session).get(item))
        hint = f": `showcase include {name}` adds it" if why == "no hashtag" else ""
        standing = f"not shown ({why}{hint})"
    return f"{name} ({_short(row.title)}): {standing} at the next render"


def _why_not_shown(row: store.ItemRow, curated: store.CurationRow | None) -> str:
    """For an item in the database that is not in the showcase."""
    if curated is not None and curated.hidden_at is not None:
        return "hidden"
    if row.retired_at is not None:
        return "gone from its platform"
    if not row.public:
        return "not public"
    return "no hashtag"


def _item_row(session: Session, item: store.ItemKey) -> store.ItemRow | None:
    source, platform_id = item
    return store.items_by_platform_id(session, source, [platform_id]).get(platform_id)


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= _TITLE_LENGTH else title[: _TITLE_LENGTH - 1] + "…"


def _list(session: Session, config: Config) -> None:
    """One line per curated item: its marks with their dates, and where it stands."""
    zone = ZoneInfo(config.showcase.timezone)
    curated = store.curated_rows(session)
    if not curated:
        return
    positions = {
        (row.source, row.platform_id): index
        for index, row in enumerate(showcase_rows(session, config), start=1)
    }
    table: list[tuple[str, ...]] = [("item", "pinned", "hidden", "included", "shown", "title")]
    for mark in curated:
        key = (mark.source, mark.platform_id)
        row = _item_row(session, key)
        when = [
            shown_time(moment, zone) if moment else "–"
            for moment in (mark.pinned_at, mark.hidden_at, mark.included_at)
        ]
        if row is None:
            shown, title = "not fetched yet", ""
        else:
            shown = str(positions[key]) if key in positions else f"no: {_why_not_shown(row, mark)}"
            title = _short(row.title)
        table.append((":".join(key), *when, shown, title))
    print(_format_table(table))


def _format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
