"""A fresh, empty PostgreSQL database per test, on the server tests/postgres/setup.sh started.

SHOWCASE_POSTGRES_URL names a database on that server that the test user may create others
from (setup.sh prints it). Without it a PostgreSQL test is skipped; CI sets
SHOWCASE_REQUIRE_POSTGRES=1, under which it fails instead."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER_VARIABLE = "SHOWCASE_POSTGRES_URL"


def server_url() -> str:
    url = os.environ.get(SERVER_VARIABLE)
    if not url:
        reason = f"no PostgreSQL server ({SERVER_VARIABLE} is unset; see tests/postgres/setup.sh)"
        if os.environ.get("SHOWCASE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}; SHOWCASE_REQUIRE_POSTGRES=1 requires it", pytrace=False)
        pytest.skip(reason)
    return url


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new empty database with a random name, dropped afterwards."""
    server = server_url()
    name = f"showcase_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
