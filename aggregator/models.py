"""Plain data passed from the sources to the store: no HTTP, no database."""

from __future__ import annotations

import json
from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One count an account reports, such as a channel's subscribers."""

    key: str  # contract key, e.g. "youtube.subscribers"
    value: int
    rounded: bool = False  # YouTube rounds subscriber counts to three significant figures


@dataclass
class Account:
    """The channel or page a source reads."""

    source: str
    platform_id: str
    name: str
    url: str
    raw: dict[str, Any] = field(default_factory=dict)


class RawJson(Mapping[str, Any]):
    """An item's raw payload kept as compact JSON text, read as a mapping when asked.

    A decoded YouTube video is some 50 Python objects (3.6 KB); its text is 1 KB. A fetch holds
    every item until the store has saved them all, so this is most of a full update's peak
    memory; the store writes the text as it is, without encoding the payload again."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    @classmethod
    def of(cls, value: Mapping[str, Any]) -> RawJson:
        # ensure_ascii: a lone surrogate the API sent stays storable, as an escape.
        return cls(json.dumps(value, separators=(",", ":")))

    def decoded(self) -> dict[str, Any]:
        """The payload as a new dict (one decoding: cheaper than several lookups)."""
        value: dict[str, Any] = json.loads(self.text)
        return value

    def __getitem__(self, key: str) -> Any:
        return self.decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.decoded())

    def __len__(self) -> int:
        return len(self.decoded())

    def items(self) -> ItemsView[str, Any]:  # one decoding, not one per key
        return self.decoded().items()

    def values(self) -> ValuesView[Any]:
        return self.decoded().values()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RawJson):
            return self.text == other.text or self.decoded() == other.decoded()
        if isinstance(other, Mapping):
            return self.decoded() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to dicts, which do not hash

    def __repr__(self) -> str:
        return f"RawJson({self.text!r})"


def raw_object(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """`raw` decoded once when it is RawJson, for several lookups."""
    return raw.decoded() if isinstance(raw, RawJson) else raw


@dataclass(slots=True)
class Item:
    """One video or post as the platform describes it. Slotted: a full fetch holds 11,000 of
    them at once on bench's site, and an instance dictionary each would be 7 MB of its peak."""

    source: str
    platform_id: str
    kind: str  # "video" or "post"
    title: str
    description: str
    url: str  # the item on its platform
    published_at: datetime  # timezone-aware, UTC
    thumbnail_url: str | None = None
    duration_seconds: int | None = None
    views: int | None = None
    tags: list[str] = field(default_factory=list)
    public: bool = True
    embeddable: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict)  # the platform's object, or RawJson
    # A YouTube premiere or live stream before it has ended: "upcoming" or "live" (None for an
    # ordinary video, which is what both become once they have ended).
    live_status: str | None = None
    scheduled_start_at: datetime | None = None  # when an upcoming one is announced to start


@dataclass
class Usage:
    """What a fetch cost: YouTube quota units or Graph requests."""

    quota_units: int = 0
    requests: int = 0


@dataclass(frozen=True)
class SkippedItem:
    """An item a source could not understand and left out: which one, which field, why."""

    source: str
    platform_id: str | None  # None when the item's id itself was unreadable
    field: str
    reason: str

    def line(self) -> str:
        item = self.platform_id or "(no id)"
        return f"{self.source}: skipped item {item}: {self.field}: {self.reason}"


# What a source calls with each batch of items as it reads them (a page of a listing), before
# the whole listing is in: the thumbnails of those items can be copied meanwhile.
Found = Callable[[Sequence["Item"]], None]


@dataclass
class SourceResult:
    """What one fetch of one source brought back.

    `complete` is true only when the whole listing of the account's items was read; only then
    may the store retire items it no longer sees. `error` is set when the fetch stopped early:
    what was read before the failure is still in `figures` and `items`.
    """

    source: str
    account: Account
    figures: list[Figure] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    complete: bool = False
    error: Exception | None = None
    # Ids the caller named (KnownItems.showcased_ids) that the platform no longer serves:
    # positive evidence that they are private or deleted. The store hides them, retires nothing.
    unavailable_ids: list[str] = field(default_factory=list)
    # Items left out because they could not be understood (see sources/items.py); they are
    # never retired for being absent from `items`.
    skipped: list[SkippedItem] = field(default_factory=list)


@dataclass(frozen=True)
class KnownItems:
    """What the store already holds of one source, handed to a quick refresh.

    `public_ids`: every live public item; reading the newest uploads stops at the first of them.
    `showcased_ids`: the showcase's items in display order (pins, then newest first), whose
    statistics a quick refresh renews.
    """

    public_ids: frozenset[str] = frozenset()
    showcased_ids: tuple[str, ...] = ()
