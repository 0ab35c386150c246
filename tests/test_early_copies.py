"""Thumbnails copied as the sources find their items (issue 12): each source tells the items of
a page as it reads them, and the run copies their thumbnails meanwhile, on one copier for every
source, before the listings are whole and saved. The figures are measured in bench/."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from conftest import ACCESS_TOKEN, API_KEY, write_config
from test_cli import run
from test_facebook import facebook_settings
from test_store import video
from test_thumbnail_speed import jpeg, keeping_alive, policy
from test_trust_urls import serving
from test_website import settings_for as website_settings
from test_youtube import quick_policy
from test_youtube import settings_for as youtube_settings

from aggregator import jobs, thumbnails
from aggregator.config import load_config
from aggregator.fakeapi import FakeApiServer, World
from aggregator.models import Usage
from aggregator.sources import facebook, website, youtube


def told(fetch, *args):
    """The fetch's result and each batch it told `found`, in order."""
    batches: list[list[str]] = []
    result = fetch(
        *args, Usage(), found=lambda items: batches.append([i.platform_id for i in items])
    )
    return result, batches


def joined(batches: list[list[str]]) -> list[str]:
    return [platform_id for batch in batches for platform_id in batch]


def test_each_source_tells_its_items_as_it_reads_them():
    """YouTube each batch of 50 videos, Facebook its videos before its posts are read (a post
    announcing a video is only known once the videos are), WordPress each page of posts.
    What they tell is what the result holds, each item once."""
    world = World.synthetic(
        youtube_uploads=120, facebook_videos=30, facebook_posts=40, wordpress_posts=250
    )
    with FakeApiServer(world, api_key=API_KEY, access_token=ACCESS_TOKEN) as server:
        result, batches = told(
            youtube.fetch, youtube_settings(server.url, api_key=API_KEY), quick_policy()
        )
        assert [len(batch) for batch in batches] == [50, 50, 20]
        assert joined(batches) == [item.platform_id for item in result.items]

        result, batches = told(
            facebook.fetch, facebook_settings(server.url, ACCESS_TOKEN), quick_policy()
        )
        videos = [item.platform_id for item in result.items if item.kind == "video"]
        assert len(batches) == 1 and batches[0] == videos[: len(batches[0])] and len(videos) == 30
        assert len(result.items) > 30  # the posts came after, in the result only

        result, batches = told(website.fetch, website_settings(server.url), quick_policy())
        assert [len(batch) for batch in batches] == [100, 100, 50]
        assert joined(batches) == [item.platform_id for item in result.items]


def test_items_offered_at_several_times_go_through_one_copier(tmp_path, monkeypatch):
    """Offers from every source and page feed one copier: its workers keep their connections
    from one offer to the next, an item offered twice is copied once, and `tried` names every
    image queued."""
    connections: set[int] = set()
    with serving(keeping_alive(monkeypatch, connections, jpeg(1280, 720))) as server:
        config = load_config(write_config(tmp_path, server.url()))
        items = [replace(video(f"v{n}"), thumbnail_url=server.url(f"/{n}.jpg")) for n in range(9)]
        with jobs.EarlyThumbnails(config, policy()) as early:
            early.offer(items[:3])
            time.sleep(0.2)  # the first offer's images are copied before the next comes
            early.offer(items[2:6])
            early.offer(items[6:])
        assert sorted(server.hits) == sorted(f"/{n}.jpg" for n in range(9))
    assert len(connections) <= thumbnails.WORKERS
    assert early.copies.tried == {("youtube", f"v{n}") for n in range(9)}
    assert early.copies.copied == {
        ("youtube", f"v{n}"): f"thumbs/youtube-v{n}.jpg" for n in range(9)
    }


def test_a_thumbnail_is_copied_while_its_source_is_still_read(make_site, monkeypatch):
    """YouTube's second batch of videos is asked for only once a thumbnail of its first batch
    is written: the copies begin with the first page, not once the listing is whole."""
    site = make_site(World.synthetic(youtube_uploads=120, facebook_videos=5, facebook_posts=5))
    written = threading.Event()
    real_write, real_videos = thumbnails.write_atomic, youtube.YouTubeClient.videos
    seen: list[bool] = []

    def noting_write(path, data, durable=True):
        real_write(path, data, durable=durable)
        if path.name.startswith("youtube-"):
            written.set()

    def videos_after_a_copy(client, ids):
        if len(seen) < 2:
            seen.append(written.wait(timeout=10) if seen else written.is_set())
        return real_videos(client, ids)

    monkeypatch.setattr(thumbnails, "write_atomic", noting_write)
    monkeypatch.setattr(youtube.YouTubeClient, "videos", videos_after_a_copy)
    assert run(site, "update") == 0
    assert seen == [False, True]  # none before the first batch, one before the second
