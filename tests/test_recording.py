"""Recordings: `fetch --record DIR` writes every exchange, secrets removed; `demo --replay DIR`
serves it back, and the same pipeline gives the same showcase.

The recordings here are made against the fake server, whose answers rest on the real recorded
responses (see test_fakeapi.py): Graph's `paging.next` carries the access_token in its query
(real-api/facebook/page_videos_p1_cursor_next.json), the YouTube key travels as `key=` in the
query (https://developers.google.com/youtube/v3/docs#calling-the-api). The fake is stopped
before each replay, so a URL that the replay failed to rewrite cannot reach it by accident.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY
from forwarding_proxy import ForwardingProxy

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.demo import run_replay
from aggregator.fakeapi import World, graph_error
from aggregator.fakeapi.replay import ReplayServer, request_key
from aggregator.models import Usage
from aggregator.recording import META_FILE, encode_body
from aggregator.retry import RetryPolicy
from aggregator.sources import fetcher

PROXY_PASSWORD = "proxy-secret-77"


def record(site, folder: Path, *args: str) -> int:
    return main(["--config", str(site.config), *args, "--record", str(folder)])


def replay(folder: Path, directory: Path) -> int:
    return main(["demo", "--replay", str(folder), "--directory", str(directory)])


def exchanges(folder: Path) -> list[dict]:
    return [json.loads(path.read_text("utf-8")) for path in sorted(folder.glob("0*.json"))]


def feed_items(output: Path) -> list[dict]:
    """The feed's items, their image paths relative (the replay's demo config has no base_url)."""
    items = json.loads((output / "feed.json").read_text("utf-8"))["items"]
    for item in items:
        if "image" in item:
            item["image"] = item["image"].removeprefix("https://www.example.org/showcase/")
    return items


def paged_world() -> World:
    """More than one page everywhere: YouTube 50, Graph 100 (paging.next links), WordPress 100."""
    return World.synthetic(
        youtube_uploads=60, facebook_videos=120, facebook_posts=110, tagged_every=9,
        wordpress_posts=105,
    )  # fmt: skip


# --- the round trip -----------------------------------------------------------------------------


def test_a_recorded_update_replayed_gives_the_same_showcase(make_site, tmp_path, capsys):
    site = make_site(paged_world())
    folder = tmp_path / "recording"
    assert record(site, folder, "update") == 0, capsys.readouterr().err
    site.server.stop()
    assert replay(folder, tmp_path / "replayed") == 0, capsys.readouterr().err
    replayed = tmp_path / "replayed" / "public"
    assert feed_items(replayed) == feed_items(site.output)
    assert len(feed_items(replayed)) > 20
    # Thumbnails are recorded by size only: the replay draws copies of the same size, so the
    # same variants exist (a 640 px one only where the original was wide enough).
    assert sorted(p.name for p in (replayed / "thumbs").iterdir()) == sorted(
        p.name for p in (site.output / "thumbs").iterdir()
    )
    assert capsys.readouterr().err == ""


def test_the_parsers_read_a_replayed_recording_as_they_read_the_api(make_site, tmp_path):
    """Each source's fetch (requests and parsers) against the replay: the same items, down to
    the raw payload, but for the thumbnails' host (the replay's, because they are fetched)."""
    site = make_site(paged_world())
    config = load_config(site.config)
    policy = RetryPolicy(sleep=lambda s: None, timeout=5.0)
    direct = {name: fetcher(name)(getattr(config, name), policy, Usage()) for name in SOURCES}
    folder = tmp_path / "recording"
    assert record(site, folder, "fetch") == 0
    recorded_origin = site.server.base_url
    site.server.stop()
    with ReplayServer(folder) as served, served.isolated():
        local = served.local_origin(recorded_origin)
        config = load_config(_replay_config(tmp_path, served))
        replayed = {name: fetcher(name)(getattr(config, name), policy, Usage()) for name in SOURCES}
    assert served.unmatched == []
    for name in SOURCES:
        assert replayed[name].complete and direct[name].complete
        assert replayed[name].figures == direct[name].figures
        assert [_with_origin(item, local, recorded_origin) for item in replayed[name].items] == (
            direct[name].items
        )


SOURCES = ("youtube", "facebook", "website")


def _replay_config(folder: Path, served: ReplayServer) -> Path:
    tables = served.config_dict()
    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [
            f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()
        ]
    path = folder / "replay.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _with_origin(item, local: str, recorded: str):
    raw = json.loads(json.dumps(dict(item.raw)).replace(local, recorded))
    thumbnail = item.thumbnail_url.replace(local, recorded) if item.thumbnail_url else None
    return dataclasses.replace(item, raw=raw, thumbnail_url=thumbnail)


def test_a_recorded_failure_fails_again_on_replay(site, tmp_path, capsys):
    """What a bug report needs: the replay meets the same answer and says the same line."""
    site.server.inject("graph.page", body=graph_error(190, 463))
    folder = tmp_path / "recording"
    assert record(site, folder, "fetch", "facebook") == 1
    recorded_error = capsys.readouterr().err
    assert "facebook: token" in recorded_error
    site.server.stop()
    assert replay(folder, tmp_path / "replayed") == 1
    out, err = capsys.readouterr()
    assert _any_port(err) == _any_port(recorded_error)
    assert out.strip() == str(tmp_path / "replayed" / "public" / "index.html")


def _any_port(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)


def test_repeated_requests_are_answered_in_recorded_order(site, tmp_path, capsys):
    """A 503 then, on the retry, the answer: replayed the same way, and the last answer is
    repeated once the recorded ones are used up."""
    site.server.inject("youtube.channels", status=503)
    folder = tmp_path / "recording"
    assert record(site, folder, "fetch", "youtube") == 0
    origin = site.server.base_url
    site.server.stop()
    channels = [e for e in exchanges(folder) if "/youtube/v3/channels" in e["request"]["url"]]
    assert [e["response"]["status"] for e in channels] == [503, 200]
    path = channels[0]["request"]["url"].removeprefix(origin)
    with ReplayServer(folder) as served:
        statuses = [served.answer(origin, "GET", path).status for _ in range(3)]
    assert statuses == [503, 200, 200]
    assert replay(folder, tmp_path / "replayed") == 0, capsys.readouterr().err


# --- what a recording holds ---------------------------------------------------------------------


def test_a_recording_holds_no_secret(make_site, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("no_proxy", "*")  # a proxy configured with a password, not used
    monkeypatch.setenv("https_proxy", f"http://staff:{PROXY_PASSWORD}@proxy.example.org:3128")
    site = make_site(paged_world())
    folder = tmp_path / "recording"
    assert record(site, folder, "fetch") == 0, capsys.readouterr().err
    files = sorted(folder.iterdir())
    assert len(files) > 10
    for path in files:
        text = path.read_text("utf-8")
        for secret in (API_KEY, ACCESS_TOKEN, PROXY_PASSWORD):
            assert secret not in text, path.name
    recorded = exchanges(folder)
    urls = [e["request"]["url"] for e in recorded]
    assert any("key=REDACTED" in url for url in urls)  # YouTube
    graph = [e for e in recorded if "/v25.0/" in e["request"]["url"]]
    assert graph and all(
        e["request"]["headers"]["Authorization"] == "Bearer REDACTED" for e in graph
    )
    next_links = [link for e in graph for link in _next_links(e["response"]["body"]["json"])]
    assert next_links and all("access_token=REDACTED" in link for link in next_links)


def _next_links(document) -> list[str]:
    """Every paging.next in a Graph answer, nested edges included."""
    if isinstance(document, list):
        return [link for item in document for link in _next_links(item)]
    if not isinstance(document, dict):
        return []
    found = [document["next"]] if isinstance(document.get("next"), str) else []
    return found + [link for value in document.values() for link in _next_links(value)]


def test_each_exchange_is_plain_json_and_images_are_kept_by_size(site, tmp_path):
    folder = tmp_path / "recording"
    assert record(site, folder, "update") == 0
    meta = json.loads((folder / META_FILE).read_text("utf-8"))
    assert meta["sources"] == ["youtube", "facebook", "website"]
    assert (
        meta["exchanges"]
        == len(exchanges(folder))
        == site.server.stats.youtube_requests
        + (
            site.server.stats.graph_requests
            + site.server.stats.wordpress_requests
            + site.server.stats.thumb_requests
        )
    )
    assert meta["config"]["showcase"]["hashtags"] == ["flächenglühen", "flaechengluehen"]
    assert "api_key_env" not in json.dumps(meta)
    for exchange in exchanges(folder):
        assert set(exchange["request"]) == {"method", "url", "headers"}
        assert exchange["response"]["status"] == 200
        body = exchange["response"]["body"]
        if "/thumbs/" in exchange["request"]["url"]:
            assert body["image"]["format"] == "JPEG" and body["size"] > 1000
            assert "base64" not in body
        else:
            assert "json" in body


def test_bodies_keep_their_form_and_lose_their_secrets():
    assert encode_body(b'{"access_token": "EAAxyz", "n": 1}', "application/json") == {
        "json": {"access_token": "REDACTED", "n": 1}
    }
    assert encode_body(b"<p>key=AIzaSecret</p>", "text/html; charset=utf-8") == {
        "text": "<p>key=REDACTED</p>"
    }
    assert encode_body(b"\xff\xfe\x00binary", "application/octet-stream") == {
        "base64": "//4AYmluYXJ5"
    }
    assert encode_body(b"not an image", "image/jpeg") == {
        "omitted": "not a readable image",
        "size": 12,
    }


def test_recording_into_a_folder_that_holds_files_is_refused(site, tmp_path, capsys):
    folder = tmp_path / "recording"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert record(site, folder, "fetch") == 2
    assert "--record" in capsys.readouterr().err
    assert site.server.stats.requests == []


def test_replaying_a_folder_without_a_recording_is_a_usage_error(tmp_path, capsys):
    assert replay(tmp_path, tmp_path / "out") == 2
    assert "holds no recording" in capsys.readouterr().err


# --- the replay's URLs --------------------------------------------------------------------------


def test_a_replay_never_leaves_loopback(site, tmp_path, capsys):
    """A recorded URL the client never asked for during the recording (here a thumbnail on
    another image host) is not rewritten; the replay sends it to its own proxy, never outside."""
    folder = tmp_path / "recording"
    assert record(site, folder, "fetch", "youtube") == 0
    site.server.stop()
    videos = next(p for p in sorted(folder.glob("0*.json")) if "/videos?" in p.read_text("utf-8"))
    exchange = json.loads(videos.read_text("utf-8"))
    first = exchange["response"]["body"]["json"]["items"][0]
    for thumbnail in first["snippet"]["thumbnails"].values():
        thumbnail["url"] = "http://i9.ytimg.com/elsewhere.jpg"
    videos.write_text(json.dumps(exchange), encoding="utf-8")
    with ForwardingProxy() as outside:
        _, outcomes = run_replay(folder, tmp_path / "replayed", outside=outside.url)
    assert all(outcome.ok for outcome in outcomes)
    assert [seen.target for seen in outside.seen] == ["http://i9.ytimg.com/elsewhere.jpg"]


def test_requests_match_without_their_secrets_and_in_any_query_order():
    key = request_key("GET", "https://youtube.googleapis.com/youtube/v3/videos?id=a&key=REDACTED")
    assert key == request_key("get", "http://127.0.0.1:1/youtube/v3/videos?key=AIza&id=a")
    assert key != request_key("GET", "http://127.0.0.1:1/youtube/v3/videos?id=b")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
