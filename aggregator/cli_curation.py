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
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from aggregator import episodes, jobs, store
from aggregator.cli_help import DONE, add_command
from aggregator.config import SOURCES, Config
from aggregator.context import candidate_episodes, showcase_episodes
from aggregator.errors import UsageError
from aggregator.links import youtube_video_id
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
_BAD_ITEM = {
    2: "not SOURCE:ID or an item's URL, an item unknown to the database (except for include), "
    "or a configuration error"
}


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    for name, action in ACTIONS.items():
        parser = add_command(
            commands,
            common,
            name,
            summary=f"{action.help}, and render again",
            description=f"{action.help[0].upper()}{action.help[1:]}, say so in one line and "
            "render the outputs again. -v also says where the item stands. No lock, no keys.",
            examples=[
                f"showcase {name} youtube:A5bUqkYPIw8",
                f"showcase {name} https://www.youtube.com/watch?v=A5bUqkYPIw8",
                f"showcase -v {name} facebook:104857293361870_3133062603682029",
            ],
            exits={0: "done (also when the mark was already so)", **_BAD_ITEM},
        )
        parser.add_argument(
            "item",
            metavar="ITEM",
            help=f"SOURCE:ID, SOURCE one of {', '.join(SOURCES)} and ID the platform's id (the "
            "page's data-id), e.g. youtube:A5bUqkYPIw8; or the item's URL as a browser shows it",
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
    named = None if args.command == "curation" else parse_item(args.item, args.command)
    engine = store.open_database(config.database_url)
    try:
        with store.session_scope(engine) as session:
            if named is None:
                _list(session, config)
                return 0
            item = known_item(session, named, args.command)
            print(_curate(session, config, args.command, item, now or datetime.now(UTC)))
        jobs.render_output(engine, config)
    finally:
        engine.dispose()
    return 0


def known_item(session: Session, named: store.ItemKey | str, command: str) -> store.ItemKey:
    """The item a SOURCE:ID or a URL names; unknown to the database is a UsageError, except
    for `include` (an item can be included before it is fetched) or an item curated already
    (for the curation commands)."""
    if isinstance(named, str):
        found = store.items_by_url(session, [named, named.rstrip("/"), named.rstrip("/") + "/"])
        if not found:
            raise UsageError(
                f"{command}: no item in the database has the address {named} (name it as "
                "SOURCE:ID, the page's data-source and data-id)"
            )
        return found[0].source, found[0].platform_id
    if item_row(session, named) or (
        command in ACTIONS and (command == "include" or named in store.curation(session))
    ):
        return named
    hint = "; `showcase include` takes items not fetched yet" if command in ACTIONS else ""
    raise UsageError(
        f"{command}: {':'.join(named)} is not in the database (check the id: the page's "
        f"data-id, or the item's URL{hint})"
    )


def parse_item(text: str, command: str) -> store.ItemKey | str:
    """`youtube:A5bUqkYPIw8` -> ("youtube", "A5bUqkYPIw8"); a YouTube address -> its video;
    any other http(s) address is returned as it is, to be looked up in the database. A bad
    one raises UsageError."""
    text = text.strip()
    if text.lower().startswith(("https://", "http://")):
        video_id = youtube_video_id(text)
        return ("youtube", video_id) if video_id else text
    source, colon, platform_id = text.partition(":")
    source, platform_id = source.strip().lower(), platform_id.strip()
    if not colon or not source or not platform_id:
        raise UsageError(
            f"{command}: {text!r} is not SOURCE:ID or a URL (e.g. youtube:A5bUqkYPIw8)"
        )
    if source not in SOURCES:
        raise UsageError(
            f"{command}: unknown source {source!r} in {text!r} (choose from {', '.join(SOURCES)})"
        )
    if not _ID.fullmatch(platform_id):
        raise UsageError(
            f"{command}: {platform_id!r} is not a platform id (the page's data-id; a URL goes "
            "on its own, without SOURCE:)"
        )
    return source, platform_id


def _curate(
    session: Session, config: Config, command: str, item: store.ItemKey, now: datetime
) -> str:
    """Set or clear the mark; return the one line saying what was done."""
    action = ACTIONS[command]
    changed = store.set_curation_mark(session, *item, action.mark, now if action.on else None)
    name = ":".join(item)
    if action.on:
        done = f"is {action.word} now" if changed else f"was {action.word} already"
    else:
        done = f"is no longer {action.word}" if changed else f"was not {action.word}"
    if log.isEnabledFor(logging.INFO):  # -v: where the item stands
        log.info("%s: %s", command, _describe(session, config, item, action.on))
    return f"{command}: {name} {done}{_with_episode(session, config, item)}; rendered again"


def _with_episode(session: Session, config: Config, item: store.ItemKey) -> str:
    """ ", with its episode (facebook:1, website:2)" when pin, hide and unhide act on more
    than this item (see `context.showcase_episodes`)."""
    others = [key for key in episode_keys(session, config, item) if key != item]
    if not others:
        return ""
    return f", with its episode ({', '.join(':'.join(key) for key in others)})"


def episode_keys(session: Session, config: Config, item: store.ItemKey) -> list[store.ItemKey]:
    """The items of `item`'s episode, earliest first; just the item when it is alone or not
    a candidate for the showcase."""
    for episode in candidate_episodes(session, config):
        keys = [(row.source, row.platform_id) for row in episode]
        if item in keys:
            return keys
    return [item]


def _describe(session: Session, config: Config, item: store.ItemKey, marked: bool) -> str:
    """Where the item stands at the next render, in a few words."""
    name = ":".join(item)
    row = item_row(session, item)
    if row is None:
        if not marked:
            return f"{name} is not in the database"
        return f"{name} is not in the database yet: this takes effect once it is fetched"
    cards = showcase_episodes(session, config)
    place = next((n for n, card in enumerate(cards, 1) if item in map(episodes.key_of, card)), 0)
    if place:
        standing = f"card {place} of {len(cards)}"
    else:
        why = _why_not_shown(row, store.curation(session).get(item))
        hint = f": `showcase include {name}` adds it" if why == "no hashtag" else ""
        standing = f"not shown ({why}{hint})"
    return f"{name} ({short_title(row.title)}): {standing} at the next render"


def _why_not_shown(row: store.ItemRow, curated: store.CurationRow | None) -> str:
    """For an item in the database that is not in the showcase."""
    if curated is not None and curated.hidden_at is not None:
        return "hidden"
    if row.retired_at is not None:
        return "gone from its platform"
    if not row.public:
        return "not public"
    return "no hashtag"


def item_row(session: Session, item: store.ItemKey) -> store.ItemRow | None:
    source, platform_id = item
    return store.items_by_platform_id(session, source, [platform_id]).get(platform_id)


def short_title(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= _TITLE_LENGTH else title[: _TITLE_LENGTH - 1] + "…"


def _list(session: Session, config: Config) -> None:
    """One line per curated item: its marks with their dates, and where it stands."""
    zone = ZoneInfo(config.showcase.timezone)
    curated = store.curated_rows(session)
    if not curated:
        return
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
            shown = str(positions[key]) if key in positions else f"no: {_why_not_shown(row, mark)}"
            title = short_title(row.title)
        others = [f"{row.source}:{row.platform_id}" for row in grouped.get(key, [])]
        together = " + ".join(other for other in others if other != ":".join(key))
        table.append((":".join(key), *when, shown, f"+ {together}" if together else "alone", title))
    print(_format_table(table))


def _format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
