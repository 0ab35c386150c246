"""Bounded listings, shrink protection and deadlines (issue 11, item 0).

Each test does the damage on purpose and carries a `fault` row for docs/reliability.md: what
was done, what happens, the exit code, what is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import real_api_json
from test_youtube import API_KEY, fetch

from aggregator.errors import SourceError
from aggregator.fakeapi import FakeApiServer, World

# --- bounded listings ------------------------------------------------------------------------


@pytest.fixture
def world() -> World:
    return World.synthetic(youtube_uploads=300, facebook_videos=0, facebook_posts=0)


@pytest.fixture
def server(world: World) -> Iterator[FakeApiServer]:
    with FakeApiServer(world, api_key=API_KEY) as running:
        yield running


@pytest.mark.fault(
    "YouTube answers the same nextPageToken again",
    "the listing stops at the repeat and ends as partial",
    "1",
    "every item read; nothing retired",
)
def test_a_repeated_next_page_token_ends_the_listing_as_partial(server):
    """The recorded page 1 (youtube/playlistItems_list_page1_nextPageToken.json, token
    "CAoQAA") answered to every request: paging would go round in a circle for ever."""
    page = real_api_json("youtube/playlistItems_list_page1_nextPageToken.json")
    server.inject("youtube.playlistItems", status=200, body=page, times=50)
    result, usage = fetch(server)
    assert result.complete is False
    assert isinstance(result.error, SourceError)
    assert "nextPageToken repeats" in result.error.line()
    assert server.stats.by_route["youtube.playlistItems"] == 2  # the first answer, one repeat
    # 20 entries, less than one videos.list batch of 50: not looked up, as after a failed page
    assert usage.quota_units == 1 + 2


@pytest.mark.fault(
    "YouTube pages on past the channel's videoCount",
    "the listing stops at its quota floor plus a margin and ends as partial",
    "1",
    "every item read; nothing retired",
)
def test_a_listing_never_spends_more_than_its_quota_floor_and_margin(server, world):
    """videoCount 50 allows ⌈50/50⌉ = 1 playlist page plus the margin of 2; the playlist
    (300 uploads) would go on for 6 pages."""
    (channel,) = world.youtube_channels.values()
    channel["statistics"]["videoCount"] = "50"
    result, usage = fetch(server)
    assert result.complete is False
    assert isinstance(result.error, SourceError) and "cut short" in result.error.line()
    assert server.stats.by_route["youtube.playlistItems"] == 3
    assert usage.quota_units == 1 + 3 + 3  # channel, 3 pages, 3 batches of videos
    assert len(result.items) == 150


def test_the_bound_leaves_room_for_a_tenth_more_pages():
    from aggregator.sources.youtube import page_limit

    assert page_limit({"statistics": {"videoCount": "5026"}}) == 101 + 2 + 10
    assert page_limit({"statistics": {"videoCount": "1"}}) == 1 + 2
    assert page_limit({"statistics": {}}) == 200
