"""PostgreSQL, a real server (tests/postgres/setup.sh): 64-bit counts, the advisory lock that
keeps two updates apart across hosts, and `showcase db copy` from SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from conftest import write_config
from postgres_support import fresh_database
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from aggregator import store
from aggregator.cli import main
from aggregator.models import Account, Figure, Item, SourceResult

T0 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
# YouTube documents channel statistics.viewCount and video statistics.viewCount as unsigned
# long (https://developers.google.com/youtube/v3/docs/channels#statistics.viewCount,
# https://developers.google.com/youtube/v3/docs/videos#statistics.viewCount): a large
# channel passes 2**31, which PostgreSQL's INTEGER refuses.
BEYOND_32_BITS = 5_000_000_000


def big_result() -> SourceResult:
    item = Item(
        source="youtube",
        platform_id="A5bUqkYPIw8",
        kind="video",
        title="Porträt #flächenglühen",
        description="",
        url="https://www.youtube.com/watch?v=A5bUqkYPIw8",
        published_at=datetime(2017, 6, 27, 10, 0, tzinfo=UTC),
        views=BEYOND_32_BITS,
        raw={},
    )
    return SourceResult(
        source="youtube",
        account=Account("youtube", "UCabc", "Kreatives Sachsen", "https://www.youtube.com/@k"),
        figures=[Figure("youtube.views", BEYOND_32_BITS)],
        items=[item],
        complete=True,
    )


@pytest.mark.databases
@pytest.mark.fault(
    "a count beyond 2**31 (5 billion views) on PostgreSQL and SQLite",
    "stored and read back whole (BigInteger, migration 0008)",
    "0",
    "the item, the figure and its history",
)
def test_counts_beyond_32_bits_are_stored_whole(database):
    engine = store.open_database(database)
    try:
        with store.session_scope(engine) as session:
            summary = store.save_result(session, big_result(), T0)
        assert (summary.new, summary.refused) == (1, 0)
        with store.session_scope(engine) as session:
            assert session.scalar(select(store.ItemRow.views)) == BEYOND_32_BITS
            assert session.get(store.FigureRow, "youtube.views").value == BEYOND_32_BITS
            assert session.scalar(select(store.FigureHistoryRow.value)) == BEYOND_32_BITS
    finally:
        engine.dispose()


def test_a_postgresql_url_without_a_driver_means_psycopg_3():
    # SQLAlchemy 2.0 would look for psycopg2 (2.1 picks psycopg 3 itself); the showcase
    # installs psycopg 3 only.
    assert store.engine_url("postgresql://showcase@db/showcase").drivername == "postgresql+psycopg"
    with fresh_database() as url:
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        engine = store.open_database(plain)
        try:
            assert engine.dialect.driver == "psycopg"
        finally:
            engine.dispose()


HOLD_LOCK = """
import sys, time
from aggregator import jobs
from pathlib import Path
from aggregator.config import load_config
with jobs.database_lock(load_config(Path(sys.argv[1]))):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
@pytest.mark.fault(
    "a second update on the same PostgreSQL database from another host (its own TMPDIR)",
    "refused at once: the advisory lock is held; once the first is killed -9, the lock is free",
    "75",
    "everything: the second run fetches nothing",
)
def test_a_second_update_from_another_host_exits_75(make_site, database, tmp_path):
    site = make_site()
    elsewhere = {**os.environ, "TMPDIR": str(tmp_path / "host-a")}
    (tmp_path / "host-a").mkdir()
    holder = hold_lock(site, elsewhere)
    try:
        here = {**os.environ, "TMPDIR": str(tmp_path / "host-b")}
        (tmp_path / "host-b").mkdir()
        update = [sys.executable, "-m", "aggregator", "--config", str(site.config), "update"]
        second = subprocess.run(update, env=here, capture_output=True, text=True, timeout=60)
        assert (second.returncode, second.stderr) == (75, "")
        assert site.server.stats.youtube_units == 0
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # PostgreSQL ends a killed session's locks with its connection: the next one takes it.
    holder = hold_lock(site, here)
    holder.kill()
    holder.wait()


def hold_lock(site, env) -> subprocess.Popen:
    """A process that holds the update lock of `site` until it is killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(site.config)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def table_counts(url: str) -> dict[str, int]:
    engine = store.open_database(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: connection.scalar(select(func.count()).select_from(table))
                for table in store.Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.mark.fault(
    "`db copy` into a PostgreSQL database that already has rows",
    "refused in one line naming the target (password hidden) and the table",
    "2",
    "the target as it was",
)
def test_db_copy_moves_an_installation_and_refuses_a_target_with_rows(site, capsys):
    assert main(["--config", str(site.config), "update"]) == 0
    assert main(["--config", str(site.config), "figures", "set", "agentur.akteure", "3000"]) == 0
    source = f"sqlite:///{site.folder / 'showcase.db'}"
    before = table_counts(source)
    capsys.readouterr()
    with fresh_database() as target:
        assert main(["db", "copy", source, target]) == 0
        out, err = capsys.readouterr()
        total = sum(before.values())
        assert out.startswith(f"copied {total} rows in {len(before)} tables ("), out
        assert err == ""
        assert table_counts(target) == before
        assert min(before["items"], before["figures"], before["fetch_runs"]) > 0

        assert main(["db", "copy", source, target]) == 2
        out, err = capsys.readouterr()
        password = make_url(target).password
        assert out == "" and "not empty" in err and len(err.strip().splitlines()) == 1
        assert password and password not in err
        assert table_counts(target) == before

        # The copy is a working installation: its sequences go on after the copied ids.
        write_config(site.folder, site.server.url, database=target)
        assert main(["--config", str(site.config), "update"]) == 0
        assert table_counts(target)["fetch_runs"] > before["fetch_runs"]
