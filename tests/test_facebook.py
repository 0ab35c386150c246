"""The Facebook source: parsers on recorded Graph answers, then fetches against the fake API."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import real_api_json

from aggregator.cli import main
from aggregator.config import FacebookConfig
from aggregator.errors import SourceError
from aggregator.fakeapi import FakeApiServer, World, graph_error
from aggregator.fakeapi import graph as fake_graph
from aggregator.models import Figure, KnownItems, RawJson, Usage
from aggregator.retry import RetryPolicy
from aggregator.sources import facebook
from aggregator.sources.items import BadItem


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
    assert isinstance(first.raw, RawJson)  # compact text until it is stored (memory)
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
    assert posts[0].title == "Happy July 4th!"  # made from the message; the flag is dropped
    assert posts[0].description == "Happy July 4th! 🇺🇸"
    assert posts[0].url == "https://www.facebook.com/4_10113477241177441"
    assert posts[0].published_at == datetime(2021, 7, 4, 19, 50, 58, tzinfo=UTC)
    assert facebook.next_page_url(page) is not None
    assert facebook.next_page_url(recorded("posts_p2_last.json")) is None


class RecordedGraph:
    """Serves recorded pages to `edge_nodes`: the first for the edge, then one per link."""

    def __init__(self, first: dict[str, Any], *following: dict[str, Any]):
        self.first = first
        self.following = list(following)
        self.asked: list[str] = []
        self.limit = facebook.EDGE_LIMIT

    def edge_url(self, edge: str, limit: int) -> str:
        return f"https://graph.facebook.com/v25.0/page/{edge}?limit={limit}"

    def get(self, url: str) -> dict[str, Any]:
        self.asked.append(url)
        return self.first

    def get_next(self, url: str) -> dict[str, Any]:
        self.asked.append(url)
        return self.following.pop(0)


def test_rich_feed_posts_follow_paging():
    first = recorded("page_feed_rich_fields_p1_cursor.json")
    last = recorded("page_feed_rich_fields_p2_last.json")
    graph = RecordedGraph(first, last)
    posts = [facebook.parse_post(node) for node in facebook.edge_nodes(graph, "posts", True)]
    assert graph.asked[1:] == [first["paging"]["next"]]
    assert len(posts) == 10
    assert posts[0].platform_id == "19292868552_10158349356748553"
    assert posts[0].url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert posts[0].thumbnail_url == first["data"][0]["full_picture"]
    assert posts[0].description.startswith("Singaporean logistics company")


# --- a post's title, made from its message ---------------------------------------------------


def test_recorded_posts_get_their_first_sentence_as_title():
    """Real messages: posts_p1_time_paging.json and page_feed_rich_fields_p1_cursor.json
    (Graph's Post node has no title field: https://developers.facebook.com/docs/graph-api/reference/post/)."""
    short = {p.platform_id: p.title for p in map(facebook.parse_post, recorded_posts())}

    assert short["4_10113477241177441"] == "Happy July 4th!"  # "Happy July 4th! 🇺🇸"
    # The dots of "@adam.the.creator" end no sentence; the sentence's own dot is dropped.
    assert short["4_10113332572050531"] == ("Thanks @adam.the.creator for designing my next board")
    assert short["4_10113400535556121"] == (
        "I'm grateful to get to build things that so many people find meaningful in their lives"
    )
    # A first sentence of 300 characters is cut after a whole word.
    assert short["4_10113449068715281"] == (
        "Some good news reading: teams at the Chan Zuckerberg Initiative and Biohub have been…"
    )
    assert short["19292868552_10158349356748553"] == (
        "Singaporean logistics company Ninja Van Singapore provides delivery services across…"
    )
    for title in short.values():
        assert 0 < len(title) <= facebook.POST_TITLE_CHARS
        assert "…" not in title[:-1]


def recorded_posts() -> list[dict[str, Any]]:
    pages = ("posts_p1_time_paging.json", "page_feed_rich_fields_p1_cursor.json")
    return [node for name in pages for node in facebook.edge_data(recorded(name))]


@pytest.mark.parametrize(
    ("message", "title"),
    [
        ("Neue Folge mit Anna! 🎬🔥", "Neue Folge mit Anna!"),
        ("🎬 Neue Folge ist online ✨\nMehr dazu morgen.", "Neue Folge ist online"),
        ("Neue Folge mit Anna 👩🏽‍🎨", "Neue Folge mit Anna"),  # skin tone, zero-width joiner
        ("#flächenglühen #kunst #sachsen", ""),
        ("#flächenglühen\nAnna zeichnet Flächen. #kunst", "Anna zeichnet Flächen"),
        ("Anna zeichnet Flächen #flächenglühen #kunst", "Anna zeichnet Flächen"),
        ("Heute im #Porträt: Anna Weber.", "Heute im Porträt: Anna Weber"),
        ("https://youtu.be/A5bUqkYPIw8 Neue Folge mit Anna!", "Neue Folge mit Anna!"),
        ("https://youtu.be/A5bUqkYPIw8\n\nNeue Folge: Anna.", "Neue Folge: Anna"),
        (
            "Anna zeigt z.B. Siebdruck und Radierung. Mehr im Video.",
            ("Anna zeigt z.B. Siebdruck und Radierung"),
        ),
        (
            "Wir zeigen Grafik, Druck usw. ab heute. Schaut rein!",
            ("Wir zeigen Grafik, Druck usw. ab heute"),
        ),
        ("Am 27.06.2017 startet die Reihe. Schaut rein!", "Am 27.06.2017 startet die Reihe"),
        ("Am 27. Juni startet die Reihe.", "Am 27. Juni startet die Reihe"),
        ("Ein Gespräch mit A. Weber über Linien.", "Ein Gespräch mit A. Weber über Linien"),
        ("Wer zeichnet hier? Anna!", "Wer zeichnet hier?"),
        ("Neue Folge – jetzt ansehen: https://youtu.be/x", "Neue Folge – jetzt ansehen"),
        ("👍", ""),
        ("", ""),
        ("x" * 200, ""),  # no word to cut after: no title rather than half a word
        ("„Fläche und Glut“ – Anna im Gespräch.", "„Fläche und Glut“ – Anna im Gespräch"),
    ],
)
def test_a_posts_title_is_its_first_sentence_clean(message, title):
    assert facebook.post_title(message) == title


def test_a_long_first_sentence_is_cut_after_a_whole_word_within_the_limit():
    words = "Heute: Anna Weber, Illustratorin aus Leipzig, im Gespräch über Linien, Flächen, "
    message = words + "Farben und das Glühen dazwischen, und über die Frage, was bleibt."

    title = facebook.post_title(message)

    assert title == (
        "Heute: Anna Weber, Illustratorin aus Leipzig, im Gespräch über Linien, Flächen, Farben…"
    )
    assert len(title) <= facebook.POST_TITLE_CHARS
    assert facebook.post_title(message, limit=30) == "Heute: Anna Weber…"  # not "Weber,…"
    assert facebook.post_title("Ein Satz mit Emoji 🎬🎬🎬 " * 10, limit=30) == (
        "Ein Satz mit Emoji 🎬🎬🎬 Ein…"
    )


def test_added_video_posts_of_the_recorded_feed_point_at_recorded_videos():
    """page_feed_rich_fields_p1/p2: two `added_video` posts whose attachments target videos
    1192957457884299 and 334712884667245, both in page_videos_p1_cursor_next.json."""
    feed = recorded("page_feed_rich_fields_p1_cursor.json")["data"]
    feed += recorded("page_feed_rich_fields_p2_last.json")["data"]
    videos = recorded("page_videos_p1_cursor_next.json")["data"]
    targets = [facebook.added_video_target(node) for node in feed]
    assert [t for t in targets if t] == ["1192957457884299", "334712884667245"]
    video_ids = {node["id"] for node in videos}
    assert {t for t in targets if t} <= video_ids
    # Shared links (status_type shared_story) and photos stay posts.
    kept = [node for node, target in zip(feed, targets, strict=True) if target is None]
    assert {node["status_type"] for node in kept} == {"added_photos", "shared_story"}


def test_reading_the_recorded_feed_keeps_one_item_per_video():
    videos_p1 = recorded("page_videos_p1_cursor_next.json")
    videos_p2 = recorded("page_videos_p2_last.json")
    feed_p1 = recorded("page_feed_rich_fields_p1_cursor.json")
    feed_p2 = recorded("page_feed_rich_fields_p2_last.json")

    class Both(RecordedGraph):
        def edge_url(self, edge: str, limit: int) -> str:
            self.following = [videos_p2] if edge == "videos" else [feed_p2]
            self.first = videos_p1 if edge == "videos" else feed_p1
            return super().edge_url(edge, limit)

    listings = facebook.read_listings(Both({}), follow=True)
    assert listings.error is None
    ids = [item.platform_id for item in listings.items]
    assert "19292868552_10158333323653553" not in ids  # the post of video 1192957457884299
    assert "19292868552_10158316421783553" not in ids  # the post of video 334712884667245
    assert ids.count("1192957457884299") == 1
    assert len(ids) == len(videos_p1["data"]) + len(videos_p2["data"]) + 10 - 2


def test_an_empty_page_with_next_is_read_past():
    """https://developers.facebook.com/docs/graph-api/results/: "it is possible that a page
    may be empty but contain a 'next' paging link. Stop paging when the 'next' link no longer
    appears." """
    first = {"data": [{"id": "1"}], "paging": {"next": "https://graph.facebook.com/a"}}
    empty = {"data": [], "paging": {"next": "https://graph.facebook.com/b"}}
    last = {"data": [{"id": "2"}]}
    graph = RecordedGraph(first, empty, last)
    assert [node["id"] for node in facebook.edge_nodes(graph, "videos", True)] == ["1", "2"]


def test_a_repeated_link_or_endless_empty_pages_end_the_listing_as_a_failure():
    looping = {"data": [{"id": "1"}], "paging": {"next": "https://graph.facebook.com/next"}}
    graph = RecordedGraph(looping, looping, looping)
    with pytest.raises(SourceError, match="repeats"):
        list(facebook.edge_nodes(graph, "videos", True))
    empties = [
        {"data": [], "paging": {"next": f"https://graph.facebook.com/{n}"}} for n in range(30)
    ]
    graph = RecordedGraph(empties[0], *empties[1:])
    with pytest.raises(SourceError, match="empty pages"):
        list(facebook.edge_nodes(graph, "posts", True))
    assert len(graph.asked) == facebook.MAX_EMPTY_PAGES


def test_without_follow_only_the_first_page_is_read():
    first = {"data": [{"id": "1"}], "paging": {"next": "https://graph.facebook.com/a"}}
    graph = RecordedGraph(first, {"data": [{"id": "2"}]})
    assert [node["id"] for node in facebook.edge_nodes(graph, "videos", False)] == ["1"]
    assert len(graph.asked) == 1


def test_time_based_paging_links_are_followed_as_given():
    """posts_p1_time_paging.json: `until=...&since&__paging_token=...&__previous` must come
    back to Graph as written (a bare `since` is not `since=`); only the token is taken out."""
    link = recorded("posts_p1_time_paging.json")["paging"]["next"]
    cleaned = facebook.without_token(link)
    assert "access_token" not in cleaned
    assert cleaned == link.replace("access_token=access_token&", "")
    assert "&since&__paging_token=__paging_token&__previous" in cleaned


def test_video_picture_is_the_largest_format_not_the_160px_picture():
    """video_node_format_thumbnails.json: `picture` is p160x160, `format` goes to native 1280."""
    node = recorded("video_node_format_thumbnails.json")
    video = facebook.parse_video(node)
    native = next(entry for entry in node["format"] if entry["filter"] == "native")
    assert native["width"] == 1280
    assert video.thumbnail_url == native["picture"]
    assert "p160x160" in node["picture"]
    assert video.public and video.embeddable


def test_video_picture_from_thumbnails_prefers_the_cover():
    """The Video reference's `thumbnails` edge: candidate frames, the cover `is_preferred`."""
    node = {
        "id": "1",
        "created_time": "2024-01-01T00:00:00+0000",
        "picture": "https://scontent.example/p160x160/1.jpg",
        "thumbnails": {
            "data": [
                {"uri": "https://scontent.example/frame.jpg", "width": 1920, "height": 1080},
                {
                    "uri": "https://scontent.example/cover.jpg",
                    "width": 1280,
                    "height": 720,
                    "is_preferred": True,
                },
            ]
        },
    }
    assert facebook.parse_video(node).thumbnail_url == "https://scontent.example/cover.jpg"
    del node["thumbnails"]
    assert facebook.parse_video(node).thumbnail_url == "https://scontent.example/p160x160/1.jpg"


@pytest.mark.parametrize(
    ("fields", "public", "embeddable"),
    [
        ({"published": True, "status": {"video_status": "ready"}}, True, True),
        ({"published": False}, False, True),  # unpublished or scheduled
        ({"status": {"video_status": "processing"}}, False, True),
        ({"status": {"video_status": "error"}}, False, True),
        ({"embeddable": False}, True, False),
        ({}, True, True),  # the recorded /videos pages carry neither field
    ],
)
def test_published_status_and_embeddable(fields, public, embeddable):
    """The Video reference: `published`, `status.video_status`, `embeddable`."""
    node = {"id": "1", "created_time": "2024-01-01T00:00:00+0000", **fields}
    video = facebook.parse_video(node)
    assert (video.public, video.embeddable) == (public, embeddable)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-08-10T18:40:23+0200", datetime(2021, 8, 10, 16, 40, 23, tzinfo=UTC)),
        ("2021-08-10T16:40:23+00:00", datetime(2021, 8, 10, 16, 40, 23, tzinfo=UTC)),
        ("2021-08-10T16:40:23Z", datetime(2021, 8, 10, 16, 40, 23, tzinfo=UTC)),
        ("2021-8-10T16:40:23+0000", datetime(2021, 8, 10, 16, 40, 23, tzinfo=UTC)),
    ],
)
def test_graph_times_in_every_form_either_parser_reads(text, expected):
    assert facebook.parse_graph_time(text) == expected


GRAPH_TIME_RECORDINGS = (
    "facebook/posts_p1_time_paging.json",
    "facebook/page_feed_rich_fields_p2_last.json",
    "facebook/video_node_format_thumbnails.json",
)


@pytest.mark.parametrize("recording", GRAPH_TIME_RECORDINGS)
def test_graph_times_as_recorded_are_read_as_strptime_reads_them(recording):
    """Every `created_time`/`updated_time` in these real Graph answers (its form is
    "2021-06-29T15:47:56+0000") reads through the fast path to the moment strptime gives."""
    times = [value for _, value in _time_fields(real_api_json(recording))]
    assert times, f"{recording} holds no time"
    for value in times:
        assert datetime.fromisoformat(value) == datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
        assert facebook.parse_graph_time(value) == datetime.strptime(
            value, "%Y-%m-%dT%H:%M:%S%z"
        ).astimezone(UTC)


def _time_fields(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("created_time", "updated_time") and isinstance(value, str):
                yield key, value
            else:
                yield from _time_fields(value)
    elif isinstance(node, list):
        for value in node:
            yield from _time_fields(value)


@pytest.mark.parametrize("text", ["2021-08-10T16:40:23", "", "gestern"])
def test_graph_time_without_zone_or_unreadable_is_an_error(text):
    with pytest.raises(ValueError):
        facebook.parse_graph_time(text)


def test_node_without_created_time_is_a_bad_item():
    with pytest.raises(BadItem) as caught:  # one item: skipped, the listing goes on
        facebook.parse_post({"id": "1_2", "message": "hi"})
    assert caught.value.field == "created_time"


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


def plain_posts(page: dict[str, Any], first: int | None = None) -> int:
    """How many of the edge's first `first` posts are not `added_video` posts."""
    nodes = fake_graph.listed_nodes(page, "posts")[:first]
    return sum(1 for node in nodes if node.get("status_type") != "added_video")


def test_fetch_reads_figures_then_videos_then_posts(server, world):
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
    # Each video's added_video post on /posts is the video itself, not a second item.
    assert {post.platform_id for post in posts} == {node["id"] for node in page["posts"]}
    assert (len(videos), len(posts)) == (250, 420)
    # Graph lists 420 + 250 posts: 1 + ⌈250/100⌉ + ⌈670/100⌉ requests.
    assert usage.requests == server.stats.graph_requests == 1 + 3 + 7
    assert server.stats.by_route == {"graph.page": 1, "graph.videos": 3, "graph.posts": 7}
    first = videos[0]
    assert first.url == f"https://www.facebook.com/kreativessachsen/videos/{first.platform_id}/"
    assert first.published_at.tzinfo is not None and first.published_at.utcoffset() == timedelta()
    assert isinstance(first.duration_seconds, int)
    assert first.thumbnail_url is not None and first.thumbnail_url.endswith("-n1280x720.jpg")
    assert posts[0].url.startswith(f"https://www.facebook.com/{page['id']}/posts/")


def test_figures_come_alone_and_no_request_nests_an_edge(server):
    fetch(server)
    route, first = server.stats.requests[0]
    assert route == "graph.page"
    fields = parse_qs(urlsplit(first).query)["fields"][0]
    assert fields == facebook.PAGE_FIELDS
    assert not any("{" in value for value in parse_qs(urlsplit(first).query)["fields"])


def test_time_based_posts_links_reach_graph_as_given(server):
    """posts_p1_time_paging.json's link layout, served by the fake, comes back verbatim."""
    fetch(server)
    posts = [path for route, path in server.stats.requests if route == "graph.posts"]
    assert all("&since&__paging_token=" in path for path in posts[1:])
    assert all("&__previous" in path for path in posts[1:])


def test_pages_emptied_by_privacy_filtering_do_not_end_the_listing(server, world):
    """https://developers.facebook.com/docs/graph-api/results/: "it is possible that a page
    may be empty but contain a 'next' paging link". 300 filtered posts give three empty pages."""
    page = page_of(world)
    page["videos"].clear()
    for index, post in enumerate(fake_graph.listed_nodes(page, "posts")):
        post["_filtered"] = 100 <= index < 400
    first_page = requests.get(
        f"{server.url}v25.0/kreativessachsen/posts",
        params={"limit": 100, "until": "9999999999"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    ).json()
    second_page = requests.get(first_page["paging"]["next"], timeout=5).json()
    assert second_page["data"] == [] and "next" in second_page["paging"]
    server.reset_stats()
    result, usage = fetch(server)
    assert result.complete, result.error
    shown = {node["id"] for node in page["posts"] if not node["_filtered"]}
    assert {item.platform_id for item in result.items} == shown and len(shown) == 120
    assert usage.requests == 1 + 1 + 5  # figures, one empty video page, five post pages


def test_graph_asking_for_less_data_gets_a_smaller_limit(server, world):
    """Code 1 "Please reduce the amount of data you're asking for" (body as quoted in
    github.com/macbre/farerskie-kadry-feed/pull/10): the listing is asked again with limit 50,
    not resent as it was, and the posts start at 50 right away."""
    world.facebook_max_nodes = 50
    policy = quick_policy()
    result, usage = fetch(server, policy)
    assert result.complete, result.error
    assert (len(result.items), policy.slept) == (670, [])
    # 1 + ⌈250/50⌉ + ⌈670/50⌉, plus the one request refused at limit 100.
    assert usage.requests == 1 + 5 + 14 + 1
    limits = [parse_qs(urlsplit(path).query).get("limit") for _, path in server.stats.requests]
    assert limits[1:3] == [["100"], ["50"]]
    assert all(limit == ["50"] for limit in limits[2:])


def test_graph_asking_for_less_than_25_fails_the_listing_only(server, world):
    world.facebook_max_nodes = 10
    result, usage = fetch(server)
    assert result.complete is False
    assert result.error.cause == "too much data"
    assert len(result.figures) == 2  # the figures came on their own
    assert result.items == []
    assert usage.requests == 1 + 3 + 1  # 100, 50, 25 refused for videos; posts start at 25


def test_page_without_videos_or_posts(server, world):
    page_of(world)["videos"].clear()
    page_of(world)["posts"].clear()
    result, usage = fetch(server)
    assert result.complete and result.items == []
    assert usage.requests == 3


def test_unpublished_and_non_embeddable_videos(server, world):
    """The Video reference: `published` false (unpublished or scheduled) is never shown, and
    Graph puts no `added_video` post on the feed for it; `embeddable` false is kept."""
    hidden, outside = page_of(world)["videos"][:2]
    hidden["published"] = False
    outside["embeddable"] = False
    result, _ = fetch(server)
    by_id = {item.platform_id: item for item in result.items}
    assert by_id[hidden["id"]].public is False
    assert by_id[outside["id"]].public is True and by_id[outside["id"]].embeddable is False
    assert len(result.items) == 670


APP_SECRET = "0123456789abcdef0123456789abcdef"


def test_app_secret_proof_is_sent_when_configured(server, world, caplog):
    """https://developers.facebook.com/docs/graph-api/securing-requests#appsecret_proof"""
    caplog.set_level(logging.DEBUG)
    world.facebook_app_secret = APP_SECRET
    settings = replace(
        facebook_settings(server.url), app_secret_env="FACEBOOK_APP_SECRET", app_secret=APP_SECRET
    )
    result = facebook.fetch(settings, quick_policy(), Usage())
    assert result.complete and len(result.items) == 670
    proof = facebook.appsecret_proof(TOKEN, APP_SECRET)
    assert proof not in caplog.text and APP_SECRET not in caplog.text


def test_app_that_requires_a_proof_says_which_setting_is_missing(server, world):
    """The error bodies quoted in sromku/android-simple-facebook#160 and
    facebook/facebook-python-business-sdk#528: code 100, GraphMethodException, HTTP 400."""
    world.facebook_app_secret = APP_SECRET
    with pytest.raises(SourceError) as caught:
        fetch(server)
    assert caught.value.cause == "app secret"
    assert "set facebook.app_secret_env" in str(caught.value)
    assert "not found" not in str(caught.value)
    wrong = replace(
        facebook_settings(server.url), app_secret_env="FB_SECRET", app_secret="wrong-secret"
    )
    with pytest.raises(SourceError) as caught:
        facebook.fetch(wrong, quick_policy(), Usage())
    assert caught.value.cause == "app secret"
    assert "FB_SECRET is not the secret of the token's app" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


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


def test_expired_token_in_the_video_listing_stops_the_run(server):
    server.inject("graph.videos", body=graph_error(190, 463))
    result, usage = fetch(server)
    assert result.error.cause == "token" and not result.complete
    assert len(result.figures) == 2
    assert usage.requests == 2  # the posts would only meet the same token


def test_request_limit_twice_then_success(server):
    server.inject("graph.page", body=graph_error(4), times=2)
    policy = quick_policy()
    result, usage = fetch(server, policy)
    assert result.complete
    assert len(result.items) == 670
    assert usage.requests == server.stats.graph_requests == 11 + 2
    assert len(policy.slept) == 2


def test_posts_page_two_fails_and_what_was_read_is_kept(server, world, caplog):
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
    assert (kinds.count("video"), kinds.count("post")) == (250, plain_posts(page_of(world), 100))
    assert [figure.key for figure in result.figures] == ["facebook.followers", "facebook.likes"]
    assert usage.requests == 1 + 3 + 1 + policy.attempts


def test_a_failed_video_listing_costs_neither_figures_nor_posts(server, world):
    policy = quick_policy(attempts=1)
    server.inject("graph.videos", status=503, body="Service Unavailable", content_type="text/plain")
    result, usage = fetch(server, policy)
    assert result.complete is False
    assert result.error.cause == "http 503"
    assert len(result.figures) == 2
    # Every post is read; the video posts are left out even though their videos were not read.
    assert [item.kind for item in result.items] == ["post"] * 420
    assert usage.requests == 1 + 1 + 7


def test_quick_refresh_reads_one_page_of_each(server, world):
    usage = Usage()
    result = facebook.fetch_quick(
        facebook_settings(server.url), quick_policy(), usage, KnownItems()
    )
    assert not result.complete and result.error is None
    assert usage.requests == 3
    kinds = [item.kind for item in result.items]
    assert (kinds.count("video"), kinds.count("post")) == (100, plain_posts(page_of(world), 100))


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


# --- through the pipeline: what the page shows ------------------------------------------------


class Buttons(HTMLParser):
    """The attributes of each card's buttons, by the (data-source, data-id) of every item the
    card holds (the card is an episode; each item is an element of its own inside it)."""

    def __init__(self) -> None:
        super().__init__()
        self.card: list[dict[str, str | None]] | None = None
        self.card_items: list[tuple[str, str]] = []
        self.buttons: dict[tuple[str, str], list[dict[str, str | None]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "article" and "data-episode" in found:
            self.card, self.card_items = [], []
        elif self.card is not None and tag == "button":
            self.card.append(found)
        elif self.card is not None and "data-source" in found and "data-id" in found:
            self.card_items.append((str(found["data-source"]), str(found["data-id"])))

    def handle_endtag(self, tag: str) -> None:
        if tag == "article" and self.card is not None:
            self.buttons.update(dict.fromkeys(self.card_items, self.card))
            self.card = None


def tagged_video(world: World) -> dict[str, Any]:
    return next(v for v in page_of(world)["videos"] if "#flächenglühen" in v["description"])


def test_a_video_facebook_will_not_embed_opens_there_and_its_post_is_no_second_card(make_site):
    world = World.demo()
    video = tagged_video(world)
    video["embeddable"] = False
    # A title of its own: with its YouTube upload's title it would share that video's card,
    # whose embeddable YouTube player leads.
    video["title"] = "Nur auf Facebook: eine Werkstatt in Chemnitz #flächenglühen"
    site = make_site(world)
    assert main(["--config", str(site.config), "update"]) == 0
    page = Buttons()
    page.feed(site.read("index.html"))
    (button,) = page.buttons[("facebook", video["id"])]
    assert "data-embed-url" not in button
    assert button["data-open-url"] == f"https://www.facebook.com{video['permalink_url']}"
    posts = fake_graph.listed_nodes(page_of(world), "posts")
    video_post_ids = {p["id"] for p in posts if p.get("status_type") == "added_video"}
    assert len(video_post_ids) == len(page_of(world)["videos"])
    assert not video_post_ids & {item_id for _, item_id in page.buttons}
    assert "Auf Facebook abspielen" in site.read("index.html")


def test_unpublished_video_leaves_the_page(make_site):
    world = World.demo()
    video = tagged_video(world)
    site = make_site(world)
    assert main(["--config", str(site.config), "update"]) == 0
    assert f'data-id="{video["id"]}"' in site.read("index.html")
    video["published"] = False
    assert main(["--config", str(site.config), "update"]) == 0
    assert f'data-id="{video["id"]}"' not in site.read("index.html")
