"""One item a source cannot understand is skipped and named; it never ends the run.

The sources parse item by item through `parse_each`: a malformed value in one video or post
(a lone surrogate, a list where text belongs, an absurd date, a missing id) makes that item a
`SkippedItem`, logged in one line naming the source, the id and the field, and the rest of
the listing goes on. Counts the database cannot hold are not a reason to lose an item: they
are read as unknown (None).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from aggregator.models import Item, SkippedItem

log = logging.getLogger(__name__)

# A signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT) holds at most this.
MAX_COUNT = 2**63 - 1
# The platforms are younger than 1990; a date past 2100 is a broken answer, and one near
# year 9999 would overflow the week-long windows that group episodes.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_ID_CHARS = 128  # the items.platform_id column
# A title is one line on a card (YouTube allows 100 characters; WordPress and Facebook set no
# limit): a longer one is cut here, so that no later step (grouping compares every title with
# its neighbours) works through a megabyte. Descriptions stay whole: hashtags are looked for
# in all of a post's message.
MAX_TITLE_CHARS = 10_000
TEXT_FIELDS = ("title", "description", "url")
# What a malformed value raises inside a parser: anything else is a bug and ends the source.
MALFORMED = (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError)


class BadItem(ValueError):
    """An item that cannot be understood: which field, and why."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def count_or_none(value: Any) -> int | None:
    """A count as an int, or None when it is absent or unreadable: a float, a negative
    number, text other than ASCII digits, or more than a 64-bit column holds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 19:
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_COUNT else None


def plausible_time(moment: datetime | None) -> datetime | None:
    """`moment` when it lies between EARLIEST and LATEST, else None."""
    if moment is None or not EARLIEST <= moment < LATEST:
        return None
    return moment


def parse_each(
    source: str,
    nodes: Iterable[Mapping[str, Any]],
    parse: Callable[[Mapping[str, Any]], Item],
    skipped: list[SkippedItem],
    id_of: Callable[[Mapping[str, Any]], Any] = lambda node: node.get("id"),
) -> Iterator[Item]:
    """Each node parsed and checked; one that fails is added to `skipped` and logged."""
    for node in nodes:
        try:
            yield checked(parse(node))
        except MALFORMED as error:
            skip = SkippedItem(source, _printable_id(id_of, node), *_field_and_reason(error))
            log.info("%s", skip.line())
            skipped.append(skip)


def checked(item: Item) -> Item:
    """The item, when the store can hold every field; BadItem naming the first that it cannot.
    Optional counts and times out of range become None."""
    if not isinstance(item.platform_id, str) or not 0 < len(item.platform_id) <= MAX_ID_CHARS:
        raise BadItem("id", "missing or longer than 128 characters")
    for field in TEXT_FIELDS:
        _require_text(field, getattr(item, field))
    item.title = item.title[:MAX_TITLE_CHARS]
    if item.thumbnail_url is not None:
        _require_text("thumbnail_url", item.thumbnail_url)
    for tag in item.tags:
        _require_text("tags", tag)
    if plausible_time(item.published_at) is None:
        raise BadItem("published_at", f"{item.published_at} is not a plausible date")
    item.views = count_or_none(item.views)
    item.duration_seconds = count_or_none(item.duration_seconds)
    item.scheduled_start_at = plausible_time(item.scheduled_start_at)
    return item


def _require_text(field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise BadItem(field, f"a {type(value).__name__} where text belongs")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadItem(field, "not valid Unicode (a lone surrogate)") from None


def _field_and_reason(error: Exception) -> tuple[str, str]:
    if isinstance(error, BadItem):
        return error.field, error.reason
    return "?", f"{type(error).__name__}: {error}"


def _printable_id(id_of: Callable[[Mapping[str, Any]], Any], node: Mapping[str, Any]) -> str | None:
    try:
        found = id_of(node)
    except MALFORMED:
        return None
    if isinstance(found, bool) or not isinstance(found, str | int):
        return None
    text = str(found)
    return text[:MAX_ID_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")
