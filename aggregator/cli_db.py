"""The `db` subcommand: `showcase db copy SOURCE_URL TARGET_URL` moves an installation over,
for example from its SQLite file to PostgreSQL.

Needs no config: both databases are named on the command line. Their passwords are secrets
(`errors.register_secret`): no output or error line shows them.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from aggregator import store
from aggregator.errors import UsageError, register_secret

EXIT_OK = 0
_CHUNK = 1000  # rows read and written at a time


class CopyError(Exception):
    """The copy went wrong after it began; the target's transaction was rolled back."""


def run(args: argparse.Namespace) -> int:
    source_url, target_url = _checked_url(args.source), _checked_url(args.target)
    started = time.monotonic()
    rows, tables = copy_database(source_url, target_url)
    print(f"copied {rows} rows in {tables} tables ({time.monotonic() - started:.1f}s)")
    return EXIT_OK


def _checked_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"db copy: {url!r} is not an SQLAlchemy database URL") from None
    register_secret(parsed.password if isinstance(parsed.password, str) else None)
    return url


def copy_database(source_url: str, target_url: str) -> tuple[int, int]:
    """Copy every table; (rows, tables). UsageError for a target with rows, CopyError when
    the row counts differ afterwards (nothing is kept in the target then)."""
    source, target = store.open_database(source_url), store.open_database(target_url)
    try:
        tables = store.Base.metadata.sorted_tables  # referenced tables before their referrers
        with source.connect() as reading, target.begin() as writing:
            _refuse_rows(writing, tables, target)
            copied = sum(_copy_table(reading, writing, table) for table in tables)
            _fix_sequences(writing, tables)
            _check_counts(reading, writing, tables)
        return copied, len(tables)
    finally:
        source.dispose()
        target.dispose()


def _refuse_rows(connection: Connection, tables: list[Table], engine: Engine) -> None:
    for table in tables:
        count = connection.scalar(select(func.count()).select_from(table))
        if count:
            where = engine.url.render_as_string(hide_password=True)
            raise UsageError(
                f"db copy: the target {where} is not empty ({table.name} has {count} rows); "
                "copy into a new, empty database"
            )


def _copy_table(reading: Connection, writing: Connection, table: Table) -> int:
    result = reading.execute(select(table))
    copied = 0
    while chunk := result.mappings().fetchmany(_CHUNK):
        writing.execute(insert(table), [dict(row) for row in chunk])
        copied += len(chunk)
    return copied


def _fix_sequences(connection: Connection, tables: list[Table]) -> None:
    """Rows came with their ids: PostgreSQL's sequences must go on after the largest."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                f"COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) "
                f"FROM {table.name}"
            )
        )


def _check_counts(reading: Connection, writing: Connection, tables: list[Table]) -> None:
    for table in tables:
        query = select(func.count()).select_from(table)
        had, has = reading.scalar(query), writing.scalar(query)
        if had != has:
            raise CopyError(
                f"db copy: {table.name} has {has} rows in the target, {had} in the source"
            )
