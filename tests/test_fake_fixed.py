"""A fixed fake world (`World.fix`, what bench serves) answers byte for byte as a changing one.

The fixed world keeps what the server worked out (listing orders, answers, generated images)
instead of working it out per request; nothing about what the fake models may change with it.
So the same walk through both APIs (YouTube's channel, every uploads page and videos.list
batch; Graph's page, every /videos and /posts page by `paging.next`; the images they name)
must give the same statuses and bodies, and the fixed one must still charge quota and count
requests per request, as the real APIs do (each call costs its unit, cached or not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fake_client import KEY, TOKEN

from aggregator.fakeapi import FakeApiServer, World

SIZES = {"youtube_uploads": 120, "facebook_videos": 30, "facebook_posts": 150}
PAGES_AT_MOST = 50  # a walk that goes round in circles ends, and the comparison fails
VIDEO_FIELDS = "id,title,description,created_time,permalink_url,picture,length,format{picture}"


def walk(server: FakeApiServer) -> Iterator[tuple[str, int, str]]:
    """Every answer of a full read of both sources, with the server's own address taken out."""
    http = requests.Session()
    escaped = server.base_url.replace("/", "\\/")  # Graph's JSON escapes "/"

    def get(url: str, **params: Any) -> dict[str, Any]:
        response = http.get(url, params=params, timeout=10)
        asked = urlsplit(response.url)
        yield_list.append(
            (
                f"{asked.path}?{asked.query}".replace(server.base_url, ""),
                response.status_code,
                response.text.replace(server.base_url, "{base}").replace(escaped, "{base}"),
            )
        )
        return response.json()  # type: ignore[no-any-return]

    yield_list: list[tuple[str, int, str]] = []
    api = f"{server.url}youtube/v3/"
    channel = get(f"{api}channels", part="contentDetails", forHandle="@kreativessachsen", key=KEY)
    uploads = channel["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
    token: str | None = ""
    for _ in range(PAGES_AT_MOST):
        if token is None:
            break
        listing = get(
            f"{api}playlistItems",
            part="contentDetails",
            playlistId=uploads,
            maxResults=50,
            pageToken=token,
            key=KEY,
        )
        ids = ",".join(item["contentDetails"]["videoId"] for item in listing["items"])
        get(f"{api}videos", part="snippet,statistics,status", id=ids, key=KEY)
        token = listing.get("nextPageToken")
    for edge, fields in (("videos", VIDEO_FIELDS), ("posts", "id,message,full_picture")):
        url: str | None = f"{server.url}v25.0/kreativessachsen/{edge}"
        params: dict[str, Any] = {"fields": fields, "limit": 25, "access_token": TOKEN}
        for _ in range(PAGES_AT_MOST):
            if not url:
                break
            page = get(url, **params)
            url, params = page.get("paging", {}).get("next"), {}
    images = sorted({name for _, _, body in yield_list for name in _image_names(body)})
    for path in [f"/thumbs/{name}" for name in images[:40]]:
        response = http.get(server.base_url + path, timeout=10)
        yield_list.append((path, response.status_code, response.content.hex()))
    yield from yield_list


def _image_names(body: str) -> list[str]:
    return re.findall(r"\{base\}\\?/thumbs\\?/([\w.-]+\.jpg)", body)


def test_a_fixed_world_answers_byte_for_byte_as_a_changing_one() -> None:
    with FakeApiServer(World.synthetic(**SIZES), api_key=KEY, access_token=TOKEN) as changing:
        expected = list(walk(changing))
        changing_stats = (changing.stats.youtube_units, changing.stats.graph_requests)
    fixed_world = World.synthetic(**SIZES).fix()
    with FakeApiServer(fixed_world, api_key=KEY, access_token=TOKEN) as fixed:
        assert fixed.prepare_images() > 0
        first, again = list(walk(fixed)), list(walk(fixed))
        fixed_stats = (fixed.stats.youtube_units, fixed.stats.graph_requests)
    assert len(expected) > 10
    assert any(path.startswith("/thumbs/") for path, _, _ in expected)
    assert first == expected
    assert again == expected  # the second walk is answered from what was kept
    # Kept answers are still charged and counted, one unit or request per call.
    assert fixed_stats == (2 * changing_stats[0], 2 * changing_stats[1])


def test_a_fixed_world_refuses_changes() -> None:
    world = World.synthetic(**SIZES).fix()
    video_id = next(iter(world.youtube_videos))
    with pytest.raises(RuntimeError, match="fixed"):
        world.set_youtube_privacy(video_id, "private")
    with pytest.raises(RuntimeError, match="fixed"):
        world.delete_youtube_video(video_id)


def test_only_a_fixed_worlds_images_are_prepared() -> None:
    with (
        FakeApiServer(World.synthetic(**SIZES)) as server,
        pytest.raises(RuntimeError, match="fix"),
    ):
        server.prepare_images()
