"""Embedding that cannot break silently: the base_url warning, `[output] publish_command`, and
the three ways onto a host page tried for real.

- `render`/`update` and `status` say when fragment.html carries relative links (no
  `output.base_url`): relative paths resolve against the host page's address, so thumbnails and
  the privacy link break there (WHATWG URL standard: a relative URL is parsed against the
  document's base URL, https://url.spec.whatwg.org/#concept-base-url).
- `publish_command` runs after each render, without a shell, quiet unless it fails.
- (a) WordPress on the same host: the showcase-embed plugin's `[showcase]` shortcode in a real
  WordPress (tests/wordpress/setup.sh, which installs the plugin and seeds /videoreihe/), in
  Chromium at 375 and 1280 px. (b) another host: publish_command copying the folder. (c) no
  PHP access: the README's iframe lines in a WordPress page, embed.html from another origin.

The WordPress tests skip without $SHOWCASE_WORDPRESS_URL and $SHOWCASE_WORDPRESS_SHOWCASE_DIR
(fail with SHOWCASE_REQUIRE_WORDPRESS=1), the browser ones without Chromium (fail with
SHOWCASE_REQUIRE_BROWSER=1), as the existing ones do.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from browser_support import RESOURCE_HINTS_SCRIPT, is_loopback, scroll_through
from conftest import ACCESS_TOKEN, API_KEY
from test_browser import (  # noqa: F401 (fixtures, asked for with request.getfixturevalue)
    OVERFLOW_SCRIPT,
    WIDTHS,
    browser,
    leaked_connections,
    open_page,
    screenshots,
    site_episodes,
    site_items,
    thumbnail,
    trap,
)
from test_cli import one_line, run
from test_render import golden_showcase

from aggregator import publish
from aggregator.cli import main
from aggregator.config import load_config
from aggregator.render import render_showcase

REQUIRE_WORDPRESS = os.environ.get("SHOWCASE_REQUIRE_WORDPRESS") == "1"
WARNING = "output.base_url is not set"


def write_render_config(folder: Path, output: str = "") -> Path:
    """A config with no source: `render` draws the (empty) showcase from an empty database."""
    path = folder / "showcase.toml"
    path.write_text(
        f'[output]\ndirectory = "public"\n{output}\n[showcase]\nhashtags = ["flächenglühen"]\n',
        encoding="utf-8",
    )
    return path


def render(config: Path, *args: str) -> int:
    return main(["--config", str(config), "render", *args])


def without_base_url(site) -> None:
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(text.replace('base_url = "https://www.example.org/showcase/"\n', ""))


# --- the base_url warning --------------------------------------------------------------------


def test_update_without_base_url_is_quiet_under_cron(site, capsys):
    """Not a terminal (cron, systemd): nothing, not even on the first run (the contract: what
    schedulers run prints nothing on success); `status` carries the warning."""
    without_base_url(site)
    assert run(site, "update") == 0
    assert 'src="thumbs/' in site.read("fragment.html")  # what the warning is about
    assert run(site, "render") == 0
    assert capsys.readouterr().err == ""
    assert main(["--config", str(site.config), "status"]) == 0
    assert WARNING in capsys.readouterr().out


def test_update_without_base_url_on_a_terminal_names_the_fragment(site, capsys, monkeypatch):
    without_base_url(site)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert run(site, "update") == 0
    # The last line, after the terminal's progress (each cleared with ESC [K).
    line = capsys.readouterr().err.splitlines()[-1].replace("\x1b[K", "")
    assert line.startswith(f"showcase: warning: {WARNING}: ")
    assert str(site.output / "fragment.html") in line and "base_url" in line


def test_on_a_terminal_every_render_warns(tmp_path, capsys, monkeypatch):
    config = write_render_config(tmp_path)
    assert render(config) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert render(config) == 0
    assert WARNING in one_line(capsys.readouterr().err)


def test_with_base_url_render_is_quiet_and_the_fragment_absolute(tmp_path, capsys, monkeypatch):
    config = write_render_config(tmp_path, 'base_url = "https://www.example.org/showcase/"')
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert render(config) == 0
    assert capsys.readouterr().err == ""
    assert (tmp_path / "public" / "fragment.html").is_file()


def test_fetch_alone_renders_nothing_and_warns_of_nothing(site, capsys):
    without_base_url(site)
    assert run(site, "fetch", "youtube") == 0
    assert capsys.readouterr().err == ""


def test_status_shows_the_warning_and_stays_healthy(site, capsys):
    """A site serving only index.html is fine without base_url: status says it, exit 0."""
    without_base_url(site)
    assert run(site, "update") == 0
    capsys.readouterr()
    assert run(site, "status") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "healthy"
    assert lines[-2].startswith(f"warning: {WARNING}: ")

    assert run(site, "status", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["healthy"] is True
    assert [w["cause"] for w in document["warnings"]] == ["base_url"]
    assert WARNING in document["warnings"][0]["message"]


def test_status_with_base_url_has_no_warning(site, capsys):
    assert run(site, "update") == 0
    capsys.readouterr()
    assert run(site, "status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


# --- publish_command -------------------------------------------------------------------------


def publish_config(folder: Path, command: str) -> Path:
    return write_render_config(
        folder, f'base_url = "https://www.example.org/showcase/"\npublish_command = {command}'
    )


def test_publish_copies_the_rendered_folder_quietly(tmp_path, capsys):
    """From the config's folder (relative paths as in the config); the command's own output
    (here an echo) is not passed on: cron mail stays empty."""
    config = publish_config(tmp_path, """["sh", "-c", "cp -R public/. mirror && echo copied"]""")
    assert render(config) == 0
    assert capsys.readouterr().err == ""
    for name in ("index.html", "fragment.html", "feed.json"):
        assert (tmp_path / "mirror" / name).read_bytes() == (
            tmp_path / "public" / name
        ).read_bytes()


@pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed")
def test_publish_with_the_readmes_rsync_line(tmp_path, capsys):
    target = tmp_path / "www" / "showcase"
    target.mkdir(parents=True)
    (target / "left-over.html").write_text("old")
    config = publish_config(
        tmp_path, f'"rsync -aL --delete --delay-updates --exclude=/.generations public/ {target}/"'
    )
    assert render(config) == 0
    assert capsys.readouterr().err == ""
    assert (target / "fragment.html").is_file() and not (target / "left-over.html").exists()
    assert not (target / "fragment.html").is_symlink() and not (target / ".generations").exists()


def test_a_failing_publish_is_one_line_exit_1_and_the_render_stays(tmp_path, capsys):
    command = """'sh -c "echo rsync: connection refused >&2; exit 23"'"""
    config = publish_config(tmp_path, command)
    assert render(config) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("showcase: publish: `sh -c")
    assert "exited with status 23: rsync: connection refused" in line
    assert f"the rendered files in {tmp_path / 'public'} are kept" in line
    assert (tmp_path / "public" / "fragment.html").is_file()


def test_a_failing_publish_after_update_still_reports_the_fetch(site, capsys):
    from aggregator.fakeapi import graph_error

    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(text.replace("[showcase]", 'publish_command = ["false"]\n[showcase]', 1))
    site.server.inject("graph.page", body=graph_error(190, 463))
    assert run(site, "update") == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("showcase: facebook: token")
    assert lines[1].startswith("showcase: publish: `false` exited with status 1")
    assert 'data-source="youtube"' in site.read("index.html")


def test_update_gives_the_command_only_what_is_left_of_two_minutes(site, monkeypatch):
    """The contract: `update` gives up within two minutes, its publish command included."""
    from aggregator import jobs
    from aggregator.retry import RetryPolicy

    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(text.replace("[showcase]", 'publish_command = ["true"]\n[showcase]', 1))
    now = [0.0]
    given: list[tuple[float, float]] = []
    monkeypatch.setattr(jobs, "publish", lambda config, timeout: given.append((timeout, now[0])))

    def clock() -> float:
        now[0] += 1.5  # every look at the clock, a second and a half more has passed
        return now[0]

    policy = RetryPolicy(sleep=lambda s: None, timeout=1.0, clock=clock)
    jobs.update(load_config(site.config), policy=policy)
    ((timeout, at),) = given
    assert 60.0 < at < 120.0  # the run took a while, but less than two minutes
    assert timeout < publish.TIMEOUT_SECONDS
    # It ends when the two minutes since the run began (one tick in) do.
    assert at + timeout == pytest.approx(1.5 + 120.0)


def test_a_missing_program_is_named(tmp_path, capsys):
    config = publish_config(tmp_path, '"no-such-publisher --now"')
    assert render(config) == 1
    assert "publish: no-such-publisher: command not found" in one_line(capsys.readouterr().err)


def test_no_shell_reads_the_command(tmp_path):
    """One word with a `;` in it stays one argument: no second command runs."""
    config = publish_config(tmp_path, """"touch 'made; touch injected' $HOME" """)
    assert render(config) == 0
    assert (tmp_path / "made; touch injected").is_file()
    assert (tmp_path / "$HOME").is_file()
    assert not (tmp_path / "injected").exists()


def test_the_command_gets_no_secret_but_the_output_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", API_KEY)
    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("SHOWCASE_KEEPS_THIS", "yes")
    config = publish_config(tmp_path, """["sh", "-c", "env > seen.env"]""")
    config.write_text(config.read_text() + '[youtube]\nchannel = "@x"\n[facebook]\npage = "x"\n')
    assert render(config) == 0
    seen = (tmp_path / "seen.env").read_text()
    assert API_KEY not in seen and ACCESS_TOKEN not in seen
    assert "SHOWCASE_KEEPS_THIS=yes" in seen
    assert f"SHOWCASE_OUTPUT={tmp_path / 'public'}\n" in seen


def test_a_hanging_command_is_stopped_with_its_children(tmp_path):
    """rsync over ssh that hangs: the command and what it started are killed at the timeout."""
    config = load_config(
        publish_config(tmp_path, """["sh", "-c", "sleep 30 & echo $! > child.pid; wait"]""")
    )
    started = time.monotonic()
    with pytest.raises(publish.PublishError, match=r"did not finish within 0\.5s and was stopped"):
        publish.publish(config, timeout=0.5)
    assert time.monotonic() - started < 5
    child = int((tmp_path / "child.pid").read_text())
    assert not alive(child)


def alive(pid: int) -> bool:
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
        except (FileNotFoundError, IndexError):
            return False
        if state == "Z":
            return False
        time.sleep(0.1)
    return True


# --- (a) and (c) in a real WordPress ---------------------------------------------------------


def wordpress() -> tuple[str, Path]:
    url = os.environ.get("SHOWCASE_WORDPRESS_URL")
    folder = os.environ.get("SHOWCASE_WORDPRESS_SHOWCASE_DIR")
    if not url or not folder:
        reason = (
            "no real WordPress with the showcase-embed plugin: $SHOWCASE_WORDPRESS_URL or "
            "$SHOWCASE_WORDPRESS_SHOWCASE_DIR is not set (tests/wordpress/setup.sh start)"
        )
        if REQUIRE_WORDPRESS:
            pytest.fail(f"{reason}, and SHOWCASE_REQUIRE_WORDPRESS=1 asks for these tests")
        pytest.skip(reason)
    return url.rstrip("/"), Path(folder)


@pytest.fixture(scope="module")
def wordpress_items():
    """The browser tests' 32 items in 30 cards (two groups, hostile titles, one card of three
    items), their thumbnails copied into
    the folder WordPress serves at /showcase/, as `showcase update` leaves them."""
    _, folder = wordpress()
    return [thumbnail(folder, item, n) for n, item in enumerate(site_items())]


@pytest.fixture
def rendered(wordpress_items):
    """render(base_url=True): fragment.html in WordPress's /showcase/ folder; returns the page
    URL, the base URL, and the number of items."""
    url, folder = wordpress()

    def render_into_wordpress(with_base_url: bool = True) -> tuple[str, str]:
        base = f"{url}/showcase/"
        showcase = replace(
            golden_showcase(),
            episodes=site_episodes(wordpress_items),
            base_url=base if with_base_url else None,
        )
        render_showcase(showcase, folder)
        return f"{url}/videoreihe/", base

    yield render_into_wordpress
    render_into_wordpress()


def chromium_fixtures(request) -> tuple[Any, Any, Path]:
    """test_browser's open_page, trap and screenshots (by name: the names stay theirs)."""
    return tuple(request.getfixturevalue(name) for name in ("open_page", "trap", "screenshots"))


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_the_shortcode_puts_the_showcase_into_the_wordpress_page(
    rendered, wordpress_items, request, width
):
    page_url, base = rendered()
    opener, connections, shots = chromium_fixtures(request)
    page, watch = opener(page_url, width)
    scroll_through(page)

    inside = page.evaluate(INSIDE_THE_PAGE)
    assert inside["roots"] == 1 and inside["inEntryContent"] == 1
    assert inside["items"] == len(wordpress_items)  # each item's element, inside its card
    assert inside["cards"] == len(site_episodes(wordpress_items))
    assert inside["before"] and inside["after"]  # the page's own paragraphs around it
    images = page.eval_on_selector_all(".showcase img", LOADED_IMAGES)
    loaded = [image for image in images if image["complete"] and image["src"]]
    assert len(loaded) >= 24  # the first group; "Weitere Videos" keeps the rest closed
    assert all(image["src"].startswith(base + "thumbs/") for image in loaded), loaded[:3]
    assert all(image["width"] > 0 for image in loaded)
    # WordPress's emoji script would swap the titles' emoji for images from s.w.org: the
    # plugin leaves it out of pages holding [showcase] (without that, this fails).
    assert watch.outside == []
    assert page_connections(connections) == [], connections.hosts
    assert [hint for hint in page.evaluate(RESOURCE_HINTS_SCRIPT) if not is_loopback(hint)] == []
    overflow = page.evaluate(OVERFLOW_SCRIPT)
    page.screenshot(path=str(shots / f"wordpress-shortcode-{width}.png"), full_page=True)
    assert overflow["page"] <= 0, overflow
    assert all(excess <= 0 for excess in overflow["roots"]), overflow
    assert overflow["items"] == []


def page_connections(connections: Any) -> list[str]:
    """The trap's Google and Meta hosts, Chromium's own updater left out (test_browser)."""
    return leaked_connections(connections)


INSIDE_THE_PAGE = """() => {
  const content = document.querySelector('.entry-content');
  const paragraphs = Array.from(content.querySelectorAll(':scope > p')).map(p => p.textContent);
  return {
    roots: document.querySelectorAll('.showcase').length,
    inEntryContent: content.querySelectorAll('.showcase').length,
    items: content.querySelectorAll('.showcase [data-episode] [data-source][data-id]').length,
    cards: content.querySelectorAll('.showcase [data-episode]').length,
    before: paragraphs.includes('Ein Absatz des Themes davor.'),
    after: paragraphs.includes('Und einer danach.'),
  };
}"""

LOADED_IMAGES = """images => images
  .filter(img => img.closest('details:not([open])') === null)
  .map(img => ({src: img.currentSrc, complete: img.complete, width: img.naturalWidth}))"""


def test_a_missing_fragment_leaves_the_page_and_says_why(rendered):
    page_url, _ = rendered()
    _, folder = wordpress()
    fragment = folder / "fragment.html"
    fragment.rename(folder / "fragment.html.away")
    try:
        html = requests.get(page_url, timeout=30).text
    finally:
        (folder / "fragment.html.away").rename(fragment)
    assert "<!-- showcase: fragment.html cannot be read or is empty" in html
    assert 'class="showcase"' not in html and "Ein Absatz des Themes davor." in html
    assert str(folder) not in html  # visitors are not told the server's paths


def test_a_fragment_without_base_url_is_flagged_in_the_page(rendered):
    page_url, _ = rendered(with_base_url=False)
    html = requests.get(page_url, timeout=30).text
    assert "<!-- showcase: fragment.html was rendered without output.base_url" in html
    assert 'class="showcase"' in html  # the cards still show; only their images break

    rendered(with_base_url=True)
    assert "<!-- showcase:" not in requests.get(page_url, timeout=30).text


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_the_iframe_in_a_wordpress_page_grows_to_its_content(rendered, request, width):
    """No PHP access: the README's iframe lines in a Custom HTML block; embed.html comes from
    another origin (the same folder on WordPress's second port), as from another host."""
    page_url, _ = rendered()
    opener, _, _ = chromium_fixtures(request)
    page, watch = opener(page_url.replace("/videoreihe/", "/videoreihe-iframe/"), width)
    frame = page.wait_for_selector("iframe.showcase-embed")
    page.wait_for_function(GROWN, timeout=15000)

    inner = frame.content_frame().evaluate("document.documentElement.scrollHeight")
    outer = frame.evaluate("f => f.getBoundingClientRect().height")
    origins = page.evaluate(
        "[location.origin, new URL(document.querySelector('iframe').src).origin]"
    )

    assert origins[0] != origins[1]
    assert abs(inner - outer) <= 2 and outer != 1200
    assert watch.outside == []


GROWN = """() => {
  const frame = document.querySelector('iframe.showcase-embed');
  return frame.style.height !== '1200px' && frame.getBoundingClientRect().height > 300;
}"""
