"""`showcase schedule`: the job logic with a fake clock, APScheduler in a thread, and the real
command in a child process stopped by SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY
from test_cli import DEMO_SHOWN_YOUTUBE, figures, shown_ids

from aggregator import jobs, status, store
from aggregator.config import load_config
from aggregator.errors import SourceError
from aggregator.fakeapi import youtube_error
from aggregator.scheduler import (
    ScheduledRuns,
    Scheduler,
    StoppablePolicy,
    jitter_seconds,
    misfire_grace_seconds,
    scheduled_policy,
)

T0 = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def fast_policy(stop: threading.Event) -> StoppablePolicy:
    return StoppablePolicy(stop=stop, sleep=lambda seconds: None, timeout=1.0)


def set_intervals(site, youtube: str, facebook: str, extra: str = "") -> None:
    text = site.config.read_text(encoding="utf-8")
    text = text.replace("[youtube]\n", f'[youtube]\nevery = "{youtube}"\n{extra}', 1)
    text = text.replace("[facebook]\n", f'[facebook]\nevery = "{facebook}"\n{extra}', 1)
    site.config.write_text(text, encoding="utf-8")


def fetch_runs(site, source: str) -> list[str]:
    database = site.folder / "showcase.db"
    if not database.exists():
        return []
    query = "select outcome from fetch_runs where source = ? order by id"
    try:
        with sqlite3.connect(database) as db:
            return [outcome for (outcome,) in db.execute(query, (source,))]
    except sqlite3.OperationalError:  # the child process is still creating the schema
        return []


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def scheduler_lines():
    """The scheduler's log lines, caught on its own logger whatever the CLI did to others."""
    logger = logging.getLogger("aggregator.scheduler")
    handler = Lines()
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield lambda: list(handler.lines)
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.fixture
def runs_for(site):
    engines = []

    def make(clock: FakeClock) -> ScheduledRuns:
        config = load_config(site.config)
        engine = store.open_database(config.database_url)
        engines.append(engine)
        return ScheduledRuns(config, engine, clock=clock, policy_factory=fast_policy)

    yield make
    for engine in engines:
        engine.dispose()


def add_video(site, video_id: str, title: str) -> None:
    channel = next(iter(site.world.youtube_channels))
    video = json.loads(json.dumps(site.world.youtube_videos["6nJA4duDBfQ"]))
    video["id"] = video_id
    video["snippet"]["title"] = title
    video["snippet"]["publishedAt"] = "2026-11-26T09:30:00Z"
    site.world.add_youtube_video(channel, video)


# -- the job logic, with a fake clock ----------------------------------------------------------


def test_a_simulated_day_keeps_the_page_current_with_quick_runs_and_one_daily_full_run(
    site, runs_for, scheduler_lines
):
    clock = FakeClock(T0)
    runs = runs_for(clock)
    every = {"youtube": 3, "facebook": 1}  # hours, as configured by default
    modes: dict[str, list[str]] = {"youtube": [], "facebook": []}
    for hour in range(25):
        clock.now = T0 + timedelta(hours=hour)
        if hour == 4:
            add_video(site, "NEWvideo001", "Neu: Die Weberin aus Crimmitschau #Flächenglühen")
        if hour == 7:
            site.world.set_youtube_privacy("A5bUqkYPIw8", "private")
        if hour == 10:
            site.world.delete_youtube_video("uhkCunQ240C")
        if hour == 11:
            next(iter(site.world.facebook_pages.values()))["followers_count"] = 1500
        for source, hours in every.items():
            if hour % hours:
                continue
            outcome = runs.run(source)
            assert outcome is not None and outcome.ok, source
            modes[source].append(outcome.mode)
            if outcome.mode == jobs.QUICK:
                assert outcome.usage.quota_units <= 3 and outcome.usage.requests <= 3
                assert outcome.usage.requests == 3
        shown = shown_ids(site, "youtube")
        assert ("NEWvideo001" in shown) == (hour >= 6), hour
        assert ("A5bUqkYPIw8" in shown) == (hour < 9), hour
        assert ("uhkCunQ240C" in shown) == (hour < 12), hour
        assert figures(site)["facebook.followers"]["value"] == (1500 if hour >= 11 else 1310)
        assert not any(figure["stale"] for figure in figures(site).values()), hour
    assert modes["youtube"] == ["full", *["quick"] * 7, "full"]
    assert modes["facebook"] == ["full", *["quick"] * 23, "full"]
    assert len(scheduler_lines()) == 9 + 25  # one line per run
    assert all("rendered" in line for line in scheduler_lines())
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE - {"A5bUqkYPIw8", "uhkCunQ240C"} | {
        "NEWvideo001"
    }


def test_full_every_decides_when_a_run_reads_everything(site, runs_for):
    set_intervals(site, "1h", "1h", 'full_every = "6h"\n')
    clock = FakeClock(T0)
    runs = runs_for(clock)
    seen = []
    for hour in range(13):
        clock.now = T0 + timedelta(hours=hour)
        seen.append(runs.run("youtube").mode)
    assert [hour for hour, mode in enumerate(seen) if mode == "full"] == [0, 6, 12]


def test_a_failed_full_run_is_tried_again_as_a_full_run(site, runs_for):
    clock = FakeClock(T0)
    runs = runs_for(clock)
    site.server.inject("youtube.channels", body=youtube_error(403, "quotaExceeded"))
    failed = runs.run("youtube")
    assert failed is not None and failed.error is not None and failed.error.cause == "quota"
    clock.now += timedelta(hours=3)
    assert runs.run("youtube").mode == "full"
    clock.now += timedelta(hours=3)
    assert runs.run("youtube").mode == "quick"


def test_a_run_is_skipped_with_one_line_while_cron_holds_the_lock(site, runs_for, scheduler_lines):
    runs = runs_for(FakeClock(T0))
    with jobs.database_lock(runs.config):
        assert runs.run("youtube") is None
    lines = scheduler_lines()
    assert len(lines) == 1
    assert lines[0].startswith("youtube: skipped this run: another update or fetch is running")
    assert fetch_runs(site, "youtube") == []
    assert runs.run("youtube") is not None  # the next run goes on


def test_a_failing_job_is_one_line_and_the_next_run_goes_on(
    site, runs_for, scheduler_lines, monkeypatch
):
    runs = runs_for(FakeClock(T0))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(jobs, "fetch_source", broken)
        assert runs.run("youtube") is None
    with monkeypatch.context() as patch:
        patch.setattr(jobs, "render_output", broken)
        assert runs.run("facebook") is not None
    assert runs.run("youtube") is not None
    lines = scheduler_lines()
    assert lines[0] == "youtube: run failed: RuntimeError: disk full"
    assert lines[1].startswith("facebook: ok; 18 new, 0 updated, 0 retired; full run, ")
    assert lines[1].endswith("; render failed: RuntimeError: disk full")
    assert lines[2].startswith("youtube: ok; 16 new") and lines[2].endswith("; rendered")


def test_a_failed_fetch_is_one_line_naming_the_cause_without_secrets(
    site, runs_for, scheduler_lines
):
    runs = runs_for(FakeClock(T0))
    site.server.inject("youtube.channels", body=youtube_error(403, "quotaExceeded"))
    assert runs.run("youtube") is not None
    (line,) = scheduler_lines()
    assert line.startswith("youtube: failed (youtube: quota")
    assert "; nothing stored; full run, 1 quota units, 1 requests" in line
    assert API_KEY not in line


def test_a_stopped_policy_starts_no_request_and_does_not_back_off():
    stop = threading.Event()
    policy = StoppablePolicy(stop=stop, sleep=lambda seconds: None).start()
    calls = []

    def attempt():
        calls.append(1)
        stop.set()
        raise SourceError("youtube", "http 503", retryable=True)

    with pytest.raises(SourceError) as raised:
        policy.call("youtube", attempt)
    assert raised.value.cause == "stopped" and calls == [1]
    assert policy.remaining() == 0.0

    waiting = threading.Event()
    started = time.monotonic()
    threading.Timer(0.1, waiting.set).start()
    scheduled_policy(waiting).sleep(30)
    assert time.monotonic() - started < 5


def test_jitter_and_misfire_grace():
    assert jitter_seconds(timedelta(seconds=1)) == 0
    assert jitter_seconds(timedelta(minutes=10)) == 30
    assert jitter_seconds(timedelta(hours=3)) == 60
    assert misfire_grace_seconds(timedelta(seconds=1)) == 60
    assert misfire_grace_seconds(timedelta(hours=3)) == 3 * 3600


# -- APScheduler, in a thread --------------------------------------------------------------------


def test_the_scheduler_runs_every_source_writes_its_state_and_stops(site):
    set_intervals(site, "1s", "1s")
    config = load_config(site.config)
    scheduler = Scheduler(config, policy_factory=fast_policy)
    finished: list[bool] = []
    thread = threading.Thread(target=lambda: finished.append(scheduler.run()))
    thread.start()
    try:
        wait_for(lambda: len(fetch_runs(site, "youtube")) >= 3)
        wait_for(lambda: len(fetch_runs(site, "facebook")) >= 3)
        state = json.loads(scheduler.state_path.read_text())
        assert state["pid"] == os.getpid()
        assert {"youtube", "facebook"} <= set(state["next_runs"])
        found = status.collect(config)
        youtube = next(source for source in found.sources if source.source == "youtube")
        assert found.scheduler_pid == os.getpid()
        assert youtube.next_run is not None and youtube.next_mode == "quick"
    finally:
        scheduler.stop()
        thread.join(timeout=10)
    assert finished == [True]
    assert not scheduler.state_path.exists()
    outcomes = fetch_runs(site, "youtube")
    assert outcomes[0] == "ok" and set(outcomes[1:]) == {"ok-quick"}
    assert shown_ids(site, "youtube") == DEMO_SHOWN_YOUTUBE


def test_a_restarted_scheduler_does_not_refetch_fresh_data(site):
    assert jobs.update(load_config(site.config), ["youtube", "facebook"])
    config = load_config(site.config)
    scheduler = Scheduler(config, policy_factory=fast_policy)
    try:
        soon = datetime.now(UTC) + timedelta(minutes=50)
        assert scheduler._first_run_at("facebook", config.facebook.every) > soon
        assert scheduler._first_run_at("website", config.website.every) <= datetime.now(UTC)
    finally:
        scheduler.engine.dispose()


# -- the real command, stopped by SIGTERM --------------------------------------------------------


def start_schedule(site) -> subprocess.Popen[str]:
    env = dict(os.environ, YOUTUBE_API_KEY=API_KEY, FACEBOOK_ACCESS_TOKEN=ACCESS_TOKEN)
    env.pop("JOURNAL_STREAM", None)
    command = [sys.executable, "-m", "aggregator", "--config", str(site.config), "schedule"]
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stop_and_time(process: subprocess.Popen[str]) -> tuple[int, float, str]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, time.monotonic() - started, stderr


def test_schedule_keeps_the_page_current_and_exits_0_on_sigterm(site):
    set_intervals(site, "1s", "1s")
    process = start_schedule(site)
    try:
        wait_for(lambda: len(fetch_runs(site, "youtube")) >= 2, 30)
        assert (site.output / "index.html").exists()
        add_video(site, "NEWvideo001", "Neu: Die Weberin aus Crimmitschau #Flächenglühen")
        wait_for(lambda: "NEWvideo001" in shown_ids(site, "youtube"), 30)
    finally:
        code, seconds, stderr = stop_and_time(process)
    assert code == 0, stderr
    assert seconds < 10
    assert "Traceback" not in stderr and API_KEY not in stderr and ACCESS_TOKEN not in stderr
    runs = [line for line in stderr.splitlines() if ": ok; " in line]
    assert any("youtube: ok;" in line and "full run" in line for line in runs)
    assert any("youtube: ok;" in line and "quick run, 3 quota units" in line for line in runs)
    assert stderr.strip().splitlines()[-1].endswith("schedule: stopped")
    assert not (site.folder / "showcase.db.schedule.json").exists()


def test_schedule_abandons_a_hanging_request_and_exits_0_within_10_seconds(site):
    set_intervals(site, "1s", "1s")
    site.server.inject("graph.page", status=200, delay=60, times=100)
    process = start_schedule(site)
    try:
        wait_for(lambda: site.server.stats.by_route.get("graph.page", 0) >= 1, 30)
        time.sleep(0.5)  # the request is in flight now
    finally:
        code, seconds, stderr = stop_and_time(process)
    assert code == 0, stderr
    assert seconds < 10
    assert "abandoning the running job" in stderr


def test_full_every_is_configured_per_source_and_documented(tmp_path):
    from aggregator.config import config_from_dict

    data = {
        "showcase": {"hashtags": ["x"]},
        "youtube": {"channel": "@k", "full_every": "12h"},
        "facebook": {"page": "p"},
    }
    config = config_from_dict(data, base_dir=tmp_path)
    assert config.youtube.full_every == timedelta(hours=12)
    assert config.facebook.full_every == timedelta(days=1)
    assert jobs.full_every(config, "website") is None
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert example.count('full_every = "1d"') == 2
