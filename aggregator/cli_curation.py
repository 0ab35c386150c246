"""Staff curation: `pin`, `hide`, `unhide`, `include` (the contract's four), `unpin` and
`exclude` (extras that undo a pin and an include), and `curation` (the list).

Each command sets or clears one mark of one item in the store's `curation` table, says in one
line what it did (naming the item's episode when pin or hide acts on more than the item), and
renders the outputs again (see `context.showcase_episodes` for the rules).
An item is named `SOURCE:ID`, the platform's id as in the page's `data-id` (split on the first
`:` only), or by its URL as a browser shows it (a YouTube address of any usual shape, or the
address the source stored for the item). An item unknown to the database is exit 2, except
for `include`: an item can be included before it is fetched. No lock: the change is one short
transaction, and SQLite's busy_timeout waits out a running fetch's writes. `-v` also says where
the item stands: its place, or why it is not shown (not fetched yet, not public, without the
hashtag, hidden).
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from aggregator import actions, jobs, store
from aggregator.actions import item_row, short_title, why_not_shown
from aggregator.cli_curation_args import ACTIONS
from aggregator.cli_help import rendering
from aggregator.config import Config
from aggregator.context import candidate_episodes, showcase_episodes
from aggregator.times import shown_time

log = logging.getLogger(__name__)

RECENT_CHANGES = 10


def run(args: argparse.Namespace, config: Config, now: datetime | None = None) -> int:
    named = None if args.command == "curation" else actions.parse_item(args.item, args.command)
    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            if named is None:
                _list(session, config)
                return 0
            item = actions.known_item(session, named, args.command)
            outcome = actions.curate(
                session,
                config,
                args.command,
                item,
                actions.command_line_actor(),
                now or datetime.now(UTC),
            )
            if log.isEnabledFor(logging.INFO):  # -v: where the item stands
                on = ACTIONS[args.command].on
                log.info("%s: %s", args.command, actions.describe(session, config, item, on))
            print(f"{outcome.message}; {rendering(args)}")
        if not args.no_render:
            jobs.render_output(engine, config)
    finally:
        engine.dispose()
    return 0


def _list(session: Session, config: Config) -> None:
    """The curated items, then the audit log's recent changes."""
    zone = ZoneInfo(config.showcase.timezone)
    sections = [_curated_table(session, config, zone), _recent_changes(session, zone)]
    shown = [section for section in sections if section]
    if shown:
        print("\n\n".join(shown))


def _recent_changes(session: Session, zone: ZoneInfo) -> str:
    """`recent changes:` and one line per change, newest first."""
    changes = actions.recent_changes(session, RECENT_CHANGES)
    if not changes:
        return ""
    table: list[tuple[str, ...]] = [("changed", "by", "action", "target", "before → after")]
    for change in changes:
        before, after = (_shown_value(value, zone) for value in (change.before, change.after))
        when = shown_time(change.at, zone)
        table.append((when, change.actor, change.action, change.target, f"{before} → {after}"))
    return f"recent changes:\n{_format_table(table)}"


def _shown_value(value: str | None, zone: ZoneInfo) -> str:
    """A moment (a mark's time, kept as ISO 8601 UTC) in the configured zone; else as kept."""
    if not value:
        return actions.NOTHING
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return shown_time(moment, zone) if moment.tzinfo else value


def _curated_table(session: Session, config: Config, zone: ZoneInfo) -> str:
    """One line per curated item: its marks with their dates, and where it stands."""
    curated = store.curated_rows(session)
    if not curated:
        return ""
    positions = {  # the card's place: every item of an episode shares it
        (row.source, row.platform_id): index
        for index, episode in enumerate(showcase_episodes(session, config), start=1)
        for row in episode
    }
    grouped = {
        (row.source, row.platform_id): episode
        for episode in candidate_episodes(session, config)
        for row in episode
    }
    table: list[tuple[str, ...]] = [
        ("item", "pinned", "hidden", "included", "shown", "episode", "title")
    ]
    for mark in curated:
        key = (mark.source, mark.platform_id)
        row = item_row(session, key)
        when = [
            shown_time(moment, zone) if moment else "–"
            for moment in (mark.pinned_at, mark.hidden_at, mark.included_at)
        ]
        if row is None:
            shown, title = "not fetched yet", ""
        else:
            shown = str(positions[key]) if key in positions else f"no: {why_not_shown(row, mark)}"
            title = short_title(row.title)
        others = [f"{row.source}:{row.platform_id}" for row in grouped.get(key, [])]
        together = " + ".join(other for other in others if other != ":".join(key))
        table.append((":".join(key), *when, shown, f"+ {together}" if together else "alone", title))
    return _format_table(table)


def _format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
