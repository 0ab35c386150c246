"""Quick refreshes (`update --quick`, the scheduler's frequent runs) against the fake APIs:
what they cost, what they find, and that they never retire anything."""

from __future__ import annotations

import json
import sqlite3

from test_cli import DEMO_SHOWN_YOUTUBE, figures, run, shown_ids

from aggregator import jobs, store
from aggregator.config import load_config
from aggregator.fakeapi import World
from aggregator.models import KnownItems
from aggregator.sources.youtube import quick_lookup_ids


def rows(site, query: str) -> list[tuple]:
    with sqlite3.connect(site.folder / "showcase.db") as db:
        return db.execute(query).fetchall()


def showcased(site, source: str) -> tuple[str, ...]:
    """The showcase's ids from the database (the page itself shows only its first page)."""
    config = load_config(site.config)
    engine = store.open_database(config.database_url)
    try:
        with store.session_scope(engine) as session:
            return jobs.known_items(session, config, source).showcased_ids
    finally:
        engine.dispose()


def channel_id(site) -> str:
    return next(iter(site.world.youtube_channels))


def new_video(site, video_id: str, title: str, published: str = "2026-11-20T09:00:00Z") -> None:
    template = site.world.youtube_videos.get("6nJA4duDBfQ") or next(
        video
        for video in site.world.youtube_videos.values()
        if video["status"]["privacyStatus"] == "public"
    )
    video = json.loads(json.dumps(template))
    video["id"] = video_id
    video["snippet"]["title"] = title
    video["snippet"]["publishedAt"] = published
    site.world.add_youtube_video(channel_id(site), video)


def test_a_quick_refresh_with_nothing_new_costs_3_units_and_3_graph_requests(site):
    assert run(site, "update") == 0
    site.server.reset_stats()
    assert run(site, "update", "--quick") == 0
    assert site.server.stats.youtube_units == 3
    # The figures, then the first page of videos and of posts, each on its own.
    assert site.server.stats.by_route.get("graph.page") == 1
    assert site.server.stats.by_route.get("graph.videos", 0) == 1
    assert site.server.stats.by_route.get("graph.posts", 0) == 1
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE
    outcomes = rows(site, "select source, outcome from fetch_runs order by id")
    assert ("youtube", "ok") in outcomes[:3]
    assert ("youtube", "ok-quick") in outcomes[3:] and ("facebook", "ok-quick") in outcomes[3:]


def test_a_quick_refresh_finds_new_videos_and_new_figures(site):
    assert run(site, "update") == 0
    new_video(site, "NEWvideo001", "Neu: Die Weberin #Flächenglühen")
    site.world.youtube_channels[channel_id(site)]["statistics"]["subscriberCount"] = "450"
    site.world.youtube_videos["A5bUqkYPIw8"]["statistics"]["viewCount"] = "99999"
    next(iter(site.world.facebook_pages.values()))["followers_count"] = 1400
    site.server.reset_stats()
    assert run(site, "update", "--quick") == 0
    assert site.server.stats.youtube_units == 3  # the new video shares the one videos.list call
    assert "NEWvideo001" in shown_ids(site, "youtube")
    assert figures(site)["youtube.subscribers"]["value"] == 450
    assert figures(site)["facebook.followers"]["value"] == 1400
    assert rows(site, "select views from items where platform_id = 'A5bUqkYPIw8'") == [(99999,)]


def test_a_quick_refresh_hides_a_showcased_video_gone_private_or_deleted_but_retires_nothing(
    site,
):
    assert run(site, "update") == 0
    site.world.set_youtube_privacy("A5bUqkYPIw8", "private")
    site.world.delete_youtube_video("uhkCunQ240C")  # showcased
    site.world.delete_youtube_video("UXjwhkkFGsm")  # not showcased, not looked up
    assert run(site, "update", "--quick") == 0
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE - {"A5bUqkYPIw8", "uhkCunQ240C"}
    assert rows(site, "select count(*) from items where retired_at is not null") == [(0,)]
    hidden = "select platform_id from items where public = 0 and platform_id in ('A5bUqkYPIw8', "
    assert rows(site, hidden + "'uhkCunQ240C') order by 1") == [("A5bUqkYPIw8",), ("uhkCunQ240C",)]

    assert run(site, "update") == 0  # the full run retires the deleted ones
    retired = rows(site, "select platform_id from items where retired_at is not null order by 1")
    assert retired == [("UXjwhkkFGsm",), ("uhkCunQ240C",)]


def test_a_video_made_public_again_returns_on_the_next_quick_refresh(site):
    assert run(site, "update") == 0
    site.world.set_youtube_privacy("A5bUqkYPIw8", "private")
    assert run(site, "update", "--quick") == 0
    assert "A5bUqkYPIw8" not in shown_ids(site, "youtube")
    site.world.set_youtube_privacy("A5bUqkYPIw8", "public")
    assert run(site, "update", "--quick") == 0  # on the first page, no longer known as public
    assert "A5bUqkYPIw8" in shown_ids(site, "youtube")


def test_a_failed_quick_refresh_stores_what_came_and_hides_nothing(site, capsys):
    assert run(site, "update") == 0
    site.world.set_youtube_privacy("A5bUqkYPIw8", "private")
    site.server.inject("youtube.videos", status=500, times=10)
    assert run(site, "update", "--quick") == 1
    assert "youtube: http 500" in capsys.readouterr().err
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE
    assert figures(site)["youtube.subscribers"]["stale"] is True
    last = rows(site, "select outcome from fetch_runs where source = 'youtube' order by id desc")
    assert last[0] == ("partial",)


def test_a_first_quick_run_is_a_full_one(site):
    assert run(site, "update", "--quick") == 0
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE
    outcomes = rows(site, "select source, outcome from fetch_runs where source != 'website'")
    assert sorted(outcomes) == [("facebook", "ok"), ("youtube", "ok")]


def test_a_large_channel_and_page_still_cost_3_units_and_3_requests(make_site):
    world = World.synthetic(
        youtube_uploads=400, facebook_videos=250, facebook_posts=350, tagged_every=2
    )
    site = make_site(world)
    assert run(site, "update") == 0
    assert len(showcased(site, "youtube")) > 50
    site.server.reset_stats()
    assert run(site, "update", "--quick") == 0
    assert site.server.stats.youtube_units == 3
    assert site.server.stats.graph_requests == 3


def test_more_than_50_new_videos_are_read_page_by_page(make_site):
    site = make_site(World.synthetic(youtube_uploads=60, facebook_videos=1, facebook_posts=1))
    assert run(site, "update") == 0
    for n in range(70):
        published = f"2030-01-01T01:{n % 60:02d}:{n // 60:02d}Z"
        new_video(site, f"NEW{n:08d}", f"Neu {n} #flächenglühen", published)
    site.server.reset_stats()
    assert run(site, "update", "--quick") == 0
    # channels 1 + playlist pages 2 (the second holds the first known video) + videos.list 2
    assert site.server.stats.youtube_units == 5
    assert {f"NEW{n:08d}" for n in range(70)} <= set(showcased(site, "youtube"))


def test_lookup_ids_put_what_is_new_first_and_fill_the_batch_with_the_showcase():
    showcased = tuple(f"s{n}" for n in range(80))
    assert quick_lookup_ids([], showcased) == list(showcased[:50])
    assert quick_lookup_ids(["n1", "s0"], showcased) == ["n1", "s0", *showcased[1:49]]
    wanted = [f"n{n}" for n in range(50)]
    assert quick_lookup_ids(wanted, showcased) == wanted
    assert len(quick_lookup_ids([*wanted, "n50"], showcased)) == 100
    assert quick_lookup_ids([], ()) == []
    assert KnownItems().showcased_ids == ()


def test_a_quick_run_selects_the_showcase_once_for_all_its_sources(site, monkeypatch):
    """YouTube's and Facebook's quick refreshes are both told their showcased ids: the showcase
    (every candidate item read and grouped) is selected once for both, and once for the render;
    the thumbnails are checked on it when the saves changed no item row, on a selection of
    their own otherwise (issue 12: the selection cost 0.45 s a time at 1,246 showcase items)."""
    assert run(site, "update") == 0
    calls: list[str] = []
    real = jobs.showcase_rows

    def counted(session, config):
        calls.append("selection")
        return real(session, config)

    monkeypatch.setattr(jobs, "showcase_rows", counted)
    assert run(site, "update", "--quick") == 0
    fetched = rows(site, "select source, outcome from fetch_runs order by id")[3:]
    assert ("youtube", "ok-quick") in fetched and ("facebook", "ok-quick") in fetched
    assert len(calls) == 1  # the quick refreshes' one, the thumbnails' too (render: context's)
    calls.clear()
    new_video(site, "NEWVIDEO001", "Neu #flächenglühen")
    assert run(site, "update", "--quick") == 0
    assert len(calls) == 2  # a new item: the thumbnails' own, after the fetch, not beside it
    assert "NEWVIDEO001" in showcased(site, "youtube")
