"""Which showcase items tell the same story: one episode, shown as one card.

INTERFACE SKELETON (issue 9): the grouping rule is still to be written; until then every item
is an episode of its own. Callers (context.py, cli_curation.py, feeds, report) rely only on
`Groupable`, `Overrides`, `group` and `episode_id` below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

ItemKey = tuple[str, str]  # (source, platform_id), as store.ItemKey


class Groupable(Protocol):
    """What the rule reads of an item; store.ItemRow has it all."""

    @property
    def source(self) -> str: ...
    @property
    def platform_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def raw(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=Groupable)


@dataclass(frozen=True)
class Overrides:
    """Staff's word on grouping (`showcase episode merge|split`), which beats the evidence.

    `merged`: pairs staff joined; their episodes become one. `split`: items staff took out of
    their episode; each is an episode of its own, whatever the evidence says.
    """

    merged: tuple[tuple[ItemKey, ItemKey], ...] = ()
    split: frozenset[ItemKey] = frozenset()


def key_of(item: Groupable) -> ItemKey:
    return (item.source, item.platform_id)


def group(items: Sequence[T], overrides: Overrides = Overrides()) -> list[list[T]]:
    """The items' episodes. Each episode's items are earliest first (ties by source, then id);
    the episodes are in the order of their first item. Deterministic: the same items and
    overrides always give the same episodes, whatever order the items come in."""
    ordered = sorted(items, key=_chronological)
    return [[item] for item in ordered]


def episode_id(episode: Sequence[Groupable]) -> str:
    """A stable name for an episode (the card's data-episode): its earliest item's
    SOURCE:ID, which stays when later items join it."""
    first = min(episode, key=_chronological)
    return f"{first.source}:{first.platform_id}"


def _chronological(item: Groupable) -> tuple[datetime, str, str]:
    return (item.published_at, item.source, item.platform_id)
