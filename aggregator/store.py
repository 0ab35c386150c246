"""The database: models, schema migrations, and the functions that save and query.

Takes plain `models` objects in and hands rows out; knows nothing of HTTP or HTML.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    create_engine,
    delete,
    event,
    false,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from aggregator.episodes import Overrides
from aggregator.errors import DatabaseError, NewerSchemaError
from aggregator.models import Figure, Item, RawJson, SourceResult, Usage
from aggregator.rows import (  # noqa: F401  # the read side's plain names, re-exported
    HEAD_REVISION,
    MANUAL_SOURCE,
    MERGE,
    OUTCOME_FULL,
    OUTCOME_QUICK,
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
    run_succeeded,
)

log = logging.getLogger(__name__)

_IN_CHUNK = 500
T = TypeVar("T")


def chunks(values: Iterable[T], size: int = _IN_CHUNK) -> Iterator[list[T]]:
    """`values` in lists of at most `size` (an IN list or a SAVEPOINT's rows at a time), taken
    as they come: rows built as they are written are held one chunk at a time."""
    iterator = iter(values)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


_MIGRATIONS = Path(__file__).parent / "migrations"


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (portable across backends), handed out timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class ItemPayload(TypeDecorator[Any]):
    """JSON; a payload a source kept as text (`RawJson`) is written as that text, not
    decoded and encoded again. Read back, it is a dict like any other."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        encode = super().bind_processor(dialect)

        def process(value: Any) -> Any:
            if isinstance(value, RawJson):
                return value.text
            return encode(value) if encode is not None else value

        return process


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012


class AccountRow(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("source", "platform_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    platform_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ItemRow(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("source", "platform_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    platform_id: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    thumbnail_file: Mapped[str | None] = mapped_column(Text)
    duration_seconds: Mapped[int | None]
    views: Mapped[int | None] = mapped_column(BigInteger)  # a count: past 2**31 on YouTube
    tags: Mapped[list[str]]
    public: Mapped[bool] = mapped_column(Boolean)
    embeddable: Mapped[bool] = mapped_column(Boolean)
    raw: Mapped[dict[str, Any]] = mapped_column(ItemPayload)
    first_seen_at: Mapped[datetime]
    # The last run that wrote the item's content, or that listed it unchanged once this was
    # more than a day old (SEEN_PRECISION): a day's precision, so unchanged rows stay unwritten.
    last_seen_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    # A premiere or stream not yet ended: "upcoming" or "live"; NULL for an ordinary video.
    live_status: Mapped[str | None] = mapped_column(String(16))
    scheduled_start_at: Mapped[datetime | None]
    # `content_hash` of what the source last said: a listing that says the same skips the row.
    # NULL (rows from before 0009, or changed by the showcase itself) means "rewrite it".
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # The hashtag rule's verdict on the texts, under the rule `hashtag_rule` names
    # (`matching.HashtagRule.key`): the selection reads it instead of every item's texts.
    # NULL (rows from before 0010, or just written) means "not decided yet".
    hashtag_rule: Mapped[str | None] = mapped_column(String(64))
    has_hashtag: Mapped[bool | None] = mapped_column(Boolean)


class FigureRow(Base):
    """A figure's current value; `as_of` is its last successful fetch.

    A figure entered by hand (`manual`, source "manual") carries its own `label`, and its
    `as_of` is noon UTC of the date it was entered for (see `figures.entry_moment`)."""

    __tablename__ = "figures"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(BigInteger)  # a channel's views pass 2**31
    rounded: Mapped[bool] = mapped_column(Boolean, default=False)
    as_of: Mapped[datetime]
    manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    label: Mapped[str | None] = mapped_column(Text)


class FigureHistoryRow(Base):
    """Append-only: one row each time a figure's value changes."""

    __tablename__ = "figure_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128), index=True)
    taken_at: Mapped[datetime]
    value: Mapped[int] = mapped_column(BigInteger)
    # A hand-entered figure's label, kept here once `figures unset` removes its `figures` row.
    label: Mapped[str | None] = mapped_column(Text)


class FetchRunRow(Base):
    __tablename__ = "fetch_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    # "ok" (a full listing), "ok-quick" (a quick refresh), "partial", "error"
    outcome: Mapped[str] = mapped_column(String(16))
    error_cause: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    quota_units: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)


class CurationRow(Base):
    """Staff curation of one item (`showcase pin`, `hide`, `include`, ...), keyed by the
    platform's id rather than the item's row: an item may be curated before it is fetched.

    A set moment means the mark is on: `pinned_at` orders the pins (most recent first),
    `hidden_at` keeps the item off everything built from the showcase (it wins over a pin or
    an include), `included_at` shows it without the hashtag. A row with no mark left is deleted.
    """

    __tablename__ = "curation"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pinned_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    included_at: Mapped[datetime | None]

    @property
    def empty(self) -> bool:
        return self.pinned_at is None and self.hidden_at is None and self.included_at is None


class EpisodeMarkRow(Base):
    """Staff's word on one episode (`showcase episode merge|split`), keyed by platform ids.

    `kind` MERGE joins (source, platform_id) with (other_source, other_platform_id), stored
    with the smaller key first; SPLIT makes (source, platform_id) an episode of its own and
    leaves the other columns empty. `marked_at` orders the list.
    """

    __tablename__ = "episode_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    platform_id: Mapped[str] = mapped_column(String(128))
    other_source: Mapped[str | None] = mapped_column(String(32))
    other_platform_id: Mapped[str | None] = mapped_column(String(128))
    marked_at: Mapped[datetime]

    @property
    def item(self) -> tuple[str, str]:
        return (self.source, self.platform_id)

    @property
    def other(self) -> tuple[str, str] | None:
        if self.other_source is None or self.other_platform_id is None:
            return None
        return (self.other_source, self.other_platform_id)


@dataclass(frozen=True)
class SaveSummary:
    new: int
    updated: int
    retired: int
    refused: int = 0  # items the database would not take: left as they were, named in the log
    held: int = 0  # not retired: the listing shrank too suddenly to be believed
    live: int = 0  # the account's live items before this run (for the held message)
    written: int = 0  # item rows written, hidden or retired: 0 leaves the showcase as it was


MigrationLock = Callable[[], AbstractContextManager[object]]


def open_database(url: str, lock: MigrationLock | None = None) -> Engine:
    """Create the engine and bring the schema to the newest migration.

    A schema already current costs one query and no lock; one behind is migrated inside
    `lock()` (the database lock `update` takes, `jobs.database_lock`); one from a newer
    showcase is refused (NewerSchemaError) and left untouched. An empty database gets the
    newest schema at once (`create_fresh`). A file that cannot be opened or read as a database
    is a DatabaseError naming it and the cause."""
    engine = create_engine(engine_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if schema_state(engine) != SCHEMA_CURRENT:
            with lock() if lock is not None else nullcontext():
                if not create_fresh(engine):
                    migrate(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise database_error(url, error) from error
    except BaseException:
        engine.dispose()
        raise
    return engine


def engine_url(url: str) -> URL:
    """The URL as given, except that `postgresql://` without a driver means psycopg 3 (the
    driver installed with the showcase; SQLAlchemy would otherwise look for psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def check_writable(engine: Engine) -> None:
    """Before a run spends quota: can this process write the database? A write that changes
    nothing, rolled back; a read-only file, folder or mount fails it with the driver's words
    (BEGIN IMMEDIATE alone does not: SQLite takes its write lock on a read-only file)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            connection.rollback()
    except SQLAlchemyError as error:
        raise database_error(engine.url, error) from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


SCHEMA_CURRENT = "current"
SCHEMA_BEHIND = "behind"


def schema_state(engine: Engine) -> str:
    """SCHEMA_CURRENT or SCHEMA_BEHIND (older, or no schema yet); NewerSchemaError when the
    database names a revision this showcase does not know."""
    with engine.connect() as connection:
        revision = _stored_revision(connection)
    if revision == HEAD_REVISION:
        return SCHEMA_CURRENT
    if revision is None:
        return SCHEMA_BEHIND
    _head, known = _revisions()
    if revision not in known:
        raise NewerSchemaError(
            f"{database_name(engine.url)}: schema revision {revision} was made by a newer "
            "showcase; upgrade showcase (the database is left as it is)"
        )
    return SCHEMA_BEHIND


def _stored_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


# Alembic's own version table (alembic.runtime.migration), for a schema made without Alembic.
_ALEMBIC_VERSION = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create_fresh(engine: Engine) -> bool:
    """Give a database without any table the newest schema: the models' tables and Alembic's
    version row at the head revision, in one transaction; False, changing nothing, when it
    has tables already (a schema to migrate instead).

    Alembic's documented way to build a new database ("Building an Up to Date Database from
    Scratch": `create_all`, then stamp head). It spares a first update Alembic's import and ten
    migrations, about 17 MB of its peak memory. `tests/test_fresh_schema.py` shows that both
    ways build the same tables, columns, indexes and keys, on SQLite and PostgreSQL."""
    fresh = sqlite_migration(engine) if _is_sqlite_file(engine) else engine.begin()
    with fresh as connection:
        if inspect(connection).get_table_names():
            return False
        Base.metadata.create_all(connection)
        _ALEMBIC_VERSION.create(connection)
        connection.execute(_ALEMBIC_VERSION.insert(), {"version_num": HEAD_REVISION})
    return True


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest unless named: tests start older ones).

    On SQLite the whole upgrade is one real transaction (DDL included) with foreign keys
    off, checked by `PRAGMA foreign_key_check` before it commits, after a backup copy of the
    file (`backup_path`) that is removed once the upgrade has committed."""
    if not _is_sqlite_file(engine):
        with engine.begin() as connection:
            _upgrade(connection, revision)
        return
    if schema_state(engine) == SCHEMA_CURRENT and revision == "head":
        return  # another process migrated while this one waited for the lock
    backup = _backup_sqlite(engine)
    with sqlite_migration(engine) as connection:
        _upgrade(connection, revision)
    if backup is not None:
        backup.unlink(missing_ok=True)


@contextmanager
def sqlite_migration(engine: Engine) -> Iterator[Connection]:
    """One real transaction on the SQLite file, foreign keys off, checked before commit."""
    migration_engine = _sqlite_migration_engine(engine)
    try:
        with migration_engine.begin() as connection:
            yield connection
            _check_foreign_keys(connection)
    finally:
        migration_engine.dispose()


def _is_sqlite_file(engine: Engine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    alembic_config = _alembic_config()
    alembic_config.attributes["connection"] = connection
    command.upgrade(alembic_config, revision)


def _alembic_config() -> Any:
    from alembic.config import Config as AlembicConfig

    alembic_config = AlembicConfig()
    alembic_config.set_main_option("script_location", str(_MIGRATIONS))
    return alembic_config


def _script_directory() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())


@functools.cache
def _revisions() -> tuple[str, frozenset[str]]:
    """The newest revision and every one this showcase knows (read from disk once)."""
    script = _script_directory()
    return script.get_current_head(), frozenset(rev.revision for rev in script.walk_revisions())


def _sqlite_migration_engine(engine: Engine) -> Engine:
    """An engine whose transactions really BEGIN, so DDL rolls back too: pysqlite's own
    transaction handling starts none before DDL (SQLAlchemy's documented workaround,
    docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl).
    Foreign keys are switched off on connecting, as PRAGMA foreign_keys is a no-op inside a
    transaction: with them on, a batch rebuild's DROP TABLE deletes ON DELETE CASCADE children."""
    migration_engine = create_engine(engine.url, poolclass=NullPool)

    @event.listens_for(migration_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.execute("PRAGMA foreign_keys = OFF")
        cursor.close()

    @event.listens_for(migration_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return migration_engine


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise DatabaseError(
            f"{database_name(connection.engine.url)}: the migration left {len(broken)} rows "
            f"pointing nowhere (first: {table} row {rowid} -> {parent}); nothing was changed"
        )


def backup_path(database: Path, revision: str) -> Path:
    """Where the copy taken before an upgrade to `revision` lies: beside the database."""
    return database.with_name(f"{database.name}.before-{revision}.bak")


def _backup_sqlite(engine: Engine) -> Path | None:
    """Copy an SQLite file that already holds a schema, with sqlite3's online backup API."""
    database = engine.url.database
    if not database or not Path(database).is_file():
        return None
    with engine.connect() as connection:
        if _stored_revision(connection) is None:
            return None  # a new, empty database: nothing to keep
    target = backup_path(Path(database), _revisions()[0])
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    return target


def database_name(url: str | URL) -> str:
    """The file of an SQLite URL, else the URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def database_error(url: str | URL, error: SQLAlchemyError) -> DatabaseError:
    """The one line for a database that failed a run: its file and the driver's cause."""
    return DatabaseError(f"{database_name(url)}: {_database_cause(error)}")


def _database_cause(error: SQLAlchemyError) -> str:
    """The driver's own words, one line (SQLAlchemy adds the SQL and a link below them)."""
    original = getattr(error, "orig", None)
    cause = str(original if original is not None else error).splitlines()[0]
    if cause == "unable to open database file":
        cause += " (is its folder there and writable?)"
    return cause


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


class HashtagVerdicts(NamedTuple):
    """The hashtag rule's key and test, for the rows `save_result` writes to carry their
    verdict from the start (see `mark_hashtags`)."""

    key: str
    matches: Callable[[str, str, list[str]], bool]


def save_result(
    session: Session,
    result: SourceResult,
    now: datetime,
    accept_shrink: bool = False,
    verdicts: HashtagVerdicts | None = None,
) -> SaveSummary:
    """Store what a fetch brought. Retire items only when the listing was complete, never one
    the source skipped or the database refused (it was listed, only not understood), and not
    when it shrank suddenly (see `is_sudden_shrink`) unless `accept_shrink` confirms it.

    With `verdicts`, each row written is decided under that rule as it is written; without,
    it is left for `mark_hashtags`."""
    account = _upsert_account(session, result, now)
    new, updated, refused, written = _upsert_items(session, account.id, result.items, now, verdicts)
    _save_figures(session, result.source, result.figures, now)
    written += _hide_unavailable(session, result.source, result.unavailable_ids)
    skipped_ids = {skip.platform_id for skip in result.skipped}
    if not (result.complete and result.error is None) or None in skipped_ids:
        return SaveSummary(new, updated, 0, refused=refused, written=written)
    seen = {item.platform_id for item in result.items} | {i for i in skipped_ids if i}
    unseen, live = _unseen_live_items(session, account.id, seen, now)
    if is_sudden_shrink(live, len(unseen)) and not accept_shrink:
        return SaveSummary(
            new, updated, 0, refused=refused, held=len(unseen), live=live, written=written
        )
    retired = _retire(session, unseen, now)
    return SaveSummary(new, updated, retired, refused=refused, live=live, written=written + retired)


# A complete listing that loses every live item, or more than half of at least this many, is
# held: an API that briefly lists nothing (or one page of many) is likelier than a purge.
SHRINK_MIN_ITEMS = 10


def is_sudden_shrink(live: int, vanished: int) -> bool:
    """Whether losing `vanished` of `live` items in one listing looks like a glitch."""
    if vanished == 0:
        return False
    if vanished == live:
        return True
    return live >= SHRINK_MIN_ITEMS and vanished * 2 > live


def _upsert_account(session: Session, result: SourceResult, now: datetime) -> AccountRow:
    found = session.scalar(
        select(AccountRow).where(
            AccountRow.source == result.source,
            AccountRow.platform_id == result.account.platform_id,
        )
    )
    row = found or AccountRow(source=result.source, platform_id=result.account.platform_id)
    row.name = result.account.name
    row.url = result.account.url
    row.raw = result.account.raw
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def _upsert_items(
    session: Session,
    account_id: int,
    items: Sequence[Item],
    now: datetime,
    verdicts: HashtagVerdicts | None = None,
) -> tuple[int, int, int, int]:
    """Write the items that are new or whose content changed, in bulk `INSERT ... ON CONFLICT
    DO UPDATE` statements; an item whose content hash matches its row is left untouched.

    "updated" counts every listed item already stored, rewritten or not (the run's log line
    means "seen again"); the last count is of the rows written. A chunk the database refuses
    is retried item by item, each in a SAVEPOINT of its own, so one bad item is rolled back
    alone."""
    if not items:
        return 0, 0, 0, 0
    source = items[0].source
    stored = _stored_hashes(session, source, [item.platform_id for item in items], now)
    latest = {item.platform_id: item for item in items}  # a repeated id: its last listing wins
    values = (_item_values(item, account_id, now) for item in latest.values())
    changed = (v for v in values if not _unchanged(stored.get(v["platform_id"]), v))
    if verdicts is not None:
        changed = (_decided(value, verdicts) for value in changed)
    written, refused_ids = _write_items(session, changed)
    stale = [pid for pid in latest if pid not in written and not stored[pid].seen_lately]
    _mark_seen(session, source, stale, now)
    new = updated = 0
    known = set(stored)
    for item in items:
        if item.platform_id in refused_ids:
            continue
        if item.platform_id in known:
            updated += 1
        else:
            known.add(item.platform_id)
            new += 1
    refused = sum(1 for item in items if item.platform_id in refused_ids)
    return new, updated, refused, len(written - refused_ids)


_WRITE_CHUNK = 1000  # rows per SAVEPOINT: a refused row costs a retry of this many, one by one
# Unchanged rows get `last_seen_at` again only once it is this old: it means "listed by the
# source within a day of this", without rewriting every row on every run.
SEEN_PRECISION = timedelta(days=1)
_CONTENT = (
    "account_id",
    "kind",
    "title",
    "description",
    "url",
    "published_at",
    "thumbnail_url",
    "duration_seconds",
    "views",
    "tags",
    "public",
    "embeddable",
    "raw",
    "live_status",
    "scheduled_start_at",
)


def _item_values(item: Item, account_id: int, now: datetime) -> dict[str, Any]:
    content: dict[str, Any] = {
        "account_id": account_id,
        "kind": item.kind,
        "title": item.title,
        "description": item.description,
        "url": item.url,
        "published_at": item.published_at,
        "thumbnail_url": item.thumbnail_url,
        "duration_seconds": item.duration_seconds,
        "views": item.views,
        "tags": list(item.tags),
        "public": item.public,
        "embeddable": item.embeddable,
        "raw": item.raw,
        "live_status": item.live_status,
        "scheduled_start_at": item.scheduled_start_at,
    }
    return {
        **content,
        "source": item.source,
        "platform_id": item.platform_id,
        "content_hash": content_hash(content),
        "first_seen_at": now,
        "last_seen_at": now,
        "retired_at": None,
        "hashtag_rule": None,  # written texts are decided again (`mark_hashtags`)
        "has_hashtag": None,
    }


def _decided(value: dict[str, Any], verdicts: HashtagVerdicts) -> dict[str, Any]:
    """The row to write with the rule's verdict on its texts, as `mark_hashtags` gives it."""
    value["hashtag_rule"] = verdicts.key
    value["has_hashtag"] = verdicts.matches(value["title"], value["description"], value["tags"])
    return value


def content_hash(content: dict[str, Any]) -> str:
    """A digest of what a source said about an item: equal digests, nothing to rewrite."""
    canonical = json.dumps(content, sort_keys=True, default=_canonical, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _canonical(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, RawJson):
        return value.text
    return repr(value)


class _Stored(NamedTuple):
    content_hash: str | None
    live: bool  # not retired
    seen_lately: bool  # last_seen_at within SEEN_PRECISION of this run


def _unchanged(stored: _Stored | None, value: dict[str, Any]) -> bool:
    return stored is not None and stored.content_hash == value["content_hash"] and stored.live


def _stored_hashes(
    session: Session, source: str, platform_ids: Sequence[str], now: datetime
) -> dict[str, _Stored]:
    """What is needed to tell an unchanged item, of the items already stored, by platform id.
    The dates are compared in SQL: reading two per row into Python cost as much as the rest."""
    ids = list(dict.fromkeys(platform_ids))
    found: dict[str, _Stored] = {}
    columns = (
        ItemRow.content_hash,
        ItemRow.retired_at.is_(None),
        ItemRow.last_seen_at >= now - SEEN_PRECISION,
    )
    for chunk in chunks(ids):
        query = select(ItemRow.platform_id, *columns).where(
            ItemRow.source == source, ItemRow.platform_id.in_(chunk)
        )
        found.update(
            (row[0], _Stored(row[1], bool(row[2]), bool(row[3]))) for row in session.execute(query)
        )
    return found


def _write_items(session: Session, values: Iterable[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """Upsert the rows, the platform ids of those written and of those the database refused.
    The rows are built as they are written, so that a first run holds one chunk of them at a
    time, not the whole listing's a second time beside its items."""
    written: set[str] = set()
    refused: set[str] = set()
    statement = _upsert_statement(session.get_bind().dialect.name)
    for chunk in chunks(values, _WRITE_CHUNK):
        written.update(value["platform_id"] for value in chunk)
        try:
            with session.begin_nested():
                session.execute(statement, list(chunk))
        except _REFUSALS:
            refused.update(_write_one_by_one(session, statement, chunk))
    return written, refused


def _write_one_by_one(
    session: Session, statement: Any, chunk: Sequence[dict[str, Any]]
) -> set[str]:
    refused: set[str] = set()
    for value in chunk:
        try:
            with session.begin_nested():
                session.execute(statement, [value])
        except _REFUSALS as error:
            refused.add(value["platform_id"])
            log.warning(
                "%s: item %s not saved: %s",
                value["source"],
                value["platform_id"],
                _first_line(error),
            )
    return refused


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (source, platform_id) DO UPDATE on the items table, in the
    dialect's words, executed with many rows of parameters: one statement, compiled once
    (SQLAlchemy's "insertmanyvalues" batches the rows). `first_seen_at` is written only by the
    insert."""
    updated = (
        *_CONTENT,
        "content_hash",
        "last_seen_at",
        "retired_at",
        "hashtag_rule",
        "has_hashtag",
    )
    table: Table = ItemRow.__table__  # type: ignore[assignment]  # a Table, typed as FromClause
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        postgres = postgresql_insert(table)
        return postgres.on_conflict_do_update(
            index_elements=["source", "platform_id"],
            set_={name: postgres.excluded[name] for name in updated},
        )
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(table)
    return lite.on_conflict_do_update(
        index_elements=["source", "platform_id"],
        set_={name: lite.excluded[name] for name in updated},
    )


def _mark_seen(session: Session, source: str, platform_ids: Sequence[str], now: datetime) -> None:
    """`last_seen_at` of unchanged listed items whose mark is older than SEEN_PRECISION, in
    set-based UPDATEs: most runs send none."""
    for chunk in chunks(platform_ids):
        session.execute(
            update(ItemRow)
            .where(ItemRow.source == source, ItemRow.platform_id.in_(chunk))
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )


# What a driver raises for a value it cannot store (SQLite: OverflowError for an int past 64
# bits, UnicodeEncodeError for a lone surrogate; others wrap theirs in a DBAPIError).
_REFUSALS = (SQLAlchemyError, OverflowError, UnicodeError, ValueError, TypeError)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def items_by_platform_id(
    session: Session, source: str, platform_ids: Iterable[str]
) -> dict[str, ItemRow]:
    ids = list(dict.fromkeys(platform_ids))
    found: dict[str, ItemRow] = {}
    for chunk in chunks(ids):
        rows = session.scalars(
            select(ItemRow).where(ItemRow.source == source, ItemRow.platform_id.in_(chunk))
        )
        found.update((row.platform_id, row) for row in rows)
    return found


def items_by_url(session: Session, urls: Iterable[str]) -> list[ItemRow]:
    """The items whose platform URL is one of `urls` (as the sources stored them)."""
    return list(session.scalars(select(ItemRow).where(ItemRow.url.in_(list(urls)))))


def items_of_sources(session: Session, sources: Iterable[str]) -> list[ItemRow]:
    return list(session.scalars(select(ItemRow).where(ItemRow.source.in_(list(sources)))))


def all_items(session: Session) -> list[ItemRow]:
    """Every item, newest first (for hints naming the items closest to a mistyped one)."""
    return list(session.scalars(select(ItemRow).order_by(ItemRow.published_at.desc())))


def _unseen_live_items(
    session: Session, account_id: int, seen: set[str], now: datetime
) -> tuple[list[int], int]:
    """The ids of the account's live (not retired) items the listing did not hold, and how
    many were live."""
    # Items first seen in this very run are live now, but were not before it: they count
    # neither towards the live items a shrink is measured against nor (being seen) as lost.
    # (Compared in SQL: a date read per row is most of this query's cost.)
    query = select(ItemRow.id, ItemRow.platform_id, ItemRow.first_seen_at != now).where(
        ItemRow.account_id == account_id, ItemRow.retired_at.is_(None)
    )
    rows = session.execute(query).all()
    before = sum(1 for row in rows if row[2])
    return [row.id for row in rows if row.platform_id not in seen], before


def _retire(session: Session, item_ids: Sequence[int], now: datetime) -> int:
    """One UPDATE per chunk of ids."""
    for chunk in chunks(item_ids):
        session.execute(
            update(ItemRow)
            .where(ItemRow.id.in_(chunk))
            .values(retired_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(item_ids)


def _hide_unavailable(session: Session, source: str, platform_ids: Sequence[str]) -> int:
    """Items the platform said it no longer serves: hidden, not retired (a later run that sees
    them public again shows them again: their content hash is cleared so it rewrites them)."""
    ids = list(dict.fromkeys(platform_ids))
    for chunk in chunks(ids):
        session.execute(
            update(ItemRow)
            .where(ItemRow.source == source, ItemRow.platform_id.in_(chunk))
            .values(public=False, content_hash=None)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def _save_figures(session: Session, source: str, figures: Sequence[Figure], now: datetime) -> None:
    for figure in figures:
        row = session.get(FigureRow, figure.key)
        if row is None or row.value != figure.value:
            session.add(
                FigureHistoryRow(source=source, key=figure.key, taken_at=now, value=figure.value)
            )
        row = row or FigureRow(key=figure.key)
        row.source = source
        row.value = figure.value
        row.rounded = figure.rounded
        row.as_of = now
        session.add(row)


def record_run(
    session: Session,
    source: str,
    started_at: datetime,
    finished_at: datetime,
    usage: Usage,
    *,
    outcome: str,
    error_cause: str | None = None,
    error_message: str | None = None,
    items_seen: int = 0,
) -> FetchRunRow:
    row = FetchRunRow(
        source=source,
        started_at=started_at,
        finished_at=finished_at,
        outcome=outcome,
        error_cause=error_cause,
        error_message=error_message,
        quota_units=usage.quota_units,
        requests=usage.requests,
        items_seen=items_seen,
    )
    session.add(row)
    return row


def current_figures(session: Session) -> list[FigureRow]:
    return list(session.scalars(select(FigureRow).order_by(FigureRow.key)))


def last_runs(session: Session) -> dict[str, FetchRunRow]:
    """The most recent fetch run of each source."""
    newest = select(func.max(FetchRunRow.id)).group_by(FetchRunRow.source)
    rows = session.scalars(select(FetchRunRow).where(FetchRunRow.id.in_(newest)))
    return {row.source: row for row in rows}


def live_items(session: Session) -> list[ItemRow]:
    """Public items not retired, newest first."""
    return list(session.scalars(select(ItemRow).where(*_LIVE).order_by(*_NEWEST_FIRST)))


_LIVE = (ItemRow.public.is_(True), ItemRow.retired_at.is_(None))
_NEWEST_FIRST = (ItemRow.published_at.desc(), ItemRow.id.desc())


def set_thumbnail_file(session: Session, item_id: int, filename: str | None) -> None:
    set_thumbnail_files(session, {item_id: filename})


def set_thumbnail_files(session: Session, files: Mapping[int, str | None]) -> None:
    """Record each item's thumbnail file, by item id, in one statement run for all of them
    (a first update records 865: an ORM load and flush of each took 0.14 s of CPU, this 0.005 s)."""
    if not files:
        return
    table: Table = ItemRow.__table__  # type: ignore[assignment]  # a Table, typed as FromClause
    statement = (
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(thumbnail_file=bindparam("file"))
    )
    session.execute(statement, [{"item_id": i, "file": name} for i, name in files.items()])


def figure_histories(session: Session) -> dict[str, list[Point]]:
    """Every figure's recorded values as (taken_at, value), oldest first.

    Two entries at the same moment (a hand-entered value corrected) keep their entry order,
    so the later one is the one in force."""
    query = select(
        FigureHistoryRow.key, FigureHistoryRow.taken_at, FigureHistoryRow.value
    ).order_by(FigureHistoryRow.key, FigureHistoryRow.taken_at, FigureHistoryRow.id)
    histories: dict[str, list[Point]] = {}
    for key, taken_at, value in session.execute(query):
        histories.setdefault(key, []).append((taken_at, value))
    return histories


def figure_history_rows(session: Session) -> list[FigureHistoryRow]:
    """The whole history, by key, then time, then entry order."""
    query = select(FigureHistoryRow).order_by(
        FigureHistoryRow.key, FigureHistoryRow.taken_at, FigureHistoryRow.id
    )
    return list(session.scalars(query))


def value_in_force(session: Session, key: str, moment: datetime) -> int | None:
    """The last value recorded for `key` at or before `moment`."""
    query = (
        select(FigureHistoryRow.value)
        .where(FigureHistoryRow.key == key, FigureHistoryRow.taken_at <= moment)
        .order_by(FigureHistoryRow.taken_at.desc(), FigureHistoryRow.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def first_fetched_at(session: Session, key: str) -> datetime | None:
    """When a figure's first value came from its source (not from a backfill)."""
    return session.scalar(
        select(func.min(FigureHistoryRow.taken_at)).where(
            FigureHistoryRow.key == key, FigureHistoryRow.source != MANUAL_SOURCE
        )
    )


def backfill_figure(session: Session, key: str, value: int, taken_at: datetime) -> None:
    """Record what a fetched figure was before the store began to fetch it (history only).

    Only before the figure's first fetched value, so a backfill never contradicts what the API
    reported; the current value and `as_of` stay as fetched.
    """
    first_fetched = first_fetched_at(session, key)
    if first_fetched is not None and taken_at >= first_fetched:
        raise ValueError(f"{key} has been fetched since {first_fetched.date().isoformat()}")
    if value_in_force(session, key, taken_at) != value:
        session.add(FigureHistoryRow(source=MANUAL_SOURCE, key=key, taken_at=taken_at, value=value))
    session.flush()


def set_manual_figure(
    session: Session, key: str, value: int, taken_at: datetime, label: str | None = None
) -> FigureRow:
    """Record a hand-entered value that holds from `taken_at` on.

    History gets a row unless the value already in force at `taken_at` is this one. The
    current value follows only an entry at least as new as it: an older date fills in history.
    """
    row = session.get(FigureRow, key)
    if row is not None and not row.manual:
        raise ValueError(f"{key} is a fetched figure")
    if value_in_force(session, key, taken_at) != value:
        session.add(FigureHistoryRow(source=MANUAL_SOURCE, key=key, taken_at=taken_at, value=value))
    if row is None:
        row = FigureRow(key=key, source=MANUAL_SOURCE, manual=True, rounded=False)
        row.value, row.as_of, row.label = value, taken_at, label or key
        session.add(row)
    elif taken_at >= row.as_of:
        row.value, row.as_of = value, taken_at
    if label:
        row.label = label
    session.flush()
    return row


def unset_manual_figure(session: Session, key: str) -> None:
    """Take a hand-entered figure off the current figures; its history stays, with its label."""
    row = session.get(FigureRow, key)
    if row is None or not row.manual:
        raise LookupError(key)
    session.execute(
        update(FigureHistoryRow).where(FigureHistoryRow.key == key).values(label=row.label)
    )
    session.delete(row)


# --- fetch runs and known items: for quick refreshes, the scheduler and `status` -----------


def public_platform_ids(session: Session, source: str) -> set[str]:
    """Every live public item of a source: what a quick refresh need not look up again."""
    query = select(ItemRow.platform_id).where(
        ItemRow.source == source, ItemRow.public.is_(True), ItemRow.retired_at.is_(None)
    )
    return set(session.scalars(query))


def latest_run(
    session: Session, source: str, outcomes: Iterable[str] | None = None, *, failed: bool = False
) -> FetchRunRow | None:
    """The newest run of a source, optionally only one with these outcomes, or only a failed
    one (`failed`: any outcome that is not a success)."""
    query = select(FetchRunRow).where(FetchRunRow.source == source)
    if outcomes is not None:
        query = query.where(FetchRunRow.outcome.in_(list(outcomes)))
    if failed:
        query = query.where(FetchRunRow.outcome.not_in(list(SUCCESS_OUTCOMES)))
    return session.scalar(query.order_by(FetchRunRow.id.desc()).limit(1))


def failures_since_success(session: Session, source: str) -> int:
    """How many runs of a source have failed in a row since its last success."""
    last_success = (
        select(func.coalesce(func.max(FetchRunRow.id), 0))
        .where(FetchRunRow.source == source, FetchRunRow.outcome.in_(list(SUCCESS_OUTCOMES)))
        .scalar_subquery()
    )
    query = select(func.count(FetchRunRow.id)).where(
        FetchRunRow.source == source,
        FetchRunRow.outcome.not_in(list(SUCCESS_OUTCOMES)),
        FetchRunRow.id > last_success,
    )
    return int(session.scalar(query) or 0)


def usage_since(session: Session, since: datetime) -> dict[str, RunUsage]:
    """Quota units, requests and runs of each source since `since`."""
    query = (
        select(
            FetchRunRow.source,
            func.sum(FetchRunRow.quota_units),
            func.sum(FetchRunRow.requests),
            func.count(FetchRunRow.id),
        )
        .where(FetchRunRow.started_at >= since)
        .group_by(FetchRunRow.source)
    )
    return {
        source: RunUsage(int(units or 0), int(requests or 0), int(runs))
        for source, units, requests, runs in session.execute(query)
    }


# --- staff curation: pin, hide, include ---------------------------------------------------

CURATION_MARKS = ("pinned_at", "hidden_at", "included_at")


def curation(session: Session) -> dict[ItemKey, CurationRow]:
    """Every curated item, by (source, platform_id)."""
    return {(row.source, row.platform_id): row for row in session.scalars(select(CurationRow))}


def set_curation_mark(
    session: Session, source: str, platform_id: str, mark: str, at: datetime | None
) -> bool:
    """Set one mark (`CURATION_MARKS`) to `at`, or take it off with None; False when nothing
    changed. A pin set again moves to the top (its moment is renewed); hide and include keep
    their first moment. A row left without marks is deleted."""
    if mark not in CURATION_MARKS:
        raise ValueError(f"unknown curation mark {mark!r}")
    row = session.get(CurationRow, (source, platform_id))
    if at is None:
        if row is None or getattr(row, mark) is None:
            return False
        setattr(row, mark, None)
        if row.empty:
            session.delete(row)
        session.flush()
        return True
    if row is None:
        row = CurationRow(source=source, platform_id=platform_id)
        session.add(row)
    elif getattr(row, mark) is not None and mark != "pinned_at":
        return False
    setattr(row, mark, at)
    session.flush()
    return True


# --- staff's word on episodes: merge, split ---------------------------------------------


def episode_marks(session: Session) -> list[EpisodeMarkRow]:
    """Every merge and split, oldest first."""
    query = select(EpisodeMarkRow).order_by(EpisodeMarkRow.marked_at, EpisodeMarkRow.id)
    return list(session.scalars(query))


def episode_overrides(session: Session) -> Overrides:
    """Staff's `episode merge|split` marks, as the grouping rule takes them."""
    marks = episode_marks(session)
    return Overrides(
        merged=tuple(
            (mark.item, mark.other)
            for mark in marks
            if mark.kind == MERGE and mark.other is not None
        ),
        split=frozenset(mark.item for mark in marks if mark.kind == SPLIT),
    )


def add_episode_merge(session: Session, first: ItemKey, second: ItemKey, at: datetime) -> bool:
    """Join two items' episodes, taking back a split of either; False when they were merged
    already (nothing changed)."""
    if first == second:
        raise ValueError("an item cannot be merged with itself")
    low, high = sorted((first, second))
    _delete_marks(
        session, [mark for mark in episode_marks(session) if _is_split_of(mark, low, high)]
    )
    if any(
        mark.kind == MERGE and (mark.item, mark.other) == (low, high)
        for mark in episode_marks(session)
    ):
        return False
    session.add(
        EpisodeMarkRow(
            kind=MERGE,
            source=low[0],
            platform_id=low[1],
            other_source=high[0],
            other_platform_id=high[1],
            marked_at=at,
        )
    )
    session.flush()
    return True


def add_episode_split(session: Session, item: ItemKey, at: datetime) -> bool:
    """Make an item an episode of its own, taking back every merge that names it; False when
    it was split already (nothing changed)."""
    marks = episode_marks(session)
    if any(mark.kind == SPLIT and mark.item == item for mark in marks):
        return False
    _delete_marks(
        session, [mark for mark in marks if mark.kind == MERGE and item in (mark.item, mark.other)]
    )
    session.add(EpisodeMarkRow(kind=SPLIT, source=item[0], platform_id=item[1], marked_at=at))
    session.flush()
    return True


def _is_split_of(mark: EpisodeMarkRow, *items: ItemKey) -> bool:
    return mark.kind == SPLIT and mark.item in items


def _delete_marks(session: Session, marks: Sequence[EpisodeMarkRow]) -> None:
    for mark in marks:
        session.delete(mark)
    session.flush()


def curated_rows(session: Session) -> list[CurationRow]:
    """Every curated item, pins first (most recent first), then by source and id."""
    query = select(CurationRow).order_by(
        CurationRow.pinned_at.is_(None),
        CurationRow.pinned_at.desc(),
        CurationRow.source,
        CurationRow.platform_id,
    )
    return list(session.scalars(query))


# --- staff: accounts, sessions, the login throttle's failures, the audit log -------------


class StaffAccountRow(Base):
    """A login for `serve --staff`; `password_hash` is an Argon2 hash (`staff.py`)."""

    __tablename__ = "staff_accounts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class StaffSessionRow(Base):
    """A login's session: only the SHA-256 of its cookie token is stored."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LoginFailureRow(Base):
    """One failed login, counted by the throttle per account name and per address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))


class AuditRow(Base):
    """One change staff made (append-only): `before` and `after` are short text or JSON."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


def staff_account(session: Session, name: str) -> StaffAccountRow | None:
    return session.get(StaffAccountRow, name)


def staff_accounts(session: Session) -> list[StaffAccountRow]:
    return list(session.scalars(select(StaffAccountRow).order_by(StaffAccountRow.name)))


def save_staff_account(session: Session, name: str, password_hash: str, at: datetime) -> bool:
    """True when the account is new; False when its password hash was replaced."""
    row = session.get(StaffAccountRow, name)
    if row is None:
        session.add(StaffAccountRow(name=name, password_hash=password_hash, created_at=at))
    else:
        row.password_hash = password_hash
    session.flush()
    return row is None


def delete_staff_account(session: Session, name: str) -> bool:
    """Remove the account and end its sessions; False when there was none."""
    row = session.get(StaffAccountRow, name)
    session.execute(delete(StaffSessionRow).where(StaffSessionRow.name == name))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def add_staff_session(
    session: Session, token_hash: str, name: str, csrf_token: str, at: datetime, until: datetime
) -> None:
    session.add(
        StaffSessionRow(
            token_hash=token_hash, name=name, csrf_token=csrf_token, created_at=at, expires_at=until
        )
    )
    session.flush()


def staff_session(session: Session, token_hash: str) -> StaffSessionRow | None:
    return session.get(StaffSessionRow, token_hash)


def delete_staff_sessions(
    session: Session,
    *,
    token_hash: str | None = None,
    name: str | None = None,
    expired_at: datetime | None = None,
) -> None:
    """End one session (by its token's hash), an account's sessions, or every session
    expired at `expired_at`."""
    query = delete(StaffSessionRow)
    if token_hash is not None:
        query = query.where(StaffSessionRow.token_hash == token_hash)
    if name is not None:
        query = query.where(StaffSessionRow.name == name)
    if expired_at is not None:
        query = query.where(StaffSessionRow.expires_at <= expired_at)
    session.execute(query)


def add_login_failure(session: Session, name: str, address: str, at: datetime) -> None:
    session.add(LoginFailureRow(name=name, address=address, at=at))
    session.flush()


def login_failures_since(session: Session, since: datetime, **match: str) -> list[datetime]:
    """The moments of failed logins after `since` for `name=` or `address=`, oldest first."""
    query = select(LoginFailureRow.at).where(LoginFailureRow.at > since)
    for column, value in match.items():
        query = query.where(getattr(LoginFailureRow, column) == value)
    return list(session.scalars(query.order_by(LoginFailureRow.at)))


def delete_login_failures(session: Session, name: str, address: str) -> None:
    """A successful login clears its own name's failures from its own address, no others."""
    session.execute(
        delete(LoginFailureRow).where(
            LoginFailureRow.name == name, LoginFailureRow.address == address
        )
    )


def forget_login_failures(session: Session, before: datetime) -> None:
    """Failures as old as the throttle's window count for nothing: keep the table small."""
    session.execute(delete(LoginFailureRow).where(LoginFailureRow.at <= before))


def add_audit_row(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    before: str | None,
    after: str | None,
) -> None:
    session.add(
        AuditRow(at=at, actor=actor, action=action, target=target, before=before, after=after)
    )
    session.flush()


def audit_rows(session: Session, limit: int) -> list[AuditRow]:
    """The newest changes first."""
    query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    return list(session.scalars(query))


def mark_hashtags(
    session: Session, rule_key: str, matches: Callable[[str, str, list[str]], bool]
) -> int:
    """Decide the hashtag rule (`matches`, named `rule_key`) for every item not yet decided
    under it: rows just written, rows from before migration 0010, every row after the
    configured hashtags changed. Return how many were decided; none once all are."""
    undecided = or_(ItemRow.hashtag_rule.is_(None), ItemRow.hashtag_rule != rule_key)
    texts = session.execute(
        select(ItemRow.id, ItemRow.title, ItemRow.description, ItemRow.tags).where(undecided)
    ).all()
    verdicts = [
        {"id": item_id, "hashtag_rule": rule_key, "has_hashtag": matches(title, text, tags)}
        for item_id, title, text, tags in texts
    ]
    for chunk in chunks(verdicts, 1000):
        session.execute(update(ItemRow), list(chunk))
    return len(verdicts)
