"""Staff's word on episodes: `episode merge ITEM ITEM`, `episode split ITEM`, `episode list`.

The grouping rule (`episodes`) joins items that tell the same story; staff correct it here.
A merge joins two items' episodes, a split makes an item an episode of its own; both are
stored (`store.add_episode_merge`, `store.add_episode_split`), the later one winning over
what it contradicts, and applied at every render. ITEM is SOURCE:ID or the item's URL, as
for `pin`; it must be in the database. merge and split say in one line what they did and
render the outputs again; list prints the episodes of more than one item and the marks.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from aggregator import actions, episodes, jobs, store
from aggregator.actions import item_row, short_title
from aggregator.cli_help import rendering
from aggregator.config import Config
from aggregator.context import candidate_episodes
from aggregator.times import shown_time


def run(args: argparse.Namespace, config: Config, now: datetime | None = None) -> int:
    moment = now or datetime.now(UTC)
    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            if args.episode_command == "list":
                print("\n".join(_list(session, config)))
                return 0
            actor = actions.command_line_actor()
            if args.episode_command == "merge":
                command = "episode merge"
                first = actions.resolve_item(session, args.first, command)
                second = actions.resolve_item(session, args.second, command)
                outcome = actions.merge_episode(session, config, first, second, actor, moment)
            else:
                item = actions.resolve_item(session, args.item, "episode split")
                outcome = actions.split_episode(session, config, item, actor, moment)
            print(f"{outcome.message}; {rendering(args)}")
        if not args.no_render:
            jobs.render_output(engine, config)
    finally:
        engine.dispose()
    return 0


def _list(session: Session, config: Config) -> list[str]:
    grouped = candidate_episodes(session, config)
    overrides = store.episode_overrides(session)
    joins = episodes.explain([row for episode in grouped for row in episode], overrides)
    lines = [
        _episode_line(episode, joins)
        for episode in sorted(grouped, key=_newest_first)
        if len(episode) > 1
    ]
    if not lines:
        lines.append("episode list: no episode has more than one item")
    zone = ZoneInfo(config.showcase.timezone)
    lines.extend(_mark_line(session, mark, zone) for mark in store.episode_marks(session))
    return lines


def _newest_first(episode: Sequence[store.StoredItem]) -> tuple[float, str]:
    return (-min(row.published_at for row in episode).timestamp(), episodes.episode_id(episode))


def _episode_line(episode: Sequence[store.StoredItem], joins: Sequence[episodes.Join]) -> str:
    """`youtube:A + facebook:B  link, title  Der Fotograf aus Zwickau`."""
    keys = {(row.source, row.platform_id) for row in episode}
    found = {join.evidence for join in joins if join.first in keys}
    how = ", ".join(evidence for evidence in episodes.EVIDENCE_ORDER if evidence in found)
    members = " + ".join(f"{row.source}:{row.platform_id}" for row in episode)
    return f"{members}  {how}  {_title(episode)}".rstrip()


def _title(episode: Sequence[store.StoredItem | store.ItemRow]) -> str:
    titled = [row.title for row in episode if row.title.strip()]
    return short_title(titled[0] if titled else episode[0].description)


def _mark_line(session: Session, mark: store.EpisodeMarkRow, zone: ZoneInfo) -> str:
    """`staff merge  youtube:A + website:B  01.12.2026 10:00 CET` or `staff split  ...`."""
    items = [mark.item] if mark.other is None else [mark.item, mark.other]
    names = " + ".join(":".join(item) for item in items)
    rows = [row for row in (item_row(session, item) for item in items) if row is not None]
    title = _title(rows) if rows else ""
    return f"staff {mark.kind}  {names}  {shown_time(mark.marked_at, zone)}  {title}".rstrip()
