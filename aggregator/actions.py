"""Every change staff make, one code path for the command line and the web interface.

Curation (pin, unpin, hide, unhide, include, exclude), staff's word on episodes (merge,
split) and hand-entered figures (set, unset). Each action changes the store, writes one row
to the audit log (who, when, what, its state before and after) and returns an `Outcome`
whose message is the command line's line without "; rendered again": the caller renders
(`jobs.render_output`), so that a command can skip it (`--no-render`). A refusal is a
`UsageError` whose `str()` is the command line's line and whose `german` is one sentence
for the web interface.

An item is named `SOURCE:ID` (the page's data-source and data-id) or by its URL as a browser
shows it; `resolve_item` turns either into the item's key, with a hint naming the closest
known items when it is not in the database.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from aggregator import episodes, figures, store
from aggregator.config import SOURCES, Config
from aggregator.context import candidate_episodes, showcase_episodes
from aggregator.curation_marks import CURATION
from aggregator.errors import UsageError
from aggregator.links import facebook_post_id, facebook_video_id, page_key, youtube_video_id

log = logging.getLogger(__name__)
T = TypeVar("T")

NOTHING = "–"  # before or after: no mark, no value
_ID = re.compile(r"[^\s/]{1,128}")
_TITLE_LENGTH = 60
_HINTS = 3
_HINT_CUTOFF = 60  # rapidfuzz's 0..100 similarity below which an item is no hint


@dataclass(frozen=True)
class Outcome:
    changed: bool
    message: str  # the command line's one line, without "; rendered again"


@dataclass(frozen=True)
class Change:
    """One audit log row."""

    at: datetime
    actor: str  # "cli:<os user>" or "web:<account name>"
    action: str  # "pin", "episode merge", "figures set", ...
    target: str  # "youtube:A5bUqkYPIw8", "facebook_group.members"
    before: str | None
    after: str | None


def command_line_actor() -> str:
    """Who the audit log names for a change made on the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"cli:uid {os.getuid()}"


# --- naming an item -----------------------------------------------------------------------


def resolve_item(session: Session, text: str, command: str) -> store.ItemKey:
    """The item `text` names (SOURCE:ID or a URL); UsageError when it is malformed, or unknown
    to the database (except for `include`, or an item curated already, for curation)."""
    return known_item(session, parse_item(text, command), command)


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
    german = f"„{text}“ ist keine Adresse eines Beitrags und kein QUELLE:ID."
    if not colon or not source or not platform_id:
        raise UsageError(
            f"{command}: {text!r} is not SOURCE:ID or a URL (e.g. youtube:A5bUqkYPIw8)", german
        )
    if source not in SOURCES:
        raise UsageError(
            f"{command}: unknown source {source!r} in {text!r} (choose from {', '.join(SOURCES)})",
            german,
        )
    if not _ID.fullmatch(platform_id):
        raise UsageError(
            f"{command}: {platform_id!r} is not a platform id (the page's data-id; a URL goes "
            "on its own, without SOURCE:)",
            german,
        )
    return source, platform_id


def known_item(session: Session, named: store.ItemKey | str, command: str) -> store.ItemKey:
    """The item a parsed SOURCE:ID or URL names; unknown to the database is a UsageError with
    the closest known items as a hint, except for `include` (an item can be included before
    it is fetched) or an item curated already (for the curation commands)."""
    if isinstance(named, str):
        found = item_by_url(session, named)
        if found is None:
            raise UsageError(
                f"{command}: no item in the database has the address {named} (name it as "
                f"SOURCE:ID, the page's data-source and data-id){_did_you_mean(session, named)}",
                f"Zur Adresse {named} ist nichts in der Datenbank.",
            )
        return found
    if item_row(session, named) or (
        command in CURATION and (command == "include" or named in store.curation(session))
    ):
        return named
    hint = "; `showcase include` takes items not fetched yet" if command in CURATION else ""
    name = ":".join(named)
    raise UsageError(
        f"{command}: {name} is not in the database (check the id: the page's data-id, or the "
        f"item's URL{hint}){_did_you_mean(session, name)}",
        f"{name} ist nicht in der Datenbank.",
    )


def item_by_url(session: Session, url: str) -> store.ItemKey | None:
    """The item stored with this address, or whose Facebook video or post it names, or
    (for an article) whose address is the same page."""
    found = store.items_by_url(session, [url, url.rstrip("/"), url.rstrip("/") + "/"])
    if found:
        return found[0].source, found[0].platform_id
    if (video := facebook_video_id(url)) and item_row(session, ("facebook", video)):
        return "facebook", video
    post = facebook_post_id(url)
    page = page_key(url)
    for row in store.items_of_sources(session, ["facebook", "website"]):
        if post and row.source == "facebook" and row.platform_id.endswith(f"_{post}"):
            return row.source, row.platform_id
        if row.source == "website" and page_key(row.url) == page:
            return row.source, row.platform_id
    return None


def _did_you_mean(session: Session, text: str) -> str:
    """ "; did you mean youtube:A (title), facebook:B (title)?" naming up to three items whose
    SOURCE:ID or title is close to `text`; "" when none is."""
    choices: dict[int, str] = {}
    keys: list[tuple[str, str, str]] = []
    for row in store.all_items(session):
        keys.append((row.source, row.platform_id, row.title))
        choices[2 * len(keys) - 2] = f"{row.source}:{row.platform_id}"
        choices[2 * len(keys) - 1] = row.title
    matches = process.extract(
        text, choices, scorer=fuzz.WRatio, limit=None, score_cutoff=_HINT_CUTOFF
    )
    named: list[str] = []
    for _, _, index in matches:
        source, platform_id, title = keys[index // 2]
        hint = f"{source}:{platform_id}" + (f" ({short_title(title)})" if title.strip() else "")
        if hint not in named:
            named.append(hint)
        if len(named) == _HINTS:
            break
    return f"; did you mean {', '.join(named)}?" if named else ""


def item_row(session: Session, item: store.ItemKey) -> store.ItemRow | None:
    source, platform_id = item
    return store.items_by_platform_id(session, source, [platform_id]).get(platform_id)


def short_title(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= _TITLE_LENGTH else title[: _TITLE_LENGTH - 1] + "…"


def episode_keys(session: Session, config: Config, item: store.ItemKey) -> list[store.ItemKey]:
    """The items of `item`'s episode, earliest first; just the item when it is alone or not
    a candidate for the showcase."""
    for episode in candidate_episodes(session, config):
        keys = [(row.source, row.platform_id) for row in episode]
        if item in keys:
            return keys
    return [item]


# --- curation -------------------------------------------------------------------------------


def curate(
    session: Session, config: Config, command: str, item: store.ItemKey, actor: str, now: datetime
) -> Outcome:
    """Set or clear one mark of an item (`CURATION[command]`)."""
    action = CURATION[command]
    current = store.curation(session).get(item)
    before = getattr(current, action.mark) if current is not None else None
    changed = store.set_curation_mark(session, *item, action.mark, now if action.on else None)
    after = now if action.on and changed else (before if action.on else None)
    name = ":".join(item)
    store.add_audit_row(session, now, actor, command, name, _moment(before), _moment(after))
    if action.on:
        done = f"is {action.word} now" if changed else f"was {action.word} already"
    else:
        done = f"is no longer {action.word}" if changed else f"was not {action.word}"
    if command == "include" and item_row(session, item) is None:
        done += " (not in the database yet: it shows once a fetch brings it, if public)"
    return Outcome(changed, f"{command}: {name} {done}{_with_episode(session, config, item)}")


def _with_episode(session: Session, config: Config, item: store.ItemKey) -> str:
    """ ", with its episode (facebook:1, website:2)" when pin, hide and unhide act on more
    than this item (see `context.showcase_episodes`)."""
    others = [key for key in episode_keys(session, config, item) if key != item]
    if not others:
        return ""
    return f", with its episode ({', '.join(':'.join(key) for key in others)})"


def describe(session: Session, config: Config, item: store.ItemKey, marked: bool) -> str:
    """Where the item stands at the next render, in a few words (for `-v`)."""
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
        why = why_not_shown(row, store.curation(session).get(item))
        hint = f": `showcase include {name}` adds it" if why == "no hashtag" else ""
        standing = f"not shown ({why}{hint})"
    return f"{name} ({short_title(row.title)}): {standing} at the next render"


def why_not_shown(row: store.ItemRow, curated: store.CurationRow | None) -> str:
    """For an item in the database that is not in the showcase."""
    if curated is not None and curated.hidden_at is not None:
        return "hidden"
    if row.retired_at is not None:
        return "gone from its platform"
    if not row.public:
        return "not public"
    return "no hashtag"


# --- episodes -------------------------------------------------------------------------------


def merge_episode(
    session: Session,
    config: Config,
    first: store.ItemKey,
    second: store.ItemKey,
    actor: str,
    now: datetime,
) -> Outcome:
    """Join two items' episodes (taking back a split of either)."""
    command = "episode merge"
    _require_fetched(session, first, command)
    _require_fetched(session, second, command)
    if first == second:
        raise UsageError(
            f"{command}: {':'.join(first)} named twice; name two different items",
            "Bitte zwei verschiedene Beiträge zum Zusammenführen wählen.",
        )
    before = _episodes_text(session, config, first, second)
    changed = store.add_episode_merge(session, first, second, now)
    after = episode_keys(session, config, first)
    names = f"{':'.join(first)} and {':'.join(second)}"
    store.add_audit_row(
        session, now, actor, command, names.replace(" and ", " + "), before, _keys(after)
    )
    done = "are one episode now" if changed else "were merged already"
    return Outcome(changed, f"{command}: {names} {done} ({_items(len(after))})")


def split_episode(
    session: Session, config: Config, item: store.ItemKey, actor: str, now: datetime
) -> Outcome:
    """Make an item an episode of its own (taking back every merge that names it)."""
    command = "episode split"
    _require_fetched(session, item, command)
    was = episode_keys(session, config, item)
    changed = store.add_episode_split(session, item, now)
    name = ":".join(item)
    store.add_audit_row(
        session, now, actor, command, name, _keys(was), _keys(episode_keys(session, config, item))
    )
    if not changed:
        return Outcome(False, f"{command}: {name} was split already")
    alone = f"it was one of {len(was)} items" if len(was) > 1 else "it was alone already"
    return Outcome(True, f"{command}: {name} is an episode of its own now ({alone})")


def _require_fetched(session: Session, item: store.ItemKey, command: str) -> None:
    """An episode is made of fetched items."""
    if item_row(session, item) is None:
        raise UsageError(
            f"{command}: {':'.join(item)} is not in the database (check the id: the page's "
            "data-id, or the item's URL; `showcase fetch` brings new items)",
            f"{':'.join(item)} ist nicht in der Datenbank.",
        )


def _episodes_text(
    session: Session, config: Config, first: store.ItemKey, second: store.ItemKey
) -> str:
    one, other = episode_keys(session, config, first), episode_keys(session, config, second)
    return _keys(one) if second in one else f"{_keys(one)} / {_keys(other)}"


def _keys(keys: list[store.ItemKey]) -> str:
    return " + ".join(":".join(key) for key in keys)


def _items(count: int) -> str:
    return "1 item" if count == 1 else f"{count} items"


# --- hand-entered figures -------------------------------------------------------------------


def set_figure(
    session: Session,
    config: Config,
    key: str,
    value: str | int,
    label: str | None,
    day: date | None,
    actor: str,
    now: datetime,
) -> Outcome:
    """Enter a figure no API serves as of `day` (default: today in the configured zone)."""
    key = _germanized(figures.check_key, key, "Dieser Schlüssel ist nicht erlaubt.")
    count = value if isinstance(value, int) else _germanized(figures.parse_count, value, _NO_COUNT)
    if count < 0:
        raise UsageError(f"{value!r} is not a count: write a whole number", _NO_COUNT)
    today = _today(config, now)
    day = day or today
    if day > today:
        raise UsageError(
            f"--as-of {day.isoformat()} lies in the future",
            "Das Datum liegt in der Zukunft.",
        )
    cleaned = label.strip() if label else None
    if label is not None and not cleaned:
        raise UsageError("--label must not be empty", "Die Bezeichnung darf nicht leer sein.")
    current = session.get(store.FigureRow, key)
    before = _figure_text(current) if current is not None else NOTHING
    moment = figures.entry_moment(day)
    history_grows = store.value_in_force(session, key, moment) != count
    try:
        row = store.set_manual_figure(session, key, count, moment, cleaned)
    except ValueError:
        raise UsageError(
            f"figure key {key!r} belongs to a fetched figure; choose a key of your own",
            "Dieser Wert wird abgerufen und kann nicht von Hand gesetzt werden.",
        ) from None
    after = f"{count} as of {day.isoformat()}"
    changed = history_grows or before != _figure_text(row) or bool(cleaned and current is None)
    store.add_audit_row(session, now, actor, "figures set", key, before, after)
    return Outcome(
        changed, f"figures: {key} = {count} as of {day.isoformat()} (current: {row.value})"
    )


def unset_figure(session: Session, config: Config, key: str, actor: str, now: datetime) -> Outcome:
    """Take a hand-entered figure off the page and the report; its history stays."""
    key = _germanized(figures.check_key, key, "Dieser Schlüssel ist nicht erlaubt.")
    current = session.get(store.FigureRow, key)
    before = _figure_text(current) if current is not None else NOTHING
    try:
        store.unset_manual_figure(session, key)
    except LookupError:
        raise UsageError(
            f"figure {key!r} is not set (see `showcase figures list`)",
            f"Der Wert {key} ist nicht von Hand gesetzt.",
        ) from None
    store.add_audit_row(session, now, actor, "figures unset", key, before, NOTHING)
    return Outcome(True, f"figures: {key} unset; its history stays")


_NO_COUNT = "Bitte eine ganze Zahl eingeben, etwa 3000 oder 3.000."


def _germanized(check: Callable[[str], T], text: str, german: str) -> T:
    """`check(text)`, its UsageError given a German sentence for the web."""
    try:
        return check(text)
    except UsageError as error:
        raise UsageError(str(error), error.german or german) from None


def _figure_text(row: store.FigureRow) -> str:
    return f"{row.value} as of {row.as_of.date().isoformat()}"


def _today(config: Config, now: datetime) -> date:
    return figures.local_day(now, ZoneInfo(config.showcase.timezone))


# --- the audit log --------------------------------------------------------------------------


def recent_changes(session: Session, limit: int = 50) -> list[Change]:
    """The newest changes first."""
    return [
        Change(row.at, row.actor, row.action, row.target, row.before, row.after)
        for row in store.audit_rows(session, limit)
    ]


def _moment(moment: datetime | None) -> str:
    """A mark's moment as the audit log keeps it: ISO 8601 UTC, or "–" for no mark."""
    if moment is None:
        return NOTHING
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
