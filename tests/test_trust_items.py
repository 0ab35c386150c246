"""One bad item never stops a run (issue 11, item 0): end to end against the fake API.

Each test puts one malformed value into one item of the fake world, runs `showcase update`
and checks that the item is skipped (or its count read as unknown), that every other item and
source is saved, and that the page is rendered. The shapes are the documented ones: YouTube
counts are strings of digits (https://developers.google.com/youtube/v3/docs/videos#statistics),
`publishedAt` is an ISO 8601 datetime (same page, #snippet.publishedAt); Graph sends
`created_time` as ISO 8601 and escapes non-ASCII as \\u escapes (recorded in
facebook/page_videos.json), so a lone surrogate arrives as `\\ud800`; WordPress's `date_gmt`
is an ISO 8601 datetime without offset (https://developer.wordpress.org/rest-api/reference/
posts/#schema-date_gmt).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import Site, feed_members

from aggregator import jobs, store
from aggregator.cli import main
from aggregator.models import Account, Item, SourceResult
from aggregator.sources import youtube


def run(site: Site, *args: str) -> int:
    return main(["--config", str(site.config), *args])


def items_in_db(site: Site) -> dict[tuple[str, str], dict[str, Any]]:
    with sqlite3.connect(site.folder / "showcase.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT source, platform_id, views, retired_at, title FROM items")
        return {(row["source"], row["platform_id"]): dict(row) for row in rows}


def first_youtube_video(site: Site) -> tuple[str, dict[str, Any]]:
    video_id = next(iter(site.world.youtube_videos))
    return video_id, site.world.youtube_videos[video_id]


def facebook_page(site: Site) -> dict[str, Any]:
    return next(iter(site.world.facebook_pages.values()))


def assert_rest_saved_and_rendered(site: Site, skipped: tuple[str, str] | None) -> None:
    saved = items_in_db(site)
    sources = {source for source, _ in saved}
    assert sources == {"youtube", "facebook", "website"}
    if skipped is not None:
        assert skipped not in saved
    members = feed_members(json.loads(site.read("feed.json")))
    assert {member["source"] for member in members} == {"youtube", "facebook", "website"}
    assert (site.output / "index.html").is_file()


def malform_youtube_title(site: Site) -> tuple[str, str]:
    video_id, video = first_youtube_video(site)
    video["snippet"]["title"] = ["a list", "where text belongs"]
    return "youtube", video_id


def malform_youtube_date(site: Site) -> tuple[str, str]:
    video_id, video = first_youtube_video(site)
    video["snippet"]["publishedAt"] = "9999-12-31T23:59:59Z"
    return "youtube", video_id


def malform_facebook_surrogate(site: Site) -> tuple[str, str]:
    node = facebook_page(site)["videos"][0]
    node["title"] = "Flächenglühen \ud800 kaputt"
    return "facebook", node["id"]


def malform_facebook_missing_time(site: Site) -> tuple[str, str]:
    node = facebook_page(site)["posts"][0]
    del node["created_time"]
    return "facebook", node["id"]


def malform_website_date(site: Site) -> tuple[str, str]:
    post = site.world.wordpress_posts[0]
    post["date_gmt"] = "gestern"
    return "website", str(post["id"])


@pytest.mark.fault(
    "one item with a malformed value (a list for a title, a year-9999 or unreadable date, a "
    "lone surrogate, a missing field)",
    "the item is skipped and named in one line (source, id, field); the rest goes on",
    "0",
    "every other item and source, the rendered page",
)
@pytest.mark.parametrize(
    ("malform", "field"),
    [
        (malform_youtube_title, "title"),
        (malform_youtube_date, "published_at"),
        (malform_facebook_surrogate, "title"),
        (malform_facebook_missing_time, "created_time"),
        (malform_website_date, "date_gmt"),
    ],
)
def test_a_malformed_item_is_skipped_and_the_run_goes_on(
    make_site, capsys, monkeypatch, malform, field
):
    site = make_site()
    skipped = malform(site)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)  # a person at a terminal
    assert run(site, "update") == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "skipped item" in line]
    assert len(lines) == 1
    assert f"{skipped[0]}: skipped item {skipped[1]}: {field}:" in lines[0]
    assert_rest_saved_and_rendered(site, skipped)
    assert run(site, "status") == 0


@pytest.mark.fault(
    "one item skipped under cron (stderr not a terminal)",
    "nothing printed: a skipped item is not a failed source",
    "0",
    "every other item, the page",
)
def test_a_skipped_item_under_cron_prints_nothing(make_site, capsys):
    site = make_site()
    malform_youtube_title(site)
    assert run(site, "update") == 0
    assert capsys.readouterr().err == ""


@pytest.mark.fault(
    "a count that is negative, a float, or digits beyond 64 bits",
    "read as unknown (no view count); the item is kept",
    "0",
    "the item and every other",
)
@pytest.mark.parametrize("count", ["1" * 30, 2**70, -5, 12.5, "-5", "1e3"])
def test_an_unreadable_count_is_unknown_and_the_item_is_kept(make_site, count):
    site = make_site()
    video_id, video = first_youtube_video(site)
    video["statistics"]["viewCount"] = count
    assert run(site, "update") == 0
    saved = items_in_db(site)
    assert saved[("youtube", video_id)]["views"] is None
    assert_rest_saved_and_rendered(site, None)


@pytest.mark.fault(
    "a page figure beyond 64 bits (Facebook fan_count)",
    "the figure is left out of this run; the other figures are saved",
    "0",
    "the figure's last good value",
)
def test_a_figure_beyond_64_bits_is_left_out(make_site):
    site = make_site()
    facebook_page(site)["fan_count"] = 2**70
    assert run(site, "update") == 0
    figures = json.loads(site.read("figures.json"))["figures"]
    keys = {figure["key"] for figure in figures}
    assert "facebook.likes" not in keys and "facebook.followers" in keys


@pytest.mark.fault(
    "an item listed before becomes unreadable on a full run",
    "the item is skipped, not retired: it was listed, only not understood",
    "0",
    "the item, still shown",
)
def test_a_skipped_item_is_not_retired(make_site):
    site = make_site()
    assert run(site, "update") == 0
    _, video_id = malform_youtube_title(site)
    assert run(site, "update") == 0
    assert items_in_db(site)[("youtube", video_id)]["retired_at"] is None


@pytest.mark.fault(
    "a playlist entry without a video id on a full run",
    "the entry is skipped; as its id is unknown, nothing is retired",
    "0",
    "every item",
)
def test_an_entry_without_id_retires_nothing(make_site):
    site = make_site()
    assert run(site, "update") == 0
    # The listing comes back as one entry without an id: without the rule every video would
    # be retired on this complete listing.
    gone = next(iter(site.world.youtube_videos))
    site.server.inject(
        "youtube.playlistItems",
        status=200,
        body={"items": [{"snippet": {"title": "no id"}}], "pageInfo": {"totalResults": 1}},
    )
    assert run(site, "update") == 0
    assert items_in_db(site)[("youtube", gone)]["retired_at"] is None


@pytest.mark.fault(
    "an item the database refuses (a count past 64 bits given to the store)",
    "only that item is rolled back (a SAVEPOINT each) and named in the log",
    "0",
    "every other item of the source",
)
def test_an_item_the_database_refuses_loses_no_other(engine, caplog):
    def item(platform_id: str, views: int) -> Item:
        moment = datetime(2024, 1, 2, tzinfo=UTC)
        return Item("youtube", platform_id, "video", "t", "d", "https://x/", moment, views=views)

    result = SourceResult(
        source="youtube",
        account=Account("youtube", "UC1", "Kanal", "https://www.youtube.com/channel/UC1"),
        items=[item("a", 1), item("huge", 2**70), item("c", 3)],
        complete=True,
    )
    with store.session_scope(engine) as session:
        summary = store.save_result(session, result, datetime(2024, 1, 3, tzinfo=UTC))
    assert (summary.new, summary.refused) == (2, 1)
    with store.session_scope(engine) as session:
        assert set(store.items_by_platform_id(session, "youtube", ["a", "huge", "c"])) == {
            "a",
            "c",
        }
    assert "youtube: item huge not saved" in caplog.text


@pytest.mark.fault(
    "a bug (an unexpected exception) in one source's parser",
    "the source is recorded as failed; `status` exits 1 and names it; the others run",
    "1",
    "the other sources' items, the rendered page",
)
def test_a_bug_in_a_parser_is_a_failure_of_that_source(make_site, capsys, monkeypatch):
    site = make_site()

    def broken(video: Any) -> Item:
        raise RuntimeError("a bug in the parser")

    monkeypatch.setattr(youtube, "parse_video", broken)
    assert run(site, "update") == 1
    assert "youtube" in capsys.readouterr().err
    assert (site.output / "index.html").is_file()
    saved = items_in_db(site)
    assert {source for source, _ in saved} == {"facebook", "website"}
    assert run(site, "status") == 1
    out = capsys.readouterr()
    assert "a bug in the parser" in out.out + out.err


@pytest.mark.fault(
    "a bug (an unexpected exception) while saving one source",
    "that source's save is rolled back and recorded as failed; `status` exits 1 and names "
    "it; the other sources are saved and the page rendered",
    "1",
    "the other sources' items, the rendered page",
)
def test_a_bug_in_saving_is_a_failure_of_that_source(make_site, capsys, monkeypatch):
    site = make_site()
    save = store.save_result

    def save_but_not_facebook(session, result, now, *args):
        if result.source == "facebook":
            raise RuntimeError("a bug in saving")
        return save(session, result, now, *args)

    monkeypatch.setattr(jobs.store, "save_result", save_but_not_facebook)
    assert run(site, "update") == 1
    err = capsys.readouterr().err
    assert "facebook" in err and "a bug in saving" in err and "Traceback" not in err
    assert {source for source, _ in items_in_db(site)} == {"youtube", "website"}
    assert (site.output / "index.html").is_file()
    assert run(site, "status") == 1
    out = capsys.readouterr()
    status_lines = [line for line in (out.out + out.err).splitlines() if "facebook" in line]
    assert any("a bug in saving" in line for line in status_lines)
