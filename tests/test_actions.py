"""The shared actions (aggregator/actions.py): one code path for the command line and the
web interface; every change writes one audit log row with its state before and after."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aggregator import actions, store
from aggregator.errors import UsageError
from aggregator.models import Account, Item, SourceResult

T0 = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
TAGGED = "Flächenglühen: Der Fotograf aus Zwickau #flächenglühen"
VIDEO = ("youtube", "A5bUqkYPIw8")
OTHER = ("youtube", "85CkrDbgXvI")
CLI = "cli:anna"
WEB = "web:bernd"


@pytest.fixture
def session(config):
    engine = store.open_database(config.database_url)
    with store.session_scope(engine) as session:
        account = Account("youtube", "UCabc", "Kreatives Sachsen", "https://www.youtube.com/@k")
        items = [
            video(VIDEO[1], TAGGED, 1),
            video(OTHER[1], "Flächenglühen: Die Weberin aus Plauen #flächenglühen", 2),
        ]
        store.save_result(session, SourceResult("youtube", account, items=items), T0)
        yield session
    engine.dispose()


def video(video_id, title, day):
    return Item(
        source="youtube",
        platform_id=video_id,
        kind="video",
        title=title,
        description="",
        url=f"https://www.youtube.com/watch?v={video_id}",
        published_at=datetime(2026, 11, day, 10, 0, tzinfo=UTC),
    )


def changes(session):
    return [
        (change.actor, change.action, change.target, change.before, change.after)
        for change in actions.recent_changes(session)
    ]


def test_a_pin_and_its_undo_are_audited_with_the_pin_time(session, config):
    outcome = actions.curate(session, config, "pin", VIDEO, CLI, T0)
    assert outcome == actions.Outcome(True, "pin: youtube:A5bUqkYPIw8 is pinned now")
    assert actions.curate(session, config, "unpin", VIDEO, WEB, T1).changed
    assert changes(session) == [
        (WEB, "unpin", "youtube:A5bUqkYPIw8", "2026-12-09T09:00:00Z", "–"),
        (CLI, "pin", "youtube:A5bUqkYPIw8", "–", "2026-12-09T09:00:00Z"),
    ]


def test_a_mark_already_so_is_audited_as_unchanged(session, config):
    actions.curate(session, config, "hide", VIDEO, CLI, T0)
    again = actions.curate(session, config, "hide", VIDEO, CLI, T1)
    assert again == actions.Outcome(False, "hide: youtube:A5bUqkYPIw8 was hidden already")
    assert changes(session)[0][3:] == ("2026-12-09T09:00:00Z", "2026-12-09T09:00:00Z")
    assert not actions.curate(session, config, "exclude", VIDEO, CLI, T1).changed
    assert changes(session)[0] == (CLI, "exclude", "youtube:A5bUqkYPIw8", "–", "–")


def test_a_repeated_pin_moves_it_to_the_top_and_says_when_it_was_pinned(session, config):
    actions.curate(session, config, "pin", VIDEO, CLI, T0)
    actions.curate(session, config, "pin", VIDEO, CLI, T1)
    assert changes(session)[0][3:] == ("2026-12-09T09:00:00Z", "2026-12-09T09:05:00Z")


def test_merge_and_split_are_audited_with_the_episodes_before_and_after(session, config):
    merged = actions.merge_episode(session, config, VIDEO, OTHER, WEB, T0)
    assert merged.changed and merged.message == (
        "episode merge: youtube:A5bUqkYPIw8 and youtube:85CkrDbgXvI are one episode now (2 items)"
    )
    split = actions.split_episode(session, config, OTHER, CLI, T1)
    assert split.message == (
        "episode split: youtube:85CkrDbgXvI is an episode of its own now (it was one of 2 items)"
    )
    assert changes(session) == [
        (
            CLI,
            "episode split",
            "youtube:85CkrDbgXvI",
            "youtube:A5bUqkYPIw8 + youtube:85CkrDbgXvI",
            "youtube:85CkrDbgXvI",
        ),
        (
            WEB,
            "episode merge",
            "youtube:A5bUqkYPIw8 + youtube:85CkrDbgXvI",
            "youtube:A5bUqkYPIw8 / youtube:85CkrDbgXvI",
            "youtube:A5bUqkYPIw8 + youtube:85CkrDbgXvI",
        ),
    ]


def test_an_episode_of_an_item_not_fetched_or_the_same_item_twice_is_refused(session, config):
    with pytest.raises(UsageError, match="named twice") as twice:
        actions.merge_episode(session, config, VIDEO, VIDEO, WEB, T0)
    with pytest.raises(UsageError, match="not in the database") as missing:
        actions.split_episode(session, config, ("facebook", "1_2"), WEB, T0)
    assert twice.value.german and missing.value.german
    assert changes(session) == []


def test_figures_set_and_unset_are_audited_with_value_and_date(session, config):
    day = date(2017, 10, 5)
    outcome = actions.set_figure(
        session, config, "facebook_group.members", "450", "Mitglieder", day, WEB, T0
    )
    assert outcome == actions.Outcome(
        True, "figures: facebook_group.members = 450 as of 2017-10-05 (current: 450)"
    )
    assert actions.set_figure(session, config, "facebook_group.members", 460, None, None, CLI, T1)
    assert actions.unset_figure(session, config, "facebook_group.members", CLI, T1).changed
    assert changes(session) == [
        (CLI, "figures unset", "facebook_group.members", "460 as of 2026-12-09", "–"),
        (CLI, "figures set", "facebook_group.members", "450 as of 2017-10-05",
         "460 as of 2026-12-09"),
        (WEB, "figures set", "facebook_group.members", "–", "450 as of 2017-10-05"),
    ]  # fmt: skip


def test_the_same_figure_entered_again_changes_nothing(session, config):
    day = date(2017, 10, 5)
    actions.set_figure(session, config, "agency.akteure", "3.000", None, day, WEB, T0)
    again = actions.set_figure(session, config, "agency.akteure", "3000", None, day, WEB, T1)
    assert not again.changed


@pytest.mark.parametrize(
    ("key", "value", "label", "day", "english"),
    [
        ("Agency Events", "5", None, None, "figure key"),
        ("youtube.subscribers", "5", None, None, "fetched figures"),
        ("agency.akteure", "1,5", None, None, "not a count"),
        ("agency.akteure", -1, None, None, "not a count"),
        ("agency.akteure", "5", "  ", None, "--label"),
        ("agency.akteure", "5", None, date(2099, 1, 1), "future"),
    ],
)
def test_a_bad_figure_is_refused_in_english_and_german(session, config, key, value, label, day,
                                                       english):  # fmt: skip
    with pytest.raises(UsageError, match=english) as raised:
        actions.set_figure(session, config, key, value, label, day, WEB, T0)
    assert raised.value.german and raised.value.german.endswith(".")
    with pytest.raises(UsageError, match="is not set") as unset:
        actions.unset_figure(session, config, "agency.nichts", WEB, T0)
    assert unset.value.german
    assert changes(session) == []


def test_recent_changes_are_newest_first_and_limited(session, config):
    for minute in range(12):
        command = "pin" if minute % 2 == 0 else "unpin"
        actions.curate(session, config, command, VIDEO, CLI, T0 + timedelta(minutes=minute))
    recent = actions.recent_changes(session, limit=10)
    assert len(recent) == 10
    assert [change.at for change in recent] == [
        T0 + timedelta(minutes=minute) for minute in range(11, 1, -1)
    ]
    assert len(actions.recent_changes(session)) == 12


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("youtube:A5bUqkYPIw8", VIDEO),
        ("https://youtu.be/85CkrDbgXvI", OTHER),
        ("https://www.youtube.com/watch?v=A5bUqkYPIw8", VIDEO),
    ],
)
def test_resolve_item_takes_source_id_or_a_url(session, text, expected):
    assert actions.resolve_item(session, text, "hide") == expected


def test_an_unknown_item_names_the_closest_known_ones(session):
    with pytest.raises(UsageError) as raised:
        actions.resolve_item(session, "youtube:A5bUqkYPIw9", "hide")
    assert str(raised.value).startswith("hide: youtube:A5bUqkYPIw9 is not in the database")
    assert str(raised.value).endswith(
        "; did you mean youtube:A5bUqkYPIw8 (Flächenglühen: Der Fotograf aus Zwickau "
        "#flächenglühen)?"
    )
    assert raised.value.german == "youtube:A5bUqkYPIw9 ist nicht in der Datenbank."


def test_an_unknown_item_can_be_included_but_not_hidden(session):
    assert actions.resolve_item(session, "youtube:NotFetched1", "include") == (
        "youtube",
        "NotFetched1",
    )
    with pytest.raises(UsageError, match="not in the database"):
        actions.resolve_item(session, "youtube:NotFetched1", "hide")


@pytest.mark.parametrize("text", ["youtube", "vimeo:abc", "youtube:a b"])
def test_a_malformed_item_is_refused_in_english_and_german(session, text):
    with pytest.raises(UsageError, match=r"^pin: ") as raised:
        actions.resolve_item(session, text, "pin")
    assert raised.value.german and "QUELLE:ID" in raised.value.german


def test_the_command_line_actor_is_the_os_user(monkeypatch):
    monkeypatch.setattr(actions.getpass, "getuser", lambda: "anna")
    assert actions.command_line_actor() == "cli:anna"
