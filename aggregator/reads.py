"""The store's read side in plain SQL, for `render` and `status`: no SQLAlchemy on SQLite.

Importing SQLAlchemy's ORM costs more than a whole `status` may take, so the queries these
commands run are plain SQL with `:name` parameters, run by a `Reader`: the standard library's
`sqlite3` on an SQLite file (read-only, one read transaction), or SQLAlchemy's `text()` on a
Session for every other database and inside a run that holds one. Both run the same SQL; what
the drivers hand back differently (SQLite: datetimes and JSON as text, booleans as integers)
is converted here, in one place, into the plain rows of `rows.py`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

from aggregator.models import RawJson
from aggregator.rows import (
    HEAD_REVISION,
    MERGE,
    SPLIT,
    SUCCESS_OUTCOMES,
    ItemKey,
    ItemText,
    Point,
    RunUsage,
    StoredCuration,
    StoredFigure,
    StoredItem,
    StoredRun,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aggregator.episodes import Overrides

BUSY_TIMEOUT_SECONDS = 10.0  # as the engine's PRAGMA busy_timeout
_IN_CHUNK = 500
# How SQLAlchemy's DateTime stores a moment on SQLite (naive UTC), so text compares as time.
_SQLITE_MOMENT = "%Y-%m-%d %H:%M:%S.%f"


class Reader(Protocol):
    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]: ...

    def bind(self, moment: datetime) -> Any:
        """A moment as a query parameter compared with the stored column."""
        ...


class SqliteReader:
    """A read-only `sqlite3` connection; `transaction()` makes its reads one snapshot."""

    def __init__(self, path: str) -> None:
        uri = Path(path).absolute().as_uri() + "?mode=ro"
        self.connection = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None
        )

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]:
        return self.connection.execute(sql, params or {}).fetchall()

    def bind(self, moment: datetime) -> Any:
        return moment.astimezone(UTC).strftime(_SQLITE_MOMENT)

    @contextmanager
    def transaction(self) -> Iterator[SqliteReader]:
        self.connection.execute("BEGIN")
        try:
            yield self
        finally:
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()


class SessionReader:
    """The same SQL through SQLAlchemy's `text()`, in the session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]:
        from sqlalchemy import text

        return list(self.session.execute(text(sql), dict(params or {})).all())

    def bind(self, moment: datetime) -> Any:
        utc = moment.astimezone(UTC)
        return utc.strftime(_SQLITE_MOMENT) if self.sqlite else utc.replace(tzinfo=None)


def reader_of(source: Reader | Session) -> Reader:
    """A Reader as it is, or one on a Session (the callers that hold one)."""
    if isinstance(source, SqliteReader | SessionReader):
        return source
    return SessionReader(source)  # type: ignore[arg-type]


# -- opening an SQLite file without SQLAlchemy ---------------------------------------------------


def sqlite_path(url: str) -> str | None:
    """The file of a plain `sqlite:///PATH` URL (as SQLAlchemy reads it), else None: other
    databases, in-memory ones, and URLs with options go through SQLAlchemy."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = unquote(url[len(prefix) :])
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


def open_current_sqlite(url: str) -> SqliteReader | None:
    """A read-only reader on the URL's SQLite file when its schema is current; None when the
    URL is not a plain SQLite file, the file is not there, cannot be read, or its schema is
    missing, older or newer (the SQLAlchemy path then migrates or refuses it)."""
    path = sqlite_path(url)
    if path is None or not Path(path).is_file():
        return None
    try:
        reader = SqliteReader(path)
    except sqlite3.Error:
        return None
    try:
        if schema_current(reader):
            return reader
    except sqlite3.Error:
        pass
    reader.close()
    return None


@contextmanager
def sqlite_snapshot(url: str) -> Iterator[SqliteReader | None]:
    """`open_current_sqlite` as a context: the reader in one read transaction, then closed."""
    reader = open_current_sqlite(url)
    if reader is None:
        yield None
        return
    try:
        with reader.transaction():
            yield reader
    finally:
        reader.close()


def schema_current(reader: Reader) -> bool:
    """One query: does the database carry the newest migration?"""
    try:
        found = reader.rows("SELECT version_num FROM alembic_version")
    except sqlite3.OperationalError:
        return False  # no such table: no schema yet
    return [tuple(row) for row in found] == [(HEAD_REVISION,)]


# -- converting what the drivers hand back -------------------------------------------------------


def moment(value: Any) -> datetime:
    """Stored naive UTC (SQLite: text), handed out timezone-aware, as `store.UTCDateTime`."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def optional_moment(value: Any) -> datetime | None:
    return None if value is None else moment(value)


def json_value(value: Any) -> Any:
    if value == "[]":  # most items' tags: no decoder needed
        return []
    return json.loads(value) if isinstance(value, str) else value


def in_list(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`(:name0, :name1, ...)` and its parameters: an IN list either driver takes."""
    params = {f"{name}{index}": value for index, value in enumerate(values)}
    return "(" + ", ".join(f":{key}" for key in params) + ")", params


# -- the queries ---------------------------------------------------------------------------------

_ITEM_COLUMNS = (
    "id, source, platform_id, account_id, kind, title, description, url, published_at, "
    "thumbnail_url, thumbnail_file, duration_seconds, views, tags, public, embeddable, raw, "
    "first_seen_at, last_seen_at, retired_at, live_status, scheduled_start_at, content_hash"
)
_RUN_COLUMNS = (
    "id, source, started_at, finished_at, outcome, error_cause, error_message, quota_units, "
    "requests, items_seen"
)
_LIVE = "public = :public AND retired_at IS NULL"


def _item(row: Sequence[Any]) -> StoredItem:
    (id_, source, platform_id, account_id, kind, title, description, url, published_at) = row[:9]
    (thumbnail_url, thumbnail_file, duration, views, tags, public, embeddable, raw) = row[9:17]
    first_seen, last_seen, retired, live_status, scheduled, content_hash = row[17:]
    return StoredItem(
        id_,
        source,
        platform_id,
        account_id,
        kind,
        title,
        description,
        url,
        moment(published_at),
        thumbnail_url,
        thumbnail_file,
        duration,
        views,
        json_value(tags),
        bool(public),
        bool(embeddable),
        RawJson(raw) if isinstance(raw, str) else raw,
        moment(first_seen),
        moment(last_seen),
        optional_moment(retired),
        live_status,
        optional_moment(scheduled),
        content_hash,
    )


def _run(row: Sequence[Any]) -> StoredRun:
    id_, source, started_at, finished_at, outcome, cause, message, units, requests, seen = row
    return StoredRun(
        id_,
        source,
        moment(started_at),
        moment(finished_at),
        outcome,
        cause,
        message,
        units,
        requests,
        seen,
    )


def live_item_texts(source: Reader | Session, undecided_by: str | None = None) -> list[ItemText]:
    """The texts of the public items not retired: no `raw`. With `undecided_by`, a hashtag
    rule's key: only those whose verdict under that rule is not stored (`marked_item_ids`)."""
    reader = reader_of(source)
    query = f"SELECT id, source, platform_id, title, description, tags FROM items WHERE {_LIVE}"
    params: dict[str, Any] = {"public": True}
    if undecided_by is not None:
        query += " AND (hashtag_rule IS NULL OR hashtag_rule <> :rule)"
        params["rule"] = undecided_by
    return [
        ItemText(id_, item_source, platform_id, title, description, json_value(tags))
        for id_, item_source, platform_id, title, description, tags in reader.rows(query, params)
    ]


def marked_item_ids(source: Reader | Session, rule: str) -> list[int]:
    """The public items not retired whose stored verdict under the hashtag rule `rule` is yes."""
    query = f"SELECT id FROM items WHERE {_LIVE} AND hashtag_rule = :rule AND has_hashtag = :yes"
    params = {"public": True, "rule": rule, "yes": True}
    return [item_id for (item_id,) in reader_of(source).rows(query, params)]


def hashtag_verdicts(source: Reader | Session, rule: str) -> tuple[list[int], list[ItemText]]:
    """`marked_item_ids(source, rule)` and `live_item_texts(source, undecided_by=rule)` read
    in one pass over the table: each pass reads every row's pages, `raw` and all."""
    query = (
        f"SELECT id, hashtag_rule = :rule, source, platform_id, title, description, tags"
        f" FROM items WHERE {_LIVE}"
        " AND (has_hashtag = :yes OR hashtag_rule IS NULL OR hashtag_rule <> :rule)"
    )
    marked: list[int] = []
    undecided: list[ItemText] = []
    for id_, decided, item_source, platform_id, title, description, tags in reader_of(source).rows(
        query, {"public": True, "rule": rule, "yes": True}
    ):
        if decided:  # and so has_hashtag: a stored no is not selected
            marked.append(id_)
        else:
            texts = ItemText(id_, item_source, platform_id, title, description, json_value(tags))
            undecided.append(texts)
    return marked, undecided


def included_item_ids(source: Reader | Session) -> list[int]:
    """The public items not retired that staff included (`showcase include`)."""
    query = (
        "SELECT items.id FROM items JOIN curation ON curation.source = items.source"
        " AND curation.platform_id = items.platform_id"
        " WHERE items.public = :public AND items.retired_at IS NULL"
        " AND curation.included_at IS NOT NULL"
    )
    return [item_id for (item_id,) in reader_of(source).rows(query, {"public": True})]


def items_by_ids(source: Reader | Session, item_ids: Sequence[int]) -> list[StoredItem]:
    """These items, `raw` included, newest first (by date, then id)."""
    reader = reader_of(source)
    found: list[StoredItem] = []
    for start in range(0, len(item_ids), _IN_CHUNK):
        ids, params = in_list("id", item_ids[start : start + _IN_CHUNK])
        query = f"SELECT {_ITEM_COLUMNS} FROM items WHERE id IN {ids}"
        found.extend(_item(row) for row in reader.rows(query, params))
    found.sort(key=lambda row: row.id, reverse=True)
    found.sort(key=lambda row: row.published_at, reverse=True)
    return found


def current_figures(source: Reader | Session) -> list[StoredFigure]:
    query = "SELECT key, source, value, rounded, as_of, manual, label FROM figures ORDER BY key"
    return [
        StoredFigure(key, figure_source, value, bool(rounded), moment(as_of), bool(manual), label)
        for key, figure_source, value, rounded, as_of, manual, label in reader_of(source).rows(
            query
        )
    ]


def figure_histories(source: Reader | Session) -> dict[str, list[Point]]:
    """Every figure's recorded values as (taken_at, value), oldest first; entries at the same
    moment keep their entry order."""
    query = "SELECT key, taken_at, value FROM figure_history ORDER BY key, taken_at, id"
    histories: dict[str, list[Point]] = {}
    for key, taken_at, value in reader_of(source).rows(query):
        histories.setdefault(key, []).append((moment(taken_at), value))
    return histories


def last_runs(source: Reader | Session) -> dict[str, StoredRun]:
    """The most recent fetch run of each source."""
    query = (
        f"SELECT {_RUN_COLUMNS} FROM fetch_runs "
        "WHERE id IN (SELECT max(id) FROM fetch_runs GROUP BY source)"
    )
    return {run.source: run for run in map(_run, reader_of(source).rows(query))}


def latest_run(
    source: Reader | Session,
    name: str,
    outcomes: Sequence[str] | frozenset[str] | None = None,
    *,
    failed: bool = False,
) -> StoredRun | None:
    """The newest run of a source, optionally only one with these outcomes, or only a failed
    one (any outcome that is not a success)."""
    conditions = ["source = :source"]
    params: dict[str, Any] = {"source": name}
    if outcomes is not None:
        listed, listed_params = in_list("outcome", sorted(outcomes))
        conditions.append(f"outcome IN {listed}")
        params.update(listed_params)
    if failed:
        succeeded, succeeded_params = in_list("success", sorted(SUCCESS_OUTCOMES))
        conditions.append(f"outcome NOT IN {succeeded}")
        params.update(succeeded_params)
    query = (
        f"SELECT {_RUN_COLUMNS} FROM fetch_runs WHERE {' AND '.join(conditions)} "
        "ORDER BY id DESC LIMIT 1"
    )
    found = reader_of(source).rows(query, params)
    return _run(found[0]) if found else None


def failures_since_success(source: Reader | Session, name: str) -> int:
    """How many runs of a source have failed in a row since its last success."""
    succeeded, params = in_list("success", sorted(SUCCESS_OUTCOMES))
    query = (
        "SELECT count(id) FROM fetch_runs WHERE source = :source "
        f"AND outcome NOT IN {succeeded} AND id > (SELECT coalesce(max(id), 0) "
        f"FROM fetch_runs WHERE source = :source AND outcome IN {succeeded})"
    )
    found = reader_of(source).rows(query, {"source": name, **params})
    return int(found[0][0] or 0)


def usage_since(source: Reader | Session, since: datetime) -> dict[str, RunUsage]:
    """Quota units, requests and runs of each source since `since`."""
    reader = reader_of(source)
    query = (
        "SELECT source, sum(quota_units), sum(requests), count(id) FROM fetch_runs "
        "WHERE started_at >= :since GROUP BY source"
    )
    return {
        name: RunUsage(int(units or 0), int(requests or 0), int(runs))
        for name, units, requests, runs in reader.rows(query, {"since": reader.bind(since)})
    }


def curation(source: Reader | Session) -> dict[ItemKey, StoredCuration]:
    """Every curated item, by (source, platform_id)."""
    query = "SELECT source, platform_id, pinned_at, hidden_at, included_at FROM curation"
    return {
        (item_source, platform_id): StoredCuration(
            item_source,
            platform_id,
            optional_moment(pinned),
            optional_moment(hidden),
            optional_moment(included),
        )
        for item_source, platform_id, pinned, hidden, included in reader_of(source).rows(query)
    }


def episode_overrides(source: Reader | Session) -> Overrides:
    """Staff's `episode merge|split` marks, oldest first, as the grouping rule takes them."""
    from aggregator.episodes import Overrides  # the grouping's imports: `render`'s, not `status`'s

    query = (
        "SELECT kind, source, platform_id, other_source, other_platform_id FROM episode_marks "
        "ORDER BY marked_at, id"
    )
    merged: list[tuple[ItemKey, ItemKey]] = []
    split: set[ItemKey] = set()
    for kind, item_source, platform_id, other_source, other_id in reader_of(source).rows(query):
        if kind == MERGE and other_source is not None and other_id is not None:
            merged.append(((item_source, platform_id), (other_source, other_id)))
        elif kind == SPLIT:
            split.add((item_source, platform_id))
    return Overrides(merged=tuple(merged), split=frozenset(split))
