"""The staff interface in a real browser: Debian's Chromium under Playwright (see
tests/browser_support.py), against uvicorn serving `create_app` on 127.0.0.1 in a thread, for
a site fetched from the fake API (tests/conftest.py make_site).

A staff member logs in, hides a card and sees it gone from index.html and fragment.html, pins
one, enters a figure; a second browser context, never logged in, can do none of it, not even
with the first one's CSRF token. Every staff screen is axe-clean (no serious or critical
violation) and has no sideways overflow at 375 and 1280 px. With $SHOWCASE_STAFF_SCREENSHOTS
set (docs/ for the README), the screens are photographed there as staff-SCREEN-WIDTH.png.

Without Chromium or Playwright these tests are skipped (failed under SHOWCASE_REQUIRE_BROWSER=1,
as in tests/test_browser.py).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import browser, trap  # noqa: F401 (fixtures)
from test_web import NAME, PASSWORD, curated, staff_site  # noqa: F401 (staff_site: a fixture)

from aggregator.cli_serve import bind_socket
from aggregator.web import create_app

STARTUP_SECONDS = 20
SCREENS = {
    "showcase": "/",
    "kennzahlen": "/kennzahlen",
    "quellen": "/quellen",
    "vorschau": "/vorschau",
    "aenderungen": "/aenderungen",
}
OVERFLOW_SCRIPT = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# What sticks out, to name in a failure: elements whose right edge passes the viewport's.
WIDE_SCRIPT = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"""


@pytest.fixture
def staff_server(staff_site) -> Iterator[str]:  # noqa: F811
    """uvicorn with the staff app on 127.0.0.1:PORT in a thread; yields its base URL."""
    import uvicorn

    listening = bind_socket("127.0.0.1", 0)
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(staff_site.loaded), log_config=None, proxy_headers=False, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    listening.close()


@pytest.fixture
def new_page(browser) -> Iterator[Any]:  # noqa: F811
    contexts = []

    def open_(width: int = 1280) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/anmelden")
    page.get_by_label("Name").fill(NAME)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    page.wait_for_url(f"{base}/")


def flash(page: Any) -> str:
    return page.locator("p.flash").inner_text()


def shown_ids(site, name: str) -> set[str]:
    return set(re.findall(r'data-id="([^"]+)"', site.read(name)))


def first_episode(site) -> str:
    return re.search(r'data-episode="([^"]+)"', site.read("index.html")).group(1)


def card(page: Any, episode: str) -> Any:
    return page.locator(f'li.card[data-episode="{episode}"]')


def test_staff_hide_pin_and_enter_a_figure_and_a_stranger_can_do_none_of_it(
    staff_site,  # noqa: F811
    staff_server,
    new_page,
):
    page = new_page()
    log_in(page, staff_server)
    episodes = re.findall(r'data-episode="([^"]+)"', staff_site.read("index.html"))
    hidden, pinned = episodes[0], episodes[-1]
    hidden_id = hidden.split(":", 1)[1]

    card(page, hidden).get_by_role("button", name="Ausblenden", exact=True).click()
    assert re.fullmatch(r"Gespeichert, Seite neu erstellt \d\d:\d\d\.", flash(page))
    assert hidden_id not in shown_ids(staff_site, "index.html")
    assert hidden_id not in shown_ids(staff_site, "fragment.html")
    assert card(page, hidden).count() == 0
    assert page.locator(f'li[data-item="{hidden}"]').count() == 1  # under "Ausgeblendet"

    card(page, pinned).get_by_role("button", name="Anheften", exact=True).click()
    assert flash(page).startswith("Gespeichert")
    assert first_episode(staff_site) == pinned
    assert card(page, pinned).get_by_role("button", name="Lösen", exact=True).count() == 1

    page.goto(f"{staff_server}/kennzahlen")
    page.get_by_label("Schlüssel").fill("facebook_group.members")
    page.get_by_label("Bezeichnung").fill("Mitglieder der Facebook-Gruppe")
    page.get_by_label("Wert").fill("1.310")
    page.get_by_role("button", name="Speichern", exact=True).click()
    assert flash(page).startswith("Gespeichert")
    assert "Mitglieder der Facebook-Gruppe" in staff_site.read("index.html")
    assert page.locator('tr[data-key="facebook_group.members"]').count() == 1

    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    marks_before = curated(staff_site)
    index_before = staff_site.read("index.html")
    stranger = new_page()
    stranger.goto(f"{staff_server}/")
    assert stranger.url == f"{staff_server}/anmelden"
    other = episodes[1]
    for path, form in (
        ("/kuratieren", {"command": "unhide", "item": hidden}),
        ("/kuratieren", {"command": "hide", "item": other}),
        ("/kuratieren", {"command": "unpin", "item": pinned}),
        ("/kennzahl", {"key": "facebook_group.members", "value": "99"}),
        ("/kennzahl/entfernen", {"key": "facebook_group.members"}),
        ("/aktualisieren", {}),
    ):
        answer = stranger.request.post(f"{staff_server}{path}", form={**form, "csrf": token})
        assert answer.url == f"{staff_server}/anmelden", path  # sent to log in, nothing done
    assert curated(staff_site) == marks_before
    assert staff_site.read("index.html") == index_before


@pytest.mark.parametrize("width", (375, 1280))
def test_every_staff_screen_is_axe_clean_and_fits_the_width(
    staff_server, new_page, width, tmp_path
):
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    folder = Path(os.environ.get("SHOWCASE_STAFF_SCREENSHOTS") or tmp_path)
    page = new_page(width)
    page.goto(f"{staff_server}/anmelden")
    screens = {"anmelden": page}
    problems = check_screen(axe_module, page, "anmelden", width, folder)
    log_in(page, staff_server)
    make_changes(page, staff_server)  # so the audit log and the messages have something to show
    for name, path in SCREENS.items():
        page.goto(f"{staff_server}{path}")
        page.wait_for_load_state("networkidle")
        screens[name] = page
        problems += check_screen(axe_module, page, name, width, folder)
    assert problems == []


def make_changes(page: Any, base: str) -> None:
    page.locator("li.card").last.get_by_role("button", name="Anheften", exact=True).click()
    page.goto(f"{base}/kennzahlen")
    page.get_by_label("Schlüssel").fill("facebook_group.members")
    page.get_by_label("Wert").fill("1.310")
    page.get_by_role("button", name="Speichern", exact=True).click()


def check_screen(axe_module: Any, page: Any, name: str, width: int, folder: Path) -> list[Any]:
    results = axe_module.Axe().run(page)
    serious = [
        (name, v["id"], [node["target"] for node in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    overflow = page.evaluate(OVERFLOW_SCRIPT)
    if overflow > 0:
        serious.append((name, "overflow", overflow, page.evaluate(WIDE_SCRIPT)))
    page.screenshot(path=str(folder / f"staff-{name}-{width}.png"))
    return serious
