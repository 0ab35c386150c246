"""`showcase demo`: its sample world tells each portrait across platforms the way the editors
link them, and its page shows figures with a history.

The world's shapes rest on real answers: Graph's shared-link attachment
(page_feed_rich_fields_p1_cursor.json, post 19292868552_10158347294088553: media_type "link",
target.url and url an l.facebook.com/l.php shim of unshimmed_url) and WordPress's rendering of a
YouTube URL on its own line (WP_Embed::autoembed in wp-includes/class-wp-embed.php hands it to
oEmbed, which returns an iframe of youtube.com/embed/ID?feature=oembed).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from test_render import Node, parse

from aggregator.demo import demo_histories, monthly_days, run_demo
from aggregator.fakeapi import FakeApiServer, World
from aggregator.sources.facebook import POST_FIELDS

PAGE = "104857293361870"
FETCHED = ("youtube.subscribers", "youtube.views", "youtube.videos")
FETCHED += ("facebook.followers", "facebook.likes")
HAND_ENTERED = ("facebook_group.members", "akteure.erreicht", "beratungsstellen")


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Node:
    page = run_demo(tmp_path_factory.mktemp("demo") / "demo")
    return parse(page.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def world() -> World:
    return World.demo()


def figure(doc: Node, key: str) -> Node:
    (node,) = doc.find_all(data_key=key)
    return node


# --- the page: figures with their change since 27.06.2017, their history, fresh dates -------------


def test_the_demo_page_shows_the_facebook_followers_change_since_the_series_began(demo_page):
    followers = figure(demo_page, "facebook.followers")
    (value,) = followers.with_class("showcase__figure-value")
    (change,) = followers.with_class("showcase__figure-change")
    # The value's element also holds its sparkline, whose text says the history in words.
    shown = value.normalized_text.split()[0]
    assert (shown, change.normalized_text) == ("1.310", "+312 seit 27.06.2017")


@pytest.mark.parametrize("key", FETCHED)
def test_every_fetched_figure_has_a_change_and_a_sparkline_since_the_series_began(demo_page, key):
    node = figure(demo_page, key)
    (change,) = node.with_class("showcase__figure-change")
    assert re.fullmatch(r"\+[\d.]+ seit 27\.06\.2017", change.normalized_text)
    (sparkline,) = node.find_all("svg")
    (polyline,) = sparkline.find_all("polyline")
    points = polyline.attrs["points"].split()
    assert len(points) >= 12  # a point for each change since 2017, at most 60
    assert sparkline.find_all("title")[0].text.startswith("Verlauf seit 27.06.2017: von ")


@pytest.mark.parametrize("key", HAND_ENTERED)
def test_hand_entered_figures_carry_a_recent_date(demo_page, key):
    (as_of,) = figure(demo_page, key).find_all("time")
    entered = datetime.fromisoformat(str(as_of.attrs["datetime"]))
    age = datetime.now(UTC) - entered
    assert timedelta(0) < age <= timedelta(days=60)


def test_the_history_is_deterministic_and_meets_the_world_at_both_ends(world):
    since, today = date(2017, 6, 27), date(2026, 12, 1)
    histories = demo_histories(world, since, today)
    assert histories == demo_histories(World.demo(), since, today)
    followers = histories["facebook.followers"]
    assert followers[0] == (datetime(2017, 6, 27, 12, tzinfo=UTC), 998)
    assert followers[-1][0].date() == date(2026, 11, 27)
    assert abs(followers[-1][1] - 1310) <= 5  # the fetched value, 1.310, follows
    for key, points in histories.items():
        assert len(points) == len(monthly_days(since, today)) == 114, key
        values = [value for _, value in points]
        assert values[-1] > values[0], key
    videos = [value for _, value in histories["youtube.videos"]]
    assert videos == sorted(videos) and (videos[0], videos[-1]) == (1, 16)


def test_monthly_days_run_from_since_until_before_today():
    assert monthly_days(date(2017, 6, 27), date(2017, 9, 27)) == [
        date(2017, 6, 27),
        date(2017, 7, 27),
        date(2017, 8, 27),
    ]
    assert monthly_days(date(2020, 1, 31), date(2020, 4, 1))[1:] == [
        date(2020, 2, 28),
        date(2020, 3, 28),
    ]


def test_a_second_demo_run_into_the_same_folder_keeps_what_it_fetched(tmp_path):
    """The backfill never writes at or after a figure's first fetched value (store refuses it)."""
    first = datetime.now(UTC) - timedelta(days=70)
    run_demo(tmp_path / "demo", clock=lambda: first)
    page = run_demo(tmp_path / "demo")
    doc = parse(page.read_text(encoding="utf-8"))
    (change,) = figure(doc, "facebook.followers").with_class("showcase__figure-change")
    assert change.normalized_text == "+312 seit 27.06.2017"


# --- the world: portraits on several platforms, linked as editors link them ---------------------


def unshimmed(url: str) -> str:
    """Where an l.facebook.com/l.php link leads (its `u`)."""
    parts = urlsplit(url)
    if parts.netloc == "l.facebook.com" and parts.path == "/l.php":
        return parse_qs(parts.query)["u"][0]
    return url


def youtube_id(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.netloc == "youtu.be":
        return parts.path.strip("/")
    if parts.netloc.endswith("youtube.com") and parts.path == "/watch":
        return parse_qs(parts.query)["v"][0]
    if parts.netloc.endswith("youtube.com") and parts.path.startswith("/embed/"):
        return parts.path.removeprefix("/embed/")
    return None


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"]+", text)


def post(world: World, number: str) -> dict[str, Any]:
    page = world.facebook_pages[PAGE]
    return next(node for node in page["posts"] if node["id"] == f"{PAGE}_{number}")


def facebook_video(world: World, video_id: str) -> dict[str, Any]:
    return next(node for node in world.facebook_pages[PAGE]["videos"] if node["id"] == video_id)


def article(world: World, post_id: int) -> dict[str, Any]:
    return next(node for node in world.wordpress_posts if node["id"] == post_id)


def attachment_target(node: dict[str, Any]) -> str:
    (attachment,) = node["attachments"]["data"]
    return unshimmed(attachment["target"]["url"])


# Each post announcing a portrait, and the video it shares.
ANNOUNCEMENTS = {
    "2635756943477522": "85CkrDbgXvI",  # Johanna Wendler, 2017
    "7593379261284381": "MNkIbjpxGhV",  # Ronny Albrecht, 2019
    "7227258717449749": "6nJA4duDBfQ",  # Friedemann Voigt, 2021
    "1478971638831006": "uhkCunQ240C",  # Lena Hoang, 2022
    "3133062603682029": "A5bUqkYPIw8",  # Jonas Pietsch, 2024
    "1208851207855639": "Hk4mPz7RtQw",  # Uwe Ehnert, 2025
    "1211460384261376": "c9VbN2xLs8E",  # Franziska Löbel, 2025
}


@pytest.mark.parametrize(("number", "video_id"), ANNOUNCEMENTS.items())
def test_an_announcement_shares_the_video_in_its_text_and_its_attachment(world, number, video_id):
    node = post(world, number)
    assert node["status_type"] == "shared_story"
    assert youtube_id(attachment_target(node)) == video_id
    assert video_id in {youtube_id(link) for link in links_in(node["message"])}
    (attachment,) = node["attachments"]["data"]
    assert attachment["target"]["url"].startswith("https://l.facebook.com/l.php?u=")
    assert attachment["title"] == world.youtube_videos[video_id]["snippet"]["title"]


def test_the_fake_serves_the_shared_link_as_graph_does(world):
    """Graph narrows `attachments{media_type,target,url}` to those keys; a shared link's target
    has only a url, the same shim as `url` (page_feed_rich_fields_p1_cursor.json)."""
    with FakeApiServer(world, access_token="t") as server:
        response = requests.get(
            f"{server.url.rstrip('/')}/v25.0/kreativessachsen/posts",
            params={"fields": POST_FIELDS, "limit": 100, "access_token": "t"},
            timeout=10,
        )
    served = {node["id"]: node for node in response.json()["data"]}
    (attachment,) = served[f"{PAGE}_3133062603682029"]["attachments"]["data"]
    assert set(attachment) == {"media_type", "target", "url"}
    assert attachment["media_type"] == "link" and set(attachment["target"]) == {"url"}
    assert attachment["url"] == attachment["target"]["url"]
    assert youtube_id(unshimmed(attachment["url"])) == "A5bUqkYPIw8"


# Interviews that embed the video as WordPress renders a YouTube URL on its own line.
EMBEDS = {1027: "6nJA4duDBfQ", 1384: "uhkCunQ240C", 348: "IM0bsMKVqEx"}


@pytest.mark.parametrize(("post_id", "video_id"), EMBEDS.items())
def test_an_interview_embeds_its_video(world, post_id, video_id):
    content = article(world, post_id)["content"]["rendered"]
    sources = re.findall(r'<iframe[^>]* src="([^"]+)"', content)
    assert [youtube_id(source) for source in sources] == [video_id]
    assert sources[0] == f"https://www.youtube.com/embed/{video_id}?feature=oembed"


def test_the_fake_serves_an_interview_with_its_embed(world):
    with FakeApiServer(world) as server:
        response = requests.get(
            f"{server.url.rstrip('/')}/wp-json/wp/v2/posts",
            params={"include": "1027", "_fields": "id,content"},
            timeout=10,
        )
    (served,) = response.json()
    embed = "https://www.youtube.com/embed/6nJA4duDBfQ?feature=oembed"
    assert embed in served["content"]["rendered"]


@pytest.mark.parametrize(("video_id", "post_id"), [("85CkrDbgXvI", 211), ("A5bUqkYPIw8", 1840)])
def test_a_video_description_links_its_interview(world, video_id, post_id):
    description = world.youtube_videos[video_id]["snippet"]["description"]
    assert article(world, post_id)["link"] in links_in(description)


def test_a_post_links_an_interview(world):
    node = post(world, "1839467205583317")  # Carolin Seidel, 2018
    assert attachment_target(node) == article(world, 348)["link"]
    assert article(world, 348)["link"] in links_in(node["message"])


# The Facebook upload of a video: the same title, the same day or the next.
UPLOADS = {
    "3287244127826115": "A5bUqkYPIw8",
    "8793347894125962": "uhkCunQ240C",
    "1208837461190347": "Hk4mPz7RtQw",
    "1211452097595538": "c9VbN2xLs8E",
}


@pytest.mark.parametrize(("facebook_id", "video_id"), UPLOADS.items())
def test_a_facebook_upload_has_the_video_title_by_the_next_day(world, facebook_id, video_id):
    upload = facebook_video(world, facebook_id)
    video = world.youtube_videos[video_id]["snippet"]
    assert upload["title"] == video["title"]
    uploaded = datetime.strptime(upload["created_time"], "%Y-%m-%dT%H:%M:%S%z")
    published = datetime.fromisoformat(video["publishedAt"])
    assert uploaded > published and (uploaded.date() - published.date()).days <= 1


def test_one_portrait_exists_only_as_a_facebook_post(world):
    node = post(world, "5510298431176624")  # Ina Wagner, Görlitz
    assert "#flächenglühen" in node["message"] and "Ina Wagner" in node["message"]
    assert links_in(node["message"]) == []
    (attachment,) = node["attachments"]["data"]
    assert attachment["media_type"] == "photo"
    assert urlsplit(attachment["target"]["url"]).netloc == "www.facebook.com"
    everywhere_else = json.dumps(
        [world.youtube_videos, world.wordpress_posts, world.facebook_pages[PAGE]["videos"]],
        ensure_ascii=False,
    )
    assert "Ina Wagner" not in everywhere_else


def normalised(title: str) -> str:
    words = re.findall(r"\w+", unicodedata.normalize("NFC", title).casefold())
    return " ".join(words)


def test_two_turners_from_seiffen_are_false_friends(world):
    """Close titles within a week, different people: only links may join them to their posts."""
    first, second = (world.youtube_videos[v]["snippet"] for v in ("Hk4mPz7RtQw", "c9VbN2xLs8E"))
    assert normalised(first["title"]) != normalised(second["title"])
    similarity = difflib.SequenceMatcher(None, first["title"], second["title"]).ratio()
    assert similarity > 0.9
    apart = datetime.fromisoformat(second["publishedAt"]) - datetime.fromisoformat(
        first["publishedAt"]
    )
    assert apart < timedelta(days=7)
    assert "Uwe Ehnert" in first["description"] and "Uwe Ehnert" not in second["description"]
    assert "Franziska Löbel" in second["description"]
    assert "Franziska Löbel" not in first["description"]


def test_the_premiere_stays_the_newest_video(world):
    newest = max(world.youtube_videos.values(), key=lambda v: v["snippet"]["publishedAt"])
    assert (newest["id"], newest["snippet"]["liveBroadcastContent"]) == ("Wq7rTgL2pXe", "upcoming")
