"""An empty database gets the newest schema at once (`store.create_fresh`): the same schema
the ten migrations build, without Alembic in the process.

Alembic documents this way ("Building an Up to Date Database from Scratch": `create_all`, then
stamp head). What this file holds it to: both ways give the same tables, columns (type,
nullability, default, key), indexes, unique constraints and foreign keys, read back from the
database itself, on SQLite and on PostgreSQL; the version row names the head revision, so the
next migration starts from there; and a database with any table in it is left to the
migrations.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from aggregator import store

pytestmark = pytest.mark.databases


def schema(engine: Engine) -> dict[str, Any]:
    """Everything SQLAlchemy's inspector reads of each table, in a comparable form."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        return {
            table: {
                "columns": sorted(
                    (
                        column["name"],
                        str(column["type"]),
                        column["nullable"],
                        str(column.get("default")),
                    )
                    for column in inspector.get_columns(table)
                ),
                "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted(
                    (tuple(index["column_names"]), bool(index["unique"]))
                    for index in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    tuple(unique["column_names"])
                    for unique in inspector.get_unique_constraints(table)
                ),
                "foreign_keys": sorted(
                    (
                        tuple(key["constrained_columns"]),
                        key["referred_table"],
                        tuple(key["referred_columns"]),
                        json.dumps(key.get("options", {}), sort_keys=True),
                    )
                    for key in inspector.get_foreign_keys(table)
                ),
            }
            for table in sorted(inspector.get_table_names())
        }


def test_an_empty_database_is_given_the_schema_the_migrations_build(database, tmp_path) -> None:
    migrated_url = (
        f"sqlite:///{tmp_path / 'migrated.db'}" if database.startswith("sqlite") else database
    )
    migrated = create_engine(store.engine_url(migrated_url))
    store.migrate(migrated)
    expected = schema(migrated)
    if database.startswith("sqlite"):
        fresh = store.open_database(database)
    else:  # one PostgreSQL database per test: empty it, then let open_database build it
        with migrated.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        fresh = store.open_database(database)
    migrated.dispose()
    try:
        assert schema(fresh) == expected
        assert len(expected) >= 8  # the models' tables and alembic_version
        with fresh.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, store.Base.metadata) == []
            version = connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalars().all() == [store.HEAD_REVISION]
        assert store.schema_state(fresh) == store.SCHEMA_CURRENT
    finally:
        fresh.dispose()


def test_a_database_with_tables_is_left_to_the_migrations(database) -> None:
    engine = create_engine(store.engine_url(database))
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE unrelated (id INTEGER PRIMARY KEY)"))
        assert store.create_fresh(engine) is False
        assert inspect(engine).get_table_names() == ["unrelated"]
    finally:
        engine.dispose()


def test_the_first_open_of_an_sqlite_file_imports_no_alembic(tmp_path) -> None:
    path = tmp_path / "showcase.db"
    program = (
        "import sys; from aggregator import store; "
        f"store.open_database('sqlite:///{path}').dispose(); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (store.HEAD_REVISION,)
        ]
