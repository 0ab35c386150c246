"""The website source: parsers on WordPress-shaped JSON, the fake WordPress API, fetch, the CLI."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import requests
from conftest import feed_members

from aggregator.cli import main
from aggregator.config import WebsiteConfig
from aggregator.errors import SourceError
from aggregator.fakeapi import FakeApiServer, World, wordpress_error
from aggregator.models import Usage
from aggregator.retry import RetryPolicy
from aggregator.sources import MODULES, fetcher, website
from aggregator.sources.http import where
from aggregator.sources.items import BadItem

TAG = "flaechengluehen"
DEMO_INTERVIEWS = {"1840", "1384", "1027", "348", "211"}  # the demo site's posts in the tag
DEMO_UNTAGGED = {"702", "815"}

http = requests.Session()


# --- plain text out of the site's HTML ----------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("Keramik &#8211; aus Görlitz", "Keramik – aus Görlitz"),
        ("&#8222;Zeichnen ist Nachbarschaft&#8220;", "„Zeichnen ist Nachbarschaft“"),
        ("Werkstatt &amp; Alltag&nbsp;&hellip;", "Werkstatt & Alltag …"),
        ("Fl&auml;chengl&uuml;hen &#x2014; &#038;", "Flächenglühen — &"),
        ("<p>Im <strong>Musik<em>winkel</em></strong> zu Hause</p>", "Im Musikwinkel zu Hause"),
        ("<p>Erster Absatz.</p><p>Zweiter.</p>", "Erster Absatz. Zweiter."),
        ("Zeile<br>eins<br/>zwei<br />drei", "Zeile eins zwei drei"),
        ("<!-- wp:paragraph -->\n<p>Block</p>\n<!-- /wp:paragraph -->", "Block"),
        ("<script>alert('x')</script><style>p{}</style>sichtbar", "sichtbar"),
        ('<img src="x" onerror="alert(1)">Bild<a href="javascript:x">Link</a>', "BildLink"),
        ("  viel \n\t  Platz\u00a0 ", "viel Platz"),
        ("&lt;script&gt;kein Tag&lt;/script&gt;", "<script>kein Tag</script>"),
        ("<p>offen <b>fett", "offen fett"),
        ("3 < 4 und 5 > 2", "3 < 4 und 5 > 2"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert website.html_to_text(html) == text


def test_excerpt_ending_becomes_an_ellipsis() -> None:
    excerpt = "<p>Ein Gespräch über Brennöfen [&hellip;]</p>\n"
    assert website.excerpt_text(excerpt) == "Ein Gespräch über Brennöfen…"
    assert website.excerpt_text("<p>Ohne Ende.</p>") == "Ohne Ende."


# --- parsing posts -----------------------------------------------------------------------------


def media(**sizes: str) -> dict[str, Any]:
    """An embedded attachment (embed context) with the given sizes' URLs."""
    return {
        "id": 212,
        "slug": "werkstatt",
        "type": "attachment",
        "media_type": "image",
        "mime_type": "image/jpeg",
        "media_details": {
            "width": 1920,
            "height": 1080,
            "sizes": {
                name: {"width": 1, "height": 1, "source_url": url} for name, url in sizes.items()
            },
        },
        "source_url": "https://www.example.org/wp-content/uploads/2017/06/werkstatt.jpg",
        "_links": {"self": [{"href": "https://www.example.org/wp-json/wp/v2/media/212"}]},
    }


def wordpress_post(**changes: Any) -> dict[str, Any]:
    """A post as /wp/v2/posts?_fields=...&_embed=wp:featuredmedia gives it."""
    post: dict[str, Any] = {
        "id": 211,
        "date_gmt": "2017-06-27T08:00:00",
        "link": "https://www.example.org/2017/06/27/johanna-wendler/",
        "title": {"rendered": "Fl\u00e4chengl\u00fchen: Johanna Wendler &#8211; Keramikerin"},
        "excerpt": {
            "rendered": "<p>Seit <em>zw\u00f6lf</em> Jahren &amp; mehr [&hellip;]</p>\n",
            "protected": False,
        },
        "featured_media": 212,
        "status": "publish",
        "_links": {"self": [{"href": "https://www.example.org/wp-json/wp/v2/posts/211"}]},
        "_embedded": {
            "wp:featuredmedia": [
                media(
                    thumbnail="https://www.example.org/wp-content/uploads/w-150x150.jpg",
                    medium_large="https://www.example.org/wp-content/uploads/w-768x432.jpg",
                    large="https://www.example.org/wp-content/uploads/w-1024x576.jpg",
                )
            ]
        },
    }
    post.update(changes)
    return post


def test_the_article_keeps_the_addresses_of_its_content_not_its_text() -> None:
    """The REST API's post `content.rendered` (developer.wordpress.org/rest-api/reference/posts/)
    is read for the videos an interview embeds (WordPress's oEmbed iframe) or links, which tie
    it to its episode; the article's text stays out of the database."""
    content = (
        '<p>Ein Gespr\u00e4ch \u00fcber Ton.</p>\n<figure class="wp-block-embed"><div>'
        '<iframe src="https://www.youtube.com/embed/85CkrDbgXvI?feature=oembed"></iframe>'
        '</div></figure>\n<p><a href="https://youtu.be/85CkrDbgXvI">Video</a> und '
        '<a href="https://youtu.be/85CkrDbgXvI">nochmal</a></p>'
    )
    item = website.parse_post(wordpress_post(content={"rendered": content}), TAG)
    assert "content" not in item.raw and "_links" not in item.raw
    assert item.raw["content_links"] == [
        "https://www.youtube.com/embed/85CkrDbgXvI?feature=oembed",
        "https://youtu.be/85CkrDbgXvI",
    ]
    assert "content" in website.POST_FIELDS.split(",")


def test_post_becomes_a_plain_text_item_of_the_series() -> None:
    item = website.parse_post(wordpress_post(), TAG, "https://www.example.org")
    assert (item.source, item.platform_id, item.kind) == ("website", "211", "post")
    assert item.title == "Flächenglühen: Johanna Wendler – Keramikerin"
    assert item.description == "Seit zwölf Jahren & mehr…"
    assert item.url == "https://www.example.org/2017/06/27/johanna-wendler/"
    assert item.published_at == datetime(2017, 6, 27, 8, 0, tzinfo=UTC)
    assert item.thumbnail_url == "https://www.example.org/wp-content/uploads/w-768x432.jpg"
    assert item.tags == [TAG]
    assert item.public and item.embeddable
    assert "_links" not in item.raw and item.raw["_embedded"]
    assert item.raw["title"]["rendered"].endswith("&#8211; Keramikerin")  # raw stays raw


def test_thumbnail_prefers_medium_large_then_large_then_the_upload() -> None:
    large = "https://www.example.org/wp-content/uploads/w-1024x576.jpg"
    only_large = wordpress_post(_embedded={"wp:featuredmedia": [media(large=large)]})
    assert website.featured_image_url(only_large) == large
    no_sizes = wordpress_post(_embedded={"wp:featuredmedia": [media()]})
    assert website.featured_image_url(no_sizes) == (
        "https://www.example.org/wp-content/uploads/2017/06/werkstatt.jpg"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"featured_media": 0, "_embedded": None},  # no featured image at all
        {"_embedded": {"author": [{"id": 1}]}},  # embedded, but not the image
        {  # the attachment was deleted: WordPress embeds an error object
            "_embedded": {
                "wp:featuredmedia": [
                    {"code": "rest_post_invalid_id", "message": "Invalid post ID.",
                     "data": {"status": 404}}
                ]
            }
        },
        {"_embedded": {"wp:featuredmedia": [{"source_url": "javascript:alert(1)"}]}},
    ],
)  # fmt: skip
def test_post_without_a_usable_featured_image(changes: dict[str, Any]) -> None:
    post = wordpress_post(**changes)
    if changes.get("_embedded") is None:
        post.pop("_embedded")
    item = website.parse_post(post, TAG)
    assert item.thumbnail_url is None


def test_password_protected_post_is_not_public() -> None:
    post = wordpress_post(
        title={"rendered": "Geschützt: Im Gespräch"},
        excerpt={"rendered": "", "protected": True},
    )
    item = website.parse_post(post, TAG)
    assert item.public is False and item.description == ""


def test_missing_link_falls_back_to_the_short_link() -> None:
    item = website.parse_post(wordpress_post(link=None), TAG, "https://www.example.org/")
    assert item.url == "https://www.example.org/?p=211"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"id": None}, "without an id"),
        ({"id": "211"}, "without an id"),
        ({"date_gmt": None}, "date_gmt"),
        ({"date_gmt": "gestern"}, "date_gmt"),
    ],
)
def test_post_without_id_or_date_is_a_bad_item(changes: dict, words: str) -> None:
    with pytest.raises(BadItem) as caught:  # one item: skipped, the listing goes on
        website.parse_post(wordpress_post(**changes), TAG)
    assert words in str(caught.value)


def test_wordpress_times_are_utc() -> None:
    assert website.parse_wordpress_time("2017-06-27T10:00:00") == datetime(
        2017, 6, 27, 10, tzinfo=UTC
    )
    with_offset = website.parse_wordpress_time("2017-06-27T12:00:00+02:00")
    assert with_offset == datetime(2017, 6, 27, 10, tzinfo=UTC)
    assert with_offset.utcoffset() == timedelta(0)


def test_account_is_the_site() -> None:
    account = website.parse_account("https://www.kreatives-sachsen.de/")
    assert account.platform_id == account.url == "https://www.kreatives-sachsen.de"
    assert (account.source, account.name) == ("website", "kreatives-sachsen.de")


# --- answers and errors ------------------------------------------------------------------------

URL = "https://www.example.org/wp-json/wp/v2/posts?tags=12&page=2"


def rest_error(code: str, status: int, message: str = "Eine Meldung.") -> bytes:
    return json.dumps({"code": code, "message": message, "data": {"status": status}}).encode()


@pytest.mark.parametrize(
    ("status", "body", "headers", "cause", "retryable", "retry_after"),
    [
        (404, rest_error("rest_no_route", 404), {}, "not found", False, None),
        (401, rest_error("rest_not_logged_in", 401), {}, "permission", False, None),
        (403, b"<html>Forbidden</html>", {}, "permission", False, None),
        (500, rest_error("internal_server_error", 500), {}, "http 500", True, None),
        (503, b"<h1>Briefly unavailable</h1>", {"Retry-After": "600"}, "http 503", True, 600.0),
        (429, b"", {"Retry-After": "7"}, "rate limit", True, 7.0),
        (400, rest_error("rest_invalid_param", 400), {}, "http 400", False, None),
    ],
)
def test_error_answers(status, body, headers, cause, retryable, retry_after) -> None:
    with pytest.raises(SourceError) as caught:
        website.parse_listing(status, body, headers, URL)
    error = caught.value
    assert (error.cause, error.retryable, error.retry_after) == (cause, retryable, retry_after)
    assert str(error).startswith(f"website: {cause}: ")
    assert "tags=12" not in str(error)  # the query stays out of messages


def test_error_message_is_plain_text_and_names_the_code() -> None:
    body = rest_error("internal_server_error", 500, "<p>There has been a critical error.</p>")
    with pytest.raises(SourceError) as caught:
        website.parse_listing(500, body, {}, URL)
    assert str(caught.value) == (
        "website: http 500: There has been a critical error. "
        "(internal_server_error, HTTP 500, GET www.example.org/wp-json/wp/v2/posts)"
    )


def test_page_past_the_end_is_its_own_error() -> None:
    body = rest_error("rest_post_invalid_page_number", 400, "The page number requested is ...")
    with pytest.raises(website.PastTheLastPage) as caught:
        website.parse_listing(400, body, {}, URL)
    assert (caught.value.cause, caught.value.retryable) == ("http 400", False)


def test_html_with_status_200_is_not_json() -> None:
    page = b"<!DOCTYPE html><title>Wartungsmodus</title><p>Gleich wieder da.</p>"
    with pytest.raises(SourceError) as caught:
        website.parse_listing(200, page, {"Content-Type": "text/html; charset=UTF-8"}, URL)
    assert (caught.value.cause, caught.value.retryable) == ("not JSON", False)
    assert "text/html" in str(caught.value)


@pytest.mark.parametrize("body", [b'{"posts": []}', b"[1, 2]", b'"text"'])
def test_json_that_is_not_a_list_of_objects_is_unexpected(body: bytes) -> None:
    with pytest.raises(SourceError) as caught:
        website.parse_listing(200, body, {}, URL)
    assert caught.value.cause == "unexpected response"


def test_page_count_headers() -> None:
    assert website.total_pages({"X-WP-TotalPages": "3"}) == 3
    assert website.total_pages({"x-wp-totalpages": "0"}) == 0
    assert website.total_pages({}) is None
    assert website.total_pages({"X-WP-TotalPages": "viele"}) is None
    assert website.total_posts({"X-WP-Total": "250"}) == 250


def test_messages_leave_out_query_and_credentials() -> None:
    assert where("https://user:geheim@Example.org:8443/wp-json/wp/v2/tags?slug=x") == (
        "GET example.org:8443/wp-json/wp/v2/tags"
    )


def test_registered_as_a_source() -> None:
    assert MODULES["website"] == "aggregator.sources.website"
    assert fetcher("website") is website.fetch


# --- the fake WordPress API --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeApiServer]:
    with FakeApiServer(World.demo()) as server:
        yield server


@pytest.fixture
def server(shared_server: FakeApiServer) -> FakeApiServer:
    shared_server.world = World.demo()
    shared_server.clear_injections()
    shared_server.reset_stats()
    return shared_server


def wp(server: FakeApiServer, resource: str, **params: Any) -> requests.Response:
    return http.get(f"{server.url}wp-json/wp/v2/{resource}", params=params, timeout=5)


def test_demo_site_has_five_interviews_in_the_tag_and_two_other_posts() -> None:
    world = World.demo()
    (series,) = [tag for tag in world.wordpress_tags if tag["slug"] == TAG]
    tagged = {str(p["id"]) for p in world.wordpress_posts if series["id"] in p["tags"]}
    others = {str(p["id"]) for p in world.wordpress_posts if series["id"] not in p["tags"]}
    assert (tagged, others) == (DEMO_INTERVIEWS, DEMO_UNTAGGED)
    dates = sorted(post["date_gmt"] for post in world.wordpress_posts)
    assert dates[0].startswith("2017-06-27") and dates[-1] < "2025"
    portraits = " ".join(v["snippet"]["description"] for v in world.youtube_videos.values())
    for post in world.wordpress_posts:
        if str(post["id"]) in DEMO_INTERVIEWS:
            person = website.html_to_text(post["excerpt"]["rendered"]).split(" ")
            assert any(f"{a} {b}" in portraits for a, b in pairwise(person))
            assert post["featured_media"], "every demo interview has its picture"


def test_tags_by_slug_with_counts(server: FakeApiServer) -> None:
    response = wp(server, "tags", slug=TAG)
    assert response.status_code == 200
    (tag,) = response.json()
    assert (tag["id"], tag["slug"], tag["name"], tag["count"]) == (12, TAG, "Flächenglühen", 5)
    assert tag["taxonomy"] == "post_tag" and "_links" in tag
    assert response.headers["X-WP-Total"] == "1"
    assert wp(server, "tags", slug="gibtsnicht").json() == []
    assert wp(server, "tags", slug=TAG, _fields="id").json() == [{"id": 12}]


def test_posts_pages_and_their_headers(server: FakeApiServer) -> None:
    first = wp(server, "posts", per_page=2)
    assert first.status_code == 200
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("7", "4")
    assert 'rel="next"' in first.headers["Link"] and 'rel="prev"' not in first.headers["Link"]
    assert [post["id"] for post in first.json()] == [1840, 1384]  # newest first
    last = wp(server, "posts", per_page=2, page=4)
    assert [post["id"] for post in last.json()] == [211]
    assert 'rel="prev"' in last.headers["Link"] and 'rel="next"' not in last.headers["Link"]
    assert len(wp(server, "posts").json()) == 7  # per_page defaults to 10
    by_id = wp(server, "posts", tags=12, orderby="id", order="asc")
    assert [post["id"] for post in by_id.json()] == [211, 348, 1027, 1384, 1840]


def test_post_wire_format(server: FakeApiServer) -> None:
    response = wp(server, "posts", per_page=1)
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert b"\\/" in response.content and b"\\u00e4" in response.content  # PHP's json_encode
    (post,) = response.json()
    assert post["date_gmt"] == "2024-05-16T08:00:00" and post["date"] == "2024-05-16T10:00:00"
    assert set(post["title"]) == {"rendered"}
    assert set(post["excerpt"]) == {"rendered", "protected"}
    assert post["type"] == "post" and post["status"] == "publish"
    assert post["_links"]["wp:featuredmedia"][0]["href"].endswith("/wp-json/wp/v2/media/1841")
    assert "_embedded" not in post


def test_past_the_last_page_is_a_400(server: FakeApiServer) -> None:
    response = wp(server, "posts", tags=12, per_page=100, page=2)
    assert response.status_code == 400
    assert response.json() == {
        "code": "rest_post_invalid_page_number",
        "message": "The page number requested is larger than the number of pages available.",
        "data": {"status": 400},
    }
    assert wp(server, "tags", page=5).json() == []  # terms just run out
    server.world.wordpress_posts.clear()
    empty = wp(server, "posts", page=1)
    assert (empty.status_code, empty.json(), empty.headers["X-WP-TotalPages"]) == (200, [], "0")


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"tags": "zwölf"}, "tags"),
        ({"orderby": "zufall"}, "orderby"),
    ],
)
def test_invalid_parameters(server: FakeApiServer, params: dict, name: str) -> None:
    response = wp(server, "posts", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param" and body["data"]["status"] == 400
    assert name in body["data"]["params"]


def test_fields_and_embed(server: FakeApiServer) -> None:
    plain = wp(server, "posts", per_page=1, _fields="id,title.rendered", _embed="1").json()
    title = "Flächenglühen: Jonas Pietsch fotografiert die Zwickauer Industriekultur"
    assert plain == [{"id": 1840, "title": {"rendered": title}}]
    (post,) = wp(
        server, "posts", per_page=1, _fields="id,_links,_embedded", _embed="wp:featuredmedia"
    ).json()
    assert set(post) == {"id", "_links", "_embedded"}
    (image,) = post["_embedded"]["wp:featuredmedia"]
    assert image["id"] == 1841 and "guid" not in image  # the embed context
    assert image["media_details"]["sizes"]["medium_large"]["source_url"] == (
        f"{server.base_url}/thumbs/wp-1841-768x432.jpg"
    )
    (other,) = wp(server, "posts", per_page=1, _fields="id,_links", _embed="author").json()
    assert "_embedded" not in other


def test_deleted_attachment_is_embedded_as_an_error(server: FakeApiServer) -> None:
    server.world.wordpress_media.clear()
    (post,) = wp(server, "posts", per_page=1, _embed="").json()
    (image,) = post["_embedded"]["wp:featuredmedia"]
    assert image["code"] == "rest_post_invalid_id" and image["data"]["status"] == 404


def test_only_published_posts_and_protected_ones_withheld(server: FakeApiServer) -> None:
    posts = {post["id"]: post for post in server.world.wordpress_posts}
    posts[1840]["status"] = "draft"
    posts[1384]["password"] = "geheim"
    listed = {post["id"]: post for post in wp(server, "posts", tags=12).json()}
    assert 1840 not in listed
    assert listed[1384]["excerpt"] == {"rendered": "", "protected": True}
    assert listed[1384]["content"] == {"rendered": "", "protected": True}
    # No "Protected: " before the title in the REST API: a real WordPress 6.1
    # (tests/test_website_real.py::test_protected_post_is_listed_withheld).
    assert listed[1384]["title"]["rendered"] == posts[1384]["title"]["rendered"]
    assert wp(server, "tags", slug=TAG).json()[0]["count"] == 4


def test_media_by_ids(server: FakeApiServer) -> None:
    response = wp(server, "media", include="1841,212", _fields="id,source_url")
    assert sorted(item["id"] for item in response.json()) == [212, 1841]
    assert response.json()[0]["source_url"].startswith(server.base_url + "/thumbs/wp-")


def test_unknown_route_and_injection_and_stats(server: FakeApiServer) -> None:
    missing = http.get(f"{server.url}wp-json/wp/v2/users", timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == "rest_no_route"
    server.inject("wordpress.posts", status=503, times=2, skip=1)
    statuses = [wp(server, "posts").status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 200]
    server.inject("wordpress.tags", body=wordpress_error(403, "rest_forbidden", "Nope."))
    forbidden = wp(server, "tags")
    assert forbidden.status_code == 403 and forbidden.json()["message"] == "Nope."
    server.inject("wordpress.media", status=500)
    assert wp(server, "media").json()["code"] == "internal_server_error"
    assert server.stats.by_route == {
        "wordpress.other": 1,
        "wordpress.posts": 4,
        "wordpress.tags": 1,
        "wordpress.media": 1,
    }
    assert server.stats.wordpress_requests == 7 and server.stats.graph_requests == 0
    server.reset_stats()
    assert server.stats.wordpress_requests == 0


def test_synthetic_world_website() -> None:
    assert World.synthetic(youtube_uploads=3).wordpress_posts == []
    world = World.synthetic(youtube_uploads=0, facebook_videos=0, facebook_posts=0,
                            wordpress_posts=30)  # fmt: skip
    tagged = [post for post in world.wordpress_posts if 12 in post["tags"]]
    assert len(tagged) == 30 and len(world.wordpress_posts) == 33
    assert len({post["id"] for post in world.wordpress_posts}) == 33
    assert any(post["featured_media"] == 0 for post in tagged)
    assert World.synthetic(youtube_uploads=0, wordpress_posts=5).to_dict() == (
        World.synthetic(youtube_uploads=0, wordpress_posts=5).to_dict()
    )


# --- fetch against the fake API ----------------------------------------------------------------


def settings_for(url: str, tag: str = TAG) -> WebsiteConfig:
    return WebsiteConfig(every=timedelta(hours=6), url=url, tag=tag)


def quick_policy(**overrides: Any) -> RetryPolicy:
    slept: list[float] = []
    policy = RetryPolicy(**{"sleep": slept.append, "timeout": 2.0, **overrides})
    policy.slept = slept  # type: ignore[attr-defined]
    return policy


@pytest.fixture
def big_world() -> World:
    return World.synthetic(
        youtube_uploads=0, facebook_videos=0, facebook_posts=0, wordpress_posts=250
    )


@pytest.fixture
def big_server(big_world: World) -> Iterator[FakeApiServer]:
    with FakeApiServer(big_world) as running:
        yield running


def fetch(server: FakeApiServer, policy: RetryPolicy | None = None, tag: str = TAG, **kw: Any):
    usage = Usage()
    result = website.fetch(settings_for(server.url, tag), policy or quick_policy(), usage, **kw)
    return result, usage


def test_fetch_reads_three_pages_in_four_requests(big_server, big_world) -> None:
    result, usage = fetch(big_server)
    assert result.complete and result.error is None
    assert result.figures == []
    tagged = [post for post in big_world.wordpress_posts if 12 in post["tags"]]
    assert {item.platform_id for item in result.items} == {str(post["id"]) for post in tagged}
    assert len(result.items) == 250
    assert usage.requests == big_server.stats.wordpress_requests == 1 + 3
    assert big_server.stats.by_route == {"wordpress.tags": 1, "wordpress.posts": 3}
    assert all(item.tags == [TAG] and item.kind == "post" for item in result.items)
    assert all(item.published_at.tzinfo is not None for item in result.items)
    without_image = {str(post["id"]) for post in tagged if not post["featured_media"]}
    assert without_image
    for item in result.items:
        assert (item.thumbnail_url is None) == (item.platform_id in without_image)
        assert "&#8211;" not in item.title and "<p>" not in item.description
    assert result.account.platform_id == big_server.url.rstrip("/")


def test_demo_site_in_two_requests(server) -> None:
    result, usage = fetch(server)
    assert result.complete
    assert {item.platform_id for item in result.items} == DEMO_INTERVIEWS
    assert usage.requests == 2
    lena = next(item for item in result.items if item.platform_id == "1384")
    assert lena.title == "Lena Hoang: „Zeichnen ist Nachbarschaft“"
    assert lena.thumbnail_url == f"{server.base_url}/thumbs/wp-1385-768x432.jpg"


def test_tag_without_posts_is_a_complete_empty_listing(server) -> None:
    server.world.wordpress_posts.clear()
    result, usage = fetch(server)
    assert result.complete and result.items == []
    assert usage.requests == 2


def test_unknown_tag_is_not_found_naming_the_tag(server) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(server, tag="gibtsnicht")
    assert (caught.value.cause, caught.value.retryable) == ("not found", False)
    assert "gibtsnicht" in str(caught.value)
    assert server.stats.wordpress_requests == 1


def test_no_rest_api_at_that_address_is_not_found(server) -> None:
    server.inject("wordpress.tags", status=404)
    with pytest.raises(SourceError) as caught:
        fetch(server)
    assert caught.value.cause == "not found" and "rest_no_route" in str(caught.value)
    assert server.stats.wordpress_requests == 1  # never retried


def test_page_two_fails_and_page_one_is_kept(big_server) -> None:
    policy = quick_policy()
    big_server.inject("wordpress.posts", status=500, skip=1, times=policy.attempts)
    result, usage = fetch(big_server, policy)
    assert result.complete is False
    assert isinstance(result.error, SourceError)
    assert (result.error.cause, result.error.retryable) == ("http 500", True)
    assert len(result.items) == 100
    assert usage.requests == 1 + 1 + policy.attempts
    assert len(policy.slept) == policy.attempts - 1


def test_server_errors_are_retried_then_succeed(big_server) -> None:
    policy = quick_policy()
    big_server.inject("wordpress.posts", status=503, skip=2, times=2)
    result, usage = fetch(big_server, policy)
    assert result.complete and len(result.items) == 250
    assert usage.requests == 4 + 2
    assert policy.slept == [1.0, 2.0]


def test_html_page_with_status_200_is_not_json(server) -> None:
    html = "<!DOCTYPE html><html><body><h1>Wartungsmodus</h1></body></html>"
    server.inject("wordpress.tags", status=200, body=html, content_type="text/html", times=4)
    with pytest.raises(SourceError) as caught:
        fetch(server)
    assert caught.value.cause == "not JSON"
    # The page is no REST answer, so the site's address is asked where its API is: it
    # advertises /wp-json/, the root that answered HTML, so nothing else is tried.
    assert server.stats.by_route == {"wordpress.tags": 1, "wordpress.page": 1}


def test_html_instead_of_posts_is_a_partial_result(server) -> None:
    server.inject("wordpress.posts", status=200, body="<p>Sicherheitsprüfung</p>",
                  content_type="text/html")  # fmt: skip
    result, _ = fetch(server)
    assert result.complete is False and result.items == []
    assert result.error.cause == "not JSON"


def test_hanging_site_times_out() -> None:
    with FakeApiServer(World.demo()) as server:
        # requests' timeout is at least a second (RetryPolicy.request_timeout): hang longer.
        server.inject("wordpress.tags", status=200, delay=1.5, times=2)
        policy = RetryPolicy(sleep=lambda s: None, timeout=1, attempts=2)
        with pytest.raises(SourceError) as caught:
            fetch(server, policy)
        assert (caught.value.cause, caught.value.retryable) == ("timeout", True)
        assert server.stats.wordpress_requests == 2


def test_nobody_listening_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    usage = Usage()
    with pytest.raises(SourceError) as caught:
        website.fetch(settings_for(f"http://127.0.0.1:{port}"), quick_policy(attempts=2), usage)
    assert (caught.value.cause, caught.value.retryable) == ("connection", True)
    assert usage.requests == 2


def test_without_page_count_reads_until_a_page_is_not_full() -> None:
    world = World.synthetic(youtube_uploads=0, facebook_videos=0, facebook_posts=0,
                            wordpress_posts=200)  # fmt: skip
    stripped = {"X-WP-TotalPages": "", "X-WP-Total": ""}  # as if a cache dropped them
    with FakeApiServer(world) as server:
        server.inject("wordpress.posts", status=200, headers=stripped, times=10)
        result, usage = fetch(server)
    # Two full pages, then WordPress says page 3 is past the end: that ends the listing.
    assert result.complete and len(result.items) == 200
    assert usage.requests == 1 + 3


def test_page_count_decides_even_when_the_last_page_is_full(big_server, big_world) -> None:
    tagged = [post for post in big_world.wordpress_posts if 12 in post["tags"]]
    for post in tagged[200:]:
        post["status"] = "draft"
    result, usage = fetch(big_server)
    assert result.complete and len(result.items) == 200
    assert usage.requests == 1 + 2  # never asks for page 3


class DeletingSession(requests.Session):
    """Deletes a post of the first page once that page has been read."""

    def __init__(self, world: World):
        super().__init__()
        self.world = world
        self.pages = 0

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().get(url, **kwargs)
        if "/posts?" in str(url):
            self.pages += 1
            if self.pages == 1:
                first = next(p for p in self.world.wordpress_posts if 12 in p["tags"])
                first["status"] = "trash"
        return response


def test_a_post_removed_between_pages_makes_the_listing_incomplete(big_server, big_world):
    result, _ = fetch(big_server, session=DeletingSession(big_world))
    assert result.complete is False
    assert result.error.cause == "listing changed"
    assert len(result.items) == 100


# --- the command line --------------------------------------------------------------------------


def feed_ids(site, source: str) -> set[str]:
    feed = json.loads(site.read("feed.json"))
    return {i["id"] for i in feed_members(feed) if i["source"] == source}


def test_cli_fetch_website_then_render(site, capsys) -> None:
    assert main(["--config", str(site.config), "fetch", "website"]) == 0
    assert capsys.readouterr() == ("", "")
    assert site.server.stats.wordpress_requests == 2
    assert site.server.stats.graph_requests == site.server.stats.youtube_requests == 0
    assert main(["--config", str(site.config), "render"]) == 0
    assert feed_ids(site, "website") == DEMO_INTERVIEWS
    assert feed_ids(site, "youtube") == feed_ids(site, "facebook") == set()
    index = site.read("index.html")
    assert index.count('data-source="website"') == len(DEMO_INTERVIEWS)
    assert "&#8222;" not in index and "„Zeichnen ist Nachbarschaft“" in index
    copied = {path.name.split(".")[0] for path in (site.output / "thumbs").iterdir()}
    assert copied == {f"website-{post_id}" for post_id in DEMO_INTERVIEWS}


def test_cli_update_drops_a_post_that_went_back_to_draft(site, capsys) -> None:
    assert main(["--config", str(site.config), "update"]) == 0
    assert "1840" in feed_ids(site, "website")
    next(p for p in site.world.wordpress_posts if p["id"] == 1840)["status"] = "draft"
    assert main(["--config", str(site.config), "update"]) == 0
    assert feed_ids(site, "website") == DEMO_INTERVIEWS - {"1840"}


def test_cli_failing_website_is_one_line_and_keeps_its_posts(site, capsys) -> None:
    assert main(["--config", str(site.config), "update"]) == 0
    capsys.readouterr()
    site.server.inject("wordpress.posts", status=500, times=10)
    assert main(["--config", str(site.config), "update"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("showcase: website: http 500")
    assert feed_ids(site, "website") == DEMO_INTERVIEWS


def test_cli_unknown_tag_names_it(site, capsys) -> None:
    config = site.config.read_text(encoding="utf-8")
    site.config.write_text(config.replace(f'tag = "{TAG}"', 'tag = "gibtsnicht"'), "utf-8")
    assert main(["--config", str(site.config), "fetch", "website"]) == 1
    line = capsys.readouterr().err.strip()
    assert "website: not found" in line and "gibtsnicht" in line


# --- where the REST API is: pretty and plain permalinks ------------------------------------------
# https://developer.wordpress.org/rest-api/using-the-rest-api/discovery/ (the Link header, and
# "?rest_route=/" without pretty permalinks) and https://developer.wordpress.org/rest-api/
# extending-the-rest-api/routes-and-endpoints/ (the route in rest_route, the query after it).
# What a real WordPress answers is in tests/test_website_real.py.


def test_route_urls_under_both_kinds_of_root() -> None:
    params = {"slug": TAG, "_fields": "id,name"}
    assert website.route_url("https://www.example.org/wp-json/", "wp/v2/tags", params) == (
        "https://www.example.org/wp-json/wp/v2/tags?slug=flaechengluehen&_fields=id%2Cname"
    )
    plain = "https://www.example.org/index.php?rest_route=/"
    assert website.route_url(plain, "wp/v2/tags", params) == (
        "https://www.example.org/index.php?rest_route=/wp/v2/tags&slug=flaechengluehen"
        "&_fields=id%2Cname"
    )
    encoded = "https://www.example.org/?rest_route=%2F"
    assert website.route_url(encoded, "wp/v2/posts", {"page": 2}) == (
        "https://www.example.org/?rest_route=/wp/v2/posts&page=2"
    )


def test_advertised_api_root_among_other_links() -> None:
    links = (
        '<https://www.example.org/wp-json/wp/v2/pages/7>; rel="alternate"; title="JSON", '
        '<https://www.example.org/index.php?rest_route=/>; rel="https://api.w.org/", '
        "<https://www.example.org/?p=7>; rel=shortlink"
    )
    assert website.advertised_api_root({"Link": links}) == (
        "https://www.example.org/index.php?rest_route=/"
    )
    assert website.advertised_api_root({"link": '<https://x.org/?p=7>; rel="shortlink"'}) is None
    assert website.advertised_api_root({"Link": '<javascript:x>; rel="https://api.w.org/"'}) is None
    assert website.advertised_api_root({}) is None


def test_error_names_the_route_of_a_plain_permalink_request() -> None:
    url = "https://www.example.org/index.php?rest_route=/wp/v2/posts&tags=12&page=2"
    with pytest.raises(SourceError) as caught:
        website.parse_listing(500, rest_error("internal_server_error", 500), {}, url)
    assert "GET www.example.org/index.php?rest_route=/wp/v2/posts)" in str(caught.value)
    assert "tags=12" not in str(caught.value)


def plain_world(**site: Any) -> World:
    world = World.synthetic(youtube_uploads=0, facebook_videos=0, facebook_posts=0,
                            wordpress_posts=250)  # fmt: skip
    world.wordpress_site = {"permalinks": "plain", **site}
    return world


def test_fake_plain_permalinks_site(server: FakeApiServer) -> None:
    server.world.wordpress_site = {"permalinks": "plain"}
    tags = f"{server.url}wp-json/wp/v2/tags?slug={TAG}"
    redirect = http.get(tags, allow_redirects=False, timeout=5)
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == f"{server.base_url}/wp-json/wp/v2/tags/?slug={TAG}"
    page = http.get(tags, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    root = f"{server.base_url}/index.php?rest_route=/"
    assert page.links["https://api.w.org/"]["url"] == root
    assert http.head(server.url, timeout=5).links["https://api.w.org/"]["url"] == root
    routed = http.get(f"{root}wp/v2/tags&slug={TAG}", timeout=5)
    assert [tag["id"] for tag in routed.json()] == [12]
    assert routed.links["https://api.w.org/"]["url"] == root
    first = http.get(f"{server.url}?rest_route=/wp/v2/posts&per_page=2", timeout=5)
    assert set(first.links) == {"next"}  # the paging link replaces the root's
    assert first.links["next"]["url"] == (
        f"{server.base_url}/index.php?rest_route=%2Fwp%2Fv2%2Fposts&per_page=2&page=2"
    )
    pages = 1 + 2 + 1  # the 301 alone, the 301 and the page it leads to, the HEAD
    assert server.stats.by_route == {
        "wordpress.page": pages,
        "wordpress.tags": 1,
        "wordpress.posts": 1,
    }


def test_fake_pretty_permalinks_serve_rest_route_too(server: FakeApiServer) -> None:
    routed = http.get(f"{server.url}?rest_route=/wp/v2/tags&slug={TAG}", timeout=5)
    assert [tag["id"] for tag in routed.json()] == [12]
    home = http.head(server.url, timeout=5)
    assert home.status_code == 200
    assert home.links["https://api.w.org/"]["url"] == f"{server.base_url}/wp-json/"
    unknown = http.get(f"{server.url}?rest_route=/wp/v2/users", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["code"] == "rest_no_route"


def test_fake_web_server_404_without_a_link(server: FakeApiServer) -> None:
    server.world.wordpress_site = {"permalinks": "plain", "web_server_404": True}
    missing = http.get(f"{server.url}wp-json/wp/v2/tags", timeout=5)
    assert missing.status_code == 404 and "Link" not in missing.headers
    assert missing.headers["Content-Type"].startswith("text/html")


def test_fetch_with_plain_permalinks_follows_the_root_the_answer_advertises() -> None:
    with FakeApiServer(plain_world()) as server:
        result, usage = fetch(server)
        assert result.complete and len(result.items) == 250
        # the 301 and the home page it leads to, then the tag and 3 pages at ?rest_route=
        assert usage.requests == server.stats.wordpress_requests == 2 + 1 + 3
        assert server.stats.by_route == {
            "wordpress.page": 2,
            "wordpress.tags": 1,
            "wordpress.posts": 3,
        }
        paths = [path for route, path in server.stats.requests if route == "wordpress.posts"]
        assert all(path.startswith("/index.php?rest_route=/wp/v2/posts&tags=12&") for path in paths)


def test_fetch_behind_a_web_server_404_asks_the_home_page() -> None:
    with FakeApiServer(plain_world(web_server_404=True)) as server:
        result, usage = fetch(server)
        assert result.complete and len(result.items) == 250
        assert usage.requests == 1 + 1 + 1 + 3  # the 404, the HEAD, the tag, 3 pages
        assert server.stats.by_route["wordpress.page"] == 2


def test_fetch_guesses_rest_route_when_no_page_names_the_root() -> None:
    with FakeApiServer(plain_world(web_server_404=True)) as server:
        # a plugin that removes WordPress's Link header from every page
        server.inject("wordpress.page", status=404, body="<h1>Not Found</h1>",
                      content_type="text/html", times=2)  # fmt: skip
        result, usage = fetch(server)
        assert result.complete and len(result.items) == 250
        assert usage.requests == 1 + 1 + 1 + 3


def test_no_rest_api_anywhere_is_the_first_answers_error(server) -> None:
    server.world.wordpress_site = {"permalinks": "plain", "web_server_404": True}
    server.inject("wordpress.page", status=404, body="<h1>Not Found</h1>",
                  content_type="text/html", times=2)  # fmt: skip
    server.inject("wordpress.tags", status=200, body="<p>Startseite</p>", content_type="text/html")
    with pytest.raises(SourceError) as caught:
        fetch(server)
    assert caught.value.cause == "not found"
    assert "GET 127.0.0.1" in str(caught.value) and "/wp-json/wp/v2/tags" in str(caught.value)
    assert server.stats.wordpress_requests == 3  # /wp-json/, the HEAD, ?rest_route=


# --- User-Agent --------------------------------------------------------------------------------
# Hosts' firewalls refuse scripting clients: ModSecurity's OWASP Core Rule Set lists
# "python-requests" in rules/scripting-user-agents.data (rule 913101).


def test_a_firewall_that_refuses_python_requests_lets_showcase_through(server) -> None:
    server.world.wordpress_site = {"refused_user_agents": ["python-requests"]}
    refused = requests.get(f"{server.url}wp-json/wp/v2/tags", timeout=5)  # requests' own UA
    assert refused.status_code == 403
    assert refused.request.headers["User-Agent"].startswith("python-requests/")
    server.reset_stats()
    result, usage = fetch(server)
    assert result.complete and {item.platform_id for item in result.items} == DEMO_INTERVIEWS
    assert usage.requests == 2


def test_a_refused_user_agent_is_a_permission_error(server) -> None:
    server.world.wordpress_site = {"refused_user_agents": ["showcase/"]}
    with pytest.raises(SourceError) as caught:
        fetch(server)
    assert (caught.value.cause, caught.value.retryable) == ("permission", False)
    assert server.stats.wordpress_requests == 1
