"""The Facebook source: parsers on recorded Graph answers, then fetches against the fake API."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from conftest import real_api_json

from aggregator.config import FacebookConfig
from aggregator.errors import SourceError
from aggregator.fakeapi import FakeApiServer, World, graph_error
from aggregator.models import Figure, Usage
from aggregator.retry import RetryPolicy
from aggregator.sources import facebook


def recorded(name: str) -> Any:
    return real_api_json(f"facebook/{name}")


# --- the page and its figures -------------------------------------------------------------------


def test_page_with_username_and_fan_count_only():
    page = recorded("page_fields_id_name_username_fan_count.json")
    account = facebook.parse_account(page)
    assert (account.source, account.platform_id, account.name) == (
        "facebook",
        "20531316728",
        "Facebook",
    )
    assert account.url == "https://www.facebook.com/facebookapp"
    assert facebook.parse_figures(page) == [Figure(key="facebook.likes", value=214507731)]


def test_page_link_is_kept_as_graph_gives_it():
    page = recorded("page_default_fields_fan_count_link.json")
    assert facebook.parse_account(page).url == "https://www.facebook.com/facebookapp/"
    assert [figure.key for figure in facebook.parse_figures(page)] == ["facebook.likes"]


@pytest.mark.parametrize(
    "name", ["pages_by_ids_default_fields.json", "pages_by_ids_fan_count.json"]
)
def test_pages_by_ids(name):
    for page_id, page in recorded(name).items():
        account = facebook.parse_account(page)
        assert account.platform_id == page_id
        assert account.url.startswith("https://www.facebook.com/")
        assert facebook.parse_figures(page)[0].value == page["fan_count"]


def test_followers_and_likes_each_only_when_present():
    page = {"id": 1122334455, "name": "Kreatives Sachsen", "followers_count": 1310, "fan_count": 7}
    assert facebook.parse_figures(page) == [
        Figure("facebook.followers", 1310),
        Figure("facebook.likes", 7),
    ]
    assert facebook.parse_figures({"id": "1"}) == []
    assert facebook.parse_account(page).platform_id == "1122334455"
    assert facebook.parse_account(page).url == "https://www.facebook.com/1122334455"


def test_account_raw_leaves_the_edges_out():
    page = {"id": "1", "name": "P", "videos": {"data": []}, "posts": {"data": []}}
    assert facebook.parse_account(page).raw == {"id": "1", "name": "P"}


# --- videos and posts ---------------------------------------------------------------------------


def test_videos_first_page():
    page = recorded("page_videos_p1_cursor_next.json")
    videos = [facebook.parse_video(node) for node in facebook.edge_data(page)]
    first = videos[0]
    assert (first.kind, first.platform_id, first.title) == (
        "video",
        "1002065083862711",
        "Boz to the Future",
    )
    assert first.url == "https://www.facebook.com/FacebookforDevelopers/videos/1002065083862711/"
    assert first.published_at == datetime(2021, 8, 10, 16, 40, 23, tzinfo=UTC)
    assert first.published_at.utcoffset().total_seconds() == 0
    assert first.duration_seconds == 33
    assert first.embeddable is True
    assert first.description.startswith("In the Boz to the Future Podcast")
    assert first.raw["updated_time"] == "2021-08-17T14:14:35+0000"
    assert facebook.next_page_url(page).startswith("https://graph.facebook.com/v11.0/19292868552/")


def test_videos_last_page_has_no_next():
    page = recorded("page_videos_p2_last.json")
    assert facebook.next_page_url(page) is None
    durations = [facebook.parse_video(node).duration_seconds for node in facebook.edge_data(page)]
    assert durations == [1582, 974]


def test_video_node_with_picture():
    video = facebook.parse_video(recorded("video_node_format_thumbnails.json"))
    assert video.title == "iCook Success Story"
    assert video.thumbnail_url.startswith("https://scontent-gmp1-1.xx.fbcdn.net/")
    assert video.published_at == datetime(2021, 6, 30, 21, 19, 7, tzinfo=UTC)
    assert video.duration_seconds == 13


def test_video_without_title_takes_first_line_of_description():
    node = {
        "id": 42,
        "created_time": "2021-08-10T18:40:23+0200",
        "description": "\n  Gespräch mit Anna #flächenglühen  \nZweite Zeile",
        "permalink_url": "https://www.facebook.com/kreativessachsen/videos/42/",
    }
    video = facebook.parse_video(node)
    assert video.platform_id == "42"
    assert video.title == "Gespräch mit Anna #flächenglühen"
    assert video.published_at == datetime(2021, 8, 10, 16, 40, 23, tzinfo=UTC)
    assert video.url == node["permalink_url"]
    assert video.duration_seconds is None
    assert video.thumbnail_url is None


def test_posts_without_permalink():
    page = recorded("posts_p1_time_paging.json")
    posts = [facebook.parse_post(node) for node in facebook.edge_data(page)]
    assert posts[0].kind == "post"
    assert posts[0].title == ""
    assert posts[0].description == "Happy July 4th! 🇺🇸"
    assert posts[0].url == "https://www.facebook.com/4_10113477241177441"
    assert posts[0].published_at == datetime(2021, 7, 4, 19, 50, 58, tzinfo=UTC)
    assert facebook.next_page_url(page) is not None
    assert facebook.next_page_url(recorded("posts_p2_last.json")) is None


def test_rich_feed_posts_follow_paging():
    first = recorded("page_feed_rich_fields_p1_cursor.json")
    last = recorded("page_feed_rich_fields_p2_last.json")
    asked: list[str] = []

    def get_next(url: str) -> dict[str, Any]:
        asked.append(url)
        return last

    posts = [facebook.parse_post(node) for node in facebook.edge_nodes(first, get_next)]
    assert asked == [first["paging"]["next"]]
    assert len(posts) == 10
    assert posts[0].platform_id == "19292868552_10158349356748553"
    assert posts[0].url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert posts[0].thumbnail_url == first["data"][0]["full_picture"]
    assert posts[0].description.startswith("Singaporean logistics company")


def test_edge_nodes_stops_on_a_repeated_or_empty_page():
    looping = {"data": [{"id": "1"}], "paging": {"next": "https://graph/next"}}
    assert len(list(facebook.edge_nodes(looping, lambda url: looping))) == 2
    empty = {"data": [], "paging": {"next": "https://graph/next2"}}
    assert len(list(facebook.edge_nodes(looping | {}, lambda url: empty))) == 1
    assert list(facebook.edge_nodes(None, None)) == []


def test_node_without_created_time_is_an_unexpected_response():
    with pytest.raises(SourceError) as caught:
        facebook.parse_post({"id": "1_2", "message": "hi"})
    assert caught.value.cause == "unexpected response"


def test_relative_and_absolute_permalinks():
    fallback = "https://www.facebook.com/watch/?v=1"
    assert facebook.web_url("/ks/videos/1/", fallback) == "https://www.facebook.com/ks/videos/1/"
    assert facebook.web_url("ks/videos/1/", fallback) == "https://www.facebook.com/ks/videos/1/"
    assert facebook.web_url("https://fb.watch/x/", fallback) == "https://fb.watch/x/"
    assert facebook.web_url(None, fallback) == fallback


# --- errors -------------------------------------------------------------------------------------


def classify(name: str, status: int = 400, headers: dict[str, str] | None = None) -> SourceError:
    body = json.dumps(recorded(name)).encode()
    with pytest.raises(SourceError) as caught:
        facebook.parse_response(status, body, headers or {}, "https://graph/v25.0/p?access_token=t")
    return caught.value


def test_expired_token_body_is_a_token_error():
    error = classify("transcribed_from_issue_threads/error_190_463_session_expired.json")
    assert (error.cause, error.retryable) == ("token", False)
    assert "Session has expired" in str(error)
    assert "Graph code 190/463" in str(error)
    assert "access_token" not in str(error)


def test_request_limit_is_retried():
    error = classify("transcribed_from_issue_threads/error_4_application_request_limit.json")
    assert (error.cause, error.retryable, error.retry_after) == ("rate limit", True, None)


@pytest.mark.parametrize(
    "name",
    ["error_100_missing_pages_read_engagement.json", "error_100_ppca_requires_app_token.json"],
)
def test_missing_permission(name):
    error = classify(name)
    assert (error.cause, error.retryable) == ("permission", False)


def graph_body(code: int, **fields: Any) -> bytes:
    return json.dumps({"error": {"message": "m", "type": "T", "code": code, **fields}}).encode()


@pytest.mark.parametrize(
    ("status", "code", "fields", "cause", "retryable"),
    [
        (400, 190, {"error_subcode": 460}, "token", False),
        (400, 100, {"error_subcode": 33}, "not found", False),
        (400, 100, {"message": "(#100) Tried accessing nonexisting field"}, "not found", False),
        (403, 10, {}, "permission", False),
        (403, 200, {}, "permission", False),
        (400, 17, {}, "rate limit", True),
        (400, 32, {}, "rate limit", True),
        (400, 613, {}, "rate limit", True),
        (500, 1, {}, "http 500", True),
        (503, 2, {"is_transient": True}, "http 503", True),
        (400, 2, {}, "temporary", True),
        (400, 9007, {"is_transient": True}, "temporary", True),
        (400, 9007, {}, "http 400", False),
    ],
)
def test_graph_error_codes(status, code, fields, cause, retryable):
    with pytest.raises(SourceError) as caught:
        facebook.parse_response(status, graph_body(code, **fields), {}, "https://graph/v25.0/p")
    assert (caught.value.cause, caught.value.retryable) == (cause, retryable)


def test_usage_headers_at_100_percent_mean_rate_limit():
    headers = {"X-App-Usage": json.dumps({"call_count": 100, "total_time": 12, "total_cputime": 3})}
    with pytest.raises(SourceError) as caught:
        facebook.parse_response(500, graph_body(9007), headers, "https://graph/v25.0/p")
    assert (caught.value.cause, caught.value.retryable) == ("rate limit", True)
    assert caught.value.retry_after == facebook.MAX_RETRY_AFTER


def test_business_use_case_usage_gives_time_to_regain_access():
    usage = {
        "1122334455": [
            {"type": "pages", "call_count": 100, "total_cputime": 5, "total_time": 5},
            {"type": "pages", "call_count": 2, "estimated_time_to_regain_access": 0.5},
        ]
    }
    throttle = facebook.read_throttle({"x-business-use-case-usage": json.dumps(usage)})
    assert throttle == facebook.Throttle(100.0, 30.0)
    error = facebook.rate_limit_error("d", throttle, None)
    assert (error.retryable, error.retry_after) == (True, 30.0)


def test_rate_limit_that_lasts_long_is_not_worth_retrying():
    headers = {
        "X-Page-Usage": json.dumps({"call_count": 104, "estimated_time_to_regain_access": 19})
    }
    with pytest.raises(SourceError) as caught:
        facebook.parse_response(400, graph_body(32), headers, "https://graph/v25.0/p")
    assert (caught.value.cause, caught.value.retryable) == ("rate limit", False)
    assert caught.value.retry_after == 19 * 60


def test_usage_headers_below_100_percent_or_garbled():
    assert not facebook.read_throttle({"X-App-Usage": '{"call_count": 99}'}).exhausted
    assert facebook.read_throttle({"X-App-Usage": "nonsense"}) == facebook.Throttle()
    assert facebook.read_throttle({}) == facebook.Throttle()


@pytest.mark.parametrize(
    ("status", "headers", "cause", "retryable", "retry_after"),
    [
        (503, {}, "http 503", True, None),
        (502, {"Content-Type": "text/html"}, "http 502", True, None),
        (429, {"Retry-After": "7"}, "rate limit", True, 7.0),
        (404, {}, "not found", False, None),
        (403, {}, "http 403", False, None),
    ],
)
def test_http_errors_without_graph_body(status, headers, cause, retryable, retry_after):
    with pytest.raises(SourceError) as caught:
        facebook.parse_response(status, b"<html>oops</html>", headers, "https://graph/v25.0/p")
    error = caught.value
    assert (error.cause, error.retryable, error.retry_after) == (cause, retryable, retry_after)


def test_html_with_status_200_is_not_json():
    with pytest.raises(SourceError) as caught:
        facebook.parse_response(
            200, b"<!DOCTYPE html><title>Wartung</title>", {"content-type": "text/html"}, "u"
        )
    assert (caught.value.cause, caught.value.retryable) == ("not JSON", False)


def test_json_that_is_not_an_object_is_unexpected():
    with pytest.raises(SourceError) as caught:
        facebook.parse_response(200, b"[1, 2]", {}, "https://graph/v25.0/p")
    assert caught.value.cause == "unexpected response"


def test_messages_never_show_the_query():
    url = "https://graph.facebook.com/v25.0/ks?fields=id&access_token=EAAB-secret-token"
    assert facebook.where(url) == "GET graph.facebook.com/v25.0/ks"


# --- fetch against the fake Graph API -----------------------------------------------------------


def test_paging_link_to_another_host_is_not_followed():
    settings = facebook_settings("http://127.0.0.1:9/")
    usage = Usage()
    client = facebook.GraphClient(settings, TOKEN, quick_policy(), usage, requests.Session())
    with pytest.raises(SourceError) as caught:
        client.get_next(f"https://evil.example/v25.0/1/posts?access_token={TOKEN}")
    assert caught.value.cause == "unexpected response"
    assert TOKEN not in str(caught.value)
    assert usage.requests == 0


def test_token_is_taken_out_of_paging_links():
    link = recorded("page_videos_p1_cursor_next.json")["paging"]["next"]
    cleaned = facebook.without_token(link)
    assert "access_token" not in cleaned
    assert cleaned.startswith("https://graph.facebook.com/v11.0/19292868552/videos?pretty=0&")
    assert cleaned.endswith("&limit=2&after=after")


# --- fetch against the fake Graph API -----------------------------------------------------------

TOKEN = "EAAGfakeFacebookPageToken0123456789"


def facebook_settings(graph_url: str, token: str | None = TOKEN) -> FacebookConfig:
    return FacebookConfig(
        every=timedelta(hours=1),
        page="kreativessachsen",
        access_token_env="FACEBOOK_ACCESS_TOKEN",
        graph_url=graph_url,
        api_version="v25.0",
        access_token=token,
    )


def quick_policy(**overrides: Any) -> RetryPolicy:
    """No real sleeping; the recorded delays show what the policy would have waited."""
    slept: list[float] = []
    options: dict[str, Any] = {"sleep": slept.append, "timeout": 2.0, **overrides}
    policy = RetryPolicy(**options)
    policy.slept = slept  # type: ignore[attr-defined]
    return policy


@pytest.fixture
def world() -> World:
    return World.synthetic(youtube_uploads=0, facebook_videos=250, facebook_posts=420)


@pytest.fixture
def server(world: World) -> Iterator[FakeApiServer]:
    with FakeApiServer(world, access_token=TOKEN) as running:
        yield running


def page_of(world: World) -> dict[str, Any]:
    (page,) = world.facebook_pages.values()
    return page


def fetch(server: FakeApiServer, policy: RetryPolicy | None = None, **settings: Any):
    usage = Usage()
    result = facebook.fetch(
        facebook_settings(server.url, **settings), policy or quick_policy(), usage
    )
    return result, usage


def test_fetch_reads_figures_videos_and_posts_in_seven_requests(server, world):
    result, usage = fetch(server)
    page = page_of(world)
    assert result.complete and result.error is None
    assert result.account.platform_id == page["id"]
    assert result.account.url == "https://www.facebook.com/kreativessachsen"
    assert result.figures == [
        Figure("facebook.followers", page["followers_count"]),
        Figure("facebook.likes", page["fan_count"]),
    ]
    videos = [item for item in result.items if item.kind == "video"]
    posts = [item for item in result.items if item.kind == "post"]
    assert {video.platform_id for video in videos} == {node["id"] for node in page["videos"]}
    assert {post.platform_id for post in posts} == {node["id"] for node in page["posts"]}
    assert (len(videos), len(posts)) == (250, 420)
    # 1 + ⌈250/100⌉ + ⌈420/100⌉ - 2: the first hundred of each came with the page.
    assert usage.requests == server.stats.graph_requests == 7
    assert server.stats.by_route == {"graph.page": 1, "graph.videos": 2, "graph.posts": 4}
    first = videos[0]
    assert first.url == f"https://www.facebook.com/kreativessachsen/videos/{first.platform_id}/"
    assert first.published_at.tzinfo is not None and first.published_at.utcoffset() == timedelta()
    assert isinstance(first.duration_seconds, int)
    assert posts[0].url.startswith(f"https://www.facebook.com/{page['id']}/posts/")


def test_page_without_followers_count(server, world):
    del page_of(world)["followers_count"]
    result, _ = fetch(server)
    assert [figure.key for figure in result.figures] == ["facebook.likes"]


def test_page_without_videos_or_posts(server, world):
    page_of(world)["videos"].clear()
    page_of(world)["posts"].clear()
    result, usage = fetch(server)
    assert result.complete and result.items == []
    assert usage.requests == 1


def test_invalid_token_is_not_retried(server, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError) as caught:
        fetch(server, token="EAAGwrongTokenNotKnownToTheServer42")
    assert (caught.value.cause, caught.value.retryable) == ("token", False)
    assert "EAAGwrongTokenNotKnownToTheServer42" not in str(caught.value) + caplog.text


def test_expired_token_is_not_retried(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.inject("graph.page", body=graph_error(190, 463), times=3)
    policy = quick_policy()
    with pytest.raises(SourceError) as caught:
        fetch(server, policy)
    error = caught.value
    assert (error.cause, error.retryable) == ("token", False)
    assert str(error).startswith("facebook: token: ")
    assert "190/463" in str(error)
    assert TOKEN not in str(error) + error.detail + caplog.text
    assert "access_token" not in str(error)
    assert server.stats.graph_requests == 1
    assert policy.slept == []


def test_request_limit_twice_then_success(server):
    server.inject("graph.page", body=graph_error(4), times=2)
    policy = quick_policy()
    result, usage = fetch(server, policy)
    assert result.complete
    assert len(result.items) == 670
    assert usage.requests == server.stats.graph_requests == 9
    assert len(policy.slept) == 2


def test_posts_page_three_fails_and_what_was_read_is_kept(server, caplog):
    caplog.set_level(logging.DEBUG)
    policy = quick_policy()
    server.inject("graph.posts", status=500, skip=1, times=policy.attempts)
    result, usage = fetch(server, policy)
    assert result.complete is False
    assert isinstance(result.error, SourceError)
    assert (result.error.cause, result.error.retryable) == ("http 500", True)
    assert "access_token" not in str(result.error)
    assert TOKEN not in caplog.text
    assert "access_token" not in caplog.text  # not even urllib3's URLs: the header carries it
    kinds = [item.kind for item in result.items]
    assert (kinds.count("video"), kinds.count("post")) == (250, 200)
    assert [figure.key for figure in result.figures] == ["facebook.followers", "facebook.likes"]
    assert usage.requests == 1 + 2 + 1 + policy.attempts


def test_videos_page_fails_but_first_posts_are_kept(server):
    policy = quick_policy(attempts=1)
    server.inject("graph.videos", status=503, body="Service Unavailable", content_type="text/plain")
    result, usage = fetch(server, policy)
    assert result.complete is False
    assert result.error.cause == "http 503"
    kinds = [item.kind for item in result.items]
    assert (kinds.count("video"), kinds.count("post")) == (100, 100)
    assert usage.requests == 2


def test_html_page_with_status_200_is_not_json(server):
    html = "<!DOCTYPE html><html><title>Fehler</title><body>Wartungsarbeiten</body></html>"
    server.inject("graph.page", status=200, body=html, content_type="text/html", times=4)
    with pytest.raises(SourceError) as caught:
        fetch(server)
    assert caught.value.cause == "not JSON"
    assert server.stats.graph_requests == 1


def test_hanging_server_times_out(server):
    # requests' timeout is at least a second (RetryPolicy.request_timeout), so hang longer.
    server.inject("graph.page", status=200, delay=1.5, times=2)
    policy = quick_policy(attempts=2, timeout=0.1)
    with pytest.raises(SourceError) as caught:
        fetch(server, policy)
    assert (caught.value.cause, caught.value.retryable) == ("timeout", True)
    assert server.stats.graph_requests == 2
    assert policy.slept == [policy.base_delay]


def test_nobody_listening_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    usage = Usage()
    settings = facebook_settings(f"http://127.0.0.1:{port}/")
    with pytest.raises(SourceError) as caught:
        facebook.fetch(settings, quick_policy(attempts=2), usage)
    assert (caught.value.cause, caught.value.retryable) == ("connection", True)
    assert usage.requests == 2
    assert TOKEN not in str(caught.value) and "access_token" not in str(caught.value)


def test_unknown_page_is_not_found(server):
    settings = replace(facebook_settings(server.url), page="gibtsnicht")
    with pytest.raises(SourceError) as caught:
        facebook.fetch(settings, quick_policy(), Usage())
    assert (caught.value.cause, caught.value.retryable) == ("not found", False)


def test_missing_token_fails_before_any_request():
    with pytest.raises(SourceError) as caught:
        facebook.fetch(
            facebook_settings("http://127.0.0.1:9/", token=None), quick_policy(), Usage()
        )
    assert caught.value.cause == "token"
    assert "FACEBOOK_ACCESS_TOKEN" in str(caught.value)
