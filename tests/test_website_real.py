"""The website source against a real WordPress: Debian's package, MariaDB, PHP's server.

tests/wordpress/setup.sh installs and seeds the site on loopback and serves it twice: with
pretty permalinks at $SHOWCASE_WORDPRESS_URL (/wp-json/) and with plain permalinks at
$SHOWCASE_WORDPRESS_PLAIN_URL (?rest_route=). What it holds is described in
tests/wordpress/seed.php. Without these variables the tests are skipped; CI sets
SHOWCASE_REQUIRE_WORDPRESS=1, which turns the skip into a failure.

Some tests here are the evidence for behaviours of the fake (aggregator/fakeapi/wordpress.py)
that the documentation does not spell out.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
import requests
from conftest import feed_members, write_config

from aggregator.cli import main
from aggregator.config import WebsiteConfig
from aggregator.models import Item, Usage
from aggregator.retry import RetryPolicy
from aggregator.sources import website

REQUIRED = os.environ.get("SHOWCASE_REQUIRE_WORDPRESS") == "1"
TAG = "flaechengluehen"
SERIES_POSTS = 120  # published, numbered 1..120 in their titles
PROTECTED = "Geschützt im Gespräch"  # published in the tag, with a password
# n -> title, where seed.php gives post n a title with entities or markup.
SPECIAL_TITLES = {
    1: "Kunst & Design – „Glühen“",  # stored as "Kunst &amp; Design – „Glühen“"
    2: "Lena Hoang: “Zeichnen ist Nachbarschaft” — ein Gespräch",  # wptexturize's quotes, dash
    3: "Im Musikwinkel zu Hause – Folge 3",  # <em> and &#8211; in the title
}
# seed.php: post n has the featured image IMAGES[n % 3] unless n % 4 == 0. The upload of
# 1920 px has medium_large (768 px) and large; 800 px has medium_large only; 400 px neither.
THUMBNAILS = {
    0: "/wp-content/uploads/2017/06/werkstatt-768x432.jpg",
    1: "/wp-content/uploads/2017/06/atelier-768x432.jpg",
    2: "/wp-content/uploads/2017/06/portraet.jpg",
}
PERMALINKS = {
    # name: (environment variable, requests for 121 posts)
    "pretty": ("SHOWCASE_WORDPRESS_URL", 1 + 2),
    # + the 301 WordPress sends for /wp-json/wp/v2/tags and the home page it redirects to
    "plain": ("SHOWCASE_WORDPRESS_PLAIN_URL", 2 + 1 + 2),
}


def site_url(permalinks: str) -> str:
    name = PERMALINKS[permalinks][0]
    url = os.environ.get(name)
    if not url:
        reason = f"no real WordPress: ${name} is not set (tests/wordpress/setup.sh start)"
        if REQUIRED:
            pytest.fail(f"{reason}, and SHOWCASE_REQUIRE_WORDPRESS=1 asks for these tests")
        pytest.skip(reason)
    return url.rstrip("/")


@pytest.fixture(params=sorted(PERMALINKS))
def permalinks(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@cache  # PHP's server answers one request at a time: read each site once per test run
def fetch(url: str) -> tuple[list[Item], Usage, bool]:
    usage = Usage()
    settings = WebsiteConfig(every=timedelta(hours=6), url=url, tag=TAG)
    result = website.fetch(settings, RetryPolicy(sleep=lambda s: None, timeout=10), usage)
    assert result.error is None
    return result.items, usage, result.complete


def number(item: Item) -> int | None:
    """n of the series post whose title seed.php made from n."""
    for n, title in SPECIAL_TITLES.items():
        if item.title == title:
            return n
    words = item.title.removeprefix("Flächenglühen ").split(":")[0]
    return int(words) if words.isdigit() else None


def test_fetch_reads_every_post_of_the_tag(permalinks: str) -> None:
    url = site_url(permalinks)
    items, usage, complete = fetch(url)
    assert complete
    assert len(items) == SERIES_POSTS + 1  # and the protected one; no draft, private, future
    numbers = [number(item) for item in items if item.title != PROTECTED]
    assert sorted(numbers) == list(range(1, SERIES_POSTS + 1))  # both pages, nothing twice
    assert [int(item.platform_id) for item in items] == sorted(
        (int(item.platform_id) for item in items), reverse=True
    )
    assert usage.requests == PERMALINKS[permalinks][1]


def test_titles_are_decoded_plain_text(permalinks: str) -> None:
    items, _, _ = fetch(site_url(permalinks))
    titles = {item.title for item in items}
    assert set(SPECIAL_TITLES.values()) <= titles
    assert not any("&#" in title or "&amp;" in title or "<" in title for title in titles)
    first = next(item for item in items if number(item) == 1)
    assert first.description.startswith("Porträt 1: Ein Gespräch über Werkstatt")
    assert first.description.endswith("im…")  # WordPress's 55 words and " [&hellip;]"


def test_thumbnails_are_the_768_px_rendition_or_the_upload(permalinks: str) -> None:
    url = site_url(permalinks)
    items, _, _ = fetch(url)
    for item in items:
        n = number(item)
        if n is None:
            continue
        expected = None if n % 4 == 0 else url + THUMBNAILS[n % 3]
        assert item.thumbnail_url == expected, item.title
    image = requests.get(url + THUMBNAILS[0], timeout=10)
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"  # a JPEG was made


def test_links_follow_the_permalinks(permalinks: str) -> None:
    url = site_url(permalinks)
    items, _, _ = fetch(url)
    first = next(item for item in items if number(item) == 1)
    if permalinks == "pretty":
        assert first.url == f"{url}/2017/07/flaechengluehen-1/"
    else:
        assert first.url == f"{url}/?p={first.platform_id}"


def test_protected_post_is_listed_withheld(permalinks: str) -> None:
    """The evidence for the fake: a password-protected post is listed with its excerpt and
    content withheld, and its title has no "Protected: " in front in the REST API."""
    url = site_url(permalinks)
    items, _, _ = fetch(url)
    (protected,) = [item for item in items if item.title == PROTECTED]
    assert protected.public is False and protected.description == ""
    assert protected.raw["excerpt"] == {"rendered": "", "protected": True}


def test_plain_permalinks_answer_wp_json_with_a_redirect_then_the_home_page() -> None:
    """The evidence for the fake's plain permalinks: /wp-json/ is no route; WordPress adds a
    slash (301), then serves the home page, whose Link header names the API root
    index.php?rest_route=/ (https://developer.wordpress.org/rest-api/using-the-rest-api/
    discovery/). The routes answer at ?rest_route= (https://developer.wordpress.org/rest-api/
    extending-the-rest-api/routes-and-endpoints/)."""
    url = site_url("plain")
    tags = f"{url}/wp-json/wp/v2/tags?slug={TAG}"
    redirect = requests.get(tags, allow_redirects=False, timeout=10)
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == f"{url}/wp-json/wp/v2/tags/?slug={TAG}"
    assert redirect.headers["X-Redirect-By"] == "WordPress"
    page = requests.get(tags, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.links["https://api.w.org/"]["url"] == f"{url}/index.php?rest_route=/"
    home = requests.head(url + "/", timeout=10)
    assert home.links["https://api.w.org/"]["url"] == f"{url}/index.php?rest_route=/"
    routed = requests.get(f"{url}/?rest_route=/wp/v2/tags&slug={TAG}", timeout=10)
    assert [tag["slug"] for tag in routed.json()] == [TAG]
    pretty = site_url("pretty")
    assert requests.head(pretty + "/", timeout=10).links["https://api.w.org/"]["url"] == (
        f"{pretty}/wp-json/"
    )
    # ?rest_route= works with pretty permalinks too.
    routed = requests.get(f"{pretty}/?rest_route=/wp/v2/tags&slug={TAG}", timeout=10)
    assert [tag["slug"] for tag in routed.json()] == [TAG]


def test_paging_links_replace_the_root_link() -> None:
    """The evidence for the fake: a page with prev/next links sends only those in its Link
    header; a collection on one page sends the api.w.org link."""
    url = site_url("pretty")
    posts = f"{url}/wp-json/wp/v2/posts"
    middle = requests.get(posts, params={"per_page": 50, "page": 2, "_fields": "id"}, timeout=10)
    assert set(middle.links) == {"prev", "next"}
    # 120 + the protected post in the tag, 5 without it, and WordPress's "Hello world!"
    assert middle.headers["X-WP-Total"] == "127" and middle.headers["X-WP-TotalPages"] == "3"
    single = requests.get(f"{url}/wp-json/wp/v2/tags", params={"slug": TAG}, timeout=10)
    assert set(single.links) == {"https://api.w.org/"}


def test_cli_fetch_website_then_render(permalinks: str, tmp_path: Path, capsys) -> None:
    url = site_url(permalinks)
    config = write_config(tmp_path, url + "/")
    assert main(["--config", str(config), "fetch", "website"]) == 0
    assert main(["--config", str(config), "render"]) == 0
    assert capsys.readouterr() == ("", "")
    feed = json.loads((tmp_path / "public" / "feed.json").read_text(encoding="utf-8"))
    shown = [item for item in feed_members(feed) if item["source"] == "website"]
    assert len(shown) == SERIES_POSTS  # the protected post is not shown
    index = (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    assert "Kunst &amp; Design – „Glühen“" in index and "&amp;amp;" not in index
    copied = list((tmp_path / "public" / "thumbs").iterdir())
    with_image = sum(1 for n in range(1, SERIES_POSTS + 1) if n % 4)
    assert len({path.name.split(".")[0] for path in copied}) == with_image
