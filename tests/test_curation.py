"""Staff curation: pin, hide, unhide, include (and the extras unpin, exclude, curation).

Two layers: the store and the showcase's rules on saved items, then the command line against
the fake APIs (curate, render, read the outputs)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import feed_members
from test_cli import DEMO_SHOWN_YOUTUBE, one_line, run, shown, shown_ids

from aggregator import actions, store
from aggregator.actions import parse_item
from aggregator.config import load_config
from aggregator.context import showcase_items, showcase_rows
from aggregator.errors import UsageError
from aggregator.models import Account, Item, SourceResult
from aggregator.report import build_report

T0 = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
TAGGED = "Porträt #flächenglühen"
UNTAGGED = "Kurz erklärt: Kultur- und Kreativwirtschaft"
INCLUDED_DEMO_VIDEO = "LESt7HrQi1s"  # public, but without the hashtag
OLDEST_SHOWN_VIDEO = "85CkrDbgXvI"


# --- the store and the showcase's rules --------------------------------------------------


def video(video_id, day, title=TAGGED, public=True):
    return Item(
        source="youtube",
        platform_id=video_id,
        kind="video",
        title=title,
        description="",
        url=f"https://www.youtube.com/watch?v={video_id}",
        published_at=datetime(2026, 11, day, 10, 0, tzinfo=UTC),
        public=public,
    )


def save(engine, *items, complete=False, accept_shrink=False):
    account = Account("youtube", "UCabc", "Kreatives Sachsen", "https://www.youtube.com/@k")
    result = SourceResult("youtube", account, items=list(items), complete=complete)
    with store.session_scope(engine) as session:
        store.save_result(session, result, T0, accept_shrink)


def mark(engine, platform_id, name, on=True, at=T0, source="youtube"):
    with store.session_scope(engine) as session:
        return store.set_curation_mark(session, source, platform_id, name, at if on else None)


def ids(engine, config):
    with store.session_scope(engine) as session:
        return [row.platform_id for row in showcase_rows(session, config)]


@pytest.mark.databases
def test_without_curation_the_hashtag_decides_newest_first(engine, config):
    save(engine, video("old", 1), video("new", 3), video("mid", 2), video("plain", 4, UNTAGGED))
    assert ids(engine, config) == ["new", "mid", "old"]


@pytest.mark.databases
def test_pins_come_first_the_latest_pin_first(engine, config):
    save(engine, video("old", 1), video("mid", 2), video("new", 3))
    mark(engine, "old", "pinned_at", at=T0)
    mark(engine, "mid", "pinned_at", at=T0 + timedelta(minutes=1))
    assert ids(engine, config) == ["mid", "old", "new"]
    mark(engine, "old", "pinned_at", at=T0 + timedelta(minutes=2))  # pinned again: on top
    assert ids(engine, config) == ["old", "mid", "new"]
    assert mark(engine, "old", "pinned_at", on=False) is True  # unpin
    assert ids(engine, config) == ["mid", "new", "old"]
    with store.session_scope(engine) as session:
        assert [view.platform_id for view in showcase_items(session, config)] == [
            "mid",
            "new",
            "old",
        ]


@pytest.mark.databases
def test_hide_wins_over_pin_and_include_and_unhide_brings_it_back(engine, config):
    save(engine, video("tagged", 1), video("plain", 2, UNTAGGED), video("other", 3))
    mark(engine, "tagged", "pinned_at")
    mark(engine, "plain", "included_at")
    mark(engine, "plain", "pinned_at", at=T0 + timedelta(minutes=1))
    assert ids(engine, config) == ["plain", "tagged", "other"]
    mark(engine, "tagged", "hidden_at")
    mark(engine, "plain", "hidden_at")
    assert ids(engine, config) == ["other"]
    assert mark(engine, "plain", "hidden_at", on=False) is True
    assert ids(engine, config) == ["plain", "other"]  # its pin and include still hold


@pytest.mark.databases
def test_include_shows_an_item_without_the_hashtag_in_date_order(engine, config):
    save(engine, video("old", 1), video("plain", 2, UNTAGGED), video("new", 3))
    assert mark(engine, "plain", "included_at") is True
    assert ids(engine, config) == ["new", "plain", "old"]
    assert mark(engine, "plain", "included_at", on=False) is True  # exclude
    assert ids(engine, config) == ["new", "old"]


@pytest.mark.databases
def test_an_included_item_shows_only_while_public_and_live(engine, config):
    save(engine, video("private", 1, UNTAGGED, public=False), video("gone", 2, UNTAGGED))
    mark(engine, "private", "included_at")
    mark(engine, "gone", "included_at")
    mark(engine, "private", "pinned_at")
    assert ids(engine, config) == ["gone"]
    # "gone" retired: its only live item, a shrink to nothing that staff confirm
    save(engine, video("private", 1, UNTAGGED, public=False), complete=True, accept_shrink=True)
    assert ids(engine, config) == []
    save(engine, video("private", 1, UNTAGGED), video("gone", 2, UNTAGGED), complete=True)
    assert ids(engine, config) == ["private", "gone"]


@pytest.mark.databases
def test_an_item_curated_before_it_is_fetched_takes_effect_once_it_is(engine, config):
    mark(engine, "later", "included_at")
    mark(engine, "hidden", "hidden_at")
    assert ids(engine, config) == []
    save(engine, video("later", 1, UNTAGGED), video("hidden", 2), video("shown", 3))
    assert ids(engine, config) == ["shown", "later"]


def test_marks_are_idempotent_and_a_row_without_marks_goes(engine):
    assert mark(engine, "a", "hidden_at") is True
    assert mark(engine, "a", "hidden_at", at=T0 + timedelta(hours=1)) is False
    assert mark(engine, "a", "included_at") is True
    assert mark(engine, "b", "pinned_at", on=False) is False
    assert mark(engine, "a", "hidden_at", on=False) is True
    assert mark(engine, "a", "hidden_at", on=False) is False
    with store.session_scope(engine) as session:
        (row,) = store.curated_rows(session)
        assert (row.platform_id, row.hidden_at, row.included_at) == ("a", None, T0)
    mark(engine, "a", "included_at", on=False)
    with store.session_scope(engine) as session:
        assert store.curated_rows(session) == []
    with pytest.raises(ValueError):
        mark(engine, "a", "retired_at")


@pytest.mark.databases
def test_the_same_id_on_another_source_is_another_item(engine, config):
    save(engine, video("x1", 1))
    mark(engine, "x1", "hidden_at", source="facebook")
    assert ids(engine, config) == ["x1"]


@pytest.mark.databases
def test_the_report_follows_the_curation_and_lists_by_date(engine, config):
    save(engine, video("old", 1), video("plain", 2, UNTAGGED), video("hidden", 3), video("new", 4))
    mark(engine, "new", "pinned_at")
    mark(engine, "plain", "included_at")
    mark(engine, "hidden", "hidden_at")
    with store.session_scope(engine) as session:
        report = build_report(session, config, date(2026, 11, 1), date(2026, 11, 30), T0)
    assert [episode.lead.platform_id for episode in report.episodes] == ["old", "plain", "new"]
    (youtube,) = [count for count in report.counts if count.source == "youtube"]
    assert (youtube.series, youtube.total) == (3, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("youtube:A5bUqkYPIw8", ("youtube", "A5bUqkYPIw8")),
        ("youtube:-a_b-C_d-0", ("youtube", "-a_b-C_d-0")),
        ("facebook:1048572933_3133062603", ("facebook", "1048572933_3133062603")),
        ("website:1840", ("website", "1840")),
        ("YouTube: A5bUqkYPIw8 ", ("youtube", "A5bUqkYPIw8")),
        ("website:a:b", ("website", "a:b")),  # split on the first ':' only
    ],
)  # fmt: skip
def test_parse_item(text, expected):
    assert parse_item(text, "pin") == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=A5bUqkYPIw8",
        "https://www.youtube.com/watch?v=A5bUqkYPIw8&t=42s",
        "https://youtu.be/A5bUqkYPIw8?si=abc",
        "https://m.youtube.com/watch?v=A5bUqkYPIw8",
        "https://www.youtube.com/shorts/A5bUqkYPIw8",
        "https://www.youtube.com/live/A5bUqkYPIw8",
        "https://www.youtube-nocookie.com/embed/A5bUqkYPIw8",
    ],
)
def test_a_youtube_address_names_its_video(url):
    assert parse_item(url, "pin") == ("youtube", "A5bUqkYPIw8")


def test_another_address_is_looked_up_as_it_is():
    url = "https://www.facebook.com/104857293361870/posts/3133062603682029/"
    assert parse_item(url, "hide") == url


@pytest.mark.parametrize(
    "text",
    ["youtube", "youtube:", ":abc", "vimeo:abc", "youtube:https://youtu.be/x", "youtube:a b", ""],
)
def test_parse_item_refuses(text):
    with pytest.raises(UsageError, match=r"^pin: "):
        parse_item(text, "pin")


# --- the command line against the fake APIs ----------------------------------------------


def feed_ids(site) -> list[str]:
    return [item["id"] for item in feed_members(json.loads(site.read("feed.json")))]


def episode_of(site, source, item_id) -> list[tuple[str, str]]:
    """The item's episode as the grouping rule makes it (hidden ones too), earliest first."""
    config = load_config(site.config)
    engine = store.open_database(config.database_url)
    try:
        with store.session_scope(engine) as session:
            return actions.episode_keys(session, config, (source, item_id))
    finally:
        engine.dispose()


def with_episode(site, source, item_id) -> str:
    """What a pin, hide or unhide line adds for an item in an episode of more than one."""
    others = [":".join(key) for key in episode_of(site, source, item_id) if key[1] != item_id]
    return f", with its episode ({', '.join(others)})" if others else ""


@pytest.mark.databases
def test_pin_puts_a_video_first_everywhere_and_says_so(site, capsys):
    """The contract: a curation command says what it did in one line and re-renders."""
    assert run(site, "update") == 0
    assert shown(site)[0] != ("youtube", OLDEST_SHOWN_VIDEO)
    capsys.readouterr()
    assert run(site, "pin", f"youtube:{OLDEST_SHOWN_VIDEO}") == 0
    out, err = capsys.readouterr()
    episode = with_episode(site, "youtube", OLDEST_SHOWN_VIDEO)
    assert episode  # the demo world announces it in a Facebook post linking the video
    assert (out, err) == (
        f"pin: youtube:{OLDEST_SHOWN_VIDEO} is pinned now{episode}; rendered again\n",
        "",
    )
    for page in ("index.html", "fragment.html", "embed.html"):
        assert shown(site, page)[0] == ("youtube", OLDEST_SHOWN_VIDEO), page
    assert feed_ids(site)[0] == OLDEST_SHOWN_VIDEO
    assert run(site, "unpin", f"youtube:{OLDEST_SHOWN_VIDEO}") == 0
    assert shown(site)[0] != ("youtube", OLDEST_SHOWN_VIDEO)


def test_hide_takes_an_item_off_every_output_and_unhide_brings_it_back(site, capsys):
    """Hide acts on the item's whole episode (context.showcase_episodes)."""
    assert run(site, "update") == 0
    before = shown(site)
    alone = next(key for key in before if key[0] == "facebook" and len(episode_of(site, *key)) == 1)
    named = [("youtube", "A5bUqkYPIw8"), alone]
    hidden = [key for item in named for key in episode_of(site, *item)]
    assert len(hidden) > len(named)
    capsys.readouterr()
    for source, item_id in named:
        assert run(site, "hide", f"{source}:{item_id}") == 0
    out, err = capsys.readouterr()
    assert err == "" and len(out.splitlines()) == 2
    for page in ("index.html", "fragment.html", "embed.html"):
        assert shown(site, page) == [item for item in before if item not in hidden], page
    for _, item_id in hidden:
        assert item_id not in feed_ids(site)
        assert item_id not in site.read("feed.xml")
    for source, item_id in named:
        assert run(site, "unhide", f"{source}:{item_id}") == 0
    assert shown(site) == before
    assert shown(site, "fragment.html") == before
    assert "A5bUqkYPIw8" in feed_ids(site)


def test_include_adds_a_video_without_the_hashtag_with_its_thumbnail(site, capsys):
    assert run(site, "include", f"youtube:{INCLUDED_DEMO_VIDEO}") == 0  # before any fetch
    assert capsys.readouterr().out == (
        f"include: youtube:{INCLUDED_DEMO_VIDEO} is included now (not in the database yet: it "
        "shows once a fetch brings it, if public); rendered again\n"
    )
    assert run(site, "hide", "youtube:A5bUqkYPIw8") == 2  # unknown before the fetch
    assert "not in the database" in capsys.readouterr().err
    assert run(site, "update") == 0
    assert run(site, "hide", "youtube:A5bUqkYPIw8") == 0
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE - {"A5bUqkYPIw8"} | {
        INCLUDED_DEMO_VIDEO
    }
    assert INCLUDED_DEMO_VIDEO in feed_ids(site)
    thumbs = {path.name for path in (site.output / "thumbs").iterdir()}
    assert any(name.startswith(f"youtube-{INCLUDED_DEMO_VIDEO}.") for name in thumbs)
    assert run(site, "exclude", f"youtube:{INCLUDED_DEMO_VIDEO}") == 0
    assert INCLUDED_DEMO_VIDEO not in shown_ids(site, "youtube")


def test_an_include_of_a_private_video_shows_nothing(site):
    site.world.set_youtube_privacy(INCLUDED_DEMO_VIDEO, "private")
    assert run(site, "include", f"youtube:{INCLUDED_DEMO_VIDEO}") == 0
    assert run(site, "update") == 0
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE


def test_curation_needs_no_keys_and_says_more_with_v(site, monkeypatch, capsys):
    assert run(site, "update") == 0
    monkeypatch.delenv("YOUTUBE_API_KEY")
    monkeypatch.delenv("FACEBOOK_ACCESS_TOKEN")
    assert run(site, "-v", "include", "youtube:NotFetched1") == 0
    out, err = capsys.readouterr()
    assert "youtube:NotFetched1 is included now" in out
    assert "not in the database yet" in err
    assert run(site, "-v", "pin", f"youtube:{OLDEST_SHOWN_VIDEO}") == 0
    assert "card 1 of" in capsys.readouterr().err
    assert run(site, "-v", "unhide", f"youtube:{OLDEST_SHOWN_VIDEO}") == 0
    assert f"youtube:{OLDEST_SHOWN_VIDEO} was not hidden" in capsys.readouterr().out
    assert run(site, "-v", "pin", "youtube:SlDgea4EHHm") == 0
    assert "showcase include youtube:SlDgea4EHHm" in capsys.readouterr().err


def test_an_item_named_by_its_address_as_a_browser_shows_it(site, capsys):
    assert run(site, "update") == 0
    facebook_id = next(item_id for source, item_id in shown(site) if source == "facebook")
    url = next(
        item["url"]
        for item in feed_members(json.loads(site.read("feed.json")))
        if item["id"] == facebook_id
    )
    capsys.readouterr()
    assert run(site, "hide", url) == 0
    episode = with_episode(site, "facebook", facebook_id)
    assert capsys.readouterr().out == (
        f"hide: facebook:{facebook_id} is hidden now{episode}; rendered again\n"
    )
    assert ("facebook", facebook_id) not in shown(site)
    assert run(site, "pin", f"https://youtu.be/{OLDEST_SHOWN_VIDEO}") == 0
    assert shown(site)[0] == ("youtube", OLDEST_SHOWN_VIDEO)


@pytest.mark.parametrize(
    "args",
    [
        ("pin", "youtube:NotFetched1"),
        ("hide", "facebook:1_2"),
        ("unhide", "https://www.youtube.com/watch?v=NotFetched1"),
        ("pin", "https://www.example.org/nirgends/"),
    ],
)
def test_an_item_unknown_to_the_database_is_exit_2_with_a_hint(site, capsys, args):
    """The contract: an ITEM unknown to the database is exit 2 (except for include)."""
    assert run(site, "update") == 0
    before = site.read("index.html")
    capsys.readouterr()
    assert run(site, *args) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"showcase: {args[0]}: ") and "database" in line
    assert site.read("index.html") == before


def test_curation_lists_what_is_curated(site, capsys):
    assert run(site, "curation") == 0
    assert capsys.readouterr() == ("", "")
    assert run(site, "update") == 0
    for command, item in [
        ("hide", "youtube:A5bUqkYPIw8"),
        ("pin", f"youtube:{OLDEST_SHOWN_VIDEO}"),
        ("include", "youtube:NotFetched1"),
        ("include", "youtube:UXjwhkkFGsm"),  # private in the demo world
    ]:
        assert run(site, command, item) == 0
    capsys.readouterr()
    assert run(site, "curation") == 0
    curated, changes = capsys.readouterr().out.split("\n\n")
    assert len(changes.splitlines()) == 2 + 4  # a title, a header, the four changes
    header, *lines = curated.splitlines()
    assert header.split() == ["item", "pinned", "hidden", "included", "shown", "episode", "title"]
    assert [line.split()[0] for line in lines] == [
        f"youtube:{OLDEST_SHOWN_VIDEO}",
        "youtube:A5bUqkYPIw8",
        "youtube:NotFetched1",
        "youtube:UXjwhkkFGsm",
    ]
    assert "  1  " in lines[0]
    episode = episode_of(site, "youtube", OLDEST_SHOWN_VIDEO)
    others = [":".join(key) for key in episode if key != ("youtube", OLDEST_SHOWN_VIDEO)]
    assert f"  + {' + '.join(others)}  " in lines[0]  # the episode the pin acts on
    assert "no: hidden" in lines[1]
    assert lines[2].endswith("  not fetched yet  alone")
    assert "not fetched yet" in lines[2]
    assert "no: not public" in lines[3]


@pytest.mark.parametrize(
    "args",
    [
        ("pin", "youtube"),
        ("hide", "vimeo:abc"),
        ("unhide", ":abc"),
        ("include", "youtube:https://www.youtube.com/watch?v=abc"),
    ],
)
def test_a_bad_item_exits_2_with_one_line_and_touches_nothing(site, capsys, args):
    assert run(site, *args) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"showcase: {args[0]}: ")
    assert not (site.folder / "showcase.db").exists()


def test_curation_ends_with_the_audit_logs_last_ten_changes(site, capsys, monkeypatch):
    """Issue 10: `curation` lists the audit log's recent changes (who, when, before → after),
    times in showcase.timezone (Europe/Berlin by default)."""
    monkeypatch.setattr(actions.getpass, "getuser", lambda: "anna")
    assert run(site, "update") == 0
    for command in ["pin", "unpin"] * 6:
        assert run(site, command, f"youtube:{OLDEST_SHOWN_VIDEO}", "--no-render") == 0
    assert run(site, "hide", "youtube:A5bUqkYPIw8", "--no-render") == 0
    capsys.readouterr()
    assert run(site, "curation") == 0
    curated, changes = capsys.readouterr().out.split("\n\n")
    assert curated.splitlines()[1].startswith("youtube:A5bUqkYPIw8 ")
    title, header, *lines = changes.splitlines()
    assert title == "recent changes:"
    assert header.split() == ["changed", "by", "action", "target", "before", "→", "after"]
    assert len(lines) == 10
    moment = r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T"
    assert re.fullmatch(
        rf"{moment}  cli:anna  hide    youtube:A5bUqkYPIw8  – → {moment}", lines[0]
    ), lines[0]
    assert re.fullmatch(
        rf"{moment}  cli:anna  unpin   youtube:{OLDEST_SHOWN_VIDEO}  {moment} → –", lines[1]
    ), lines[1]
    assert re.fullmatch(
        rf"{moment}  cli:anna  pin     youtube:{OLDEST_SHOWN_VIDEO}  – → {moment}", lines[2]
    ), lines[2]


def test_no_render_changes_the_database_and_leaves_the_page(site, capsys):
    assert run(site, "update") == 0
    before = site.read("index.html")
    capsys.readouterr()
    assert run(site, "pin", f"youtube:{OLDEST_SHOWN_VIDEO}", "--no-render") == 0
    episode = with_episode(site, "youtube", OLDEST_SHOWN_VIDEO)
    assert capsys.readouterr().out == (
        f"pin: youtube:{OLDEST_SHOWN_VIDEO} is pinned now{episode}; not rendered (--no-render)\n"
    )
    assert site.read("index.html") == before
    assert run(site, "render") == 0
    assert shown(site)[0] == ("youtube", OLDEST_SHOWN_VIDEO)


def test_an_unknown_id_names_the_closest_known_items(site, capsys):
    """Issue 10: an id not in the database is exit 2 with a hint (closest known items)."""
    assert run(site, "update") == 0
    capsys.readouterr()
    assert run(site, "hide", "youtube:A5bUqkYPIw9") == 2
    line = one_line(capsys.readouterr().err)
    hint = re.search(r"; did you mean (.+)\?$", line)
    assert hint, line
    named = re.findall(r"(?:^|, )(\w+:\S+) \(", hint.group(1))
    assert named[0] == "youtube:A5bUqkYPIw8" and 1 <= len(named) <= 3


def test_a_facebook_address_in_its_other_forms_names_its_item(site, capsys):
    """Facebook shows one video at /watch/?v=ID, /PAGE/videos/ID and /reel/ID, and one post at
    /PAGE/posts/ID and permalink.php?story_fbid=ID (links.facebook_video_id, facebook_post_id)."""
    assert run(site, "update") == 0
    config = load_config(site.config)
    engine = store.open_database(config.database_url)
    with store.session_scope(engine) as session:
        rows = store.items_of_sources(session, ["facebook"])
    engine.dispose()
    video = next(row for row in rows if row.kind == "video")
    post = next(row for row in rows if "_" in row.platform_id)
    page, post_id = post.platform_id.split("_", 1)
    capsys.readouterr()
    for url, key in [
        (f"https://www.facebook.com/watch/?v={video.platform_id}", video.platform_id),
        (f"https://m.facebook.com/reel/{video.platform_id}", video.platform_id),
        (f"https://www.facebook.com/permalink.php?story_fbid={post_id}&id={page}",
         post.platform_id),
    ]:  # fmt: skip
        assert run(site, "pin", url, "--no-render") == 0, url
        assert capsys.readouterr().out.startswith(f"pin: facebook:{key} is pinned now")


def figure_keys(site) -> set[str]:
    return {figure["key"] for figure in json.loads(site.read("figures.json"))["figures"]}


def test_figures_set_and_unset_render_again_unless_no_render(site, capsys):
    """Issue 10: every change re-renders the outputs (`--no-render` to skip); `figures set`
    and `unset` say in one line what they did (the contract: what a person types prints one
    line saying what it did)."""
    assert run(site, "update") == 0
    key = "facebook_group.members"
    assert run(site, "figures", "set", key, "450", "--no-render") == 0
    assert key not in figure_keys(site)
    assert run(site, "figures", "unset", key) == 0
    assert key not in figure_keys(site)
    capsys.readouterr()
    assert run(site, "figures", "set", key, "460") == 0
    out, err = capsys.readouterr()
    assert err == "" and out.startswith(f"figures: {key} = 460 as of ") and out.count("\n") == 1
    assert out.endswith("; rendered again\n")
    assert key in figure_keys(site)
    assert run(site, "figures", "unset", key, "--no-render") == 0
    out = capsys.readouterr().out
    assert out.endswith("unset; its history stays; not rendered (--no-render)\n")
    assert key in figure_keys(site)


def test_episode_merge_and_split_take_no_render(site, capsys):
    assert run(site, "update") == 0
    before = site.read("index.html")
    capsys.readouterr()
    assert run(site, "episode", "split", "youtube:A5bUqkYPIw8", "--no-render") == 0
    assert capsys.readouterr().out.endswith("; not rendered (--no-render)\n")
    assert site.read("index.html") == before
    assert run(site, "episode", "merge", "youtube:A5bUqkYPIw8", f"youtube:{OLDEST_SHOWN_VIDEO}",
               "--no-render") == 0  # fmt: skip
    line = capsys.readouterr().out
    assert re.search(r"are one episode now \(\d+ items\); not rendered \(--no-render\)\n$", line)
    assert site.read("index.html") == before
