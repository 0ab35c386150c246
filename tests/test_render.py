"""Tests for aggregator.render: the HTML pages, figures.json, feed.json and atomic writes.

HTML is parsed (stdlib html.parser) and asserted on elements, not on whole strings. Time is
frozen in the view models themselves (generated_at 2026-11-26T05:00Z, shown as 06:00 in
Europe/Berlin), so nothing depends on the clock or on the machine's locale.

Golden files: `test_output_matches_golden` renders a fixed showcase and compares every output
file byte for byte with tests/golden/. After an intended change to the templates or the
renderer, regenerate them and commit them together with the change:

    SHOWCASE_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/test_render.py
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment, TemplateError

from aggregator import files, render
from aggregator.context import episode_view
from aggregator.files import write_atomic
from aggregator.render import (
    DESCRIPTION_CHARS,
    format_duration,
    iso_duration,
    packaged_templates,
    render_outputs,
    render_showcase,
)
from aggregator.view import EpisodeView, FigureView, ItemView, Showcase, ThumbnailVariant

GOLDEN_DIR = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("SHOWCASE_REGENERATE_GOLDEN") == "1"

GENERATED_AT = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BASE_URL = "https://www.kreatives-sachsen.de/showcase/"
HOSTILE_TITLE = "<script>alert(1)</script>"
LONG_WORD = "x" * 10_000
RTL_TITLE = "Interview \u202eneglühcäfl#\u202c mit 🎬 und 🔥"
YT_EMBED = "https://www.youtube-nocookie.com/embed/{}"
FB_EMBED = "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook.com%2F{}"


# --- view models -------------------------------------------------------------------------


def youtube_video(platform_id: str, **changes: object) -> ItemView:
    item = ItemView(
        source="youtube",
        platform_id=platform_id,
        kind="video",
        title=f"Video {platform_id} #flächenglühen",
        description="Ein Gespräch über Kunst in Sachsen. #flächenglühen",
        url=f"https://www.youtube.com/watch?v={platform_id}",
        published_at=datetime(2017, 6, 27, 10, 0, tzinfo=UTC),
        duration_seconds=192,
        views=1234,
        thumbnail=f"thumbs/youtube-{platform_id}.jpg",
        embeddable=True,
        embed_url=YT_EMBED.format(platform_id),
    )
    return replace(item, **changes)


def facebook_video(platform_id: str, **changes: object) -> ItemView:
    item = ItemView(
        source="facebook",
        platform_id=platform_id,
        kind="video",
        title=f"Facebook-Video {platform_id}",
        description="#flächenglühen live",
        url=f"https://www.facebook.com/kreativessachsen/videos/{platform_id}/",
        published_at=datetime(2020, 3, 1, 18, 30, tzinfo=UTC),
        duration_seconds=3723,
        views=None,
        thumbnail=f"thumbs/facebook-{platform_id}.jpg",
        embeddable=True,
        embed_url=FB_EMBED.format(platform_id),
    )
    return replace(item, **changes)


def facebook_post(platform_id: str, **changes: object) -> ItemView:
    item = ItemView(
        source="facebook",
        platform_id=platform_id,
        kind="post",
        title="",
        description="Neue Folge #flächenglühen",
        url=f"https://www.facebook.com/1122334455/posts/{platform_id}",
        published_at=datetime(2019, 1, 15, 9, 0, tzinfo=UTC),
        thumbnail=None,
        embeddable=False,
        embed_url=None,
    )
    return replace(item, **changes)


def website_article(platform_id: str, **changes: object) -> ItemView:
    item = ItemView(
        source="website",
        platform_id=platform_id,
        kind="post",
        title="Interview: „Fläche und Glut“",
        description="Das ganze Gespräch zum Nachlesen.",
        url="https://www.kreatives-sachsen.de/interview-flaeche-und-glut/",
        published_at=datetime(2018, 12, 31, 23, 30, tzinfo=UTC),
        thumbnail=f"thumbs/website-{platform_id}.jpg",
        embeddable=False,
    )
    return replace(item, **changes)


def episode(*items: ItemView) -> EpisodeView:
    """The items as one card, named after the earliest, as `episodes.episode_id` names it."""
    first = min(items, key=lambda item: (item.published_at, item.source, item.platform_id))
    return episode_view(items, f"{first.source}:{first.platform_id}")


def singles(items: list[ItemView]) -> list[EpisodeView]:
    return [episode(item) for item in items]


def with_items(showcase: Showcase, items: list[ItemView]) -> Showcase:
    """The showcase with these items, each a card of its own."""
    return replace(showcase, episodes=singles(items))


def variants_of(original: str) -> tuple[ThumbnailVariant, ...]:
    stem = original.rsplit(".", 1)[0]
    return (
        ThumbnailVariant(f"{stem}.w320.webp", 320, 180, "image/webp"),
        ThumbnailVariant(f"{stem}.w640.webp", 640, 360, "image/webp"),
        ThumbnailVariant(f"{stem}.w320.jpg", 320, 180, "image/jpeg"),
    )


def many_videos(count: int) -> list[ItemView]:
    return [
        youtube_video(f"v{n:03d}", published_at=datetime(2026, 1, 1, tzinfo=UTC) - n * DAY)
        for n in range(count)
    ]


def figures() -> list[FigureView]:
    return [
        FigureView(
            key="youtube.subscribers",
            source="youtube",
            label="YouTube-Abonnenten",
            value=1310,
            as_of=GENERATED_AT,
            stale=False,
            rounded=True,
            since=date(2017, 6, 27),
            change_since=312,
        ),
        FigureView(
            key="facebook.followers",
            source="facebook",
            label="Facebook-Abonnenten",
            value=2048,
            as_of=datetime(2026, 11, 20, 11, 15, tzinfo=UTC),
            stale=True,
        ),
        FigureView(
            key="manual.group_members",
            source="manual",
            label="Mitglieder der Facebook-Gruppe",
            value=512,
            as_of=None,
            stale=False,
            manual=True,
        ),
    ]


def hostile_showcase() -> Showcase:
    return Showcase(
        title="#flächenglühen",
        intro="Videos und Beiträge der Reihe.",
        generated_at=GENERATED_AT,
        locale="de_DE",
        timezone="Europe/Berlin",
        figures=figures(),
        episodes=singles(
            [
                youtube_video("hostile01", title=HOSTILE_TITLE, description=HOSTILE_TITLE),
                youtube_video("longword1", title=LONG_WORD, description=LONG_WORD),
                youtube_video("rtlemoji1", title=RTL_TITLE, thumbnail=None, duration_seconds=None),
                youtube_video("noembed01", embeddable=False),
                youtube_video("noembedurl", embed_url=None),
                facebook_video("998877"),
                facebook_post("1122334455_42"),
            ]
        ),
        since=date(2017, 6, 27),
        home_url="https://www.kreatives-sachsen.de/flaechengluehen/",
    )


def golden_showcase() -> Showcase:
    return Showcase(
        title="#flächenglühen",
        intro="Künstlerinnen und Künstler aus Sachsen im Gespräch.\n"
        "Eine Reihe von Kreatives Sachsen.",
        generated_at=GENERATED_AT,
        locale="de_DE",
        timezone="Europe/Berlin",
        figures=figures(),
        episodes=[
            # One portrait on four platforms: the YouTube video leads (the default preference),
            # the card links each item and shows each platform's views.
            episode(
                youtube_video(
                    "dQw4w9WgXcQ",
                    title="Folge 12 – Ateliers & Räume <live>",
                    views=1234,
                    thumbnail_variants=variants_of("thumbs/youtube-dQw4w9WgXcQ.jpg"),
                ),
                facebook_post(
                    "1122334455_41",
                    title="Heute Abend: Folge 12 mit Anna",
                    description="Heute Abend: Folge 12 mit Anna. #flächenglühen",
                    published_at=datetime(2017, 6, 27, 12, 0, tzinfo=UTC),
                ),
                facebook_video(
                    "10157000000000001",
                    title="Folge 12 – Ateliers und Räume",
                    views=567,
                    published_at=datetime(2017, 6, 28, 18, 0, tzinfo=UTC),
                ),
                website_article("481", published_at=datetime(2017, 6, 29, 8, 0, tzinfo=UTC)),
            ),
            episode(youtube_video("noembed01", embeddable=False, views=0, thumbnail=None)),
            # YouTube keeps this one to itself: the embeddable Facebook upload plays instead.
            episode(
                youtube_video(
                    "noembed02",
                    title="Folge 13 – Druckwerkstatt",
                    embeddable=False,
                    embed_url=None,
                    views=89,
                    published_at=datetime(2017, 7, 4, 10, 0, tzinfo=UTC),
                ),
                facebook_video(
                    "10157000000000002",
                    title="Folge 13 – Druckwerkstatt",
                    published_at=datetime(2017, 7, 4, 12, 0, tzinfo=UTC),
                ),
            ),
            episode(facebook_post("1122334455_42", title="Neue Folge")),
        ],
        since=date(2017, 6, 27),
        home_url="https://www.kreatives-sachsen.de/flaechengluehen/",
    )


# --- a tiny DOM over html.parser -------------------------------------------------------------

VOID_ELEMENTS = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")
)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and all(
                node.attrs.get(name.replace("_", "-")) == value for name, value in attrs.items()
            )
        ]

    def with_class(self, name: str) -> list[Node]:
        return [node for node in self.iter() if name in node.classes]

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    @property
    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return "".join(parts)

    @property
    def normalized_text(self) -> str:
        return " ".join(self.text.split())


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.stack = [self.root]
        self.raw_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        self.raw_tags.append(tag)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, dict(attrs)))
        self.raw_tags.append(tag)

    def handle_endtag(self, tag):
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str | bytes) -> Node:
    builder = TreeBuilder()
    builder.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def cards_of(doc: Node) -> list[Node]:
    return doc.with_class("showcase__item")


def items_of(doc: Node) -> list[Node]:
    """Every element that stands for one item (the contract's data-source and data-id)."""
    return [node for node in doc.iter() if "data-source" in node.attrs and "data-id" in node.attrs]


def item_by_id(doc: Node, platform_id: str) -> Node:
    (item,) = [node for node in items_of(doc) if node.attrs.get("data-id") == platform_id]
    return item


def card_by_id(doc: Node, platform_id: str) -> Node:
    """The card that holds the item."""
    (card,) = [
        card
        for card in cards_of(doc)
        if any(node.attrs.get("data-id") == platform_id for node in items_of(card))
    ]
    return card


def css_selectors(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = []
    for prelude in re.findall(r"([^{}]+)\{", css):
        prelude = prelude.strip()
        if not prelude.startswith("@"):
            selectors.extend(part.strip() for part in prelude.split(","))
    return selectors


def is_scoped(selector: str) -> bool:
    first = re.split(r"[\s>+~]", selector, maxsplit=1)[0]
    return re.match(r"\.showcase(?![\w-])", first) is not None


def is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    return render_outputs(hostile_showcase())


@pytest.fixture(scope="module")
def index(outputs) -> Node:
    return parse(outputs["index.html"])


@pytest.fixture(scope="module")
def fragment(outputs) -> Node:
    return parse(outputs["fragment.html"])


@pytest.fixture(params=["index.html", "fragment.html"])
def page(request, outputs) -> Node:
    return parse(outputs[request.param])


# --- files -------------------------------------------------------------------------------------


OUTPUT_NAMES = [
    "index.html",
    "fragment.html",
    "embed.html",
    "figures.json",
    "feed.json",
    "feed.xml",
    "history.json",
]
BADGE_NAMES = [
    f"badges/{key}.{ext}"
    for key in ("youtube.subscribers", "facebook.followers", "manual.group_members")
    for ext in ("json", "svg")
]


def test_render_writes_every_file_and_returns_their_paths(tmp_path):
    output_dir = tmp_path / "public" / "nested"

    written = render_showcase(golden_showcase(), output_dir)

    assert written == [output_dir / name for name in OUTPUT_NAMES + BADGE_NAMES]
    files = {  # as a web server sees them: through the links, without the generations
        (Path(folder) / name).relative_to(output_dir).as_posix()
        for folder, _, names in os.walk(output_dir, followlinks=True)
        for name in names
        if ".generations" not in Path(folder).relative_to(output_dir).parts
    }
    assert files == set(OUTPUT_NAMES + BADGE_NAMES)


def test_render_failure_keeps_the_previous_output(tmp_path):
    output_dir = tmp_path / "public"
    render_showcase(golden_showcase(), output_dir)
    before = {p.name: p.read_bytes() for p in output_dir.rglob("*") if p.is_file()}
    site = tmp_path / "site"
    site.mkdir()
    (site / "_figures.html").write_text("{{ no_such_variable }}", encoding="utf-8")

    with pytest.raises(TemplateError):
        render_showcase(replace(golden_showcase(), title="Neu"), output_dir, [site])

    assert {p.name: p.read_bytes() for p in output_dir.rglob("*") if p.is_file()} == before


# --- items -------------------------------------------------------------------------------------


def test_every_item_carries_its_source_and_platform_id_in_the_given_order(page):
    expected = [(i.source, i.platform_id) for i in hostile_showcase().items]

    found = [(n.attrs["data-source"], n.attrs["data-id"]) for n in items_of(page)]

    assert found == expected
    assert all(node.tag == "a" for node in items_of(page))  # each item is its link
    cards = cards_of(page)
    assert [card.tag for card in cards] == ["article"] * len(expected)
    assert [card.attrs["data-episode"] for card in cards] == [f"{s}:{i}" for s, i in expected]
    assert [items_of(card) for card in cards] == [[item] for item in items_of(page)]


def test_an_episode_is_one_card_holding_one_element_per_item():
    doc = parse(render_outputs(golden_showcase())["fragment.html"])

    cards = cards_of(doc)

    assert [card.attrs["data-episode"] for card in cards] == [
        "youtube:dQw4w9WgXcQ",
        "youtube:noembed01",
        "youtube:noembed02",
        "facebook:1122334455_42",
    ]
    assert [(n.attrs["data-source"], n.attrs["data-id"]) for n in items_of(cards[0])] == [
        ("youtube", "dQw4w9WgXcQ"),
        ("facebook", "10157000000000001"),
        ("website", "481"),
        ("facebook", "1122334455_41"),
    ]
    assert "data-source" not in cards[0].attrs and "data-id" not in cards[0].attrs
    (title,) = cards[0].with_class("showcase__title")
    assert title.text == "Folge 12 – Ateliers & Räume <live>"  # the lead video's


def test_an_episode_card_links_each_item_on_its_platform():
    doc = parse(render_outputs(golden_showcase())["index.html"])

    (links,) = card_by_id(doc, "dQw4w9WgXcQ").with_class("showcase__links")

    assert [(a.normalized_text, a.attrs["href"]) for a in links.find_all("a")] == [
        ("Auf YouTube ansehen", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        (
            "Auf Facebook ansehen",
            "https://www.facebook.com/kreativessachsen/videos/10157000000000001/",
        ),
        ("Interview lesen", "https://www.kreatives-sachsen.de/interview-flaeche-und-glut/"),
        ("Beitrag auf Facebook", "https://www.facebook.com/1122334455/posts/1122334455_41"),
    ]
    assert items_of(links) == links.find_all("a")  # each item's element is its link
    assert links.normalized_text == (
        "Auf YouTube ansehen · Auf Facebook ansehen · Interview lesen · Beitrag auf Facebook"
    )


def test_an_item_without_a_web_address_still_has_its_element_in_the_card():
    shown = episode(youtube_video("nolink01"), website_article("nolink02", url="javascript:x"))
    doc = parse(render_outputs(replace(golden_showcase(), episodes=[shown]))["index.html"])

    element = item_by_id(doc, "nolink02")

    assert element.tag == "span" and element.attrs["data-source"] == "website"
    assert element.normalized_text == "Interview lesen"


def test_an_episode_shows_its_earliest_date_and_each_platforms_views_never_summed():
    doc = parse(render_outputs(golden_showcase())["index.html"])

    (meta,) = card_by_id(doc, "dQw4w9WgXcQ").with_class("showcase__meta")

    assert meta.normalized_text == "27.06.2017 3:12 YouTube: 1.234 Aufrufe Facebook: 567 Aufrufe"
    assert "1.801" not in meta.text
    (single,) = card_by_id(doc, "noembed01").with_class("showcase__meta")
    assert single.normalized_text == "YouTube 27.06.2017 3:12 0 Aufrufe"  # as a card of one


def test_the_card_plays_the_lead_video_and_nothing_else():
    doc = parse(render_outputs(golden_showcase())["index.html"])

    (button,) = card_by_id(doc, "dQw4w9WgXcQ").find_all("button")

    assert button.attrs["data-embed-url"] == YT_EMBED.format("dQw4w9WgXcQ")
    assert button.find_all("img")[0].attrs["src"] == "thumbs/youtube-dQw4w9WgXcQ.w320.jpg"


def test_an_embeddable_facebook_upload_plays_when_youtube_keeps_its_video_to_itself():
    doc = parse(render_outputs(golden_showcase())["index.html"])
    card = card_by_id(doc, "noembed02")

    (button,) = card.find_all("button")

    assert button.attrs["data-embed-url"] == FB_EMBED.format("10157000000000002")
    assert "Lädt Facebook und sendet Daten an Meta." in button.normalized_text
    assert card.find_all("a", href="https://www.youtube.com/watch?v=noembed02")


def test_a_card_whose_videos_none_may_embed_opens_the_preferred_one_on_its_platform():
    shown = episode(
        youtube_video("closed01", embeddable=False, embed_url=None),
        facebook_video("closed02", embeddable=False, embed_url=None),
    )
    doc = parse(render_outputs(replace(golden_showcase(), episodes=[shown]))["index.html"])

    (button,) = doc.find_all("button")

    assert button.attrs["data-open-url"] == "https://www.youtube.com/watch?v=closed01"
    assert "Auf YouTube abspielen" in button.normalized_text


def test_player_order_puts_facebook_first_when_configured():
    items = [youtube_video("pref01"), facebook_video("pref02")]

    preferred = episode_view(items, "youtube:pref01", player_order=("facebook", "youtube"))
    default = episode_view(items, "youtube:pref01")

    assert preferred.lead.platform_id == "pref02"
    assert [item.source for item in preferred.items] == ["facebook", "youtube"]
    assert default.lead.platform_id == "pref01"


def test_a_posts_derived_title_never_heads_a_card_with_a_video_or_an_article():
    early = datetime(2017, 1, 1, tzinfo=UTC)
    post = facebook_post("post01", title="Heute Abend: Anna", published_at=early)
    untitled_video = youtube_video("untitled01", title="")

    with_article = episode(post, untitled_video, website_article("art01"))
    only_post = episode(post)

    assert with_article.title == "Interview: „Fläche und Glut“"
    assert with_article.lead.platform_id == "untitled01"
    assert episode(post, youtube_video("titled01")).title == "Video titled01 #flächenglühen"
    assert only_post.title == "Heute Abend: Anna"  # a card of its own: better than none
    assert with_article.published_at == early  # the earliest
    assert with_article.description == "Ein Gespräch über Kunst in Sachsen. #flächenglühen"
    assert (
        episode(post, website_article("art02")).description == "Das ganze Gespräch zum Nachlesen."
    )


def test_an_embeddable_video_has_a_play_button_with_a_privacy_notice_and_a_link(page):
    item = card_by_id(page, "hostile01")

    (button,) = item.find_all("button")
    (link,) = item.with_class("showcase__links")[0].find_all("a")

    assert button.attrs["type"] == "button"
    assert button.attrs["data-embed-url"] == YT_EMBED.format("hostile01")
    assert "Lädt YouTube und sendet Daten an Google." in button.normalized_text
    assert button.normalized_text.startswith("Video abspielen")
    # The title comes right before the button, so a screen reader knows which video it plays.
    tags = [child.tag for child in item.children if isinstance(child, Node)]
    assert tags[:2] in (["h2", "div"], ["h3", "div"])
    assert button.find_all("img")  # the local thumbnail
    (privacy,) = item.with_class("showcase__privacy-link")
    assert privacy.tag == "a" and privacy.normalized_text == "Datenschutz"
    assert link.attrs["href"] == "https://www.youtube.com/watch?v=hostile01"
    assert link.normalized_text == "Auf YouTube ansehen"


def test_a_facebook_player_notice_names_facebook_and_meta(page):
    item = card_by_id(page, "998877")

    (button,) = item.find_all("button")

    assert button.attrs["data-embed-url"] == FB_EMBED.format("998877")
    assert "Lädt Facebook und sendet Daten an Meta." in button.normalized_text
    assert item.find_all("a")[-1].normalized_text == "Auf Facebook ansehen"


@pytest.mark.parametrize("platform_id", ["noembed01", "noembedurl"])
def test_a_video_that_cannot_be_embedded_gets_a_button_that_opens_its_platform(page, platform_id):
    item = card_by_id(page, platform_id)

    (button,) = item.find_all("button")

    assert "data-embed-url" not in button.attrs
    assert button.attrs["data-open-url"] == f"https://www.youtube.com/watch?v={platform_id}"
    assert "Auf YouTube abspielen" in button.normalized_text
    assert "Nur dort abspielbar; öffnet ein neues Fenster." in button.normalized_text
    assert item.find_all("a", href=f"https://www.youtube.com/watch?v={platform_id}")
    assert item.with_class("showcase__privacy-link") == []  # nothing is played here


def test_a_post_has_a_link_but_no_player(page):
    item = card_by_id(page, "1122334455_42")

    assert item.find_all("button") == []
    (link,) = item.find_all("a")
    assert link.attrs["href"] == "https://www.facebook.com/1122334455/posts/1122334455_42"


def test_a_post_without_title_or_thumbnail_shows_neither_heading_nor_placeholder(page):
    item = card_by_id(page, "1122334455_42")

    assert item.with_class("showcase__media") == []
    assert item.find_all("h3") == item.find_all("h2") == []
    assert item.with_class("showcase__text")[0].text == "Neue Folge #flächenglühen"


def test_thumbnails_are_local_lazy_images_with_size_and_empty_alt_text(page):
    (img,) = card_by_id(page, "longword1").find_all("img")

    assert img.attrs["src"] == "thumbs/youtube-longword1.jpg"
    assert img.attrs["alt"] == ""  # the button's text names the video; the image adds nothing
    assert (img.attrs["width"], img.attrs["height"]) == ("320", "180")
    assert img.attrs["loading"] == "lazy"


def test_the_first_picture_loads_at_once_with_high_priority(page):
    """The first card's picture is the page's largest paint (Lighthouse: "Largest Contentful
    Paint image was lazily loaded"): it is fetched at once, every later one lazily."""
    (first, *later) = page.find_all("img")

    assert (first.attrs.get("loading"), first.attrs.get("fetchpriority")) == (None, "high")
    assert {img.attrs.get("loading") for img in later} == {"lazy"}


def test_resized_thumbnails_come_as_webp_srcset_with_a_jpeg_fallback():
    variants = (
        ThumbnailVariant("thumbs/youtube-v01.w320.webp", 320, 180, "image/webp"),
        ThumbnailVariant("thumbs/youtube-v01.w640.webp", 640, 360, "image/webp"),
        ThumbnailVariant("thumbs/youtube-v01.w320.jpg", 320, 180, "image/jpeg"),
    )
    item = youtube_video("v01", thumbnail_variants=variants)

    doc = parse(render_outputs(with_items(golden_showcase(), [item]))["index.html"])

    (picture,) = card_by_id(doc, "v01").find_all("picture")
    (source,) = picture.find_all("source")
    (img,) = picture.find_all("img")
    assert source.attrs["type"] == "image/webp"
    assert source.attrs["srcset"] == (
        "thumbs/youtube-v01.w320.webp 320w, thumbs/youtube-v01.w640.webp 640w"
    )
    assert source.attrs["sizes"]
    assert img.attrs["src"] == "thumbs/youtube-v01.w320.jpg"
    assert (img.attrs["width"], img.attrs["height"]) == ("320", "180")


def test_an_item_without_thumbnail_shows_a_placeholder(page):
    item = card_by_id(page, "rtlemoji1")

    assert item.find_all("img") == []
    assert item.with_class("showcase__placeholder")


def test_a_remote_thumbnail_is_never_loaded():
    remote = youtube_video("remote01", thumbnail="https://i.ytimg.com/vi/remote01/hqdefault.jpg")
    showcase = with_items(golden_showcase(), [remote])

    outputs = render_outputs(showcase)

    assert parse(outputs["index.html"]).find_all("img") == []
    assert "image" not in json.loads(outputs["feed.json"])["items"][0]


def test_javascript_urls_never_become_links_or_players():
    evil = youtube_video("evil01", url="javascript:alert(1)", embed_url="javascript:alert(2)")
    showcase = with_items(golden_showcase(), [evil])

    html = render_outputs(showcase)["index.html"].decode()

    assert "javascript:" not in html
    assert parse(html).find_all("a", href=None) == []


def test_meta_shows_source_date_duration_and_views(page):
    youtube = card_by_id(page, "hostile01").with_class("showcase__meta")[0].normalized_text
    facebook = card_by_id(page, "998877").with_class("showcase__meta")[0].normalized_text

    assert youtube == "YouTube 27.06.2017 3:12 1.234 Aufrufe"
    assert facebook == "Facebook 01.03.2020 1:02:03"


def test_dates_are_local_to_the_showcase_timezone():
    late_evening_utc = datetime(2017, 6, 26, 23, 30, tzinfo=UTC)
    showcase = with_items(
        golden_showcase(), [youtube_video("late01", published_at=late_evening_utc)]
    )

    doc = parse(render_outputs(showcase)["fragment.html"])

    (published,) = card_by_id(doc, "late01").find_all("time", datetime="2017-06-27")
    assert published.text == "27.06.2017"


# --- figures -----------------------------------------------------------------------------------


def test_every_figure_shows_label_value_and_as_of(page):
    nodes = {node.attrs["data-key"]: node for node in page.with_class("showcase__figure")}

    assert list(nodes) == ["youtube.subscribers", "facebook.followers", "manual.group_members"]
    subscribers = nodes["youtube.subscribers"].normalized_text
    assert subscribers.startswith("YouTube-Abonnenten 1.310 Stand: 26.11.2026, 06:00")
    assert "Stand: 20.11.2026, 12:15" in nodes["facebook.followers"].normalized_text
    assert "Stand: unbekannt" in nodes["manual.group_members"].normalized_text


def test_figures_show_their_change_and_whether_they_were_entered_by_hand(page):
    nodes = {node.attrs["data-key"]: node for node in page.with_class("showcase__figure")}

    (change,) = nodes["youtube.subscribers"].with_class("showcase__figure-change")
    assert change.text == "+312 seit 27.06.2017"
    assert "von Hand eingetragen" in nodes["manual.group_members"].text
    assert "von Hand eingetragen" not in nodes["youtube.subscribers"].text
    assert not nodes["facebook.followers"].with_class("showcase__figure-change")


def test_a_figure_with_history_gets_a_sparkline():
    moments = (datetime(2017, 6, 27, tzinfo=UTC), GENERATED_AT)
    figure = replace(figures()[0], history=((moments[0], 998), (moments[1], 1310)))

    doc = parse(render_outputs(replace(golden_showcase(), figures=[figure]))["fragment.html"])

    (trend,) = doc.with_class("showcase__figure-trend")
    assert trend.find_all("svg")


def test_stale_and_rounded_figures_are_marked(page):
    nodes = {node.attrs["data-key"]: node for node in page.with_class("showcase__figure")}

    assert "gerundet" in nodes["youtube.subscribers"].text
    assert "veraltet" not in nodes["youtube.subscribers"].text
    assert "veraltet" in nodes["facebook.followers"].text
    assert "gerundet" not in nodes["facebook.followers"].text
    assert "veraltet" not in nodes["manual.group_members"].text


# --- untrusted text ----------------------------------------------------------------------------


def test_hostile_text_is_escaped(outputs, page):
    for name in ("index.html", "fragment.html"):
        assert b"<script>alert" not in outputs[name]
    (title,) = card_by_id(page, "hostile01").with_class("showcase__title")
    assert title.text == HOSTILE_TITLE
    (script,) = page.find_all("script")
    assert "alert" not in script.text


def test_titles_are_isolated_and_keep_rtl_overrides_and_emoji(page):
    (title,) = card_by_id(page, "rtlemoji1").with_class("showcase__title")

    assert title.find_all("bdi")[0].text == RTL_TITLE


def test_long_words_are_kept_in_titles_and_descriptions_are_shortened(page):
    item = card_by_id(page, "longword1")

    assert item.with_class("showcase__title")[0].text == LONG_WORD
    (description,) = item.with_class("showcase__text")
    assert len(description.text) <= DESCRIPTION_CHARS + 1
    assert description.text.endswith("…")


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60))
def test_any_title_round_trips_as_text(title):
    showcase = with_items(golden_showcase(), [youtube_video("any01", title=title)])

    doc = parse(render_outputs(showcase)["fragment.html"])

    assert card_by_id(doc, "any01").with_class("showcase__title")[0].text == title


# --- privacy and embedding -----------------------------------------------------------------

LOADING_ATTRIBUTES = {
    "img": ("src", "srcset"),
    "script": ("src",),
    "link": ("href",),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
}


def test_nothing_loads_from_a_third_party_host(outputs, page):
    for node in page.iter():
        for attribute in LOADING_ATTRIBUTES.get(node.tag, ()):
            value = node.attrs.get(attribute) or ""
            assert not re.match(r"(?i)(https?:)?//", value) or is_loopback(value), (node.tag, value)
    assert page.find_all("iframe") == []
    for link in page.find_all("link"):  # feed discovery and an empty icon: nothing is fetched
        assert link.attrs["rel"] in ("alternate", "icon"), link.attrs
        assert not re.match(r"(?i)(https?:)?//", link.attrs["href"]), link.attrs
    for style in page.find_all("style"):
        assert "url(" not in style.text and "@import" not in style.text


def test_embed_urls_appear_only_in_data_embed_url(page):
    embed_urls = {i.embed_url for i in hostile_showcase().items if i.embed_url}
    for node in page.iter():
        for name, value in node.attrs.items():
            if value in embed_urls:
                assert name == "data-embed-url", (node.tag, name)
    text = page.text
    assert not any(url in text for url in embed_urls)


def test_the_fragment_is_one_scoped_root_without_page_shell_or_ids(outputs, fragment):
    roots = [child for child in fragment.children if isinstance(child, Node)]
    stray_text = [child for child in fragment.children if isinstance(child, str)]

    assert [root.classes for root in roots] == [["showcase"]]
    assert all(not text.strip() for text in stray_text)
    assert not {"html", "head", "body"} & {node.tag for node in fragment.iter()}
    assert all("id" not in node.attrs for node in fragment.iter())
    (style,) = fragment.find_all("style")
    selectors = css_selectors(style.text)
    assert selectors
    assert [s for s in selectors if not is_scoped(s)] == []


def test_the_index_is_a_standalone_german_page_holding_the_same_showcase(index, fragment):
    (html,) = index.find_all("html")
    assert html.attrs["lang"] == "de"
    assert index.find_all("meta", charset="utf-8")
    assert index.find_all("meta", name="viewport")
    assert index.find_all("title")[0].text == "#flächenglühen"
    (root,) = index.with_class("showcase")
    assert [n.attrs["data-id"] for n in items_of(root)] == [
        n.attrs["data-id"] for n in items_of(fragment)
    ]
    assert index.find_all("h1")[0].normalized_text == "#flächenglühen"
    # The page's own privacy section is the one id, and only in the standalone page.
    assert [node.attrs["id"] for node in index.iter() if "id" in node.attrs] == ["datenschutz"]


def test_the_player_script_is_inline_and_delegates_from_the_root(page):
    (script,) = page.find_all("script")

    assert "src" not in script.attrs
    assert 'root.addEventListener("click"' in script.text
    assert "data-embed-url" in script.text
    assert "allowFullscreen = true" in script.text
    assert "autoplay; encrypted-media; picture-in-picture" in script.text


def test_an_empty_showcase_says_so():
    showcase = replace(golden_showcase(), episodes=[], figures=[])

    doc = parse(render_outputs(showcase)["fragment.html"])

    assert doc.with_class("showcase__empty")
    assert doc.find_all("dl") == []


# --- JSON --------------------------------------------------------------------------------------


def test_figures_json_has_exactly_the_contract_shape(outputs):
    document = json.loads(outputs["figures.json"])

    assert list(document) == ["generated_at", "figures"]
    assert document["generated_at"] == "2026-11-26T05:00:00+00:00"
    assert document["figures"] == [
        {
            "key": "youtube.subscribers",
            "label": "YouTube-Abonnenten",
            "value": 1310,
            "as_of": "2026-11-26T05:00:00+00:00",
            "stale": False,
        },
        {
            "key": "facebook.followers",
            "label": "Facebook-Abonnenten",
            "value": 2048,
            "as_of": "2026-11-20T11:15:00+00:00",
            "stale": True,
        },
        {
            "key": "manual.group_members",
            "label": "Mitglieder der Facebook-Gruppe",
            "value": 512,
            "as_of": None,
            "stale": False,
        },
    ]


def test_feed_json_is_a_json_feed_with_showcase_extension(outputs):
    feed = json.loads(outputs["feed.json"])

    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "#flächenglühen"
    assert feed["home_page_url"] == "https://www.kreatives-sachsen.de/flaechengluehen/"
    assert feed["language"] == "de"
    first = feed["items"][0]
    assert first == {
        "id": "youtube:hostile01",
        "url": "https://www.youtube.com/watch?v=hostile01",
        "title": HOSTILE_TITLE,
        "content_text": HOSTILE_TITLE,
        "date_published": "2017-06-27T10:00:00+00:00",
        "image": "thumbs/youtube-hostile01.jpg",
        "_showcase": {
            "source": "youtube",
            "id": "hostile01",
            "episode": "youtube:hostile01",
            "items": [
                {
                    "source": "youtube",
                    "id": "hostile01",
                    "url": "https://www.youtube.com/watch?v=hostile01",
                }
            ],
        },
    }
    assert [(item["_showcase"]["source"], item["_showcase"]["id"]) for item in feed["items"]] == [
        (i.source, i.platform_id) for i in hostile_showcase().items
    ]
    assert "image" not in feed["items"][2]  # no thumbnail
    assert "title" not in feed["items"][-1]  # a post without title


def test_the_feeds_have_one_entry_per_episode_with_every_items_link():
    outputs = render_outputs(golden_showcase())
    feed = json.loads(outputs["feed.json"])
    atom = ElementTree.fromstring(outputs["feed.xml"])

    assert [entry["id"] for entry in feed["items"]] == [
        episode.id for episode in golden_showcase().episodes
    ]
    first = feed["items"][0]["_showcase"]
    assert (first["source"], first["id"], first["episode"]) == (
        "youtube",
        "dQw4w9WgXcQ",
        "youtube:dQw4w9WgXcQ",
    )
    assert [(item["source"], item["id"]) for item in first["items"]] == [
        ("youtube", "dQw4w9WgXcQ"),
        ("facebook", "10157000000000001"),
        ("website", "481"),
        ("facebook", "1122334455_41"),
    ]
    assert first["items"][2]["url"] == (
        "https://www.kreatives-sachsen.de/interview-flaeche-und-glut/"
    )
    # The lead that plays is the entry's own link, even when it is not the earliest item.
    assert feed["items"][2]["url"] == (
        "https://www.facebook.com/kreativessachsen/videos/10157000000000002/"
    )
    entries = atom.findall(f"{ATOM}entry")
    assert len(entries) == len(feed["items"])
    links = [(link.get("rel"), link.get("href")) for link in entries[0].findall(f"{ATOM}link")]
    assert links == [
        ("alternate", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("related", "https://www.facebook.com/kreativessachsen/videos/10157000000000001/"),
        ("related", "https://www.kreatives-sachsen.de/interview-flaeche-und-glut/"),
        ("related", "https://www.facebook.com/1122334455/posts/1122334455_41"),
    ]
    terms = [category.get("term") for category in entries[0].findall(f"{ATOM}category")]
    assert terms == ["youtube", "facebook", "website"]


def test_feed_json_omits_home_page_url_when_unknown():
    feed = json.loads(render_outputs(replace(golden_showcase(), home_url=None))["feed.json"])

    assert "home_page_url" not in feed


def test_json_keeps_umlauts_readable(outputs):
    assert "flächenglühen".encode() in outputs["feed.json"]


# --- formatting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown", "iso"),
    [(0, "0:00", "PT0S"), (59, "0:59", "PT59S"), (192, "3:12", "PT3M12S"),
     (600, "10:00", "PT10M"), (3600, "1:00:00", "PT1H"), (3723, "1:02:03", "PT1H2M3S")],
)  # fmt: skip
def test_durations(seconds, shown, iso):
    assert format_duration(seconds) == shown
    assert iso_duration(seconds) == iso


# --- templates ---------------------------------------------------------------------------------


def test_a_site_template_replaces_a_packaged_one(tmp_path):
    (tmp_path / "_item.html").write_text(
        '<article class="site-item" data-source="{{ item.source }}"'
        ' data-id="{{ item.platform_id }}">{{ item.title }}</article>\n',
        encoding="utf-8",
    )

    doc = parse(render_outputs(golden_showcase(), [tmp_path])["index.html"])

    # One per card; `item` is still there for such a template: the card's lead.
    assert [(n.attrs["data-source"], n.attrs["data-id"]) for n in doc.with_class("site-item")] == [
        (episode.lead.source, episode.lead.platform_id) for episode in golden_showcase().episodes
    ]
    assert cards_of(doc) == []


def test_a_site_template_can_extend_the_packaged_one(tmp_path):
    (tmp_path / "_item.html").write_text(
        '{% extends "default:_item.html" %}\n'
        '{% block links %}<p class="site-links">{{ platform }}: {{ link }}</p>{% endblock %}\n',
        encoding="utf-8",
    )

    doc = parse(render_outputs(golden_showcase(), [tmp_path])["fragment.html"])

    item = cards_of(doc)[0]
    assert item.with_class("site-links")[0].text == (
        "YouTube: https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    )
    assert item.find_all("button")  # the rest of the packaged item is kept


def test_packaged_templates_are_found():
    source, _, _ = packaged_templates().get_source(Environment(), "base.html")

    assert "<!doctype html>" in source


def test_an_installed_wheel_reads_the_templates_beside_the_package(tmp_path, monkeypatch):
    package = tmp_path / "aggregator"
    (package / "templates").mkdir(parents=True)
    monkeypatch.setattr(render, "__file__", str(package / "render.py"))
    monkeypatch.setattr(render, "PackageLoader", lambda name, folder: ("package", name, folder))

    assert render.packaged_templates() == ("package", "aggregator", "templates")


# --- atomic writes -----------------------------------------------------------------------------


def test_write_atomic_replaces_the_file_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "index.html"
    target.write_bytes(b"old")
    target.chmod(0o640)

    write_atomic(target, b"new")

    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_write_atomic_makes_new_files_world_readable(tmp_path):
    target = tmp_path / "feed.json"

    write_atomic(target, b"{}")

    assert target.stat().st_mode & 0o777 == 0o644


def test_write_atomic_cleans_up_when_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    target.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", failing_replace)

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_render_leaves_no_temp_files(tmp_path):
    render_showcase(golden_showcase(), tmp_path)
    render_showcase(golden_showcase(), tmp_path)

    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".generations"]
    assert not list(tmp_path.rglob("*.tmp"))


# --- paging ------------------------------------------------------------------------------------


def ids_of(doc: Node) -> list[str]:
    return [node.attrs["data-id"] for node in items_of(doc)]


def groups_of(doc: Node) -> list[list[str]]:
    """The ids of each group: the open one first, then each "Weitere Videos" fold."""
    return [
        [node.attrs["data-id"] for node in items_of(grid)]
        for grid in doc.with_class("showcase__items")
    ]


def test_every_item_is_on_the_page_and_groups_fold_behind_weitere_videos():
    items = many_videos(30)
    outputs = render_outputs(with_items(golden_showcase(), items), group_size=12)

    for name in ("index.html", "fragment.html", "embed.html"):
        doc = parse(outputs[name])
        assert ids_of(doc) == [item.platform_id for item in items]
        assert groups_of(doc) == [
            [item.platform_id for item in items[start : start + 12]] for start in (0, 12, 24)
        ]
        folds = doc.with_class("showcase__more")
        assert [fold.tag for fold in folds] == ["details", "details"]
        assert all("open" not in fold.attrs for fold in folds)
        summaries = doc.with_class("showcase__more-toggle")
        assert [s.normalized_text for s in summaries] == [
            "Weitere Videos (12)",
            "Weitere Videos (6)",
        ]
        assert folds[1] in folds[0].find_all("details"), "each fold opens the next"
    assert not any(name.startswith("seite-") for name in outputs)


def test_one_group_needs_no_fold(page):
    assert page.with_class("showcase__more") == []


def test_the_default_group_size_is_24():
    outputs = render_outputs(with_items(golden_showcase(), many_videos(25)))

    assert [len(group) for group in groups_of(parse(outputs["fragment.html"]))] == [24, 1]


def test_badges_left_from_an_earlier_render_are_removed(tmp_path):
    render_showcase(golden_showcase(), tmp_path)

    render_showcase(replace(golden_showcase(), figures=figures()[:1]), tmp_path)

    badges = sorted(p.name for p in (tmp_path / "badges").iterdir())
    assert badges == ["youtube.subscribers.json", "youtube.subscribers.svg"]


# --- base URL, privacy notes, embed.html ---------------------------------------------------------


def loaded_urls(doc: Node) -> list[str]:
    """Every URL an img or source element loads (srcset split into its URLs)."""
    urls = []
    for node in doc.iter():
        for attribute in ("src", "srcset") if node.tag in ("img", "source") else ():
            value = node.attrs.get(attribute)
            if value:
                urls.extend(part.strip().split(" ")[0] for part in value.split(","))
    return urls


def test_the_base_url_makes_paths_absolute_where_they_are_read_from_elsewhere():
    showcase = replace(golden_showcase(), base_url=BASE_URL)
    outputs = render_outputs(showcase)

    index_urls = loaded_urls(parse(outputs["index.html"]))
    assert index_urls and all(url.startswith("thumbs/") for url in index_urls)
    for name in ("fragment.html", "embed.html"):
        urls = loaded_urls(parse(outputs[name]))
        assert urls and all(url.startswith(f"{BASE_URL}thumbs/") for url in urls), name
    feed = json.loads(outputs["feed.json"])
    assert feed["items"][0]["image"] == f"{BASE_URL}thumbs/youtube-dQw4w9WgXcQ.jpg"
    assert feed["feed_url"] == f"{BASE_URL}feed.json"


def test_without_base_url_every_path_is_relative(outputs):
    for name in ("index.html", "fragment.html", "embed.html"):
        assert all(url.startswith("thumbs/") for url in loaded_urls(parse(outputs[name])))


def privacy_links(doc: Node) -> set[str]:
    return {a.attrs["href"] for a in doc.with_class("showcase__privacy-link")}


def test_the_privacy_link_goes_to_the_page_section_unless_privacy_notes_are_configured():
    outputs = render_outputs(golden_showcase())
    assert privacy_links(parse(outputs["index.html"])) == {"#datenschutz"}
    assert privacy_links(parse(outputs["fragment.html"])) == {"index.html#datenschutz"}
    assert privacy_links(parse(outputs["embed.html"])) == {"index.html#datenschutz"}
    (section,) = parse(outputs["index.html"]).with_class("showcase__privacy")
    assert section.attrs["id"] == "datenschutz"
    assert "youtube-nocookie.com" in section.text and "IP-Adresse" in section.text

    notes = "https://www.kreatives-sachsen.de/datenschutz/"
    outputs = render_outputs(replace(golden_showcase(), privacy_url=notes))
    for name in ("index.html", "fragment.html", "embed.html"):
        doc = parse(outputs[name])
        assert privacy_links(doc) == {notes}
        assert doc.with_class("showcase__privacy")[0].find_all("a", href=notes)


def test_embed_html_opens_links_outside_the_frame_and_reports_its_height(outputs, fragment):
    embed = parse(outputs["embed.html"])

    (base,) = embed.find_all("base")
    assert base.attrs == {"target": "_blank"}
    assert ids_of(embed) == ids_of(fragment)
    assert all("id" not in node.attrs for node in embed.iter())
    scripts = [script.text for script in embed.find_all("script")]
    assert len(scripts) == 2
    assert "postMessage" in scripts[1] and 'showcase: "height"' in scripts[1]
    assert embed.find_all("h2")[0].normalized_text == "#flächenglühen"


# --- Atom feed -----------------------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"


def test_feed_xml_is_an_atom_feed_of_the_showcase_items(outputs):
    feed = ElementTree.fromstring(outputs["feed.xml"])

    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "#flächenglühen"
    assert feed.findtext(f"{ATOM}updated") == "2026-11-26T05:00:00+00:00"
    assert feed.findtext(f"{ATOM}id") == "https://www.kreatives-sachsen.de/flaechengluehen/"
    (alternate,) = feed.findall(f"{ATOM}link[@rel='alternate']")
    assert alternate.get("href") == "https://www.kreatives-sachsen.de/flaechengluehen/"
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"urn:showcase:{i.source}:{i.platform_id}" for i in hostile_showcase().items
    ]
    first = entries[0]
    assert first.findtext(f"{ATOM}title") == HOSTILE_TITLE
    assert first.findtext(f"{ATOM}summary") == HOSTILE_TITLE
    assert first.findtext(f"{ATOM}published") == "2017-06-27T10:00:00+00:00"
    assert first.findtext(f"{ATOM}updated") == "2017-06-27T10:00:00+00:00"
    assert first.find(f"{ATOM}link[@rel='alternate']").get("href") == (
        "https://www.youtube.com/watch?v=hostile01"
    )
    assert first.find(f"{MEDIA}thumbnail").get("url") == "thumbs/youtube-hostile01.jpg"
    assert first.find(f"{ATOM}category").get("term") == "youtube"
    assert entries[-1].findtext(f"{ATOM}title") == "Neue Folge #flächenglühen"  # untitled post


def test_feed_xml_with_base_url_links_itself_and_the_page():
    feed = ElementTree.fromstring(
        render_outputs(replace(golden_showcase(), base_url=BASE_URL))["feed.xml"]
    )

    assert feed.findtext(f"{ATOM}id") == f"{BASE_URL}feed.xml"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == f"{BASE_URL}feed.xml"
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href") == f"{BASE_URL}index.html"
    thumbnail = feed.find(f"{ATOM}entry/{MEDIA}thumbnail").get("url")
    assert thumbnail == f"{BASE_URL}thumbs/youtube-dQw4w9WgXcQ.jpg"


def test_feed_xml_stays_well_formed_with_control_characters():
    item = youtube_video("ctl01", title="Folge\x00 1\x1b", description="a\x0bb & <c>")

    feed = ElementTree.fromstring(render_outputs(with_items(golden_showcase(), [item]))["feed.xml"])

    assert feed.findtext(f"{ATOM}entry/{ATOM}title") == "Folge 1"
    assert feed.findtext(f"{ATOM}entry/{ATOM}summary") == "ab & <c>"


# --- badges --------------------------------------------------------------------------------------


def test_badges_are_shields_endpoint_documents_in_german_format(outputs):
    subscribers = json.loads(outputs["badges/youtube.subscribers.json"])
    followers = json.loads(outputs["badges/facebook.followers.json"])

    assert subscribers == {
        "schemaVersion": 1,
        "label": "YouTube-Abonnenten",
        "message": "1.310",
        "color": "c4302b",
        "cacheSeconds": 3600,
    }
    assert followers["message"] == "2.048 veraltet"
    assert followers["color"] == "9f9f9f"


def test_badges_are_drawn_locally_as_self_contained_svg(outputs):
    svg = ElementTree.fromstring(outputs["badges/youtube.subscribers.svg"])

    ns = "{http://www.w3.org/2000/svg}"
    assert svg.tag == f"{ns}svg"
    assert svg.get("aria-label") == "YouTube-Abonnenten: 1.310"
    texts = [text.text for text in svg.iter(f"{ns}text")]
    assert texts == ["YouTube-Abonnenten"] * 2 + ["1.310"] * 2
    rects = svg.findall(f"{ns}rect")
    label_width = int(rects[1].get("width"))
    assert int(svg.get("width")) > label_width > 100  # wide enough for its 18 characters
    assert b"http" not in outputs["badges/youtube.subscribers.svg"].replace(
        b"http://www.w3.org/2000/svg", b""
    )


def test_a_hand_entered_key_becomes_a_safe_badge_file_name():
    figure = replace(figures()[2], key="../../etc/passwd")

    outputs = render_outputs(replace(golden_showcase(), figures=[figure]))

    assert sorted(name for name in outputs if name.startswith("badges/")) == [
        "badges/_.._etc_passwd.json",
        "badges/_.._etc_passwd.svg",
    ]


# --- weight --------------------------------------------------------------------------------------


def test_the_fragment_of_24_items_stays_under_40_kb_whatever_their_descriptions():
    items = [
        replace(
            youtube_video(f"yt{n:09d}") if n % 2 else facebook_video(f"{n:017d}"),
            title=f"Flächenglühen: Die Illustratorin aus Dresden, Folge {n}",
            description="Ein langes Gespräch über Kunst in Sachsen. " * 300,  # 12 kB
        )
        for n in range(24)
    ]
    items = [
        replace(i, thumbnail_variants=variants_of(f"thumbs/{i.source}-{i.platform_id}.jpg"))
        for i in items
    ]

    size = len(render_outputs(with_items(golden_showcase(), items))["fragment.html"])

    # 40 kB, and the contract's data-episode on each card (its item's attributes moved to the
    # item's link, so the card grew by that attribute alone), and 100 bytes of stylesheet for the
    # phone's figure row and 24 px touch targets (WCAG 2.2 SC 2.5.8), sent once per fragment.
    episode_names = sum(len(f' data-episode="{i.source}:{i.platform_id}"') for i in items)
    assert size < 40_100 + episode_names, size


# --- documentation ------------------------------------------------------------------------------


def test_the_readme_shows_the_iframe_snippet_the_browser_tests_use():
    root = Path(__file__).resolve().parents[1]
    snippet = (root / "docs" / "iframe-snippet.html").read_text(encoding="utf-8").strip()

    assert snippet in (root / "README.md").read_text(encoding="utf-8")
    assert 'data.showcase !== "height"' in snippet


# --- golden output -----------------------------------------------------------------------------


GOLDEN_NAMES = [
    "index.html",
    "fragment.html",
    "embed.html",
    "figures.json",
    "feed.json",
    "feed.xml",
    "badges/youtube.subscribers.json",
    "badges/facebook.followers.svg",
]


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_output_matches_golden(tmp_path, name):
    render_showcase(golden_showcase(), tmp_path)
    rendered = (tmp_path / name).read_bytes()
    golden = GOLDEN_DIR / name

    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(rendered)
    assert golden.exists(), "run with SHOWCASE_REGENERATE_GOLDEN=1 to create the golden files"
    assert rendered.decode() == golden.read_text(encoding="utf-8")
