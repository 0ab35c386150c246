"""Issue 11, item 2: concurrency. Real `showcase` processes against the fake API, at once.

An `update` is held in the middle of its fetch by the fake server's `delay` injection (a slow
answer, as any API gives on a bad day; the fake only waits before its normal answer), while
other commands run beside it. After each scenario the database passes `PRAGMA
integrity_check` and `foreign_key_check`, and the outputs parse.

The database is named through `database_url` alone, so these tests can later run over
PostgreSQL as well as SQLite.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from test_cli import run, shown_ids
from test_scheduler import set_intervals, wait_for

from aggregator import jobs
from aggregator.config import load_config

ROOT = Path(__file__).resolve().parents[1]
HOLD_SECONDS = 6.0  # how long the fake API holds the running update's Facebook page request
STALE_WAIT_SECONDS = 3.0  # far longer than an in-process pin and render take
MAX_ROUNDS = 2  # of readers beside one held update: enough to overlap, few for CI
STAFF_NAME = "redaktion"
STAFF_PASSWORD = "ein-langes-passwort-42"
FIGURE_KEY = "facebook_group.members"


def database_url(site) -> str:
    """The one place the tests name the database (PostgreSQL later: parametrize here)."""
    return load_config(site.config).database_url


def environment() -> dict[str, str]:
    env = dict(os.environ, YOUTUBE_API_KEY=API_KEY, FACEBOOK_ACCESS_TOKEN=ACCESS_TOKEN)
    env.pop("JOURNAL_STREAM", None)
    return env


def start(site, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "aggregator", "--config", str(site.config), *args]
    return subprocess.Popen(
        command,
        env=environment(),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def showcase(site, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    process = start(site, *args)
    out, err = process.communicate(stdin, timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def assert_clean(done: subprocess.CompletedProcess[str], *codes: int) -> None:
    """Exits as documented, and says nothing of locks, tracebacks or errors on stderr."""
    what = " ".join(done.args[4:])
    assert done.returncode in (codes or (0,)), f"{what}: {done.returncode}: {done.stderr}"
    assert "locked" not in done.stderr.lower(), f"{what}: {done.stderr}"
    assert "Traceback" not in done.stderr, f"{what}: {done.stderr}"
    assert "error" not in done.stderr.lower(), f"{what}: {done.stderr}"


def hold_the_update(site) -> subprocess.Popen[str]:
    """Start `update` and return once it waits for the (slowed) Facebook page answer."""
    site.server.inject("graph.page", status=200, delay=HOLD_SECONDS)
    before = site.server.stats.by_route.get("graph.page", 0)
    update = start(site, "update")
    wait_for(lambda: site.server.stats.by_route.get("graph.page", 0) > before, 30)
    return update


def check_database(site) -> None:
    engine = create_engine(database_url(site))
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
    finally:
        engine.dispose()


def check_outputs(site) -> None:
    for name in ("figures.json", "feed.json"):
        json.loads(site.read(name))
    for name in ("index.html", "fragment.html"):
        parser = HTMLParser()
        parser.feed(site.read(name))
        parser.close()
    assert site.read("index.html").rstrip().endswith("</html>")


def query(site, sql: str, **params: str) -> list[tuple]:
    engine = create_engine(database_url(site))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def fetch_runs(site, source: str) -> list[str]:
    """The source's run outcomes, oldest first, on either database (nothing while the
    schema is still being made)."""
    try:
        rows = query(site, "select outcome from fetch_runs where source = :s order by id", s=source)
    except SQLAlchemyError:  # the child process is still creating the schema
        return []
    return [outcome for (outcome,) in rows]


def curation_marks(site) -> dict[str, tuple[bool, bool]]:
    """Each curated item: (pinned, hidden), read straight from the database."""
    sql = "select source, platform_id, pinned_at, hidden_at from curation"
    return {f"{s}:{i}": (p is not None, h is not None) for s, i, p, h in query(site, sql)}


def pinned_first(site) -> str:
    match = re.search(r'data-source="(\w+)" data-id="([^"]+)"', site.read("index.html"))
    assert match
    return f"{match.group(1)}:{match.group(2)}"


def manual_figure(site) -> dict | None:
    found = json.loads(site.read("figures.json"))["figures"]
    return next((figure for figure in found if figure["key"] == FIGURE_KEY), None)


@pytest.mark.databases
@pytest.mark.fault(
    "two `update`s started at once on one database",
    "the first runs; the second exits at once, silent for cron, one line with --verbose",
    "0 and 75",
    "the database and the page of the first run",
)
def test_two_updates_at_once_one_runs_the_other_exits_75_in_one_line(site):
    """The slow answer is the fake's `delay` injection (status 200, the normal body late)."""
    update = hold_the_update(site)
    started = time.monotonic()
    second = showcase(site, "update")
    told = showcase(site, "--verbose", "update")
    waited = time.monotonic() - started
    _, err = update.communicate(timeout=120)
    assert update.returncode == 0, err
    assert (second.returncode, second.stdout, second.stderr) == (75, "", "")  # cron mails nothing
    assert told.returncode == 75, told.stderr
    assert waited < HOLD_SECONDS, "the second update waited for the first"
    lines = told.stderr.strip().splitlines()
    assert len(lines) == 1 and "another update or fetch is running" in lines[0], told.stderr
    assert "database is locked" not in told.stderr and "Traceback" not in told.stderr
    check_database(site)
    check_outputs(site)


def staff_login(url: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(url + "anmelden", timeout=10) as answer:
        form = answer.read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    data = urllib.parse.urlencode(
        {"name": STAFF_NAME, "password": STAFF_PASSWORD, "csrf": token.group(1)}
    ).encode()
    with opener.open(url + "anmelden", data=data, timeout=10) as answer:
        assert answer.status == 200
    return opener


def first_url(process: subprocess.Popen[str]) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    assert found and found[0], "serve printed no URL"
    url = next(word for word in found[0].split() if word.startswith("http://"))
    return url if url.endswith("/") else url + "/"


def get(opener: urllib.request.OpenerDirector, url: str) -> bytes:
    with opener.open(url, timeout=10) as answer:
        assert answer.status == 200, url
        return answer.read()


@pytest.mark.databases
@pytest.mark.fault(
    "`update` held mid-fetch while `render`, `status`, `report`, pin/hide/unhide, `figures set` "
    "and `serve` (preview and staff pages) run beside it",
    "each reader and staff command exits as documented with no error line; the update's own "
    "render keeps every staff write",
    "0",
    "every pin, hide and figure made during the update, in the database and on the page",
)
def test_update_beside_readers_staff_commands_and_serve_loses_nothing(site):
    """Held by the fake's `delay` injection; the staff web pages are read through a login."""
    site.config.write_text(site.config.read_text() + "\n[staff]\nsession_hours = 8\n")
    assert_clean(showcase(site, "update"))
    assert_clean(showcase(site, "staff", "add", STAFF_NAME, stdin=STAFF_PASSWORD + "\n"))
    ids = sorted(shown_ids(site, "youtube"))
    pinned, hidden, unhidden = f"youtube:{ids[-1]}", f"youtube:{ids[0]}", f"youtube:{ids[1]}"
    assert_clean(showcase(site, "hide", unhidden))
    preview = start(site, "serve", "--port", "0", "--no-render")
    staff = start(site, "serve", "--staff", "--port", "0")
    try:
        preview_url, staff_url = first_url(preview), first_url(staff)
        opener = staff_login(staff_url)
        plain = urllib.request.build_opener()
        update = hold_the_update(site)
        rounds = 0
        while rounds == 0 or (rounds < MAX_ROUNDS and update.poll() is None):
            rounds += 1
            if rounds == 1:  # the staff writes, while the update holds the lock
                assert_clean(showcase(site, "pin", pinned))
                assert_clean(showcase(site, "hide", hidden))
                assert_clean(showcase(site, "unhide", unhidden))
            assert_clean(showcase(site, "figures", "set", FIGURE_KEY, str(400 + rounds)))
            assert_clean(showcase(site, "render"))
            assert_clean(showcase(site, "status"))
            status = showcase(site, "status", "--json")
            assert_clean(status)
            json.loads(status.stdout)
            assert_clean(showcase(site, "report", "--since", "2017-06-27"))
            for path in ("index.html", "fragment.html"):
                get(plain, preview_url + path)
            for path in ("figures.json", "feed.json"):
                json.loads(get(plain, preview_url + path))
            for path in ("", "kennzahlen", "quellen", "aenderungen"):
                get(opener, staff_url + path)
        _, err = update.communicate(timeout=120)
    finally:
        for process in (preview, staff):
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=10)
    assert update.returncode == 0, err
    assert "locked" not in err.lower() and "Traceback" not in err
    shown = shown_ids(site, "youtube")
    assert pinned_first(site) == pinned
    assert hidden.split(":")[1] not in shown and unhidden.split(":")[1] in shown
    figure = manual_figure(site)
    assert figure is not None and figure["value"] == 400 + rounds
    marks = curation_marks(site)
    assert marks[pinned] == (True, False) and marks[hidden] == (False, True)
    assert unhidden not in marks
    check_database(site)
    check_outputs(site)


@pytest.mark.databases
@pytest.mark.fault(
    "a render reads the database, a staff `pin` writes and renders, then the first render "
    "writes its files",
    "renders take turns under a render lock (read and write together): the pin's render comes last",
    "0",
    "the pin, on the page",
)
def test_a_render_that_read_before_a_staff_write_never_finishes_after_it(site, monkeypatch):
    """The race of an update's render with a staff command's, made certain: the first render
    is paused between reading the store and writing the files, and waits for the pin."""
    assert run(site, "update") == 0
    item = f"youtube:{sorted(shown_ids(site, 'youtube'))[0]}"
    assert pinned_first(site) != item
    real_render = jobs.render_showcase
    read, pinned = threading.Event(), threading.Event()

    def paused_render(*args, **kwargs):
        if not read.is_set():
            read.set()
            pinned.wait(STALE_WAIT_SECONDS)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(jobs, "render_showcase", paused_render)
    stale = threading.Thread(target=jobs.render_only, args=(load_config(site.config),))
    stale.start()
    assert read.wait(30)
    assert run(site, "pin", item) == 0
    pinned.set()
    stale.join(30)
    assert pinned_first(site) == item
    check_outputs(site)


@pytest.mark.databases
@pytest.mark.fault(
    "`schedule` running every second while an operator runs `update` (held mid-fetch)",
    "the operator's update runs; each scheduled run in its way is skipped with one log line "
    "and tried again; SIGTERM stops the scheduler",
    "0",
    "every run's data and a pin made meanwhile, in the database and on the page",
)
def test_schedule_beside_an_operators_update_skips_its_runs_and_loses_nothing(site):
    """Held by the fake's `delay` injection; the skip line is `ScheduledRuns._run`'s."""
    set_intervals(site, "1s", "1s")
    assert_clean(showcase(site, "update"))
    item = f"youtube:{sorted(shown_ids(site, 'youtube'))[0]}"
    update = hold_the_update(site)
    schedule = start(site, "schedule")
    try:
        assert_clean(showcase(site, "pin", item))
        _, err = update.communicate(timeout=120)
        assert update.returncode == 0, err
        runs = len(fetch_runs(site, "youtube"))
        wait_for(lambda: len(fetch_runs(site, "youtube")) > runs, 30)  # it goes on afterwards
    finally:
        schedule.send_signal(signal.SIGTERM)
        _, logged = schedule.communicate(timeout=15)
    assert schedule.returncode == 0, logged
    assert "skipped this run: another update or fetch is running" in logged, logged
    assert "locked" not in logged.replace("another update", "") and "Traceback" not in logged
    assert pinned_first(site) == item
    assert curation_marks(site)[item] == (True, False)
    check_database(site)
    check_outputs(site)
