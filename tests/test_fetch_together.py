"""A run reads its sources at once (each mostly waits on its API) and stores them one after
the other; what it logs reads as if they had been read one after the other."""

from __future__ import annotations

import threading

from test_cli import run

from aggregator import jobs
from aggregator.fakeapi import World, youtube_error
from aggregator.sources import youtube

WAIT = 5.0  # far longer than reading the demo takes; a wait that runs out fails the test


def test_the_sources_are_read_at_once(site, monkeypatch):
    together = threading.Barrier(2, timeout=WAIT)
    real = jobs.fetcher

    def meeting(name):
        def fetch(*args, **kwargs):
            if name in ("youtube", "facebook"):
                together.wait()  # each one's read waits for the other's to begin
            return real(name)(*args, **kwargs)

        return fetch

    monkeypatch.setattr(jobs, "fetcher", meeting)
    assert run(site, "update") == 0


def test_a_later_source_logs_after_the_earlier_one_is_told(site, monkeypatch, capsys):
    facebook_read = threading.Event()
    real = jobs.fetcher

    def ordered(name):
        def fetch(*args, **kwargs):
            if name == "youtube":  # YouTube ends last, Facebook's lines are logged first
                assert facebook_read.wait(WAIT)
            result = real(name)(*args, **kwargs)
            if name == "facebook":
                facebook_read.set()
            return result

        return fetch

    monkeypatch.setattr(jobs, "fetcher", ordered)
    assert run(site, "-v", "update") == 0
    lines = capsys.readouterr().err.splitlines()
    youtube_told = next(i for i, line in enumerate(lines) if line.startswith("youtube: ok;"))
    facebook_lines = [
        i for i, line in enumerate(lines) if line.startswith("GET ") and "/v25.0/" in line
    ]
    assert facebook_lines and min(facebook_lines) > youtube_told
    assert any(line.startswith("facebook: ok;") for line in lines[youtube_told:])


def count_connections(monkeypatch) -> list[float]:
    made: list[float] = []
    real = youtube.new_http

    def counted(timeout):
        made.append(timeout)
        return real(timeout)

    monkeypatch.setattr(youtube, "new_http", counted)
    return made


def test_youtube_keeps_its_connections_alive_for_a_whole_read(make_site, monkeypatch):
    site = make_site(World.synthetic(youtube_uploads=200, facebook_videos=0, facebook_posts=0))
    made = count_connections(monkeypatch)
    assert run(site, "fetch", "youtube") == 0
    assert site.server.stats.youtube_requests == 9  # channels, 4 playlist pages, 4 videos.list
    # The service's own (never used for a request), then one kept by each of the two lanes:
    # the channel and the videos, the playlist pages read ahead.
    assert len(made) == 3


def test_youtube_takes_a_fresh_connection_after_a_failure(site, monkeypatch):
    made = count_connections(monkeypatch)
    site.server.inject("youtube.videos", body=youtube_error(503, "backendError"))
    assert run(site, "fetch", "youtube") == 0
    assert len(made) == 4


def test_the_next_playlist_page_is_asked_for_while_this_one_is_used():
    second_asked = threading.Event()

    def pages():
        yield 1
        second_asked.set()
        yield 2

    for page in youtube.read_ahead(pages()):
        if page == 1:
            assert second_asked.wait(WAIT)


def count_selections(monkeypatch) -> list[int]:
    selected: list[int] = []
    real = jobs.showcase_rows

    def counted(*args):
        rows = real(*args)
        selected.append(len(rows))
        return rows

    monkeypatch.setattr(jobs, "showcase_rows", counted)
    return selected


def test_a_quick_run_that_brought_something_selects_the_showcase_again(site, monkeypatch):
    from test_quick import new_video

    assert run(site, "update") == 0
    new_video(site, "newQuick001", "Neu #flächenglühen")
    selected = count_selections(monkeypatch)
    assert run(site, "update", "--quick") == 0
    assert len(selected) == 2 and selected[1] == selected[0] + 1
    assert list((site.folder / "public").rglob("*newQuick001*"))
