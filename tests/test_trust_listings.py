"""Bounded listings, shrink protection and deadlines (issue 11, item 0).

Each test does the damage on purpose and carries a `fault` row for docs/reliability.md: what
was done, what happens, the exit code, what is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Site, real_api_json
from test_cli import one_line, run, shown_ids
from test_youtube import API_KEY, fetch

from aggregator.errors import SourceError
from aggregator.fakeapi import FakeApiServer, World
from aggregator.store import is_sudden_shrink

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


# --- shrink protection -----------------------------------------------------------------------


def test_what_counts_as_a_sudden_shrink():
    assert is_sudden_shrink(live=16, vanished=16)  # to nothing
    assert is_sudden_shrink(live=3, vanished=3)
    assert is_sudden_shrink(live=10, vanished=6)  # most of at least 10
    assert not is_sudden_shrink(live=10, vanished=5)  # half is not most
    assert not is_sudden_shrink(live=9, vanished=8)  # too few to judge
    assert not is_sudden_shrink(live=16, vanished=0)


def _empty_channel(site: Site) -> None:
    """The channel answers as one without videos (statistics.videoCount "0"), which the source
    takes as a complete, empty listing: what a glitch at YouTube's end would look like."""
    (channel,) = site.world.youtube_channels.values()
    channel["statistics"]["videoCount"] = "0"


@pytest.mark.fault(
    "a full run's complete listing suddenly holds nothing (or loses most of 10+ items)",
    "nothing is retired; one warning line; `status` shows it",
    "0",
    "every item and the page as they were",
)
def test_a_listing_that_shrinks_to_nothing_retires_nothing(site, capsys):
    assert run(site, "update") == 0
    before = shown_ids(site, "youtube")
    assert len(before) >= 2
    capsys.readouterr()
    _empty_channel(site)
    assert run(site, "update") == 0
    line = one_line(capsys.readouterr().err)
    assert line.startswith("youtube: the complete listing lost ") and "nothing retired" in line
    assert "--accept-shrink" in line
    assert shown_ids(site, "youtube") == before
    assert run(site, "status") == 0
    assert "warning: youtube: the complete listing lost" in capsys.readouterr().out


@pytest.mark.fault(
    "a sudden shrink confirmed with `update --accept-shrink`",
    "the vanished items are retired",
    "0",
    "the items that are still listed",
)
def test_accept_shrink_retires_a_real_one(site, capsys):
    assert run(site, "update") == 0
    _empty_channel(site)
    assert run(site, "update", "--accept-shrink") == 0
    assert capsys.readouterr().err == ""
    assert shown_ids(site, "youtube") == set()
    assert run(site, "status") == 0
    assert "complete listing lost" not in capsys.readouterr().out


def test_the_config_setting_accepts_shrinks_too(site):
    assert run(site, "update") == 0
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        text.replace('stale_after = "26h"', 'stale_after = "26h"\naccept_shrink = true'),
        encoding="utf-8",
    )
    _empty_channel(site)
    assert run(site, "update") == 0
    assert shown_ids(site, "youtube") == set()


def test_an_ordinary_loss_is_retired_without_asking(site):
    """One video of 16 deleted: no glitch, retired as before."""
    assert run(site, "update") == 0
    site.world.delete_youtube_video("uhkCunQ240C")
    assert run(site, "update") == 0
    assert "uhkCunQ240C" not in shown_ids(site, "youtube")
