"""The YouTube source: parsers on recorded API responses, then fetch against the fake API."""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import YouTubeConfig
from aggregator.errors import SourceError
from aggregator.models import Figure, Usage
from aggregator.retry import RetryPolicy
from aggregator.sources import youtube

REAL_API = Path(__file__).parents[2] / "shared" / "fixtures" / "real-api" / "youtube"
API_KEY = "AIzaSyTEST-not-a-real-key-0123456789"


def recorded(name: str) -> dict[str, Any]:
    path = REAL_API / name
    if not path.exists():
        pytest.skip(f"recorded API responses not available: {path}")
    return json.loads(path.read_text("utf-8"))


def recorded_bytes(name: str) -> bytes:
    path = REAL_API / name
    if not path.exists():
        pytest.skip(f"recorded API responses not available: {path}")
    return path.read_bytes()


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
    with pytest.raises(SourceError) as caught:
        youtube.parse_video({"snippet": {"title": "no id"}})
    assert caught.value.cause == "unexpected response"
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
    world.youtube_quota_left = 3  # channel, page 1, videos of page 1
    result, usage = fetch(server)
    assert result.complete is False
    assert isinstance(result.error, SourceError) and result.error.cause == "quota"
    assert len(result.items) == 50
    assert usage.requests == 4


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


def test_items_without_id_are_an_unexpected_response(server):
    server.inject("youtube.videos", status=200, body={"items": [{"snippet": {"title": "x"}}]})
    result, _ = fetch(server)
    assert isinstance(result.error, SourceError) and result.error.cause == "unexpected response"


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
