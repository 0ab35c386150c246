"""The rendered page and fragment in a real browser: Debian's Chromium under Playwright.

At 375 px and 1280 px, for index.html and for fragment.html included twice in a page that
mimics a hostile WordPress theme: nothing leaves loopback before a click (request
interception for every request, a check for resource hints, and a connection trap for
anything else); a click on a YouTube item requests youtube-nocookie.com and no other host;
no horizontal overflow; axe-core (axe-playwright-python, which ships axe.min.js) finds no
serious or critical violation. Screenshots go to $SHOWCASE_SCREENSHOTS (else a temporary
folder): look at them after a design change.

Without Chromium or Playwright these tests are skipped; CI sets SHOWCASE_REQUIRE_BROWSER=1,
which turns the skip into a failure.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    RESOURCE_HINTS_SCRIPT,
    ConnectionTrap,
    Watch,
    chromium,
    chromium_path,
    scroll_through,
    serve_directory,
)
from PIL import Image
from test_render import (
    HOSTILE_TITLE,
    LONG_WORD,
    RTL_TITLE,
    episode,
    facebook_post,
    facebook_video,
    golden_showcase,
    singles,
    website_article,
    youtube_video,
)

from aggregator.demo import demo_config_dict, run_demo
from aggregator.render import render_showcase
from aggregator.thumbnails import make_variants, thumbnail_variants
from aggregator.view import EpisodeView, FigureView, ItemView

REQUIRED = os.environ.get("SHOWCASE_REQUIRE_BROWSER") == "1"
WIDTHS = (375, 1280)
# Hosts a showcase page could leak a visit to: its players, CDNs and trackers.
GOOGLE_AND_META = (
    "youtube.com", "youtube-nocookie.com", "youtu.be", "ytimg.com", "googlevideo.com",
    "doubleclick.net", "google-analytics.com", "googletagmanager.com", "gstatic.com",
    "googleapis.com", "facebook.com", "facebook.net", "fbcdn.net", "fbsbx.com", "fb.com",
    "instagram.com",
)  # fmt: skip

HOSTILE_THEME = """
html { font-size: 62.5%; }
body { font-size: 1.6rem; font-family: Georgia, serif; margin: 0; background: #fffdf5; }
* { box-sizing: content-box; }
img { max-width: none !important; height: auto; }
.entry-content img { border: 5px solid red; float: left; margin: 0 2em 2em 0; padding: 4px; }
button { background: #f0f; padding: 30px; text-transform: uppercase; border: 3px dashed #000;
         min-height: 80px; font-size: 22px; letter-spacing: .2em; border-radius: 0; }
button:hover { background: #0ff; }
ul, ol { padding-left: 80px; }
a { color: red; }
section { display: flex; padding: 40px; }
article { display: inline; margin: 3em; }
header { position: sticky; top: 0; background: #ddd; }
p { margin-bottom: 2.5em; font-size: 1.9rem; line-height: 2.2; }
h1, h2, h3, h4 { text-transform: uppercase; font-size: 4rem; margin: 2em 0; color: #306; }
dl, dd { margin-left: 60px; } dt { font-weight: 900; font-style: italic; }
picture, span { display: inline; }
time { font-style: italic; }
iframe { height: auto; max-width: 50%; }
.entry-content { max-width: 700px; margin: 0 auto; padding: 0 20px; }
.entry-content p { text-align: justify; }
"""

WORDPRESS_PAGE = """<!doctype html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kreatives Sachsen – Videos</title>
<link rel="icon" href="data:,">
<style>{theme}</style>
</head>
<body class="page-template-default">
<main class="site-main">
<article class="page type-page">
<h1 class="entry-title">Unsere Videoreihe</h1>
<div class="entry-content">
<p>Ein Absatz des Themes vor dem Showcase.</p>
{fragment}
<p>Und derselbe Showcase ein zweites Mal:</p>
{fragment}
</div>
</article>
</main>
</body>
</html>
"""

IFRAME_HOST = """<!doctype html>
<html lang="de">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Einbettung per iframe</title><link rel="icon" href="data:,"></head>
<body>
<h1>Seite mit iframe</h1>
{snippet}
</body>
</html>
"""


def iframe_snippet(embed_url: str) -> str:
    """The host-page lines the README documents for embed.html (kept in step by a test)."""
    return (
        (Path(__file__).parents[1] / "docs" / "iframe-snippet.html")
        .read_text(encoding="utf-8")
        .replace("https://www.kreatives-sachsen.de/showcase/embed.html", embed_url)
    )


# --- the site under test -------------------------------------------------------------------------


def thumbnail(output: Path, item: ItemView, index: int) -> ItemView:
    """A real JPEG in thumbs/ with its resized copies, as `showcase update` leaves them."""
    name = f"thumbs/{item.source}-{item.platform_id}.jpg"
    (output / "thumbs").mkdir(parents=True, exist_ok=True)
    colour = ((index * 67) % 200 + 30, (index * 131) % 160 + 40, (index * 29) % 180 + 50)
    Image.new("RGB", (480, 360), colour).save(output / name, "JPEG")
    make_variants(output, name)
    return replace(item, thumbnail=name, thumbnail_variants=thumbnail_variants(output, name))


def site_items() -> list[ItemView]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    hostile = [
        youtube_video("yt_hostile1", title=HOSTILE_TITLE, description=HOSTILE_TITLE),
        youtube_video("yt_longword", title=LONG_WORD, description=LONG_WORD),
        youtube_video("yt_rtlemoji", title=RTL_TITLE, description="🎬🔥 " * 3000),
        youtube_video("yt_noembed1", embeddable=False),
        facebook_video("1000000000000001"),
        facebook_post("1122334455_42", description="Neue Folge 12 kB " * 700),
    ]
    plain = [
        youtube_video(f"yt_video{n:03d}", title=f"Flächenglühen: Porträt Nummer {n}")
        if n % 3
        else facebook_video(f"20000000000{n:05d}", title=f"Facebook-Live Nummer {n}")
        for n in range(24)
    ]
    items = hostile + plain
    dated = [replace(item, published_at=start - timedelta(days=n)) for n, item in enumerate(items)]
    # The same portrait on Facebook and as an interview on the website, a day later.
    lead = next(item for item in dated if item.platform_id == STORY_LEAD)
    later = lead.published_at + timedelta(days=1)
    return [
        *dated,
        facebook_video(STORY_FACEBOOK, title=lead.title, views=567, published_at=later),
        website_article(STORY_WEBSITE, published_at=later),
    ]


STORY_LEAD, STORY_FACEBOOK, STORY_WEBSITE = "yt_video001", "2000000000099999", "web_story"
STORY_CARD = f'[data-episode="youtube:{STORY_LEAD}"]'


def site_episodes(items: list[ItemView]) -> list[EpisodeView]:
    """30 cards in the order of the items; the story's three items are one of them."""
    story = [
        item for item in items if item.platform_id in (STORY_LEAD, STORY_FACEBOOK, STORY_WEBSITE)
    ]
    cards = []
    for item in items:
        if item.platform_id == STORY_LEAD:
            cards.append(episode(*story))
        elif item not in story:
            cards.append(episode(item))
    return cards


def card(platform_id: str) -> str:
    """The selector of the card whose episode is named after this YouTube or Facebook item."""
    source = "youtube" if platform_id.startswith("yt_") else "facebook"
    return f'[data-episode="{source}:{platform_id}"]'


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The showcase rendered into /showcase/ (30 cards of 32 items: two groups; one card holds
    a YouTube video, its Facebook upload and the website's interview), a WordPress-like page at
    /blog/ that includes the fragment twice, and a page embedding embed.html in an iframe."""
    root = tmp_path_factory.mktemp("site")
    output = root / "showcase"
    with serve_directory(root) as base:
        items = [thumbnail(output, item, n) for n, item in enumerate(site_items())]
        showcase = replace(
            golden_showcase(), episodes=site_episodes(items), base_url=f"{base}showcase/"
        )
        render_showcase(showcase, output)
        fragment = (output / "fragment.html").read_text(encoding="utf-8")
        (root / "blog").mkdir()
        (root / "blog" / "index.html").write_text(
            WORDPRESS_PAGE.format(theme=HOSTILE_THEME, fragment=fragment), encoding="utf-8"
        )
        (root / "iframe").mkdir()
        (root / "iframe" / "index.html").write_text(
            IFRAME_HOST.format(snippet=iframe_snippet(f"{base}showcase/embed.html")),
            encoding="utf-8",
        )
        yield {
            "index": f"{base}showcase/index.html",
            "wordpress": f"{base}blog/index.html",
            "iframe": f"{base}iframe/index.html",
        }


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}, and SHOWCASE_REQUIRE_BROWSER=1 asks for the browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def trap() -> Iterator[ConnectionTrap]:
    trap = ConnectionTrap()
    yield trap
    trap.close()


@pytest.fixture(scope="module")
def browser(trap) -> Iterator[Any]:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("playwright is not installed (pip install '.[test]')")
    executable = chromium_path()
    if executable is None:
        missing("chromium is not installed (apt-get install chromium)")
    with chromium(executable, trap) as browser:
        yield browser


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def width(request) -> int:
    return request.param


@pytest.fixture
def open_page(browser, trap):
    """open_page(url, width, javascript=True) -> (page, watch); nothing leaves loopback."""
    contexts = []

    def open_(url: str, width: int, javascript: bool = True) -> tuple[Any, Watch]:
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            java_script_enabled=javascript,
            locale="de-DE",
        )
        contexts.append(context)
        watch = Watch().attach(context)
        page = context.new_page()
        trap.hosts.clear()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        return page, watch

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get("SHOWCASE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# Chromium's component updater calls this some seconds after the browser starts, whatever page
# is open, despite --disable-component-update (seen in full runs under load). No page asks for
# it, and every request a page makes is watched separately (Watch), so it is left out here.
BROWSER_OWN_HOSTS = frozenset({"update.googleapis.com"})


def leaked_connections(trap: ConnectionTrap) -> list[str]:
    return [
        host
        for host in trap.hosts
        if host.endswith(GOOGLE_AND_META) and host not in BROWSER_OWN_HOSTS
    ]


PAGES = ["index", "wordpress"]


# --- privacy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PAGES, "iframe"])
def test_nothing_leaves_loopback_before_a_click(site, open_page, trap, name, width):
    page, watch = open_page(site[name], width)
    scroll_through(page)

    assert watch.outside == []
    assert page.evaluate(RESOURCE_HINTS_SCRIPT) == []
    assert leaked_connections(trap) == []
    assert any("/thumbs/" in url and url.endswith(".webp") for url in watch.inside)


def player_frames(page: Any) -> list[str]:
    return page.eval_on_selector_all("iframe.showcase__player", "fs => fs.map(f => f.src)")


@pytest.mark.parametrize("name", PAGES)
def test_a_click_on_a_youtube_item_loads_youtube_nocookie_and_nothing_else(
    site, open_page, trap, name, width
):
    page, watch = open_page(site[name], width)
    button = page.locator(f"{card('yt_video001')} button").last

    button.click()
    page.wait_for_selector("iframe.showcase__player")
    page.wait_for_load_state("networkidle")

    assert player_frames(page) == ["https://www.youtube-nocookie.com/embed/yt_video001"]
    assert watch.outside_hosts == {"www.youtube-nocookie.com"}
    # The browser connects to the player's host (the trap sees it; interception does not).
    assert set(leaked_connections(trap)) <= {"www.youtube-nocookie.com"}
    assert page.evaluate("document.activeElement.tagName") == "IFRAME"
    if name == "wordpress":  # the other copy of the fragment keeps its button
        assert page.locator(f"{card('yt_video001')} button").count() == 1


def test_a_click_on_a_facebook_item_loads_only_facebooks_player(site, open_page):
    page, watch = open_page(site["index"], 1280)

    page.locator(f"{card('1000000000000001')} button").click()
    page.wait_for_selector("iframe.showcase__player")

    (src,) = player_frames(page)
    assert src.startswith("https://www.facebook.com/plugins/video.php?href=")
    assert watch.outside_hosts == {"www.facebook.com"}


def test_the_keyboard_starts_a_player(site, open_page):
    page, watch = open_page(site["index"], 375)
    button = page.locator(f"{card('yt_video001')} button")

    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("iframe.showcase__player")

    assert watch.outside_hosts == {"www.youtube-nocookie.com"}


def test_a_video_that_cannot_be_embedded_opens_on_its_platform(site, open_page):
    page, watch = open_page(site["index"], 1280)

    with page.context.expect_page() as opened:
        page.locator(f"{card('yt_noembed1')} button").click()
    opened.value.wait_for_load_state()

    assert watch.outside == ["https://www.youtube.com/watch?v=yt_noembed1"]  # in a new window
    assert page.locator("iframe").count() == 0


def test_without_javascript_the_links_and_weitere_videos_still_work(site, open_page):
    page, watch = open_page(site["index"], 375, javascript=False)

    link = page.locator('.showcase__links a[data-id="yt_video001"]')
    assert link.get_attribute("href") == "https://www.youtube.com/watch?v=yt_video001"
    assert page.locator(f"{STORY_CARD} .showcase__links a").count() == 3
    items = page.locator(".showcase__item")
    assert items.count() == 30
    assert sum(items.nth(n).is_visible() for n in range(30)) == 24
    page.get_by_text("Weitere Videos").click()

    assert sum(items.nth(n).is_visible() for n in range(30)) == 30
    assert watch.outside == []


# --- the episode card ----------------------------------------------------------------------------

STORY_LAYOUT = """card => {
  const box = card.getBoundingClientRect();
  const links = Array.from(card.querySelectorAll('.showcase__links [data-source][data-id]'))
    .map(link => {
      const r = link.getBoundingClientRect();
      return {source: link.dataset.source, id: link.dataset.id, text: link.textContent,
              href: link.href, inside: r.left >= box.left - 1 && r.right <= box.right + 1,
              width: r.width, height: r.height};
    });
  return {links, overflow: card.scrollWidth - card.clientWidth,
          meta: card.querySelector('.showcase__meta').textContent,
          title: card.querySelector('.showcase__title').textContent};
}"""


def test_the_episode_card_links_every_item_inside_its_box(
    site, open_page, trap, width, screenshots
):
    page, watch = open_page(site["index"], width)
    story = page.locator(STORY_CARD)
    story.scroll_into_view_if_needed()

    layout = story.evaluate(STORY_LAYOUT)
    story.screenshot(path=str(screenshots / f"card-{width}.png"))

    assert [(link["source"], link["id"], link["text"]) for link in layout["links"]] == [
        ("youtube", STORY_LEAD, "Auf YouTube ansehen"),
        ("facebook", STORY_FACEBOOK, "Auf Facebook ansehen"),
        ("website", STORY_WEBSITE, "Interview lesen"),
    ]
    assert layout["links"][1]["href"].endswith(f"/videos/{STORY_FACEBOOK}/")
    assert all(link["inside"] and link["width"] > 0 for link in layout["links"]), layout
    assert layout["overflow"] <= 0
    assert "YouTube: 1.234 Aufrufe" in layout["meta"] and "Facebook: 567 Aufrufe" in layout["meta"]
    assert layout["title"] == "Flächenglühen: Porträt Nummer 1"
    assert story.locator("button").count() == 1  # one player for the three items
    assert watch.outside == []
    assert leaked_connections(trap) == []


def test_the_episode_cards_button_plays_its_lead_and_nothing_else(site, open_page, trap, width):
    page, watch = open_page(site["index"], width)
    assert watch.outside == []  # nothing before the click

    page.locator(f"{STORY_CARD} button").click()
    page.wait_for_selector(f"{STORY_CARD} iframe.showcase__player")
    page.wait_for_load_state("networkidle")

    assert player_frames(page) == [f"https://www.youtube-nocookie.com/embed/{STORY_LEAD}"]
    assert watch.outside_hosts == {"www.youtube-nocookie.com"}  # not Facebook's player
    assert set(leaked_connections(trap)) <= {"www.youtube-nocookie.com"}
    # The links to each platform stay beside the player.
    assert page.locator(f"{STORY_CARD} .showcase__links a").count() == 3


# --- layout --------------------------------------------------------------------------------------

OVERFLOW_SCRIPT = """() => {
  const page = document.documentElement.scrollWidth - window.innerWidth;
  const roots = Array.from(document.querySelectorAll('.showcase'))
    .map(root => root.scrollWidth - root.clientWidth);
  const items = Array.from(document.querySelectorAll('.showcase__item'))
    .filter(item => item.scrollWidth > item.clientWidth + 1).map(item => item.dataset.episode);
  return {page, roots, items};
}"""


@pytest.mark.parametrize("name", PAGES)
def test_nothing_overflows_sideways(site, open_page, name, width, screenshots):
    page, _ = open_page(site[name], width)
    scroll_through(page)

    overflow = page.evaluate(OVERFLOW_SCRIPT)
    page.screenshot(path=str(screenshots / f"{name}-{width}.png"), full_page=True)

    assert overflow["page"] <= 0, overflow
    assert all(excess <= 0 for excess in overflow["roots"]), overflow
    assert overflow["items"] == []


GRID_COLUMNS = """root => getComputedStyle(root.querySelector('.showcase__items'))
  .gridTemplateColumns.split(' ').length"""


@pytest.mark.parametrize(("width", "columns"), [(375, 1), (1280, 4)])
def test_one_column_on_a_phone_and_a_grid_on_a_desktop(site, open_page, width, columns):
    page, _ = open_page(site["index"], width)

    assert page.eval_on_selector(".showcase", GRID_COLUMNS) == columns


LAYOUT_SHIFT = """() => new Promise(resolve => {
  let total = 0;
  new PerformanceObserver(list => list.getEntries().forEach(e => { total += e.value; }))
    .observe({type: 'layout-shift', buffered: true});
  setTimeout(() => resolve(total), 300);
})"""


def test_thumbnails_load_without_shifting_the_layout(site, open_page, width):
    page, _ = open_page(site["index"], width)
    scroll_through(page)

    assert page.evaluate(LAYOUT_SHIFT) < 0.01
    (natural,) = page.eval_on_selector_all(
        f"{card('yt_video001')} img", "imgs => imgs.map(i => i.currentSrc)"
    )
    assert natural.endswith(".webp")


THEME_PROOF = """root => {
  const style = (selector, property) =>
    getComputedStyle(root.querySelector(selector)).getPropertyValue(property);
  return {
    root: style('.showcase__header', 'display') && getComputedStyle(root).display,
    imgBorder: style('.showcase__media img', 'border-top-width'),
    imgFloat: style('.showcase__media img', 'float'),
    buttonBackground: style('.showcase__play', 'background-color'),
    buttonTransform: style('.showcase__play', 'text-transform'),
    buttonPadding: style('.showcase__play', 'padding-top'),
    titleTransform: style('.showcase__title', 'text-transform'),
    boxSizing: style('.showcase__item', 'box-sizing'),
    linkColor: style('.showcase__links a', 'color'),
    mediaRatio: root.querySelector('.showcase__media').getBoundingClientRect().width /
                root.querySelector('.showcase__media').getBoundingClientRect().height,
  };
}"""


def test_the_hostile_theme_does_not_reach_into_the_showcase(site, open_page, width):
    page, _ = open_page(site["wordpress"], width)

    for proof in page.eval_on_selector_all(".showcase", f"roots => roots.map({THEME_PROOF})"):
        assert proof["root"] == "block"
        assert proof["imgBorder"] == "0px" and proof["imgFloat"] == "none"
        assert proof["buttonBackground"] == "rgba(0, 0, 0, 0)"
        assert proof["buttonTransform"] == proof["titleTransform"] == "none"
        assert proof["buttonPadding"] == "0px"
        assert proof["boxSizing"] == "border-box"
        assert proof["linkColor"] == "rgb(165, 55, 10)"
        assert abs(proof["mediaRatio"] - 16 / 9) < 0.02


def test_the_iframe_takes_the_height_of_its_content(site, open_page):
    page, watch = open_page(site["iframe"], 1280)
    page.wait_for_function(
        "document.querySelector('iframe.showcase-embed').getBoundingClientRect().height > 1000"
    )
    frame = page.frame_locator("iframe.showcase-embed")

    inner = frame.locator("html").evaluate("html => html.scrollHeight")
    outer = page.eval_on_selector("iframe.showcase-embed", "f => f.getBoundingClientRect().height")

    assert abs(inner - outer) <= 2
    assert watch.outside == []


# --- accessibility -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_serious_or_critical_violation(site, open_page, name, width):
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    page, watch = open_page(site[name], width)

    results = axe_module.Axe().run(page)

    serious = [
        (v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert watch.outside == []  # axe is injected as a script, never fetched


# --- the detectors themselves --------------------------------------------------------------------


def test_the_watch_sees_a_third_party_image_and_a_resource_hint(browser, tmp_path):
    (tmp_path / "canary.html").write_text(
        '<!doctype html><link rel="preconnect" href="https://i.ytimg.com">'
        '<img src="https://i.ytimg.com/vi/x/hqdefault.jpg" alt="">',
        encoding="utf-8",
    )
    context = browser.new_context()
    watch = Watch().attach(context)
    with serve_directory(tmp_path) as base:
        page = context.new_page()
        page.goto(f"{base}canary.html")
        page.wait_for_load_state("networkidle")
        hints = page.evaluate(RESOURCE_HINTS_SCRIPT)
    context.close()

    assert watch.outside == ["https://i.ytimg.com/vi/x/hqdefault.jpg"]
    assert hints == ["https://i.ytimg.com/"]


def test_the_trap_names_the_host_of_a_tls_connection(trap):
    tls = ssl.create_default_context()
    with (
        socket.create_connection(trap.server_address, timeout=3) as raw,
        pytest.raises((ssl.SSLError, OSError)),
        tls.wrap_socket(raw, server_hostname="www.youtube.com"),
    ):
        pass  # the trap reads the greeting, records the name, and hangs up

    assert "www.youtube.com" in trap.hosts
    assert leaked_connections(trap) == ["www.youtube.com"]


# === the phone, the figures and touch targets (issue 9, item 6) ==================================
# At 375 × 667 (a small phone's first screen) the figures take at most a third of the screen and
# the first card's picture shows whole without scrolling; at every width each link and button
# is at least 24 × 24 px (WCAG 2.2 SC 2.5.8, target size minimum).

PHONE_SCREEN = {"width": 375, "height": 667}
TARGET_MIN_PX = (
    24  # WCAG 2.2 SC 2.5.8: https://www.w3.org/WAI/WCAG22/Understanding/target-size-minimum
)


def crowded_figures() -> list[FigureView]:
    """Eight figures, as many as the demo shows, each carrying everything a figure can: long
    labels, a change since the start, a history (the sparkline) and the markers."""
    since = date(2017, 6, 27)
    history = tuple(
        (datetime(2017 + n, 6, 27, tzinfo=UTC), 1000 + n * 180 + (n % 3) * 40) for n in range(10)
    )
    labels = [
        ("youtube.subscribers", "YouTube-Abonnenten", 1310, {"rounded": True}),
        ("youtube.views", "YouTube-Aufrufe", 1_234_567, {}),
        ("youtube.videos", "YouTube-Videos", 140, {}),
        ("facebook.followers", "Facebook-Follower", 12_310, {"stale": True}),
        ("facebook.likes", "Facebook-„Gefällt mir“-Angaben", 11_280, {}),
        ("akteure.erreicht", "erreichte AkteurInnen", 3000, {"manual": True}),
        ("beratungsstellen", "Beratungsstellen", 13, {"manual": True}),
        ("facebook_group.members", "Mitglieder der Facebook-Gruppe", 450, {"manual": True}),
    ]
    return [
        FigureView(
            key=key,
            source=key.split(".")[0],
            label=label,
            value=value,
            as_of=datetime(2026, 12, 1, 15, 47, tzinfo=UTC),
            stale=flags.get("stale", False),
            rounded=flags.get("rounded", False),
            manual=flags.get("manual", False),
            since=since,
            change_since=-312 if flags.get("stale") else 312_345,
            history=history,
        )
        for key, label, value, flags in labels
    ]


@pytest.fixture(scope="module")
def phone_pages(tmp_path_factory) -> Iterator[dict[str, str]]:
    """The demo as `showcase demo` writes it, and a page with the demo's intro and eight
    crowded figures, a privacy statement link (a link inside a sentence) and thumbnails."""
    root = tmp_path_factory.mktemp("phone")
    demo_page = run_demo(root / "demo")
    intro = demo_config_dict("http://127.0.0.1/")["showcase"]["intro"]
    with serve_directory(root) as base:
        output = root / "crowded"
        items = [thumbnail(output, item, n) for n, item in enumerate(site_items())]
        showcase = replace(
            golden_showcase(),
            intro=intro,
            figures=crowded_figures(),
            episodes=singles(items),
            privacy_url=f"{base}datenschutz.html",
        )
        render_showcase(showcase, output)
        demo = demo_page.relative_to(root).as_posix()
        yield {"demo": f"{base}{demo}", "crowded": f"{base}crowded/index.html"}


@pytest.fixture
def open_phone(browser):
    """open_phone(url, viewport) -> page: a German browser at that size; nothing leaves loopback."""
    contexts = []

    def open_(url: str, viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport, locale="de-DE")
        contexts.append(context)
        Watch().attach(context)
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        return page

    yield open_
    for context in contexts:
        context.close()


FIRST_PICTURE = """() => {
  const img = document.querySelector('.showcase__item .showcase__media img');
  const box = img.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, loaded: img.complete && img.naturalWidth > 0,
          lazy: img.loading};
}"""


@pytest.mark.parametrize("name", ["demo", "crowded"])
def test_on_a_phone_the_figures_take_a_third_of_the_screen_and_the_first_picture_shows(
    phone_pages, open_phone, name, screenshots
):
    page = open_phone(phone_pages[name], PHONE_SCREEN)
    page.screenshot(path=str(screenshots / f"phone-{name}-375x667.png"))

    figures = page.locator(".showcase__figures").bounding_box()
    picture = page.evaluate(FIRST_PICTURE)

    assert figures["height"] <= PHONE_SCREEN["height"] / 3, figures
    assert picture["top"] >= 0 and picture["bottom"] <= PHONE_SCREEN["height"], picture
    assert picture["loaded"] and picture["lazy"] == "auto"  # the first picture is not lazy


FIGURE_BOXES = """() => Array.from(document.querySelectorAll('.showcase__figure')).map(f => {
  const box = f.getBoundingClientRect();
  return {key: f.dataset.key, left: Math.round(box.left), top: Math.round(box.top),
          text: f.innerText};
})"""


def test_on_a_phone_every_figure_is_a_swipe_or_an_arrow_key_away(phone_pages, open_phone):
    page = open_phone(phone_pages["crowded"], PHONE_SCREEN)
    row = page.locator(".showcase__figures")

    figures = page.evaluate(FIGURE_BOXES)
    assert len({figure["top"] for figure in figures}) == 1  # one row
    assert row.evaluate("row => row.scrollWidth > row.clientWidth")
    for figure in figures:  # each keeps its label, date, change and markers (the contract)
        assert "Stand: 01.12.2026" in figure["text"]
        assert "seit 27.06.2017" in figure["text"]
    assert "gerundet" in figures[0]["text"] and "von Hand eingetragen" in figures[-1]["text"]
    assert page.locator(".showcase__figure svg.showcase__sparkline").count() == 8

    row.focus()  # the row takes the focus, so the arrow keys scroll it
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.showcase__figures').scrollLeft > 0")
    page.locator(".showcase__figure").last.scroll_into_view_if_needed()
    last = page.locator(".showcase__figure").last.bounding_box()
    assert last["x"] + last["width"] <= PHONE_SCREEN["width"]


def test_on_a_desktop_the_figures_are_a_tidy_grid_of_two_rows_of_four(phone_pages, open_phone):
    page = open_phone(phone_pages["crowded"], {"width": 1280, "height": 900})

    figures = page.evaluate(FIGURE_BOXES)

    tops = sorted({figure["top"] for figure in figures})
    lefts = sorted({figure["left"] for figure in figures})
    assert len(tops) == 2 and len(lefts) == 4
    assert page.locator(".showcase__figures").evaluate("r => r.scrollWidth <= r.clientWidth")


SMALL_TARGETS = """min => Array.from(document.querySelectorAll(
    '.showcase a, .showcase button, .showcase summary'))
  .map(e => ({e, box: e.getBoundingClientRect()}))
  .filter(({box}) => box.width > 0 && box.height > 0)  // in a closed <details>: not shown
  .filter(({box}) => box.width < min || box.height < min)
  .map(({e, box}) => `${e.tagName} "${e.textContent.trim().slice(0, 40)}" ` +
       `${box.width.toFixed(1)}×${box.height.toFixed(1)}`)"""


@pytest.mark.parametrize("name", ["demo", "crowded", "wordpress"])
def test_every_link_and_button_is_at_least_24_px_wcag_2_2_sc_2_5_8(
    site, phone_pages, open_phone, name, width
):
    """WCAG 2.2 SC 2.5.8 Target Size (Minimum): at least 24 by 24 CSS pixels. Real size, not
    the spacing exception: every link and button, the "Datenschutz" badge on the player and
    the link inside the privacy sentence included; in the hostile theme too."""
    url = site["wordpress"] if name == "wordpress" else phone_pages[name]
    page = open_phone(url, {"width": width, "height": 900})
    if name == "crowded":
        assert page.locator(".showcase__privacy a").count() == 1
    assert page.locator(".showcase__privacy-link").count() > 0

    assert page.evaluate(SMALL_TARGETS, TARGET_MIN_PX) == []
