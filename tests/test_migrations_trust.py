"""Migrations that lose nothing: every earlier schema upgraded with its rows counted, an
upgrade interrupted at each of its statements completed by the next open, foreign keys off
around Alembic's batch rebuilds, a backup copy before the upgrade, and the database lock held
by whoever migrates (issue 11, item 6).

What the tests rest on:
- SQLite DDL is transactional, but pysqlite begins no transaction before DDL; SQLAlchemy's
  documented workaround: https://docs.sqlalchemy.org/en/20/dialects/sqlite.html
  #serializable-isolation-savepoints-transactional-ddl
- `PRAGMA foreign_keys` "is a no-op within a transaction", and DROP TABLE "performs an
  implicit DELETE FROM" that fires ON DELETE CASCADE: https://www.sqlite.org/foreignkeys.html
- Alembic's batch mode rebuilds a table by copy, drop and rename:
  https://alembic.sqlalchemy.org/en/latest/batch.html
"""

from __future__ import annotations

import fcntl
import hashlib
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from conftest import write_config
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
    insert,
    select,
)

from aggregator import jobs, store
from aggregator.config import load_config
from aggregator.errors import LockedError, NewerSchemaError

HEAD = store._script_directory().get_current_head()
REVISIONS = [rev.revision for rev in reversed(list(store._script_directory().walk_revisions()))]
EARLIER = [revision for revision in REVISIONS if revision != HEAD]


class Interrupted(Exception):
    """Raised by a patched cursor at one chosen statement of a migration."""


def database_at(path: Path, revision: str) -> Engine:
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", store._sqlite_pragmas)  # WAL, as showcase makes its files
    store.migrate(engine, revision)
    return engine


def fill(engine: Engine, rows_per_table: int = 3) -> None:
    """Rows in every table the schema has, parents before children, through its own columns."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            for number in range(rows_per_table):
                values = {}
                for column in table.columns:
                    if column.primary_key and isinstance(column.type, Integer):
                        continue
                    if column.foreign_keys:
                        parent = next(iter(column.foreign_keys)).column
                        values[column.name] = connection.execute(select(parent)).scalars().first()
                    else:
                        values[column.name] = sample(column, number)
                connection.execute(insert(table).values(values))
    engine.dispose()  # the last connection's close folds the WAL into the file


def sample(column, number: int):
    kind = column.type
    if isinstance(kind, Boolean):
        return bool(number % 2)
    if isinstance(kind, Integer):
        return 1000 + number
    if isinstance(kind, DateTime):
        return datetime(2026, 1, 1 + number)
    if isinstance(kind, JSON):
        return {"n": number}
    text = f"{column.name}-{number}"
    return text[: kind.length] if isinstance(kind, String) and kind.length else text


def row_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if name != "alembic_version"
        ]
        return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def revision_of(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def assert_sound(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.mark.parametrize("revision", EARLIER)
@pytest.mark.fault(
    "a database of every earlier schema, rows in every table, opened by this showcase",
    "upgraded to the newest schema under the database lock",
    "0",
    "every row of every table (counted before and after); the backup copy is removed",
)
def test_every_earlier_schema_upgrades_with_every_row(tmp_path, revision):
    path = tmp_path / "showcase.db"
    fill(database_at(path, revision))
    before = row_counts(path)
    assert all(before.values()), before

    store.open_database(f"sqlite:///{path}").dispose()

    after = row_counts(path)
    assert revision_of(path) == HEAD
    assert {table: after[table] for table in before} == before
    assert_sound(path)
    assert not list(tmp_path.glob("*.bak")), "the backup copy outlives a finished upgrade"


def statements_of_upgrade(path: Path) -> int:
    """How many statements the upgrade from this file's revision to the newest sends."""
    sent = []

    def count(*_args):
        sent.append(1)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        store.open_database(f"sqlite:///{path}").dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    return len(sent)


@pytest.mark.fault(
    "an upgrade from the first schema interrupted at each of its statements in turn",
    "the next open completes it (one transaction, DDL included, rolled back whole)",
    "0",
    "every row of every table; integrity_check and foreign_key_check clean",
)
def test_an_upgrade_interrupted_at_any_statement_is_completed_by_the_next_open(tmp_path):
    template = tmp_path / "template.db"
    fill(database_at(template, REVISIONS[0]))
    before = row_counts(template)
    probe = tmp_path / "probe.db"
    probe.write_bytes(template.read_bytes())
    total = statements_of_upgrade(probe)
    assert total > 20  # the batch rebuilds of 0002, 0004 and 0005 among them

    for stop_at in range(total):
        path = tmp_path / f"at-{stop_at}.db"
        path.write_bytes(template.read_bytes())
        sent = []

        def interrupt(*_args, sent=sent, stop_at=stop_at):
            sent.append(1)
            if len(sent) > stop_at:
                raise Interrupted(stop_at)

        event.listen(Engine, "before_cursor_execute", interrupt)
        try:
            with pytest.raises(Interrupted):
                store.open_database(f"sqlite:///{path}").dispose()
        finally:
            event.remove(Engine, "before_cursor_execute", interrupt)

        store.open_database(f"sqlite:///{path}").dispose()
        after = row_counts(path)
        assert revision_of(path) == HEAD, stop_at
        assert {table: after[table] for table in before} == before, stop_at
        assert_sound(path)
        path.unlink()


KILL_CHILD = """
import os, signal, sys
from sqlalchemy import Engine, event
from aggregator import store
sent = []
def kill(*_args):
    sent.append(1)
    if len(sent) > int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
event.listen(Engine, "before_cursor_execute", kill)
store.open_database("sqlite:///" + sys.argv[1])
"""


@pytest.mark.fault(
    "kill -9 of the process in the middle of a batch rebuild of an upgrade",
    "the backup copy is there meanwhile; the next open completes the upgrade",
    "0",
    "every row of every table; the file at its old schema until the rerun",
)
def test_kill_9_during_an_upgrade_keeps_a_backup_and_the_next_open_completes_it(tmp_path):
    path = tmp_path / "showcase.db"
    fill(database_at(path, "0003"))
    before = row_counts(path)
    middle = statements_of_upgrade_copy(tmp_path, path) // 2

    child = subprocess.run(
        [sys.executable, "-c", KILL_CHILD, str(path), str(middle)], timeout=60, check=False
    )

    assert child.returncode == -signal.SIGKILL
    backup = store.backup_path(path, HEAD)
    assert revision_of(backup) == "0003" and row_counts(backup) == before
    assert revision_of(path) == "0003", "a killed upgrade left a half-migrated file"
    store.open_database(f"sqlite:///{path}").dispose()
    assert revision_of(path) == HEAD
    after = row_counts(path)
    assert {table: after[table] for table in before} == before
    assert_sound(path)
    assert not backup.exists()


def statements_of_upgrade_copy(tmp_path: Path, path: Path) -> int:
    probe = tmp_path / "probe.db"
    probe.write_bytes(path.read_bytes())
    return statements_of_upgrade(probe)


def cascade_child(path: Path) -> None:
    """A table whose rows are deleted with their item (ON DELETE CASCADE): what an operator's
    own extension, or a later migration, may add."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, "
            "item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE)"
        )
        connection.execute("INSERT INTO notes (item_id) SELECT id FROM items")


def rebuild_items(connection) -> None:
    """What a migration that changes a column of `items` does on SQLite (Alembic batch mode:
    create a copy, copy the rows, drop the old table, rename)."""
    operations = Operations(MigrationContext.configure(connection))
    with operations.batch_alter_table("items", recreate="always") as batch:
        batch.add_column(Column("rebuilt", Integer(), nullable=True))


@pytest.mark.fault(
    "a migration that rebuilds the items table (batch mode) under a table with ON DELETE CASCADE",
    "foreign keys are off around the rebuild and checked by PRAGMA foreign_key_check after it",
    "0",
    "the child rows, which a rebuild with foreign keys on deletes",
)
def test_a_batch_rebuild_keeps_cascading_children(tmp_path):
    path = tmp_path / "showcase.db"
    fill(store.open_database(f"sqlite:///{path}"))
    cascade_child(path)
    with store.sqlite_migration(create_engine(f"sqlite:///{path}")) as connection:
        rebuild_items(connection)
    assert row_counts(path)["notes"] == 3
    assert_sound(path)

    # The same rebuild with foreign keys on, as the store's own connections have them:
    # SQLite's DROP TABLE deletes the children first.
    careless = tmp_path / "careless.db"
    fill(store.open_database(f"sqlite:///{careless}"))
    cascade_child(careless)
    with store.open_database(f"sqlite:///{careless}").begin() as connection:
        rebuild_items(connection)
    assert row_counts(careless)["notes"] == 0


def test_a_broken_reference_after_an_upgrade_rolls_it_back(tmp_path):
    path = tmp_path / "showcase.db"
    fill(database_at(path, "0003"))
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("UPDATE items SET account_id = 999 WHERE id = 1")
    with pytest.raises(store.DatabaseError, match="pointing nowhere"):
        store.open_database(f"sqlite:///{path}")
    assert revision_of(path) == "0003"


def test_whoever_migrates_holds_the_database_lock(tmp_path):
    config = load_config(_config_file(tmp_path))
    path = Path(config.database_url.removeprefix("sqlite:///"))
    database_at(path, "0006").dispose()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    with open(jobs.lock_path(config), "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LockedError):
            jobs.open_database(config)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)

    jobs.open_database(config).dispose()
    assert revision_of(path) == HEAD


def test_a_current_schema_opens_without_the_lock(tmp_path):
    config = load_config(_config_file(tmp_path))
    jobs.open_database(config).dispose()
    with open(jobs.lock_path(config), "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        jobs.open_database(config).dispose()  # a reader beside a running update


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "showcase.db"
    database_at(path, HEAD).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(NewerSchemaError) as refused:
        store.open_database(f"sqlite:///{path}")

    assert str(refused.value).startswith(f"{path}: schema revision 9999 was made by a newer")
    assert "upgrade showcase" in str(refused.value)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not list(tmp_path.glob("*.bak"))


def _config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path, "http://127.0.0.1:9/")
