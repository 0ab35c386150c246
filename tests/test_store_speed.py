"""The store writes only what changed, in few statements; the selection reads `raw` only for
candidates. Observable behaviour of the speed work (issue 12), not timings."""

import re
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select
from sqlalchemy import text as sql
from test_store import T0, video

from aggregator import context, reads, store
from aggregator.matching import HashtagRule
from aggregator.models import Account, RawJson, SourceResult

pytestmark = pytest.mark.databases


@pytest.fixture
def engine(database):
    engine = store.open_database(database)
    yield engine
    engine.dispose()


def result(items, unavailable=(), complete=True):
    return SourceResult(
        source="youtube",
        account=Account("youtube", "UCabc", "Kreatives Sachsen", "https://www.youtube.com/@k"),
        items=list(items),
        complete=complete,
        unavailable_ids=list(unavailable),
    )


def save(engine, res, when=T0):
    with store.session_scope(engine) as session:
        return store.save_result(session, res, when)


def rows(engine):
    with store.session_scope(engine) as session:
        return {row.platform_id: row for row in session.scalars(select(store.ItemRow))}


@pytest.fixture
def statements(engine):
    """The SQL sent to the database while the test runs, upper-cased."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        sent.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


def writes_to_items(sent):
    return [s for s in sent if s.startswith(("INSERT INTO ITEMS", "UPDATE ITEMS"))]


def test_an_unchanged_listing_writes_no_item(engine, statements):
    listing = [video(f"v{n}") for n in range(30)]
    save(engine, result(listing))
    statements.clear()
    summary = save(engine, result(listing), T0 + timedelta(hours=1))
    assert (summary.new, summary.updated, summary.retired) == (0, 30, 0)
    assert writes_to_items(statements) == []
    assert rows(engine)["v0"].last_seen_at == T0


def test_new_items_are_inserted_in_one_statement(engine, statements):
    save(engine, result([video(f"v{n}") for n in range(30)]))
    assert len([s for s in statements if s.startswith("INSERT INTO ITEMS")]) == 1


def test_only_the_changed_item_is_written(engine, statements):
    save(engine, result([video("a"), video("b"), video("c", raw={"id": "c"})]))
    statements.clear()
    later = T0 + timedelta(hours=1)
    summary = save(
        engine, result([video("a", views=99), video("b"), video("c", raw={"x": 1})]), later
    )
    assert (summary.new, summary.updated) == (0, 3)
    assert len(writes_to_items(statements)) == 1  # a and c, in one upsert
    saved = rows(engine)
    assert (saved["a"].views, saved["a"].last_seen_at, saved["a"].first_seen_at) == (99, later, T0)
    assert saved["c"].raw == {"x": 1}
    assert saved["b"].last_seen_at == T0


def test_an_unchanged_item_is_marked_seen_once_a_day(engine, statements):
    save(engine, result([video("a")]))
    save(engine, result([video("a")]), T0 + timedelta(hours=23))
    assert rows(engine)["a"].last_seen_at == T0
    statements.clear()
    save(engine, result([video("a")]), T0 + timedelta(days=1, hours=1))
    assert rows(engine)["a"].last_seen_at == T0 + timedelta(days=1, hours=1)
    assert len(writes_to_items(statements)) == 1


def test_retiring_is_one_statement(engine, statements):
    save(engine, result([video(f"v{n}") for n in range(30)]))
    statements.clear()
    summary = save(engine, result([video(f"v{n}") for n in range(20)]), T0 + timedelta(hours=1))
    assert summary.retired == 10
    assert len(writes_to_items(statements)) == 1
    assert sum(row.retired_at is not None for row in rows(engine).values()) == 10
    save(engine, result([video(f"v{n}") for n in range(30)]), T0 + timedelta(hours=2))
    assert all(row.retired_at is None for row in rows(engine).values())


def test_an_item_hidden_as_unavailable_shows_again_when_listed_unchanged(engine):
    save(engine, result([video("a"), video("b")]))
    # A quick run: not a complete listing, `videos.list` no longer returned "a".
    save(engine, result([], unavailable=["a"], complete=False), T0 + timedelta(hours=1))
    assert (rows(engine)["a"].public, rows(engine)["a"].retired_at) == (False, None)
    save(engine, result([video("a"), video("b")]), T0 + timedelta(hours=2))
    assert rows(engine)["a"].public is True


def test_a_refused_item_in_a_large_listing_loses_no_other(engine):
    listing = [video(f"v{n}") for n in range(450)]
    listing[300] = video("huge", views=2**70)
    summary = save(engine, result(listing))
    assert (summary.new, summary.refused) == (449, 1)
    assert len(rows(engine)) == 449


def test_a_repeated_id_in_one_listing_is_saved_once(engine):
    summary = save(engine, result([video("a"), video("a", views=5)]))
    assert (summary.new, summary.updated) == (1, 1)
    assert rows(engine)["a"].views == 5


def test_the_selection_reads_raw_only_for_candidates(engine, tmp_path):
    save(engine, result([video("shown"), video("other", title="Ohne Hashtag")]))
    showcase = SimpleNamespace(hashtags=["flächenglühen"])
    config = SimpleNamespace(showcase=showcase, output_dir=tmp_path)
    raw_reads: list[int] = []  # the number of parameters of each query that reads items.raw

    def record(_conn, _cursor, statement, parameters, *_args):
        reads_raw = re.search(r"\braw\b", statement) and "FROM items" in statement
        if reads_raw and statement.lstrip().upper().startswith("SELECT"):
            raw_reads.append(len(parameters))

    event.listen(engine, "before_cursor_execute", record)
    with store.session_scope(engine) as session:
        grouped = context.candidate_episodes(session, config)
        assert [[row.platform_id for row in episode] for episode in grouped] == [["shown"]]
        assert grouped[0][0].raw == {"id": "shown"}
    event.remove(engine, "before_cursor_execute", record)
    assert raw_reads == [1]  # one query, for the one candidate's id


RULE = HashtagRule.of(["flächenglühen"])


def save_and_mark(engine, res, when=T0, rule=RULE):
    """What an update does for a source: the save, its rows written with the rule's verdict,
    then the verdicts on the rows left undecided, in one transaction (jobs._save); how many
    of those there were."""
    with store.session_scope(engine) as session:
        store.save_result(
            session, res, when, verdicts=store.HashtagVerdicts(rule.key, rule.matches)
        )
        return store.mark_hashtags(session, rule.key, rule.matches)


def shown_ids(engine, hashtags=("flächenglühen",)):
    config = SimpleNamespace(showcase=SimpleNamespace(hashtags=list(hashtags)))
    with store.session_scope(engine) as session:
        ids = context.candidate_ids(session, config)
        return sorted(row.platform_id for row in reads.items_by_ids(session, ids))


def undecided(engine, rule=RULE):
    with store.session_scope(engine) as session:
        return sorted(text.platform_id for text in reads.live_item_texts(session, rule.key))


def test_the_rule_is_decided_at_save_and_the_selection_reads_no_texts(engine):
    listing = [video("a"), video("b", title="Ohne Hashtag"), video("c", title="#Flächenglühen")]
    assert save_and_mark(engine, result(listing)) == 0  # each row decided as it was written
    assert undecided(engine) == []  # a render reads no item's texts
    assert shown_ids(engine) == ["a", "c"]
    assert save_and_mark(engine, result(listing), T0 + timedelta(hours=1)) == 0  # unchanged


def test_a_verdict_given_at_save_is_the_one_mark_hashtags_gives(engine, tmp_path):
    """Rows written with their verdict (one pass over the items in memory) carry what
    mark_hashtags decides from the stored texts afterwards (a second read and write of
    every row): texts, tags, case, and items that change."""
    listing = [
        video("a"),
        video("b", title="Ohne Hashtag"),
        video("c", title="#Flächenglühen"),
        replace(video("d", title="Beschreibung"), description="Mehr: #flächenglühen!"),
        replace(video("e", title="Ohne Hashtag"), tags=["Flächenglühen"]),
    ]
    later = [video("a", title="Hashtag weg"), video("b", title="Jetzt #FLÄCHENGLÜHEN")]
    marked_after = store.open_database(f"sqlite:///{tmp_path}/marked-after.db")
    for when, items in ((T0, listing), (T0 + timedelta(hours=1), later)):
        assert save_and_mark(engine, result(items), when) == 0
        with store.session_scope(marked_after) as session:
            store.save_result(session, result(items), when)
            assert store.mark_hashtags(session, RULE.key, RULE.matches) == len(items)
        assert verdicts(engine) == verdicts(marked_after)
    assert verdicts(engine) == {"a": False, "b": True, "c": True, "d": True, "e": True}
    marked_after.dispose()


def verdicts(engine):
    with store.session_scope(engine) as session:
        found = session.execute(sql("SELECT platform_id, hashtag_rule, has_hashtag FROM items"))
        assert {rule for _, rule, _ in found.all()} == {RULE.key}
        found = session.execute(sql("SELECT platform_id, has_hashtag FROM items"))
        return {platform_id: bool(shown) for platform_id, shown in found}


def test_a_text_that_changes_is_decided_again(engine):
    save_and_mark(engine, result([video("a"), video("b", title="Ohne Hashtag")]))
    changed = [video("a", title="Hashtag entfernt"), video("b", title="Jetzt #flächenglühen")]
    save(engine, result(changed), T0 + timedelta(hours=1))
    # Written, not yet marked: no stale verdict is read, the texts decide.
    assert undecided(engine) == ["a", "b"]
    assert shown_ids(engine) == ["b"]
    assert save_and_mark(engine, result(changed), T0 + timedelta(hours=2)) == 2
    assert shown_ids(engine) == ["b"]


def test_other_hashtags_in_the_config_are_decided_from_the_texts_until_marked(engine):
    listing = [video("a"), video("b", title="#kultur am Abend")]
    save_and_mark(engine, result(listing))
    other = HashtagRule.of(["kultur"])
    assert other.key != RULE.key
    assert undecided(engine, other) == ["a", "b"]
    assert shown_ids(engine, ["kultur"]) == ["a", "b"]  # "a"'s tag is "kultur"
    with store.session_scope(engine) as session:
        assert store.mark_hashtags(session, other.key, other.matches) == 2
    assert undecided(engine, other) == []
    assert shown_ids(engine, ["kultur"]) == ["a", "b"]
    assert shown_ids(engine) == ["a"]  # the first rule's verdicts are gone: decided again


def test_an_included_item_without_the_hashtag_is_a_candidate(engine):
    save_and_mark(engine, result([video("a", title="Ohne Hashtag")]))
    assert shown_ids(engine) == []
    with store.session_scope(engine) as session:
        session.add(store.CurationRow(source="youtube", platform_id="a", included_at=T0))
    assert shown_ids(engine) == ["a"]


def test_a_payload_kept_as_text_is_written_as_that_text(engine):
    # Sources keep each item's payload as compact JSON text (a full update's memory): the
    # store writes the text itself, reads it back as a dict, and sees it unchanged next time.
    payload = RawJson.of({"id": "a", "snippet": {"title": "Porträt", "odd": "\udc80"}})
    save(engine, result([video("a", raw=payload)]))
    with store.session_scope(engine) as session:
        stored = session.scalar(sql("SELECT CAST(raw AS TEXT) FROM items"))
    assert stored == payload.text
    assert rows(engine)["a"].raw == {"id": "a", "snippet": {"title": "Porträt", "odd": "\udc80"}}
    summary = save(engine, result([video("a", raw=RawJson(payload.text))]), T0 + timedelta(hours=1))
    assert summary.updated == 1 and rows(engine)["a"].last_seen_at == T0


def test_rows_are_built_one_write_chunk_at_a_time(engine, statements, monkeypatch):
    # The rows of a first run are built as they are written: never the whole listing's at once.
    built: list[int] = []
    values = store._item_values
    monkeypatch.setattr(store, "_WRITE_CHUNK", 10)
    monkeypatch.setattr(store, "_item_values", lambda *args: built.append(1) or values(*args))
    built_at_insert: list[int] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda *args: (
            built_at_insert.append(len(built)) if "INSERT INTO items" in args[2] else None
        ),
    )
    summary = save(engine, result([video(f"v{n}") for n in range(30)]))
    assert summary.new == 30 and len(rows(engine)) == 30
    assert built_at_insert[:3] == [10, 20, 30]


def test_a_payload_kept_as_text_reads_as_the_object_it_holds():
    node = {"id": "1_2", "attachments": {"data": [{"media_type": "video"}]}, "n": [1, None]}
    raw = RawJson.of(node)
    assert raw == node and node == raw and raw != {**node, "n": []}
    assert (raw["id"], raw.get("missing"), "attachments" in raw, len(raw)) == ("1_2", None, True, 3)
    assert dict(raw.items()) == node and list(raw.values()) == list(node.values())
    assert raw.decoded() == node and raw.decoded() is not raw.decoded()
