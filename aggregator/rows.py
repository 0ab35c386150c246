"""What the store hands out for reading: plain rows, without SQLAlchemy.

`reads.py` builds them from plain SQL; `store.py` re-exports the names that are its own
(`HEAD_REVISION`, the run outcomes, `RunUsage`, ...). `render` and `status` import this module,
never the store, so they start without SQLAlchemy's import cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

# The newest migration's revision, so that a current schema is recognised without importing
# Alembic (a test checks it against the migrations folder; a new migration changes it).
HEAD_REVISION = "0010"

OUTCOME_FULL = "ok"  # a complete listing: the only run that may retire items
OUTCOME_QUICK = "ok-quick"  # a quick refresh: figures, newest items, showcased statistics
SUCCESS_OUTCOMES = frozenset({OUTCOME_FULL, OUTCOME_QUICK})

MANUAL_SOURCE = "manual"

# The kinds of staff's episode marks (`store.EpisodeMarkRow`).
MERGE = "merge"
SPLIT = "split"

ItemKey = tuple[str, str]  # (source, platform_id)
Point = tuple[datetime, int]


class HasOutcome(Protocol):
    @property
    def outcome(self) -> str: ...


def run_succeeded(run: HasOutcome) -> bool:
    return run.outcome in SUCCESS_OUTCOMES


@dataclass(frozen=True)
class RunUsage:
    quota_units: int = 0
    requests: int = 0
    runs: int = 0


class ItemText(NamedTuple):
    """What the hashtag rule reads of an item."""

    id: int
    source: str
    platform_id: str
    title: str
    description: str
    tags: list[str]


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An `items` row (see `store.ItemRow` for what each column means)."""

    id: int
    source: str
    platform_id: str
    account_id: int | None
    kind: str
    title: str
    description: str
    url: str
    published_at: datetime
    thumbnail_url: str | None
    thumbnail_file: str | None
    duration_seconds: int | None
    views: int | None
    tags: list[str]
    public: bool
    embeddable: bool
    raw: Mapping[str, Any]  # from SQLite a models.RawJson, decoded when read
    first_seen_at: datetime
    last_seen_at: datetime
    retired_at: datetime | None
    live_status: str | None
    scheduled_start_at: datetime | None
    content_hash: str | None


@dataclass(frozen=True, slots=True)
class StoredFigure:
    """A `figures` row (see `store.FigureRow`)."""

    key: str
    source: str
    value: int
    rounded: bool
    as_of: datetime
    manual: bool
    label: str | None


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A `fetch_runs` row (see `store.FetchRunRow`)."""

    id: int
    source: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    error_cause: str | None
    error_message: str | None
    quota_units: int
    requests: int
    items_seen: int


@dataclass(frozen=True, slots=True)
class StoredCuration:
    """A `curation` row (see `store.CurationRow`)."""

    source: str
    platform_id: str
    pinned_at: datetime | None
    hidden_at: datetime | None
    included_at: datetime | None
