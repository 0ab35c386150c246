"""Bounded listings, shrink protection and deadlines (issue 11, item 0).

Each test does the damage on purpose and carries a `fault` row for docs/reliability.md: what
was done, what happens, the exit code, what is kept.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import Site, real_api_json
from test_cli import one_line, run, shown_ids
from test_youtube import API_KEY, fetch

from aggregator import jobs
from aggregator.config import load_config
from aggregator.errors import SourceError
from aggregator.fakeapi import FakeApiServer, World
from aggregator.retry import RetryPolicy
from aggregator.sources.http import http_get, new_session
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


# --- deadlines -------------------------------------------------------------------------------


class Trickle:
    """A loopback server that answers every request with 200 and a body of 100,000 bytes, one
    byte every 0.2 s: each socket read gets its byte well within any read timeout, the whole
    answer would take hours. It hangs up after 10 s, so that without a deadline the tests
    fail on their clocks rather than hang."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.requests = 0
        trickle = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                trickle.requests += 1
                self.request.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                self.request.sendall(head + b"Content-Length: 100000\r\n\r\n")
                for _ in range(50):
                    if trickle.stopping.wait(0.2):
                        return
                    try:
                        self.request.sendall(b" ")
                    except OSError:
                        return

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trickle() -> Iterator[Trickle]:
    running = Trickle()
    yield running
    running.stop()


@pytest.mark.fault(
    "a server trickles its answer, one byte at a time (requests: Facebook, WordPress)",
    "the request is cut off at its deadline for the whole answer",
    "1",
    "everything stored before",
)
def test_a_trickling_answer_is_cut_off_at_the_deadline(trickle):
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        http_get(new_session(), trickle.url + "wp-json/", "website", timeout=1.0)
    assert time.monotonic() - started < 1.0 + 0.5
    assert caught.value.cause == "timeout" and caught.value.retryable
    assert "no whole answer within 1s" in caught.value.line()


@pytest.mark.fault(
    "the YouTube API trickles its answers; `update` runs with a short run budget",
    "YouTube fails with one timeout line within the run's deadline; the other sources go on",
    "1",
    "the other sources' items and figures; the page is rendered",
)
def test_a_trickling_api_cannot_hold_update_past_its_deadline(site, trickle, monkeypatch, capsys):
    """The run's budget (100 s of the contract's two minutes in production) scaled down to 3 s,
    each request to 1 s: however many attempts are left, `update` stops asking at the budget."""
    policy = RetryPolicy(sleep=lambda seconds: None, timeout=1.0, attempts=100, budget=3.0)
    monkeypatch.setattr(jobs, "default_policy", lambda: policy)
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        text.replace(f'api_endpoint = "{site.server.url}"', f'api_endpoint = "{trickle.url}"'),
        encoding="utf-8",
    )
    jobs.open_database(load_config(site.config)).dispose()  # the schema made before the clock
    started = time.monotonic()
    assert run(site, "update") == 1
    assert time.monotonic() - started < 3.0 + 2.0
    line = one_line(capsys.readouterr().err)
    assert line.startswith("showcase: youtube: timeout")
    assert trickle.requests >= 2  # retried while the budget lasted
    assert shown_ids(site, "facebook")  # the others went on, the page was rendered


def test_fetch_takes_accept_shrink_too(site, capsys):
    assert run(site, "update") == 0
    _empty_channel(site)
    assert run(site, "fetch", "youtube") == 0
    assert "nothing retired" in capsys.readouterr().err
    assert run(site, "fetch", "youtube", "--accept-shrink") == 0
    assert run(site, "render") == 0
    assert shown_ids(site, "youtube") == set()


def test_accept_shrink_in_the_config_must_be_true_or_false(site, capsys):
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        text.replace('stale_after = "26h"', 'stale_after = "26h"\naccept_shrink = "yes"'),
        encoding="utf-8",
    )
    assert run(site, "update") == 2
    assert "showcase.accept_shrink: must be true or false" in capsys.readouterr().err
