"""The fake YouTube / Graph server: routes, wire formats, failure injection, demo world."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import real_api_json
from fake_client import KEY, TOKEN, demo_channel, graph, http, uploads_id, yt
from PIL import Image

from aggregator.fakeapi import FakeApiServer, World, graph_error, youtube_error

GRAPH_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000")
YOUTUBE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeApiServer]:
    with FakeApiServer(World.demo(), api_key=KEY, access_token=TOKEN) as server:
        yield server


@pytest.fixture
def server(shared_server: FakeApiServer) -> FakeApiServer:
    """One running server for the module, with a fresh demo world and clean slate per test."""
    shared_server.world = World.demo()
    shared_server.clear_injections()
    shared_server.reset_stats()
    shared_server.app_usage = None
    return shared_server


def fixture(relative: str) -> Any:
    return real_api_json(relative)


def assert_same_shape(
    ours: dict[str, Any], real: dict[str, Any], optional: frozenset[str] = frozenset()
) -> None:
    """Every key the real response has is in ours, with the same JSON type."""
    for key, value in real.items():
        if key in optional:
            continue
        assert key in ours, f"missing {key!r}"
        assert type(ours[key]) is type(value), f"{key!r}: {type(ours[key])} vs {type(value)}"


# -- YouTube: channels.list ---------------------------------------------------------------------


@pytest.mark.parametrize("handle", ["@kreativessachsen", "kreativessachsen", "@KreativesSachsen"])
def test_channel_by_handle(server: FakeApiServer, handle: str) -> None:
    body = yt(server, "channels", part="snippet", forHandle=handle).json()
    assert body["kind"] == "youtube#channelListResponse"
    assert [item["snippet"]["title"] for item in body["items"]] == ["Kreatives Sachsen"]


def test_channel_by_id_has_uploads_playlist_and_string_counts(server: FakeApiServer) -> None:
    channel_id = demo_channel(server)["id"]
    body = yt(server, "channels", part="contentDetails,statistics", id=channel_id).json()
    item = body["items"][0]
    assert set(item) == {"kind", "etag", "id", "contentDetails", "statistics"}
    assert item["contentDetails"]["relatedPlaylists"]["uploads"] == "UU" + channel_id[2:]
    assert item["statistics"] == {
        "viewCount": "58231",
        "subscriberCount": "412",
        "hiddenSubscriberCount": False,
        "videoCount": "16",
    }


def test_unknown_channel_is_200_without_items(server: FakeApiServer) -> None:
    response = yt(server, "channels", part="snippet", forHandle="@niemand")
    assert response.status_code == 200
    assert "items" not in response.json()
    assert response.json()["pageInfo"]["totalResults"] == 0


def test_hidden_and_rounded_subscriber_counts(server: FakeApiServer) -> None:
    statistics = demo_channel(server)["statistics"]
    statistics["subscriberCount"] = "123456"
    item = yt(server, "channels", part="statistics", forHandle="kreativessachsen").json()["items"][
        0
    ]
    assert item["statistics"]["subscriberCount"] == "123000"
    statistics["hiddenSubscriberCount"] = True
    item = yt(server, "channels", part="statistics", forHandle="kreativessachsen").json()["items"][
        0
    ]
    assert "subscriberCount" not in item["statistics"]
    assert item["statistics"]["hiddenSubscriberCount"] is True


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"forHandle": "x"}, "required"),
        ({"part": "snippet"}, "missingRequiredParameter"),
        ({"part": "snippet,nonsense", "forHandle": "x"}, "unknownPart"),
        ({"part": "snippet", "forHandle": "x", "id": "UCx"}, "incompatibleParameters"),
    ],
)
def test_channel_parameter_errors(server: FakeApiServer, params: dict, reason: str) -> None:
    response = yt(server, "channels", **params)
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == reason


# -- YouTube: playlistItems.list ----------------------------------------------------------------


def test_uploads_paginate_newest_first_in_three_pages(server: FakeApiServer) -> None:
    server.world = World.synthetic(youtube_uploads=120, facebook_videos=1, facebook_posts=1)
    params = {"part": "snippet,contentDetails", "playlistId": uploads_id(server), "maxResults": 50}
    pages, token = [], None
    while True:
        body = yt(server, "playlistItems", **params, **({"pageToken": token} if token else {}))
        pages.append(body.json())
        token = pages[-1].get("nextPageToken")
        if token is None:
            break
    assert [len(page["items"]) for page in pages] == [50, 50, 20]
    assert all(page["pageInfo"] == {"totalResults": 120, "resultsPerPage": 50} for page in pages)
    assert "prevPageToken" not in pages[0] and "prevPageToken" in pages[1]
    items = [item for page in pages for item in page["items"]]
    assert [item["snippet"]["position"] for item in items] == list(range(120))
    dates = [item["snippet"]["publishedAt"] for item in items]
    assert dates == sorted(dates, reverse=True)
    assert server.stats.youtube_units == 3


def test_page_tokens_are_opaque_youtube_style(server: FakeApiServer) -> None:
    body = yt(server, "playlistItems", part="id", playlistId=uploads_id(server)).json()
    assert body["nextPageToken"] == "CAUQAA"  # offset 5, as YouTube itself writes it
    assert len(body["items"]) == 5  # default maxResults


def test_private_video_stays_in_playlist_and_deleted_vanishes(server: FakeApiServer) -> None:
    params = {"part": "snippet,contentDetails", "playlistId": uploads_id(server), "maxResults": 50}
    items = yt(server, "playlistItems", **params).json()["items"]
    private = [item for item in items if item["snippet"]["title"] == "Private video"]
    assert len(private) == 1
    assert private[0]["snippet"]["description"] == "This video is private."
    assert private[0]["snippet"]["thumbnails"] == {}
    assert set(private[0]["contentDetails"]) == {"videoId"}
    public = next(item for item in items if item["snippet"]["title"] != "Private video")
    assert public["snippet"]["videoOwnerChannelTitle"] == "Kreatives Sachsen"
    assert YOUTUBE_TIME.fullmatch(public["contentDetails"]["videoPublishedAt"])

    first, second = items[0]["contentDetails"]["videoId"], items[1]["contentDetails"]["videoId"]
    server.world.delete_youtube_video(first)
    server.world.set_youtube_privacy(second, "deleted")
    after = yt(server, "playlistItems", **params).json()
    assert after["pageInfo"]["totalResults"] == len(items) - 2
    assert {i["contentDetails"]["videoId"] for i in after["items"]}.isdisjoint({first, second})


def test_playlist_errors(server: FakeApiServer) -> None:
    missing = yt(server, "playlistItems", part="snippet", playlistId="UUnothere")
    assert missing.status_code == 404
    assert missing.json() == youtube_error(404, "playlistNotFound")
    too_many = yt(server, "playlistItems", part="id", playlistId=uploads_id(server), maxResults=51)
    assert too_many.status_code == 400
    bad_token = yt(server, "playlistItems", part="id", playlistId=uploads_id(server), pageToken="x")
    assert bad_token.json()["error"]["errors"][0]["reason"] == "invalidPageToken"


# -- YouTube: videos.list -----------------------------------------------------------------------


def test_videos_list_returns_only_public_and_unlisted(server: FakeApiServer) -> None:
    ids = list(server.world.youtube_videos)
    body = yt(server, "videos", part="status", id=",".join(ids)).json()
    statuses = [item["status"]["privacyStatus"] for item in body["items"]]
    assert len(statuses) == len(ids) - 1
    assert sorted(set(statuses)) == ["public", "unlisted"]
    assert body["pageInfo"]["totalResults"] == len(statuses)


def test_videos_list_parts_and_wire_types(server: FakeApiServer) -> None:
    video_id = demo_channel(server)["uploads"][1]  # [0] is an upcoming premiere: P0D
    item = yt(server, "videos", part="contentDetails,statistics,status", id=video_id).json()
    item = item["items"][0]
    assert set(item) == {"kind", "etag", "id", "contentDetails", "statistics", "status"}
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", item["contentDetails"]["duration"])
    assert all(isinstance(value, str) for value in item["statistics"].values())
    assert item["statistics"]["favoriteCount"] == "0"
    assert {
        "uploadStatus",
        "privacyStatus",
        "license",
        "embeddable",
        "publicStatsViewable",
        "madeForKids",
    } <= set(item["status"])


def test_repeated_part_and_id_parameters_are_joined(server: FakeApiServer) -> None:
    first, second = demo_channel(server)["uploads"][6:8]
    response = http.get(
        f"{server.url}youtube/v3/videos",
        params=[("part", "id"), ("part", "status"), ("id", first), ("id", second), ("key", KEY)],
        timeout=5,
    )
    assert [item["id"] for item in response.json()["items"]] == [first, second]


def test_tags_absent_when_none(server: FakeApiServer) -> None:
    video_id = demo_channel(server)["uploads"][0]
    server.world.youtube_videos[video_id]["snippet"].pop("tags")
    snippet = yt(server, "videos", part="snippet", id=video_id).json()["items"][0]["snippet"]
    assert "tags" not in snippet
    assert snippet["localized"]["title"] == snippet["title"]


def test_more_than_50_ids_is_refused(server: FakeApiServer) -> None:
    assert yt(server, "videos", part="id", id=",".join(["x"] * 51)).status_code == 400


def test_thumbnails_point_at_the_server(server: FakeApiServer) -> None:
    video_id = demo_channel(server)["uploads"][0]
    response = yt(server, "videos", part="snippet", id=video_id)
    assert "{base}" not in response.text
    thumbnails = response.json()["items"][0]["snippet"]["thumbnails"]
    assert list(thumbnails) == ["default", "medium", "high", "standard", "maxres"]
    assert thumbnails["high"]["url"].startswith(server.url + "thumbs/")
    assert (thumbnails["high"]["width"], thumbnails["high"]["height"]) == (480, 360)
    image = http.get(thumbnails["high"]["url"], timeout=5)
    assert Image.open(io.BytesIO(image.content)).size == (480, 360)


# -- YouTube: fields ----------------------------------------------------------------------------


def test_fields_partial_response(server: FakeApiServer) -> None:
    body = yt(
        server,
        "playlistItems",
        part="snippet",
        playlistId=uploads_id(server),
        fields="items(id,snippet(title,resourceId/videoId)),nextPageToken",
    ).json()
    assert set(body) == {"items", "nextPageToken"}
    assert set(body["items"][0]) == {"id", "snippet"}
    assert set(body["items"][0]["snippet"]) == {"title", "resourceId"}
    assert set(body["items"][0]["snippet"]["resourceId"]) == {"videoId"}


def test_fields_slash_syntax_and_errors(server: FakeApiServer) -> None:
    body = yt(
        server,
        "channels",
        part="statistics",
        forHandle="kreativessachsen",
        fields="items/statistics/videoCount",
    ).json()
    assert body == {"items": [{"statistics": {"videoCount": "16"}}]}
    bad = yt(server, "channels", part="id", forHandle="x", fields="items(id")
    assert bad.status_code == 400


# -- YouTube: key and quota ---------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_bad_key_gets_the_invalid_key_body_and_costs_nothing(server: FakeApiServer, key) -> None:
    params = {"part": "id", "forHandle": "kreativessachsen"}
    if key:
        params["key"] = key
    response = http.get(f"{server.url}youtube/v3/channels", params=params, timeout=5)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["errors"][0]["reason"] == "badRequest"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert server.stats.youtube_units == 0


def test_quota_is_spent_then_exceeded(server: FakeApiServer) -> None:
    server.world.youtube_quota_left = 2
    for _ in range(2):
        assert yt(server, "channels", part="id", forHandle="x").status_code == 200
    refused = yt(server, "channels", part="id", forHandle="x")
    assert refused.status_code == 403
    assert refused.json() == youtube_error(403, "quotaExceeded")
    assert refused.json()["error"]["errors"][0]["domain"] == "youtube.quota"
    assert server.stats.youtube_units == 2
    assert server.world.youtube_quota_left == 0


def test_every_list_call_costs_one_unit(server: FakeApiServer) -> None:
    yt(server, "channels", part="id", forHandle="kreativessachsen")
    yt(server, "playlistItems", part="id", playlistId=uploads_id(server))
    yt(server, "videos", part="id", id="abc")
    yt(server, "playlistItems", part="id", playlistId="UUnothere")  # API errors cost too
    assert server.stats.youtube_units == 4
    assert server.stats.youtube_requests == 4


# -- Graph: page node ---------------------------------------------------------------------------


def test_page_node_default_and_requested_fields(server: FakeApiServer) -> None:
    page = next(iter(server.world.facebook_pages.values()))
    assert graph(server, "kreativessachsen").json() == {
        "name": "Kreatives Sachsen",
        "id": page["id"],
    }
    body = graph(server, page["id"], fields="name,followers_count,fan_count,link").json()
    assert body == {
        "name": "Kreatives Sachsen",
        "followers_count": 1310,
        "fan_count": 1280,
        "link": "https://www.facebook.com/kreativessachsen",
        "id": page["id"],
    }
    assert graph(server, "KreativesSachsen", fields="id").json() == {"id": page["id"]}


def test_missing_counts_are_omitted(server: FakeApiServer) -> None:
    page = next(iter(server.world.facebook_pages.values()))
    del page["followers_count"]
    body = graph(server, "kreativessachsen", fields="followers_count,fan_count").json()
    assert body == {"fan_count": 1280, "id": page["id"]}


def test_unknown_page_and_unknown_field(server: FakeApiServer) -> None:
    response = graph(server, "gibtsnicht")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    assert "'gibtsnicht'" in error["message"]
    bad_field = graph(server, "kreativessachsen", fields="id,nonsense")
    assert bad_field.status_code == 400
    assert bad_field.json()["error"]["code"] == 100


def test_expansion_returns_edges_with_paging(server: FakeApiServer) -> None:
    body = graph(
        server,
        "kreativessachsen",
        fields="id,videos.limit(4){id,title,created_time},posts.limit(100){message}",
    ).json()
    videos, posts = body["videos"], body["posts"]
    assert len(videos["data"]) == 4
    assert set(videos["data"][0]) == {"id", "title", "created_time"}
    assert "next" in videos["paging"] and set(videos["paging"]["cursors"]) == {"before", "after"}
    # 16 posts and, for each of the 8 videos, its `added_video` post.
    assert len(posts["data"]) == 16 + 8 and "next" not in posts["paging"]
    assert all("id" in post for post in posts["data"])
    rest = http.get(videos["paging"]["next"], timeout=5).json()
    assert [set(video) for video in rest["data"]] == [{"id", "title", "created_time"}] * 4
    assert "next" not in rest["paging"]


# -- Graph: edges -------------------------------------------------------------------------------


def test_videos_edge_fields_and_formats(server: FakeApiServer) -> None:
    fields = "id,title,description,created_time,updated_time,permalink_url,picture,length,published"
    response = graph(server, "kreativessachsen/videos", fields=fields)
    videos = response.json()["data"]
    assert len(videos) == 8
    for video in videos:
        assert set(video) == set(fields.split(","))
        assert GRAPH_TIME.fullmatch(video["created_time"])
        assert video["permalink_url"] == f"/kreativessachsen/videos/{video['id']}/"
        assert video["picture"].startswith(server.url + "thumbs/")
        assert isinstance(video["length"], float)
    tagged = [
        v
        for v in videos
        if "flächenglühen" in (v["title"] + v["description"]).casefold()
        or "flaechengluehen" in v["description"]
    ]
    assert len(tagged) == 6
    assert "\\/" in response.text  # Graph escapes slashes; clients must parse JSON


def test_posts_edge(server: FakeApiServer) -> None:
    page_id = next(iter(server.world.facebook_pages))
    posts = graph(
        server,
        "kreativessachsen/posts",
        fields="id,message,created_time,permalink_url,full_picture",
    ).json()["data"]
    assert len(posts) == 16 + 8  # and an `added_video` post for each of the 8 videos
    assert all(re.fullmatch(rf"{page_id}_\d+", post["id"]) for post in posts)
    assert all(post["permalink_url"].startswith("https://www.facebook.com/") for post in posts)
    assert any("full_picture" not in post for post in posts)
    assert any("message" not in post for post in posts)  # a cover-photo story has none
    times = [post["created_time"] for post in posts]
    assert times == sorted(times, reverse=True)


def test_paging_next_followed_to_the_end(server: FakeApiServer) -> None:
    server.world = World.synthetic(youtube_uploads=1, facebook_videos=1, facebook_posts=250)
    body = graph(server, "kreativessachsen/posts", fields="id,message", limit=100).json()
    seen = [post["id"] for post in body["data"]]
    while "next" in body["paging"]:
        assert f"access_token={TOKEN}" in body["paging"]["next"]
        assert body["paging"]["next"].startswith(server.url + "v25.0/")
        # Time-based links as in real-api/facebook/posts_p1_time_paging.json.
        assert "&since&__paging_token=" in body["paging"]["next"]
        body = http.get(body["paging"]["next"], timeout=5).json()
        assert "__paging_token=" in body["paging"]["previous"]  # posts_p1_time_paging.json
        seen += [post["id"] for post in body["data"]]
    assert len(seen) == len(set(seen)) == 250 + 1  # and the one video's post
    assert server.stats.by_route["graph.posts"] == 3
    previous = http.get(body["paging"]["previous"], timeout=5).json()
    assert len(previous["data"]) == 100


def test_limit_and_cursor_errors(server: FakeApiServer) -> None:
    assert graph(server, "kreativessachsen/posts", limit=101).json()["error"]["code"] == 100
    assert graph(server, "kreativessachsen/videos", after="nonsense").status_code == 400
    assert graph(server, "kreativessachsen/posts", __paging_token="x").status_code == 400
    default = graph(server, "kreativessachsen/posts").json()
    assert set(default["data"][0]) <= {"created_time", "message", "story", "id"}


def test_graph_token_checks(server: FakeApiServer) -> None:
    wrong = graph(server, "kreativessachsen", access_token="expired")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == 190
    assert wrong.json()["error"]["type"] == "OAuthException"
    assert "invalid_token" in wrong.headers["WWW-Authenticate"]
    missing = http.get(f"{server.url}v25.0/kreativessachsen", timeout=5)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 104
    bearer = http.get(
        f"{server.url}v25.0/kreativessachsen",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert bearer.status_code == 200


def test_app_usage_header_on_every_graph_answer(server: FakeApiServer) -> None:
    for response in (
        graph(server, "kreativessachsen"),
        graph(server, "nope"),
        graph(server, "kreativessachsen", access_token="x"),
    ):
        usage = json.loads(response.headers["x-app-usage"])
        assert set(usage) == {"call_count", "total_time", "total_cputime"}
        assert response.headers["facebook-api-version"] == "v25.0"
    server.app_usage = {"call_count": 95, "total_time": 10, "total_cputime": 5}
    assert json.loads(graph(server, "kreativessachsen").headers["x-app-usage"])["call_count"] == 95


# -- injection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "path"),
    [
        ("youtube.channels", "youtube/v3/channels?part=id&forHandle=x&key=test-key"),
        ("youtube.playlistItems", "youtube/v3/playlistItems?part=id&playlistId=UUx&key=test-key"),
        ("youtube.videos", "youtube/v3/videos?part=id&id=x&key=test-key"),
        ("graph.page", "v25.0/kreativessachsen?access_token=test-token"),
        ("graph.videos", "v25.0/kreativessachsen/videos?access_token=test-token"),
        ("graph.posts", "v25.0/kreativessachsen/posts?access_token=test-token"),
        ("thumbs", "thumbs/fb-1.jpg"),
    ],
)
def test_inject_on_every_route(server: FakeApiServer, route: str, path: str) -> None:
    injection = server.inject(route, status=503, times=2, skip=1)
    statuses = [http.get(server.url + path, timeout=5).status_code for _ in range(4)]
    assert statuses[0] != 503 and statuses[1:3] == [503, 503] and statuses[3] != 503
    assert injection.remaining == 0
    if route.startswith("youtube."):
        body = http.get(server.url + path, timeout=5).json()  # not injected any more
        assert "error" not in body or body["error"]["code"] != 503


def test_injected_default_bodies_follow_the_api(server: FakeApiServer) -> None:
    server.inject("youtube.videos", status=500)
    server.inject("graph.posts", status=500)
    youtube_body = yt(server, "videos", part="id", id="x").json()
    assert youtube_body["error"]["errors"][0]["reason"] == "backendError"
    response = graph(server, "kreativessachsen/posts")
    assert response.json()["error"]["is_transient"] is True
    assert "x-app-usage" in response.headers


def test_injected_canned_bodies_imply_their_status(server: FakeApiServer) -> None:
    server.inject("graph.page", body=graph_error(4))
    server.inject("graph.videos", body=graph_error(190, 463))
    server.inject("youtube.channels", body=youtube_error(403, "quotaExceeded"))
    assert graph(server, "kreativessachsen").status_code == 403
    expired = graph(server, "kreativessachsen/videos")
    assert expired.status_code == 400 and expired.json()["error"]["error_subcode"] == 463
    assert yt(server, "channels", part="id", forHandle="x").status_code == 403
    assert server.stats.youtube_units == 0  # injected answers cost nothing


def test_injected_raw_text_headers_and_delay(server: FakeApiServer) -> None:
    server.inject(
        "youtube.videos",
        status=502,
        body="<html>Bad Gateway</html>",
        content_type="text/html",
        headers={"Retry-After": "7"},
    )
    server.inject("graph.posts", status=200, delay=0.01, headers={"X-Slow": "1"})
    response = yt(server, "videos", part="id", id="x")
    assert response.status_code == 502 and response.text == "<html>Bad Gateway</html>"
    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Retry-After"] == "7"
    slow = graph(server, "kreativessachsen/posts")
    assert slow.status_code == 200 and slow.headers["X-Slow"] == "1" and slow.json()["data"]


def test_inject_rejects_unknown_routes(server: FakeApiServer) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        server.inject("youtube.search")


# -- thumbnails and stats -----------------------------------------------------------------------


def test_thumbnail_is_a_cacheable_jpeg(server: FakeApiServer) -> None:
    response = http.get(f"{server.url}thumbs/fb-123.jpg", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(response.content)).size == (640, 360)
    assert "max-age" in response.headers["Cache-Control"]
    again = http.get(
        f"{server.url}thumbs/fb-123.jpg",
        timeout=5,
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    other = http.get(f"{server.url}thumbs/fb-124.jpg", timeout=5)
    assert other.content != response.content
    assert server.stats.thumb_requests == 3 and server.stats.by_route["thumbs"] == 3


def test_stats_record_routes_without_secrets(server: FakeApiServer) -> None:
    yt(server, "channels", part="id", forHandle="x")
    graph(server, "kreativessachsen/videos", fields="id")
    http.get(
        f"{server.url}v25.0/kreativessachsen?fields=id",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    routes = [route for route, _ in server.stats.requests]
    assert routes == ["youtube.channels", "graph.videos", "graph.page"]
    paths = " ".join(path for _, path in server.stats.requests)
    assert KEY not in paths and TOKEN not in paths
    assert "key=" not in paths and "access_token=" not in paths
    assert server.stats.requests[1][1] == "/v25.0/kreativessachsen/videos?fields=id"
    assert server.stats.graph_requests == 2 and server.stats.youtube_requests == 1
    server.reset_stats()
    assert server.stats.requests == [] and server.stats.by_route == {}


def test_lifecycle_start_stop() -> None:
    server = FakeApiServer(World.demo())
    with pytest.raises(RuntimeError):
        _ = server.url
    server.inject("thumbs", status=404)  # injections may be set up before the start
    server.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", server.url)
        assert http.get(f"{server.url}thumbs/x.jpg", timeout=5).status_code == 404
        assert http.get(f"{server.url}thumbs/x.jpg", timeout=5).status_code == 200
    finally:
        server.stop()


def test_google_api_client_talks_to_the_fake(server: FakeApiServer) -> None:
    discovery = pytest.importorskip("googleapiclient.discovery")
    client = discovery.build(
        "youtube",
        "v3",
        developerKey=KEY,
        client_options={"api_endpoint": server.url},
        static_discovery=True,
        cache_discovery=False,
    )
    channel = client.channels().list(part="contentDetails", forHandle="@kreativessachsen").execute()
    uploads = channel["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
    request = client.playlistItems().list(part="contentDetails", playlistId=uploads, maxResults=10)
    ids: list[str] = []
    while request is not None:
        response = request.execute()
        ids += [item["contentDetails"]["videoId"] for item in response["items"]]
        request = client.playlistItems().list_next(request, response)
    assert len(ids) == 18
    videos = client.videos().list(part=["status"], id=ids).execute()
    assert len(videos["items"]) == 17


# -- the demo and synthetic worlds --------------------------------------------------------------


def test_demo_world_is_a_fresh_copy_each_time() -> None:
    first, second = World.demo(), World.demo()
    next(iter(first.youtube_videos.values()))["snippet"]["title"] = "geändert"
    assert next(iter(second.youtube_videos.values()))["snippet"]["title"] != "geändert"


def test_demo_world_covers_the_matching_cases() -> None:
    world = World.demo()
    videos = list(world.youtube_videos.values())
    text = [v["snippet"]["title"] + "\n" + v["snippet"]["description"] for v in videos]
    assert any("#flächenglühen" in t for t in text)
    assert any("#Flächenglühen" in t for t in text)
    assert any("#fla\u0308chenglu\u0308hen" in t for t in text)  # decomposed umlauts
    assert any("#flaechengluehen" in t for t in text)
    assert any("#flächenglühend" in t for t in text) and any(
        "#flächenglühen2020" in t for t in text
    )
    hashtag = re.compile(r"#fl(ä|ae)chengl")
    tag_only = [
        v
        for v, t in zip(videos, text, strict=True)
        if "flächenglühen" in v["snippet"].get("tags", [])
        and not hashtag.search(unicodedata.normalize("NFC", t).casefold())
    ]
    assert len(tag_only) == 1
    privacy = [v["status"]["privacyStatus"] for v in videos]
    assert privacy.count("private") == 1 and privacy.count("unlisted") == 1
    assert sum(not v["status"]["embeddable"] for v in videos) == 1
    channel = next(iter(world.youtube_channels.values()))
    assert channel["statistics"]["videoCount"] == str(privacy.count("public"))
    assert channel["statistics"]["subscriberCount"] == "412"
    assert len(channel["id"]) == 24 and channel["id"].startswith("UC")
    live = [v["snippet"]["liveBroadcastContent"] for v in videos]
    assert live.count("upcoming") == 1  # one premiere announced: the only new video
    dates = [v["snippet"]["publishedAt"] for v in videos]
    assert min(dates).startswith("2017-06-27")
    assert max(dates) == dates[live.index("upcoming")]
    page = next(iter(world.facebook_pages.values()))
    assert (page["followers_count"], page["fan_count"]) == (1310, 1280)
    assert page["id"].isdigit() and page["username"] == "kreativessachsen"
    assert len(page["videos"]) == 8 and len(page["posts"]) == 16


def test_synthetic_world() -> None:
    world = World.synthetic(youtube_uploads=300, facebook_videos=40, facebook_posts=70, seed=3)
    channel = world.find_channel("@kreativessachsen")
    assert channel is not None and len(channel["uploads"]) == 300
    assert world.find_page("kreativessachsen") is not None
    texts = [
        v["snippet"]["title"] + v["snippet"]["description"] + " ".join(v["snippet"]["tags"])
        for v in world.youtube_videos.values()
    ]
    tagged = sum("chengl" in unicodedata.normalize("NFC", t) for t in texts)
    assert 300 // 7 <= tagged < 300 // 3
    assert (
        World.synthetic(youtube_uploads=5, seed=3).to_dict()
        == World.synthetic(youtube_uploads=5, seed=3).to_dict()
    )


# -- shapes against the real recorded responses -------------------------------------------------


def test_channel_shape_matches_real(server: FakeApiServer) -> None:
    real = fixture("youtube/channels_list_snippet_contentDetails_statistics_2022.json")
    ours = yt(
        server,
        "channels",
        part="snippet,contentDetails,statistics,brandingSettings",
        forHandle="kreativessachsen",
    ).json()
    assert_same_shape(ours, real)
    assert_same_shape(ours["pageInfo"], real["pageInfo"])
    item, real_item = ours["items"][0], real["items"][0]
    assert list(item) == list(real_item)
    assert_same_shape(item["snippet"], real_item["snippet"])
    assert_same_shape(item["statistics"], real_item["statistics"])
    assert item["contentDetails"] == {
        "relatedPlaylists": {"likes": "", "uploads": uploads_id(server)}
    }
    assert set(item["snippet"]["thumbnails"]) == set(real_item["snippet"]["thumbnails"])


def test_playlist_items_shape_matches_real(server: FakeApiServer) -> None:
    real_first = fixture("youtube/playlistItems_list_page1_nextPageToken.json")
    real_last = fixture("youtube/playlistItems_list_page2_last.json")
    params = {"part": "snippet", "playlistId": uploads_id(server), "maxResults": 10}
    first = yt(server, "playlistItems", **params).json()
    page = yt(server, "playlistItems", **params, pageToken=first["nextPageToken"]).json()
    assert list(first) == list(real_first)
    assert list(page) == list(real_last)
    real_item, item = real_first["items"][0], first["items"][0]
    assert list(item) == list(real_item)
    # videoOwnerChannel* arrived in 2020, after the recording.
    assert_same_shape(item["snippet"], real_item["snippet"])
    assert set(item["snippet"]) - set(real_item["snippet"]) == {
        "videoOwnerChannelTitle",
        "videoOwnerChannelId",
    }
    assert item["snippet"]["thumbnails"]["maxres"].keys() == {"url", "width", "height"}


def test_videos_shape_matches_real(server: FakeApiServer) -> None:
    real = fixture("youtube/videos_list_snippet_contentDetails_status_statistics.json")
    video_id = demo_channel(server)["uploads"][0]
    ours = yt(server, "videos", part="snippet,contentDetails,status,statistics", id=video_id).json()
    assert_same_shape(ours, real)
    item, real_item = ours["items"][0], real["items"][0]
    assert list(item) == list(real_item)
    assert_same_shape(
        item["snippet"], real_item["snippet"], optional=frozenset({"defaultLanguage"})
    )
    assert_same_shape(item["contentDetails"], real_item["contentDetails"])
    assert_same_shape(item["status"], real_item["status"])
    # dislikeCount left the public API in December 2021.
    assert_same_shape(
        item["statistics"], real_item["statistics"], optional=frozenset({"dislikeCount"})
    )
    player = fixture("youtube/videos_list_single_snippet_tags_maxres.json")["items"][0]["player"]
    ours_player = yt(server, "videos", part="player", id=video_id).json()["items"][0]["player"]
    assert_same_shape(ours_player, player)


def test_graph_videos_shape_matches_real(server: FakeApiServer) -> None:
    real_first = fixture("facebook/page_videos_p1_cursor_next.json")
    real_last = fixture("facebook/page_videos_p2_last.json")
    fields = "id,created_time,description,title,published,length,permalink_url,updated_time"
    first = graph(server, "kreativessachsen/videos", fields=fields, limit=2).json()
    assert list(first) == list(real_first)
    assert set(first["paging"]) == set(real_first["paging"])
    assert set(first["paging"]["cursors"]) == set(real_first["paging"]["cursors"])
    for ours, real in zip(first["data"], real_first["data"], strict=False):
        assert list(ours) == list(real)
        assert_same_shape(ours, real)
        assert ours["permalink_url"].startswith("/") and real["permalink_url"].startswith("/")
    last = graph(
        server,
        "kreativessachsen/videos",
        fields=fields,
        limit=2,
        after=first["paging"]["cursors"]["after"],
    ).json()
    while "next" in last["paging"]:
        last = http.get(last["paging"]["next"], timeout=5).json()
    assert set(last["paging"]) == set(real_last["paging"])  # cursors and previous, no next
    model = fixture("facebook/video_node_format_thumbnails.json")
    picture = graph(server, "kreativessachsen/videos", fields="picture,embeddable,from").json()
    assert_same_shape(picture["data"][0], {k: model[k] for k in ("picture", "embeddable", "from")})


def test_graph_posts_and_page_shape_match_real(server: FakeApiServer) -> None:
    real_posts = fixture("facebook/posts_p1_time_paging.json")
    ours = graph(server, "kreativessachsen/posts", fields="id,message,created_time", limit=5).json()
    assert list(ours["data"][0]) == list(real_posts["data"][0])
    assert_same_shape(ours["data"][0], real_posts["data"][0])
    rich = fixture("facebook/page_feed_rich_fields_p1_cursor.json")["data"][0]
    post = graph(server, "kreativessachsen/posts", fields="id,permalink_url,full_picture").json()
    assert_same_shape(
        post["data"][0], {k: rich[k] for k in ("id", "permalink_url", "full_picture")}
    )
    real_page = fixture("facebook/page_fields_id_name_username_fan_count.json")
    page = graph(server, "kreativessachsen", fields="id,name,username,fan_count").json()
    assert list(page) == list(real_page)
    assert_same_shape(page, real_page)
    real_default = fixture("facebook/page_default_fields_fan_count_link.json")
    linked = graph(server, "kreativessachsen", fields="link,fan_count").json()
    assert_same_shape(linked, {k: real_default[k] for k in ("link", "fan_count", "id")})


def test_error_bodies_match_real(server: FakeApiServer) -> None:
    quota = fixture("youtube/transcribed_from_issue_threads/error_403_quotaExceeded.json")
    assert youtube_error(403, "quotaExceeded") == quota
    assert list(youtube_error(403, "quotaExceeded")["error"]) == list(quota["error"])
    playlist = fixture("youtube/transcribed_from_issue_threads/error_404_playlistNotFound.json")
    assert yt(server, "playlistItems", part="id", playlistId="UUnope").json() == playlist
    legacy = fixture("youtube/error_400_keyInvalid_legacy_shape.json")
    modern = youtube_error(400, "keyInvalid")
    assert set(legacy["error"]) <= set(modern["error"])
    permission = fixture("youtube/error_403_permission_denied.json")
    assert set(youtube_error(403)["error"]) == set(permission["error"])

    def without_trace(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body["error"].items() if k != "fbtrace_id"}

    expired = fixture("facebook/transcribed_from_issue_threads/error_190_463_session_expired.json")
    assert without_trace(graph_error(190, 463)) == without_trace(expired)
    limit = fixture(
        "facebook/transcribed_from_issue_threads/error_4_application_request_limit.json"
    )
    assert without_trace(graph_error(4)) == without_trace(limit)
    assert list(graph_error(4)["error"]) == list(limit["error"])
    permission_100 = fixture("facebook/error_100_missing_pages_read_engagement.json")
    assert without_trace(graph_error(100)) == without_trace(permission_100)
