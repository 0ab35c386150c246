"""The store on plain results: upserts, figure history, retiring only after complete listings."""

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select

from aggregator import store
from aggregator.models import Account, Figure, Item, SourceResult, Usage

T0 = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


# Every test of the store that takes `engine` runs on SQLite and on PostgreSQL (conftest).
pytestmark = pytest.mark.databases


@pytest.fixture
def engine(database):
    engine = store.open_database(database)
    yield engine
    engine.dispose()


def video(video_id, title="Porträt #flächenglühen", views=10, public=True, raw=None):
    return Item(
        source="youtube",
        platform_id=video_id,
        kind="video",
        title=title,
        description="",
        url=f"https://www.youtube.com/watch?v={video_id}",
        published_at=datetime(2017, 6, 27, 10, 0, tzinfo=UTC),
        views=views,
        tags=["kultur"],
        public=public,
        raw=raw if raw is not None else {"id": video_id},
    )


def result(items, figures=(), complete=True, error=None):
    return SourceResult(
        source="youtube",
        account=Account("youtube", "UCabc", "Kreatives Sachsen", "https://www.youtube.com/@k"),
        figures=list(figures),
        items=list(items),
        complete=complete,
        error=error,
    )


def save(engine, res, when=T0):
    with store.session_scope(engine) as session:
        return store.save_result(session, res, when)


def rows(engine):
    with store.session_scope(engine) as session:
        return {row.platform_id: row for row in session.scalars(select(store.ItemRow))}


def test_migrations_build_exactly_the_models(database):
    # open_database gives an empty database the models' schema directly (test_fresh_schema);
    # here the ten migrations build it.
    migrated = create_engine(store.engine_url(database))
    store.migrate(migrated)
    with migrated.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), store.Base.metadata) == []
    migrated.dispose()


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(tmp_path):
    engine = store.open_database(f"sqlite:///{tmp_path / 'showcase.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_save_inserts_then_updates_on_source_and_platform_id(engine):
    summary = save(engine, result([video("a"), video("b")]))
    assert (summary.new, summary.updated, summary.retired) == (2, 0, 0)
    summary = save(engine, result([video("a", views=99), video("b")]), T0 + timedelta(hours=1))
    assert (summary.new, summary.updated) == (0, 2)
    saved = rows(engine)
    assert saved["a"].views == 99
    assert saved["a"].raw == {"id": "a"}
    assert saved["a"].tags == ["kultur"]
    assert saved["a"].first_seen_at == T0
    assert saved["a"].last_seen_at == T0 + timedelta(hours=1)
    assert saved["a"].published_at.tzinfo is not None


def test_complete_listing_retires_what_is_gone_and_revives_what_returns(engine):
    save(engine, result([video("a"), video("b")]))
    summary = save(engine, result([video("a")]), T0 + timedelta(hours=1))
    assert summary.retired == 1
    assert rows(engine)["b"].retired_at == T0 + timedelta(hours=1)
    save(engine, result([video("a"), video("b")]), T0 + timedelta(hours=2))
    assert rows(engine)["b"].retired_at is None


def test_partial_or_failed_listing_retires_nothing(engine):
    save(engine, result([video("a"), video("b"), video("c")]))
    save(engine, result([video("a")], complete=False), T0 + timedelta(hours=1))
    save(engine, result([video("a")], error=RuntimeError("page 3")), T0 + timedelta(hours=2))
    assert all(row.retired_at is None for row in rows(engine).values())


def test_figure_history_gets_a_row_only_when_a_value_changes(engine):
    subscribers = [Figure("youtube.subscribers", 412, rounded=True), Figure("youtube.views", 5)]
    save(engine, result([], subscribers))
    save(engine, result([], subscribers), T0 + timedelta(hours=1))
    save(
        engine,
        result([], [Figure("youtube.subscribers", 420, rounded=True)]),
        T0 + timedelta(hours=2),
    )
    with store.session_scope(engine) as session:
        history = session.scalars(
            select(store.FigureHistoryRow).order_by(store.FigureHistoryRow.id)
        ).all()
        current = {row.key: row for row in store.current_figures(session)}
    assert [(h.key, h.value, h.taken_at) for h in history] == [
        ("youtube.subscribers", 412, T0),
        ("youtube.views", 5, T0),
        ("youtube.subscribers", 420, T0 + timedelta(hours=2)),
    ]
    assert current["youtube.subscribers"].value == 420
    assert current["youtube.subscribers"].rounded is True
    assert current["youtube.views"].as_of == T0 + timedelta(hours=1)


def test_fetch_runs_and_the_last_run_per_source(engine):
    with store.session_scope(engine) as session:
        store.record_run(session, "youtube", T0, T0, Usage(quota_units=7, requests=7), outcome="ok")
        store.record_run(
            session,
            "youtube",
            T0,
            T0,
            Usage(quota_units=1),
            outcome="error",
            error_cause="quota",
            error_message="youtube: quota",
        )
        store.record_run(session, "facebook", T0, T0, Usage(requests=3), outcome="ok")
    with store.session_scope(engine) as session:
        last = store.last_runs(session)
    assert last["youtube"].outcome == "error" and last["youtube"].error_cause == "quota"
    assert last["facebook"].requests == 3


def test_live_items_are_public_and_not_retired_newest_first(engine):
    older = video("old")
    newer = video("new")
    newer.published_at = older.published_at + timedelta(days=1)
    save(engine, result([older, newer, video("private", public=False)]))
    with store.session_scope(engine) as session:
        live = [row.platform_id for row in store.live_items(session)]
    assert live == ["new", "old"]


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(Exception, match="naive"):
        save(engine, result([video("a")]), datetime(2026, 1, 1))


def test_a_database_at_0001_upgrades_and_keeps_its_figures(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    store.migrate(old, "0001")
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO figures (key, source, value, rounded, as_of) "
                "VALUES ('youtube.subscribers', 'youtube', 412, 1, '2026-11-26 05:00:00')"
            )
        )
    old.dispose()
    engine = store.open_database(url)
    with store.session_scope(engine) as session:
        (row,) = store.current_figures(session)
    engine.dispose()
    assert (row.key, row.value, row.manual, row.label) == ("youtube.subscribers", 412, False, None)


def manual(engine, key, value, day, label=None):
    with store.session_scope(engine) as session:
        store.set_manual_figure(session, key, value, datetime(*day, 12, tzinfo=UTC), label)


def manual_state(engine, key):
    with store.session_scope(engine) as session:
        row = session.get(store.FigureRow, key)
        history = store.figure_histories(session).get(key, [])
    current = None if row is None else (row.value, row.as_of.date(), row.label, row.manual)
    return current, [(taken_at.date().isoformat(), value) for taken_at, value in history]


def test_a_hand_entered_figure_lives_beside_the_fetched_ones_with_history(engine):
    save(engine, result([], [Figure("youtube.subscribers", 412)]))
    manual(engine, "facebook_group.members", 400, (2017, 8, 1), "Gruppenmitglieder")
    manual(engine, "facebook_group.members", 450, (2017, 10, 5))
    current, history = manual_state(engine, "facebook_group.members")
    assert current == (450, datetime(2017, 10, 5).date(), "Gruppenmitglieder", True)
    assert history == [("2017-08-01", 400), ("2017-10-05", 450)]
    with store.session_scope(engine) as session:
        rows = {row.key: (row.source, row.manual) for row in store.current_figures(session)}
    assert rows == {
        "facebook_group.members": ("manual", True),
        "youtube.subscribers": ("youtube", False),
    }


def test_an_older_date_fills_in_history_and_a_same_day_entry_corrects(engine):
    manual(engine, "agency.events", 80, (2017, 10, 5), "Veranstaltungen")
    manual(engine, "agency.events", 0, (2017, 6, 27))  # backfill: the current value stays
    manual(engine, "agency.events", 800, (2017, 10, 5))  # a typo ...
    manual(engine, "agency.events", 80, (2017, 10, 5))  # ... corrected the same day
    manual(engine, "agency.events", 80, (2017, 11, 1))  # unchanged: no history row, newer date
    current, history = manual_state(engine, "agency.events")
    assert current == (80, datetime(2017, 11, 1).date(), "Veranstaltungen", True)
    assert history == [
        ("2017-06-27", 0),
        ("2017-10-05", 80),
        ("2017-10-05", 800),
        ("2017-10-05", 80),
    ]
    with store.session_scope(engine) as session:
        at = datetime(2017, 10, 5, 12, tzinfo=UTC)
        assert store.value_in_force(session, "agency.events", at) == 80


def test_unset_removes_the_current_figure_and_keeps_its_history(engine):
    manual(engine, "agency.events", 80, (2017, 10, 5), "Veranstaltungen")
    with store.session_scope(engine) as session:
        store.unset_manual_figure(session, "agency.events")
    assert manual_state(engine, "agency.events") == (None, [("2017-10-05", 80)])
    with store.session_scope(engine) as session, pytest.raises(LookupError):
        store.unset_manual_figure(session, "agency.events")


def test_a_fetched_figure_is_neither_overwritten_nor_unset_by_hand(engine):
    save(engine, result([], [Figure("youtube.subscribers", 412)]))
    with store.session_scope(engine) as session, pytest.raises(ValueError):
        store.set_manual_figure(session, "youtube.subscribers", 1, T0)
    with store.session_scope(engine) as session, pytest.raises(LookupError):
        store.unset_manual_figure(session, "youtube.subscribers")


# --- staff's word on episodes -------------------------------------------------------------

A = ("youtube", "A5bUqkYPIw8")
B = ("facebook", "3287244127826115")
C = ("website", "1840")


def overrides(engine):
    with store.session_scope(engine) as session:
        return store.episode_overrides(session)


def test_episode_merges_and_splits_are_stored_and_undo_what_they_contradict(engine):
    with store.session_scope(engine) as session:
        assert store.add_episode_merge(session, B, A, T0) is True
        assert store.add_episode_merge(session, A, B, T0) is False  # one pair, either order
        assert store.add_episode_merge(session, A, C, T0) is True
    assert overrides(engine) == store.Overrides(merged=((B, A), (C, A)))  # smaller key first
    with store.session_scope(engine) as session:
        assert store.add_episode_split(session, B, T0 + timedelta(minutes=1)) is True
        assert store.add_episode_split(session, B, T0 + timedelta(minutes=2)) is False
    assert overrides(engine) == store.Overrides(merged=((C, A),), split=frozenset({B}))
    with store.session_scope(engine) as session:  # a merge after a split takes the split back
        assert store.add_episode_merge(session, C, B, T0 + timedelta(minutes=3)) is True
        kinds = [(mark.kind, mark.item, mark.other) for mark in store.episode_marks(session)]
    assert kinds == [("merge", C, A), ("merge", B, C)]
    assert overrides(engine) == store.Overrides(merged=((C, A), (B, C)))
    with store.session_scope(engine) as session, pytest.raises(ValueError):
        store.add_episode_merge(session, A, A, T0)


def test_a_database_at_0005_upgrades_and_keeps_its_items_and_curation(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    store.migrate(old, "0005")
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO curation (source, platform_id, pinned_at) "
                "VALUES ('youtube', 'A5bUqkYPIw8', '2026-11-26 05:00:00')"
            )
        )
    old.dispose()
    engine = store.open_database(url)
    save(engine, result([video("A5bUqkYPIw8")]))
    with store.session_scope(engine) as session:
        assert list(store.curation(session)) == [A]
        assert store.episode_overrides(session) == store.Overrides()
        store.add_episode_split(session, A, T0)
    assert overrides(engine) == store.Overrides(split=frozenset({A}))
    engine.dispose()


def test_a_database_at_0006_upgrades_keeps_its_marks_and_gains_the_staff_tables(tmp_path):
    from sqlalchemy import create_engine, inspect, text

    from aggregator import actions, staff

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    store.migrate(old, "0006")
    with old.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO curation (source, platform_id, hidden_at) "
                "VALUES ('youtube', 'A5bUqkYPIw8', '2026-11-26 05:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO episode_marks (kind, source, platform_id, marked_at) "
                "VALUES ('split', 'youtube', 'A5bUqkYPIw8', '2026-11-26 05:00:00')"
            )
        )
    assert "audit_log" not in inspect(old).get_table_names()
    old.dispose()
    engine = store.open_database(url)
    assert {"staff_accounts", "staff_sessions", "login_failures", "audit_log"} <= set(
        inspect(engine).get_table_names()
    )
    with store.session_scope(engine) as session:
        assert store.curation(session)[A].hidden_at == T0
        assert store.episode_overrides(session) == store.Overrides(split=frozenset({A}))
        assert staff.accounts(session) == []
        assert actions.recent_changes(session) == []
        staff.add_account(session, "anna", "richtig-langes-passwort", T0)
    with store.session_scope(engine) as session:
        assert [account.name for account in staff.accounts(session)] == ["anna"]
    engine.dispose()
