"""The plain-SQL read side (`reads.py`): the same rows as the ORM on SQLite and PostgreSQL,
through sqlite3 alone on an SQLite file, one snapshot per command while an update writes, and
the SQLAlchemy path (migrate or refuse) for every schema that is not current."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import write_config
from sqlalchemy import select
from sqlalchemy.engine import make_url
from test_migrations_trust import EARLIER, database_at, revision_of

from aggregator import cli, reads, store
from aggregator.config import _database_url
from aggregator.models import Account, Figure, Item, RawJson, SourceResult, Usage
from aggregator.rows import ItemText, StoredCuration, StoredFigure, StoredItem, StoredRun

T0 = datetime(2026, 11, 26, 5, 0, 7, 123456, tzinfo=UTC)


def item(platform_id: str, public: bool = True, **changes: object) -> Item:
    fields: dict[str, object] = {
        "source": "youtube",
        "platform_id": platform_id,
        "kind": "video",
        "title": f"Porträt {platform_id} #flächenglühen",
        "description": "Beschreibung",
        "url": f"https://www.youtube.com/watch?v={platform_id}",
        "published_at": datetime(2017, 6, 27, 10, 0, tzinfo=UTC)
        + timedelta(days=int(platform_id[-1])),
        "views": 3_000_000_000,
        "duration_seconds": 61,
        "tags": ["kultur", "Flächenglühen"],
        "public": public,
        "embeddable": platform_id != "v2",
        "raw": {"id": platform_id, "snippet": {"title": "ä", "n": [1, 2.5, None, True]}},
        "thumbnail_url": "https://i.ytimg.com/vi/x/hq.jpg",
    }
    fields.update(changes)
    return Item(**fields)  # type: ignore[arg-type]


def filled(url: str) -> None:
    """Items (one private, one retired, one live upcoming), figures with history (one entered
    by hand), runs of every outcome, curation marks and episode marks."""
    engine = store.open_database(url)
    try:
        items = [
            item("v1"),
            item("v2"),
            item("v3", public=False),
            item("v4", live_status="upcoming", scheduled_start_at=T0 + timedelta(hours=3)),
            item("v5"),
        ]
        result = SourceResult(
            source="youtube",
            account=Account("youtube", "UCabc", "Kreatives Sachsen", "https://youtube.com/@k"),
            figures=[Figure("youtube.views", 48_893_144), Figure("youtube.subscribers", 94_500)],
            items=items,
            complete=True,
        )
        with store.session_scope(engine) as session:
            store.save_result(session, result, T0)
        with store.session_scope(engine) as session:
            views = [Figure("youtube.views", 7)]
            later = dataclasses.replace(result, items=items[:4], figures=views)
            store.save_result(session, later, T0 + timedelta(days=2), accept_shrink=True)
            store.set_manual_figure(session, "facebook_group.members", 1310, T0, "Gruppe")
            store.set_thumbnail_file(session, 1, "thumbnails/youtube-v1.jpg")
            runs = [
                (store.OUTCOME_FULL, None),
                ("error", "quota"),
                (store.OUTCOME_QUICK, None),
                ("partial", "http 503"),
                ("error", "token"),
            ]
            for index, (outcome, cause) in enumerate(runs):
                started = T0 + timedelta(hours=index)
                store.record_run(
                    session,
                    "youtube" if index % 4 else "facebook",
                    started,
                    started + timedelta(seconds=5),
                    Usage(quota_units=index, requests=2 * index),
                    outcome=outcome,
                    error_cause=cause,
                    error_message=f"{cause}: said once" if cause else None,
                    items_seen=index,
                )
            store.set_curation_mark(session, "youtube", "v1", "pinned_at", T0)
            store.set_curation_mark(session, "youtube", "v2", "hidden_at", T0)
            store.set_curation_mark(session, "facebook", "p9", "included_at", T0)
            store.add_episode_merge(session, ("youtube", "v1"), ("facebook", "p9"), T0)
            store.add_episode_split(session, ("youtube", "v4"), T0 + timedelta(seconds=1))
    finally:
        engine.dispose()


def as_plain(row: object, plain: type) -> object:
    """An ORM row as the plain row type with the same fields."""
    names = [field.name for field in dataclasses.fields(plain)]
    return plain(*(getattr(row, name) for name in names))


def orm_live_item_texts(session: store.Session) -> list[ItemText]:
    """The texts of the public items not retired, read through the ORM (what reads.py
    replaced in the store, kept here as the reference)."""
    row = store.ItemRow
    columns = (row.id, row.source, row.platform_id, row.title, row.description, row.tags)
    live = select(*columns).where(row.public.is_(True), row.retired_at.is_(None))
    return [ItemText(*found) for found in session.execute(live)]


def orm_items_by_ids(session: store.Session, item_ids: list[int]) -> list[store.ItemRow]:
    """These items through the ORM, newest first (by date, then id)."""
    found = list(session.scalars(select(store.ItemRow).where(store.ItemRow.id.in_(item_ids))))
    found.sort(key=lambda row: row.id, reverse=True)
    found.sort(key=lambda row: row.published_at, reverse=True)
    return found


def expected(session: store.Session) -> dict[str, object]:
    """What the ORM functions of the store say, as plain rows."""
    items = orm_items_by_ids(session, [text.id for text in orm_live_item_texts(session)])
    return {
        "texts": sorted(orm_live_item_texts(session)),
        "items": [as_plain(row, StoredItem) for row in items],
        "figures": [as_plain(row, StoredFigure) for row in store.current_figures(session)],
        "histories": store.figure_histories(session),
        "last_runs": {k: as_plain(r, StoredRun) for k, r in store.last_runs(session).items()},
        "latest": [
            as_plain(store.latest_run(session, name, outcomes, failed=failed), StoredRun)
            for name in ("youtube", "facebook")
            for outcomes, failed in ((None, False), (store.SUCCESS_OUTCOMES, False), (None, True))
        ],
        "failures": [store.failures_since_success(session, n) for n in ("youtube", "facebook")],
        "usage": store.usage_since(session, T0 + timedelta(hours=1)),
        "curation": {k: as_plain(r, StoredCuration) for k, r in store.curation(session).items()},
        "overrides": store.episode_overrides(session),
    }


def read(reader: reads.Reader) -> dict[str, object]:
    ids = [text.id for text in reads.live_item_texts(reader)]
    return {
        "texts": sorted(reads.live_item_texts(reader)),
        "items": reads.items_by_ids(reader, ids),
        "figures": reads.current_figures(reader),
        "histories": reads.figure_histories(reader),
        "last_runs": reads.last_runs(reader),
        "latest": [
            reads.latest_run(reader, name, outcomes, failed=failed)
            for name in ("youtube", "facebook")
            for outcomes, failed in ((None, False), (store.SUCCESS_OUTCOMES, False), (None, True))
        ],
        "failures": [reads.failures_since_success(reader, n) for n in ("youtube", "facebook")],
        "usage": reads.usage_since(reader, T0 + timedelta(hours=1)),
        "curation": reads.curation(reader),
        "overrides": reads.episode_overrides(reader),
    }


@pytest.mark.databases
def test_the_reads_give_the_rows_of_the_orm(database):
    filled(database)
    engine = store.open_database(database)
    try:
        with store.session_scope(engine) as session:
            orm = expected(session)
            through_sqlalchemy = read(reads.SessionReader(session))
    finally:
        engine.dispose()

    assert len(orm["items"]) == 3  # type: ignore[arg-type]  # v3 private, v5 retired
    assert through_sqlalchemy == orm
    if database.startswith("sqlite"):
        with reads.sqlite_snapshot(database) as reader:
            assert reader is not None
            assert read(reader) == orm


def test_a_snapshot_keeps_what_it_saw_while_an_update_writes(tmp_path):
    url = f"sqlite:///{tmp_path / 'showcase.db'}"
    filled(url)
    with reads.sqlite_snapshot(url) as reader:
        assert reader is not None
        before = reads.last_runs(reader)
        engine = store.open_database(url)  # WAL: the writer goes on beside the reader
        try:
            with store.session_scope(engine) as session:
                store.record_run(session, "youtube", T0, T0, Usage(), outcome="error")
                store.set_curation_mark(session, "youtube", "v5", "pinned_at", T0)
        finally:
            engine.dispose()
        assert reads.last_runs(reader) == before
        assert ("youtube", "v5") not in reads.curation(reader)
    with reads.sqlite_snapshot(url) as reader:
        assert reader is not None
        assert reads.last_runs(reader)["youtube"].outcome == "error"


def test_the_reader_opens_the_file_read_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'showcase.db'}"
    filled(url)
    with reads.sqlite_snapshot(url) as reader, pytest.raises(sqlite3.OperationalError):
        assert reader is not None
        reader.rows("DELETE FROM curation")


def test_no_reader_for_a_missing_file_or_a_schema_not_current(tmp_path):
    path = tmp_path / "showcase.db"
    assert reads.open_current_sqlite(f"sqlite:///{path}") is None
    assert not path.exists()
    database_at(path, EARLIER[-1]).dispose()
    assert reads.open_current_sqlite(f"sqlite:///{path}") is None
    for url in ("sqlite://", "sqlite:///:memory:", f"sqlite:///{path}?mode=ro", "postgresql://x"):
        assert reads.open_current_sqlite(url) is None


def _site(tmp_path: Path) -> Path:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    return config


def test_render_of_an_older_schema_migrates_it_as_before(tmp_path):
    config = _site(tmp_path)
    path = tmp_path / "showcase.db"
    database_at(path, EARLIER[-1]).dispose()

    assert cli.main(["--config", str(config), "render"]) == 0

    assert revision_of(path) == store.HEAD_REVISION
    assert (tmp_path / "public" / "index.html").is_file()


def test_status_and_render_refuse_a_newer_schema_as_before(tmp_path, capsys):
    config = _site(tmp_path)
    path = tmp_path / "showcase.db"
    database_at(path, store.HEAD_REVISION).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")

    for command in ("render", "status"):
        assert cli.main(["--config", str(config), command]) == 2
        said = capsys.readouterr().err
        assert f"{path}: schema revision 9999 was made by a newer showcase" in said


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///showcase.db",
        "sqlite:///data/a b+c@d#e%25f.db",
        "sqlite:///daten/ä.db",
        "sqlite:////srv/showcase.db",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///file:showcase.db",
        "sqlite:///showcase.db?timeout=5",
        "postgresql://user:pw@host/db",
    ],
)
def test_sqlite_urls_are_resolved_as_sqlalchemy_resolves_them(url, tmp_path):
    base = tmp_path / "a folder #1"
    parsed = make_url(url)
    database = parsed.database
    kept = parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:")
    if kept or database.startswith("file:") or Path(database).is_absolute():
        wanted = url
    else:
        resolved = parsed.set(database=str(base / database))
        wanted = resolved.render_as_string(hide_password=False)
    assert _database_url(url, base) == wanted


@pytest.mark.databases
def test_the_hashtag_verdicts_are_the_marked_items_and_the_undecided_texts(database):
    filled(database)
    engine = store.open_database(database)
    try:
        with store.session_scope(engine) as session:  # v1 yes, v2 no, v4 decided otherwise
            store.mark_hashtags(session, "rule", lambda title, text, tags: "v2" not in title)
            store.mark_hashtags(session, "other", lambda title, text, tags: True)
            session.execute(
                store.update(store.ItemRow)
                .where(store.ItemRow.platform_id.in_(["v1", "v2"]))
                .values(hashtag_rule="rule")
            )
            session.execute(
                store.update(store.ItemRow)
                .where(store.ItemRow.platform_id == "v2")
                .values(has_hashtag=False)
            )
        with store.session_scope(engine) as session:
            reader = reads.SessionReader(session)
            marked, undecided = reads.hashtag_verdicts(reader, "rule")
            assert sorted(marked) == sorted(reads.marked_item_ids(reader, "rule")) != []
            assert sorted(undecided) == sorted(reads.live_item_texts(reader, undecided_by="rule"))
            assert [text.platform_id for text in undecided] == ["v4"]
    finally:
        engine.dispose()


def test_the_payloads_are_handed_out_as_their_json_text(database):
    filled(database)
    with reads.sqlite_snapshot(database) as reader:
        assert reader is not None
        items = reads.items_by_ids(reader, [text.id for text in reads.live_item_texts(reader)])

    assert items and all(isinstance(item.raw, RawJson) for item in items)
    assert items[0].raw["snippet"] == {"title": "ä", "n": [1, 2.5, None, True]}
