"""The YouTube source: parsers on recorded API responses, then fetch against the fake API."""

from __future__ import annotations

import json
import logging
import re
import socket
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import real_api_json, real_api_path
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from test_render import card_by_id, golden_showcase, parse, with_items, youtube_video

from aggregator import store
from aggregator.cli import main
from aggregator.config import YouTubeConfig
from aggregator.context import announced_start
from aggregator.demo import run_demo
from aggregator.errors import SourceError
from aggregator.fakeapi.youtube import make_ended, make_live, make_upcoming
from aggregator.models import Figure, RawJson, Usage
from aggregator.render import render_outputs
from aggregator.retry import RetryPolicy
from aggregator.sources import youtube
from aggregator.sources.items import BadItem

API_KEY = "AIzaSyTEST-not-a-real-key-0123456789"


def recorded(name: str) -> dict[str, Any]:
    return dict(real_api_json(f"youtube/{name}"))


def recorded_bytes(name: str) -> bytes:
    return real_api_path(f"youtube/{name}").read_bytes()


# --- parsers on recorded responses -------------------------------------------------------------


def test_account_and_figures_from_channels_list():
    google, developers = recorded("channels_list_snippet_contentDetails_statistics_2022.json")[
        "items"
    ]
    account = youtube.parse_account(developers)
    assert account.source == "youtube"
    assert account.platform_id == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert account.name == "Google Developers"
    assert account.url == "https://www.youtube.com/@googledevelopers"
    assert account.raw["id"] == "UC_x5XG1OV2P6uZZ5FSM9Ttw"
    assert youtube.parse_figures(google) == [
        Figure("youtube.subscribers", 10_700_000, rounded=True),
        Figure("youtube.views", 3_331_930_783),
        Figure("youtube.videos", 2678),
    ]
    assert youtube.uploads_playlist_id(google) == "UUK8sQmJBp8GCxrOtXWBpyEA"


def test_channel_without_statistics_or_uploads_playlist():
    (channel,) = recorded("channels_list_snippet_customUrl_handle.json")["items"]
    assert youtube.parse_figures(channel) == []
    with pytest.raises(SourceError) as caught:
        youtube.uploads_playlist_id(channel)
    assert caught.value.cause == "unexpected response"


def test_unrounded_2019_statistics_are_still_ints():
    (channel,) = recorded("channels_list_snippet_statistics_2019_unrounded.json")["items"]
    figures = {figure.key: figure.value for figure in youtube.parse_figures(channel)}
    assert figures == {
        "youtube.subscribers": 1_927_873,
        "youtube.views": 160_361_638,
        "youtube.videos": 5026,
    }


def test_hidden_or_missing_subscriber_count_gives_no_subscriber_figure():
    hidden = {"statistics": {"subscriberCount": "0", "hiddenSubscriberCount": True}}
    missing = {"statistics": {"viewCount": "12", "hiddenSubscriberCount": False}}
    assert youtube.parse_figures(hidden) == []
    assert youtube.parse_figures(missing) == [Figure("youtube.views", 12)]


def test_account_url_without_custom_url_uses_channel_id():
    account = youtube.parse_account({"id": "UCabc", "snippet": {"title": "T"}})
    assert account.url == "https://www.youtube.com/channel/UCabc"


def test_video_with_every_part():
    (video,) = recorded("videos_list_snippet_contentDetails_status_statistics.json")["items"]
    item = youtube.parse_video(video)
    assert item.platform_id == "D-lhorsDlUQ"
    assert item.kind == "video"
    assert item.title == "What are Actions on Google (Assistant on Air)"
    assert item.description.startswith("In the first episode of Assistant on Air")
    assert item.url == "https://www.youtube.com/watch?v=D-lhorsDlUQ"
    assert item.published_at == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert item.thumbnail_url == "https://i.ytimg.com/vi/D-lhorsDlUQ/maxresdefault.jpg"
    assert item.duration_seconds == 21 * 60 + 7
    assert item.views == 7920
    assert "Actions on Google" in item.tags
    assert item.public is True
    assert item.embeddable is True
    assert item.raw is not video and item.raw == video
    assert isinstance(item.raw, RawJson)  # compact text until it is stored (memory)


def test_video_without_status_statistics_or_duration():
    videos = recorded("videos_list_multi_id_snippet_player.json")["items"]
    second = youtube.parse_video(videos[1])
    assert second.platform_id == "ovdbrdCIP7U"
    assert second.thumbnail_url is not None and second.thumbnail_url.endswith("sddefault.jpg")
    assert second.views is None
    assert second.duration_seconds is None
    assert second.public is False  # without a status we cannot know it is public
    assert second.embeddable is True


def test_playlist_pages_give_video_ids_and_page_token():
    first = recorded("playlistItems_list_page1_nextPageToken.json")
    last = recorded("playlistItems_list_page2_last.json")
    entries = youtube.parse_list_items(first, "playlistItems.list")
    assert [youtube.upload_video_id(entry) for entry in entries][:2] == [
        "CvTApw9X8aA",
        "Yh4EKaUY3gg",
    ]
    assert first["nextPageToken"] == "CAoQAA"
    assert "nextPageToken" not in last
    assert len(youtube.parse_list_items(last, "playlistItems.list")) == 3


def test_playlist_entry_missing_from_videos_list_becomes_a_non_public_item():
    entries = youtube.parse_list_items(
        recorded("playlistItems_list_page2_last.json"), "playlistItems.list"
    )
    private = {
        "snippet": {
            "publishedAt": "2020-01-02T03:04:05Z",
            "title": "Private video",
            "resourceId": {"videoId": "PRIVATE1234"},
        },
        "contentDetails": {"videoId": "PRIVATE1234"},
    }
    videos = [
        {
            "id": youtube.upload_video_id(entry),
            "snippet": entry["snippet"],
            "status": {"privacyStatus": "public"},
        }
        for entry in entries
    ]
    items = youtube.parse_uploads([*entries, private], videos)
    assert [item.public for item in items] == [True, True, True, False]
    hidden = items[-1]
    assert (hidden.platform_id, hidden.title) == ("PRIVATE1234", "Private video")
    assert hidden.published_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert hidden.raw == private


def test_list_response_without_items_is_empty_and_items_without_id_are_unexpected():
    assert youtube.parse_list_items({"kind": "youtube#channelListResponse"}, "x") == []
    with pytest.raises(BadItem) as caught:  # one item: skipped, the listing goes on
        youtube.parse_video({"snippet": {"title": "no id"}})
    assert caught.value.field == "id"
    with pytest.raises(SourceError):
        youtube.upload_video_id({"snippet": {"title": "no resource"}})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT21M7S", 1267),
        ("PT1H", 3600),
        ("PT1H2M3S", 3723),
        ("PT45S", 45),
        ("P1DT2H3M4S", 93784),
        ("P0D", 0),
        ("PT0S", 0),
        ("P1W", 604800),
        ("", None),
        ("P", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_parse_duration(text, seconds):
    assert youtube.parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["2019-03-21T20:37:49Z", "2019-03-21T20:37:49.000Z", "2019-03-21T21:37:49+01:00"]
)
def test_parse_time_gives_aware_utc(text):
    moment = youtube.parse_time(text)
    assert moment == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert moment is not None and moment.utcoffset() == timedelta(0)


def test_parse_count():
    assert youtube.parse_count("7920") == 7920
    assert youtube.parse_count(12) == 12
    assert youtube.parse_count(None) is None
    assert youtube.parse_count("n/a") is None
    assert youtube.parse_count(True) is None


# --- error classification on recorded error bodies ---------------------------------------------


def test_quota_exceeded_is_not_retried():
    body = recorded_bytes("transcribed_from_issue_threads/error_403_quotaExceeded.json")
    error = youtube.error_from_response(403, body)
    assert error.cause == "quota"
    assert error.retryable is False
    assert "<a" not in str(error)


def test_legacy_key_invalid():
    error = youtube.error_from_response(
        400, recorded_bytes("error_400_keyInvalid_legacy_shape.json")
    )
    assert (error.cause, error.retryable) == ("key", False)


def test_permission_denied_is_not_a_server_error():
    error = youtube.error_from_response(403, recorded_bytes("error_403_permission_denied.json"))
    assert (error.cause, error.retryable) == ("permission", False)


def test_playlist_not_found():
    body = recorded_bytes("transcribed_from_issue_threads/error_404_playlistNotFound.json")
    error = youtube.error_from_response(404, body)
    assert (error.cause, error.retryable) == ("not found", False)


def test_current_api_key_invalid_shape():
    body = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "errors": [
                {"message": "API key not valid.", "domain": "global", "reason": "badRequest"}
            ],
            "status": "INVALID_ARGUMENT",
            "details": [{"reason": "API_KEY_INVALID", "domain": "googleapis.com"}],
        }
    }
    assert youtube.error_from_response(400, json.dumps(body).encode()).cause == "key"


@pytest.mark.parametrize(
    ("status", "reason", "cause", "retryable"),
    [
        (403, "rateLimitExceeded", "rate limit", True),
        (403, "userRateLimitExceeded", "rate limit", True),
        (429, "anything", "rate limit", True),
        (403, "dailyLimitExceeded", "quota", False),
        (403, "forbidden", "permission", False),
        (404, "channelNotFound", "not found", False),
        (503, "backendError", "http 503", True),
        (500, "internalError", "http 500", True),
        (400, "invalidFilters", "http 400", False),
    ],
)
def test_error_classification(status, reason, cause, retryable):
    body = {"error": {"code": status, "message": "m", "errors": [{"reason": reason}]}}
    error = youtube.error_from_response(status, json.dumps(body).encode())
    assert (error.cause, error.retryable) == (cause, retryable)


def test_error_without_json_body_uses_the_status():
    error = youtube.error_from_response(502, b"<html>Bad Gateway</html>", retry_after="7")
    assert (error.cause, error.retryable, error.retry_after) == ("http 502", True, 7.0)


# --- the client, without a server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/youtube/v3/channels?"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/youtube/v3/channels?"),
        ("http://127.0.0.1:8080/proxy", "http://127.0.0.1:8080/proxy/youtube/v3/channels?"),
        ("http://127.0.0.1:8080/proxy/", "http://127.0.0.1:8080/proxy/youtube/v3/channels?"),
        ("https://youtube.googleapis.com/", "https://youtube.googleapis.com/youtube/v3/channels?"),
    ],
)
def test_api_endpoint_with_or_without_slash_and_prefix(endpoint, expected):
    service = youtube.build_service(API_KEY, endpoint, timeout=5)
    request = service.channels().list(part="id", forHandle="@x")
    assert request.uri.startswith(expected)


def test_client_loggers_cannot_leak_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("googleapiclient.discovery").debug(
        "URL being requested: GET %s", f"http://h/youtube/v3/channels?key={API_KEY}"
    )
    assert API_KEY not in caplog.text
    assert logging.getLogger("googleapiclient.discovery").level == logging.WARNING


def test_client_log_records_are_redacted_even_at_debug(caplog):
    client_log = logging.getLogger("googleapiclient.discovery")
    caplog.set_level(logging.DEBUG, logger="googleapiclient.discovery")
    client_log.debug("URL being requested: GET %s", f"http://h/channels?key={API_KEY}&alt=json")
    assert "URL being requested" in caplog.text
    assert API_KEY not in caplog.text


# --- fetch against the fake API server ----------------------------------------------------------

HANDLE = "@kreativessachsen"


@pytest.fixture
def fakeapi():
    return pytest.importorskip("aggregator.fakeapi")


@pytest.fixture
def world(fakeapi):
    return fakeapi.World.synthetic(youtube_uploads=120, facebook_videos=0, facebook_posts=0)


@pytest.fixture
def server(fakeapi, world) -> Iterator[Any]:
    with fakeapi.FakeApiServer(world, api_key=API_KEY) as running:
        yield running


def channel_id(world: Any) -> str:
    (only,) = world.youtube_channels
    return only


def settings_for(endpoint: str, channel: str = HANDLE, api_key: str = API_KEY) -> YouTubeConfig:
    return YouTubeConfig(
        every=timedelta(hours=3),
        channel=channel,
        api_key_env="YOUTUBE_API_KEY",
        api_endpoint=endpoint,
        api_key=api_key,
    )


def quick_policy(**overrides: Any) -> RetryPolicy:
    return RetryPolicy(sleep=lambda seconds: None, **{"timeout": 5.0, **overrides})


def fetch(server: Any, **settings: Any) -> tuple[Any, Usage]:
    usage = Usage()
    result = youtube.fetch(settings_for(server.url, **settings), quick_policy(), usage)
    return result, usage


def test_fetch_by_handle_reads_account_figures_and_every_upload(server, world):
    result, _ = fetch(server)
    assert result.complete is True and result.error is None
    assert result.account.platform_id == channel_id(world)
    assert result.account.name == "Kreatives Sachsen"
    assert result.account.url == "https://www.youtube.com/@kreativessachsen"
    figures = {figure.key: figure for figure in result.figures}
    assert set(figures) == {"youtube.subscribers", "youtube.views", "youtube.videos"}
    assert figures["youtube.subscribers"].rounded is True
    statistics = world.youtube_channels[channel_id(world)]["statistics"]
    assert figures["youtube.videos"].value == int(statistics["videoCount"])
    uploads = world.youtube_channels[channel_id(world)]["uploads"]
    assert [item.platform_id for item in result.items] == uploads
    assert all(item.published_at.tzinfo is not None for item in result.items)


def test_120_uploads_cost_seven_units(server):
    result, usage = fetch(server)
    assert len(result.items) == 120
    assert usage.quota_units == 7 == server.stats.youtube_units
    assert usage.requests == 7
    assert server.stats.by_route == {
        "youtube.channels": 1,
        "youtube.playlistItems": 3,
        "youtube.videos": 3,
    }
    assert not any("search" in path for _, path in server.stats.requests)


def test_each_resource_collection_is_built_once_per_fetch(server, monkeypatch):
    # Building a collection (`service.videos()`) creates every one of its methods from the
    # discovery document: per request, that was a third of the client's CPU.
    from googleapiclient import discovery

    built: list[str] = []
    original = discovery.Resource.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs.get("resourceDesc", {}).get("methods", {}).get("list", {}).get("id"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(discovery.Resource, "__init__", counting)
    result, usage = fetch(server)
    assert result.complete is True and usage.requests == 7
    assert sorted(name for name in built if name) == [
        "youtube.channels.list",
        "youtube.playlistItems.list",
        "youtube.videos.list",
    ]


def test_fetch_by_channel_id(server, world):
    result, _ = fetch(server, channel=channel_id(world))
    assert result.account.platform_id == channel_id(world)
    assert result.complete is True
    assert any("id=" + channel_id(world) in path for _, path in server.stats.requests)


def test_endpoint_without_trailing_slash(server):
    usage = Usage()
    result = youtube.fetch(settings_for(server.url.rstrip("/")), quick_policy(), usage)
    assert result.complete is True


def test_unknown_handle_is_not_found(server):
    with pytest.raises(SourceError) as caught:
        fetch(server, channel="@nobody")
    assert caught.value.cause == "not found"
    assert str(caught.value) == "youtube: not found: channel @nobody not found"


def test_hidden_subscriber_count(server, world):
    world.youtube_channels[channel_id(world)]["statistics"]["hiddenSubscriberCount"] = True
    result, _ = fetch(server)
    assert {figure.key for figure in result.figures} == {"youtube.views", "youtube.videos"}


def test_private_unlisted_deleted_and_not_embeddable_videos(server, world):
    first, second, third, fourth = world.youtube_channels[channel_id(world)]["uploads"][:4]
    world.set_youtube_privacy(first, "private")
    world.set_youtube_privacy(second, "unlisted")
    world.delete_youtube_video(third)
    world.youtube_videos[fourth]["status"] |= {"privacyStatus": "public", "embeddable": False}

    result, _ = fetch(server)
    items = {item.platform_id: item for item in result.items}
    assert result.complete is True
    assert (items[first].public, items[first].title) == (False, "Private video")
    assert "status" not in items[first].raw  # the playlist entry, not a video resource
    assert items[second].public is False
    assert items[second].raw["status"]["privacyStatus"] == "unlisted"
    assert third not in items
    assert (items[fourth].public, items[fourth].embeddable) == (True, False)


def test_channel_without_videos_costs_one_unit(server, world):
    channel = world.youtube_channels[channel_id(world)]
    channel["uploads"] = []
    channel["statistics"]["videoCount"] = "0"
    result, usage = fetch(server)
    assert (result.complete, result.items, usage.quota_units) == (True, [], 1)


def test_quota_exhausted_is_not_retried(server, world):
    world.youtube_quota_left = 0
    with pytest.raises(SourceError) as caught:
        fetch(server)
    assert caught.value.cause == "quota"
    assert server.stats.by_route == {"youtube.channels": 1}


def test_quota_running_out_mid_listing_keeps_what_was_read(server, world):
    # Channel, page 1, then page 2 (read ahead) and the videos of page 1 at once; the videos
    # of page 2 and page 3 (read ahead) find the quota spent. With one unit less, page 2 and
    # the videos of page 1 race for the last one: what was read is kept either way.
    world.youtube_quota_left = 4
    result, usage = fetch(server)
    assert result.complete is False
    assert isinstance(result.error, SourceError) and result.error.cause == "quota"
    assert len(result.items) == 50
    assert usage.requests == 6


def test_invalid_key_names_the_key_problem_but_never_the_key(server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong_key = "AIzaSyWRONG-key-that-must-stay-secret"
    with pytest.raises(SourceError) as caught:
        fetch(server, api_key=wrong_key)
    error = caught.value
    assert error.cause == "key"
    assert error.retryable is False
    for text in (str(error), repr(error), error.detail, caplog.text):
        assert wrong_key not in text
    assert error.__cause__ is None and error.__suppress_context__ is True


def test_503_twice_then_success_is_retried(server):
    server.inject("youtube.playlistItems", status=503, times=2)
    result, usage = fetch(server)
    assert result.complete is True
    assert len(result.items) == 120
    assert server.stats.by_route["youtube.playlistItems"] == 5
    assert usage.requests == usage.quota_units == 9  # failed calls are counted too


def test_persistent_500_on_page_two_keeps_page_one(server):
    server.inject("youtube.playlistItems", status=500, times=100, skip=1)
    result, usage = fetch(server)
    assert result.complete is False
    assert isinstance(result.error, SourceError) and result.error.cause == "http 500"
    assert len(result.items) == 50
    assert usage.requests == 1 + 1 + 1 + 4  # channel, page 1, videos, 4 attempts at page 2


def test_html_body_with_status_200_is_not_json(server):
    server.inject("youtube.videos", status=200, body="<html><body>Sign in</body></html>", times=5)
    result, _ = fetch(server)
    assert result.complete is False
    assert isinstance(result.error, SourceError) and result.error.cause == "not JSON"
    assert server.stats.by_route["youtube.videos"] == 1  # not retried
    assert result.items == []


def test_a_video_without_id_skips_its_batch_and_hides_nothing(server):
    """videos.list names every video by `id` (https://developers.google.com/youtube/v3/docs/
    videos#resource); one without cannot be matched to its playlist entry, so the batch's
    entries are skipped, not taken for private, and the listing goes on."""
    server.inject("youtube.videos", status=200, body={"items": [{"snippet": {"title": "x"}}]})
    result, _ = fetch(server)
    assert result.error is None
    assert len(result.skipped) == 50 and {s.field for s in result.skipped} == {"id"}
    skipped_ids = {skip.platform_id for skip in result.skipped}
    assert result.items and not skipped_ids & {item.platform_id for item in result.items}


def test_hanging_server_times_out(server):
    server.inject("youtube.channels", status=200, delay=10, times=2)
    usage = Usage()
    with pytest.raises(SourceError) as caught:
        youtube.fetch(settings_for(server.url), quick_policy(timeout=0.2, attempts=2), usage)
    assert caught.value.cause == "timeout"
    assert caught.value.retryable is True
    # A timed-out request may have reached Google: counted, to err on the safe side.
    assert usage.requests == usage.quota_units == 2


def test_a_refused_connection_is_retried_and_costs_no_quota():
    """Quota is spent by requests that reach Google ("All API requests, including invalid
    requests, incur a quota cost", https://developers.google.com/youtube/v3/determine_quota_cost);
    a connection nobody accepted never got there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    usage = Usage()
    attempts = []
    policy = quick_policy()
    policy.sleep = attempts.append  # one pause before each of the 3 retries
    with pytest.raises(SourceError) as caught:
        youtube.fetch(settings_for(f"http://127.0.0.1:{port}/"), policy, usage)
    assert caught.value.cause == "connection"
    assert caught.value.retryable is True
    assert len(attempts) == 3
    assert (usage.requests, usage.quota_units) == (0, 0)


# --- unknown channels, as YouTube answers them today --------------------------------------------

# The body Google sends for an invalid argument to the Data API, as quoted from a live
# response in https://github.com/n8n-io/n8n/issues/19947 (an unknown channel id, 2025); issue 7
# reports the same 400 badRequest / INVALID_ARGUMENT for channels.list with an unknown id.
INVALID_ARGUMENT_BODY = {
    "error": {
        "code": 400,
        "message": "Request contains an invalid argument.",
        "errors": [
            {
                "message": "Request contains an invalid argument.",
                "domain": "global",
                "reason": "badRequest",
            }
        ],
        "status": "INVALID_ARGUMENT",
    }
}
UNKNOWN_CHANNEL_ID = "UCzzzzzzzzzzzzzzzzzzzzzz"


def raw_get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_fake_answers_an_unknown_channel_id_with_400_invalid_argument(server, world):
    """An unknown id fails the whole call (https://github.com/SMAPPNYU/youtube-data-api/issues/7:
    "when one element of an entry is invalid, the entire call fails")."""
    base = f"{server.url}youtube/v3/channels?part=snippet&key={API_KEY}"
    assert raw_get(f"{base}&id={UNKNOWN_CHANNEL_ID}") == (400, INVALID_ARGUMENT_BODY)
    assert raw_get(f"{base}&id={channel_id(world)},{UNKNOWN_CHANNEL_ID}")[0] == 400
    status, body = raw_get(f"{base}&id={channel_id(world)}")
    assert status == 200 and [item["id"] for item in body["items"]] == [channel_id(world)]


def test_an_unknown_channel_id_is_one_line_naming_the_channel_as_not_found(server):
    usage = Usage()
    with pytest.raises(SourceError) as caught:
        youtube.fetch(settings_for(server.url, channel=UNKNOWN_CHANNEL_ID), quick_policy(), usage)
    assert str(caught.value) == f"youtube: not found: channel {UNKNOWN_CHANNEL_ID} not found"
    assert caught.value.retryable is False
    assert server.stats.by_route == {"youtube.channels": 1}
    assert usage.quota_units == 1  # an invalid request costs its unit too


def test_an_unknown_handle_is_still_200_without_items_and_not_found(server):
    """channels.list "returns a collection of zero or more channel resources"
    (https://developers.google.com/youtube/v3/docs/channels/list); no answer other than an
    empty one is on record for an unknown handle, so the fake keeps it."""
    status, body = raw_get(
        f"{server.url}youtube/v3/channels?part=snippet&forHandle=@niemand&key={API_KEY}"
    )
    assert status == 200 and "items" not in body
    with pytest.raises(SourceError) as caught:
        fetch(server, channel="@niemand")
    assert str(caught.value) == "youtube: not found: channel @niemand not found"


def test_an_invalid_key_on_channels_list_is_still_a_key_problem(server):
    # Today's invalid-key body also says badRequest / INVALID_ARGUMENT (with API_KEY_INVALID
    # in its details): it must not become "channel not found".
    with pytest.raises(SourceError) as caught:
        fetch(server, channel=UNKNOWN_CHANNEL_ID, api_key="AIzaSyWRONG-0123456789")
    assert caught.value.cause == "key"


# --- premieres and live streams ---------------------------------------------------------------
#
# Shapes from the videos resource in the bundled discovery document
# (aggregator/data/youtube.v3.json: snippet.liveBroadcastContent none/upcoming/live/completed;
# VideoLiveStreamingDetails "only present if the video is an upcoming, live, or completed live
# broadcast") and from the recordings search_list_eventType_live_hashtags.json ("live") and
# search_list_by_channel_page1.json ("none"). Upcoming and live videos say duration "P0D".


def live_video(content: str, duration: str, details: dict[str, str] | None = None) -> dict:
    (video,) = recorded("videos_list_snippet_contentDetails_status_statistics.json")["items"]
    video = json.loads(json.dumps(video))
    video["snippet"]["liveBroadcastContent"] = content
    video["contentDetails"]["duration"] = duration
    if details is not None:
        video["liveStreamingDetails"] = details
    return video


def test_an_upcoming_premiere_has_its_announced_start_and_no_length():
    video = live_video("upcoming", "P0D", {"scheduledStartTime": "2026-12-03T18:00:00Z"})
    item = youtube.parse_video(video)
    assert item.live_status == "upcoming"
    assert item.scheduled_start_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    assert item.duration_seconds is None


def test_a_running_stream_is_live_without_length():
    details = {
        "actualStartTime": "2026-12-03T18:01:13Z",
        "scheduledStartTime": "2026-12-03T18:00:00Z",
        "concurrentViewers": "17",
    }
    item = youtube.parse_video(live_video("live", "P0D", details))
    assert (item.live_status, item.duration_seconds) == ("live", None)
    assert item.scheduled_start_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("content", ["none", "completed", None])
def test_an_ended_stream_is_an_ordinary_video_with_its_length(content):
    details = {
        "actualStartTime": "2026-12-03T18:01:13Z",
        "actualEndTime": "2026-12-03T18:55:40Z",
        "scheduledStartTime": "2026-12-03T18:00:00Z",
    }
    item = youtube.parse_video(live_video(content, "PT54M27S", details))
    assert (item.live_status, item.scheduled_start_at) == (None, None)
    assert item.duration_seconds == 54 * 60 + 27


def test_live_broadcast_content_of_recorded_responses():
    live = recorded("search_list_eventType_live_hashtags.json")["items"]
    ordinary = recorded("search_list_by_channel_page1.json")["items"]
    assert {youtube.parse_live_status(item["snippet"]) for item in live} == {"live"}
    assert {youtube.parse_live_status(item["snippet"]) for item in ordinary} == {None}


def test_videos_list_asks_for_the_broadcast_times_at_no_extra_cost(server, world):
    """videos.list costs 1 unit whatever its parts
    (https://developers.google.com/youtube/v3/determine_quota_cost)."""
    first = world.youtube_channels[channel_id(world)]["uploads"][0]
    make_upcoming(world.youtube_videos[first], "2026-12-03T18:00:00Z")
    result, usage = fetch(server)
    (videos_call, *_) = [path for route, path in server.stats.requests if route == "youtube.videos"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(videos_call).query)
    assert "liveStreamingDetails" in query["part"][0].split(",")
    assert "liveStreamingDetails(scheduledStartTime," in query["fields"][0]
    assert usage.quota_units == 7  # as many as without it (test_120_uploads_cost_seven_units)
    upcoming = next(item for item in result.items if item.platform_id == first)
    assert upcoming.scheduled_start_at == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


def test_the_fake_serves_live_details_only_when_asked_and_always_a_broadcast_state(server, world):
    first, second = world.youtube_channels[channel_id(world)]["uploads"][:2]
    make_live(world.youtube_videos[first], "2026-12-03T18:01:13Z")
    base = f"{server.url}youtube/v3/videos?key={API_KEY}&id={first},{second}"
    _, without = raw_get(f"{base}&part=snippet")
    assert all("liveStreamingDetails" not in video for video in without["items"])
    states = [video["snippet"]["liveBroadcastContent"] for video in without["items"]]
    assert states == ["live", "none"]
    _, asked = raw_get(f"{base}&part=contentDetails,liveStreamingDetails")
    running, ordinary = asked["items"]
    assert running["contentDetails"]["duration"] == "P0D"
    assert set(running["liveStreamingDetails"]) == {
        "actualStartTime",
        "scheduledStartTime",
        "concurrentViewers",
    }
    assert "liveStreamingDetails" not in ordinary


# --- from the API to the page: one card through premiere, live and after ------------------------

PREMIERE_ID = "Wq7rTgL2pXe"  # the demo world's upcoming premiere


def card(site: Any, platform_id: str) -> Any:
    return card_by_id(parse(site.read("index.html")), platform_id)


def meta_text(node: Any) -> str:
    (meta,) = node.with_class("showcase__meta")
    return meta.normalized_text


def test_a_premiere_is_announced_then_live_then_an_ordinary_video_on_the_same_card(site):
    video = site.world.youtube_videos[PREMIERE_ID]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    make_upcoming(video, start.isoformat().replace("+00:00", "Z"))
    assert main(["--config", str(site.config), "update"]) == 0
    announced = card(site, PREMIERE_ID)
    assert announced.attrs["data-live"] == "upcoming"
    local = start.astimezone(ZoneInfo("Europe/Berlin"))
    assert meta_text(announced) == f"YouTube Premiere am {local:%d.%m.%Y, %H:%M} Uhr"
    (time_element,) = announced.find_all("time")
    assert time_element.attrs["datetime"] == start.isoformat()

    make_live(video, start.isoformat().replace("+00:00", "Z"))
    assert main(["--config", str(site.config), "update"]) == 0
    running = card(site, PREMIERE_ID)
    assert (running.attrs["data-live"], meta_text(running)) == ("live", "YouTube Live")

    make_ended(video, (start + timedelta(hours=1)).isoformat(), "PT58M2S")
    video["statistics"]["viewCount"] = "31"
    assert main(["--config", str(site.config), "update"]) == 0
    ended = card(site, PREMIERE_ID)  # exactly one card with this id, or item_by_id fails
    assert "data-live" not in ended.attrs
    assert meta_text(ended).endswith("58:02 31 Aufrufe")
    with sqlite3.connect(site.folder / "showcase.db") as db:
        rows = db.execute(
            "SELECT live_status, scheduled_start_at, duration_seconds FROM items "
            "WHERE platform_id = ?",
            (PREMIERE_ID,),
        ).fetchall()
    assert rows == [(None, None, 3482)]


def upcoming_view(**changes: Any) -> Any:
    announced = {
        "title": "Premiere #flächenglühen",
        "views": 0,
        "live_status": "upcoming",
        "scheduled_start_at": datetime(2026, 12, 3, 18, 0, tzinfo=UTC),
    }
    return youtube_video("prem01", **(announced | changes))


def render_card(item: Any, timezone: str = "Europe/Berlin") -> Any:
    showcase = replace(with_items(golden_showcase(), [item]), timezone=timezone)
    return card_by_id(parse(render_outputs(showcase)["fragment.html"]), item.platform_id)


@pytest.mark.parametrize(
    ("timezone", "shown"),
    [("Europe/Berlin", "03.12.2026, 19:00"), ("America/New_York", "03.12.2026, 13:00")],
)
def test_an_upcoming_premiere_shows_its_start_in_the_configured_zone_without_length(
    timezone, shown
):
    node = render_card(upcoming_view(duration_seconds=0), timezone)
    assert meta_text(node) == f"YouTube Premiere am {shown} Uhr"
    assert "0:00" not in node.normalized_text
    assert "Aufrufe" not in node.normalized_text
    assert node.with_class("showcase__play")  # the player is still there, after a click


def test_an_announcement_long_overdue_is_shown_without_its_date():
    scheduled = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    assert announced_start(scheduled, scheduled + timedelta(hours=23)) == scheduled
    assert announced_start(scheduled, scheduled + timedelta(hours=25)) is None
    node = render_card(upcoming_view(scheduled_start_at=None))
    assert meta_text(node) == "YouTube Premiere angekündigt"


def test_a_live_video_reads_live():
    node = render_card(upcoming_view(live_status="live", scheduled_start_at=None))
    assert (node.attrs["data-live"], meta_text(node)) == ("live", "YouTube Live")


def test_the_demo_page_shows_its_upcoming_premiere(tmp_path):
    page = run_demo(tmp_path / "demo")
    node = card_by_id(parse(page.read_text("utf-8")), PREMIERE_ID)
    assert node.attrs["data-live"] == "upcoming"
    # The demo's premiere is announced for 17.12.2026, 19:00; after that date has long passed
    # the demo shows it as announced without a date (see ANNOUNCEMENT_GRACE).
    assert meta_text(node).startswith("YouTube Premiere ")
    assert not re.search(r"\d:\d\d(?!\d| Uhr)", meta_text(node))  # no length


# --- the store: the new columns and the migration that adds them --------------------------------


def test_a_database_at_0003_upgrades_to_0004_and_keeps_its_items(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    store.migrate(old, "0003")
    with old.begin() as connection:
        connection.execute(
            sql(
                "INSERT INTO accounts (id, source, platform_id, name, url, raw, updated_at) "
                "VALUES (1, 'youtube', 'UCq3', 'K', 'https://www.youtube.com/@k', '{}', "
                "'2026-11-26 05:00:00')"
            )
        )
        connection.execute(
            sql(
                "INSERT INTO items (source, platform_id, account_id, kind, title, description, "
                "url, published_at, duration_seconds, tags, public, embeddable, raw, "
                "first_seen_at, last_seen_at) VALUES ('youtube', 'abc', 1, 'video', "
                "'Porträt #flächenglühen', '', 'https://www.youtube.com/watch?v=abc', "
                "'2017-06-27 10:00:00', 192, '[]', 1, 1, '{}', '2026-11-26 05:00:00', "
                "'2026-11-26 05:00:00')"
            )
        )
    old.dispose()
    engine = store.open_database(url)
    with store.session_scope(engine) as session:
        (row,) = store.live_items(session)
        version = session.execute(sql("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert version >= "0004"  # upgraded through 0004 to the newest revision
    assert (row.platform_id, row.title, row.duration_seconds) == (
        "abc",
        "Porträt #flächenglühen",
        192,
    )
    assert (row.live_status, row.scheduled_start_at) == (None, None)
