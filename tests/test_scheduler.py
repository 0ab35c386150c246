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
from test_cli import DEMO_SHOWN_YOUTUBE, figures, run, shown_ids

from aggregator import jobs, status, store
from aggregator.config import load_config
from aggregator.errors import SourceError
from aggregator.fakeapi import youtube_error
from aggregator.scheduler import (
    NextAttempt,
    ScheduledRuns,
    Scheduler,
    StoppablePolicy,
    delay_text,
    jitter_seconds,
    misfire_grace_seconds,
    retry_delay,
    scheduled_policy,
    steady_jitter,
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
    assert lines[1].startswith("facebook: ok; 24 new, 0 updated, 0 retired; full run, ")
    assert lines[1].endswith("; render failed: RuntimeError: disk full")
    assert lines[2].startswith("youtube: ok; 18 new") and lines[2].endswith("; rendered")


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


# -- the next attempt: retries after failures, the same for the scheduler and `status` ------------

# A key rejected as invalid: the failure an operator fixes between two runs. The body is
# Google's, as recorded in /work/shared/fixtures/real-api/ (see fakeapi.bodies.youtube_error).
KEY_INVALID = youtube_error(400, "keyInvalid")


def status_next(site, now: datetime, started_at: datetime) -> dict[str, tuple[datetime, str]]:
    """What `status` says of each source's next attempt while a scheduler is running."""
    config = load_config(site.config)
    state = {"pid": os.getpid(), "started_at": started_at.isoformat(), "next_runs": {}}
    jobs.schedule_state_path(config).write_text(json.dumps(state))
    found = status.collect(config, now=now)
    return {s.source: (s.next_run, s.next_reason) for s in found.sources if s.next_run}


def test_a_failed_source_is_retried_after_5_15_45_minutes_up_to_its_every(site, runs_for):
    clock = FakeClock(T0)
    runs = runs_for(clock)
    started = T0 - timedelta(hours=1)  # the scheduler was running before the first failure
    site.server.inject("youtube.channels", body=KEY_INVALID, times=5)
    seen = []
    for _ in range(5):
        assert runs.run("youtube").error.cause == "key"
        planned = runs.next_attempt("youtube", started)
        assert status_next(site, clock.now, started)["youtube"] == (planned.at, planned.reason)
        seen.append((planned.at - clock.now, planned.reason, planned.retry))
        clock.now = planned.at
    assert seen == [
        (timedelta(minutes=5), "retry 1 after failure, 5 min", 1),
        (timedelta(minutes=15), "retry 2 after failure, 15 min", 2),
        (timedelta(minutes=45), "retry 3 after failure, 45 min", 3),
        (timedelta(minutes=135), "retry 4 after failure, 2 h 15 min", 4),
        (timedelta(hours=3), "retry 5 after failure, 3 h", 5),  # youtube's every
    ]
    # The operator has fixed the key: the next retry succeeds, and the plan is the interval.
    assert runs.run("youtube").ok
    planned = runs.next_attempt("youtube", started)
    assert planned.reason == "scheduled" and planned.retry == 0
    assert timedelta(hours=3) <= planned.at - clock.now <= timedelta(hours=3, minutes=1)
    assert status_next(site, clock.now, started)["youtube"] == (planned.at, "scheduled")


def test_retry_delays_triple_and_stop_at_every():
    hour = timedelta(hours=1)
    assert [retry_delay(n, hour) for n in range(1, 6)] == [
        timedelta(minutes=minutes) for minutes in (5, 15, 45, 60, 60)
    ]
    assert retry_delay(2, timedelta(minutes=10)) == timedelta(minutes=10)
    assert retry_delay(1, timedelta(seconds=1)) == timedelta(seconds=1)
    assert retry_delay(10_000, timedelta(days=1)) == timedelta(days=1)
    assert delay_text(timedelta(minutes=15)) == "15 min"
    assert delay_text(timedelta(hours=3)) == "3 h"
    assert delay_text(timedelta(seconds=1)) == "1 s"


def test_at_start_a_source_whose_last_run_failed_runs_at_once(site, runs_for):
    clock = FakeClock(T0)
    runs = runs_for(clock)
    assert runs.run("facebook").ok
    site.server.inject("youtube.channels", body=KEY_INVALID)
    assert not runs.run("youtube").ok
    started = T0 + timedelta(minutes=1)  # the operator fixed the key and restarted
    assert runs.next_attempt("youtube", started) == NextAttempt(
        started, "at start, last run failed"
    )
    facebook = runs.next_attempt("facebook", started)
    assert facebook.reason == "scheduled" and facebook.at >= T0 + timedelta(hours=1)
    assert runs.next_attempt("website", started) == NextAttempt(started, "first run")
    assert status_next(site, started, started) == {
        "youtube": (started, "at start, last run failed"),
        "facebook": (facebook.at, "scheduled"),
        "website": (started, "first run"),
    }
    # Data older than its `every` is fetched at start too.
    later = T0 + timedelta(hours=5)
    assert runs.next_attempt("facebook", later) == NextAttempt(later, "scheduled")


def test_the_jitter_is_derived_from_the_last_run_so_status_agrees():
    run = store.FetchRunRow(source="youtube", started_at=T0, finished_at=T0, outcome="ok")
    every = timedelta(hours=3)
    jitter = steady_jitter("youtube", run, every)
    assert 0 <= jitter <= 60 and jitter == steady_jitter("youtube", run, every)
    assert steady_jitter("youtube", run, timedelta(seconds=1)) == 0
    seconds = {steady_jitter(name, run, every) for name in ("youtube", "facebook", "website")}
    assert len(seconds) > 1  # not the same second for every source


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
        assert scheduler.first_attempt("facebook").at > soon
        assert scheduler.first_attempt("website").at <= datetime.now(UTC)
    finally:
        scheduler.engine.dispose()


def test_a_job_does_not_fetch_what_cron_fetched_meanwhile(site, scheduler_lines):
    config = load_config(site.config)
    scheduler = Scheduler(config, policy_factory=fast_policy)
    try:
        assert jobs.update(config, ["facebook"])  # cron, while the job waited for the lock
        scheduler._job("facebook")
        assert fetch_runs(site, "facebook") == ["ok"]
        assert scheduler_lines()[-1].startswith("facebook: not due, fetched meanwhile; next ")
        scheduler._job("website")
        assert fetch_runs(site, "website") == ["ok"]
    finally:
        scheduler.engine.dispose()


def test_a_failure_by_cron_brings_the_scheduled_job_forward(site):
    """`showcase fetch` (say, by cron) fails while the scheduler waits an hour: its next
    check of fetch_runs moves the job to the retry that `status` shows."""
    set_intervals(site, "1h", "1h")
    config = load_config(site.config)
    assert jobs.update(config, ["youtube", "facebook", "website"])
    scheduler = Scheduler(config, policy_factory=fast_policy)
    thread = threading.Thread(target=scheduler.run)
    thread.start()
    try:
        wait_for(lambda: scheduler.scheduler.running)
        hour = datetime.now(UTC) + timedelta(minutes=50)
        assert scheduler.scheduler.get_job("youtube").next_run_time > hour
        site.server.inject("youtube.channels", body=KEY_INVALID)
        assert jobs.update(config, ["youtube"])[0].error.cause == "key"
        scheduler.replan()  # what the "replan" job does every minute
        shown = {source.source: source for source in status.collect(config).sources}
        assert shown["youtube"].next_reason == "retry 1 after failure, 5 min"
        assert scheduler.scheduler.get_job("youtube").next_run_time == shown["youtube"].next_run
        assert scheduler.scheduler.get_job("facebook").next_run_time > hour  # left alone
    finally:
        scheduler.stop()
        thread.join(timeout=10)


def test_the_scheduler_runs_a_failed_source_at_once_then_retries_as_status_says(site):
    """The whole loop in APScheduler: a source whose last run failed runs at start; when that
    fails again its job moves to the second retry (15 min), the time `status` shows."""
    set_intervals(site, "1h", "1h")
    config = load_config(site.config)
    assert jobs.update(config, ["facebook", "website"])
    site.server.inject("youtube.channels", body=KEY_INVALID, times=2)
    assert jobs.update(config, ["youtube"])[0].error.cause == "key"
    scheduler = Scheduler(config, policy_factory=fast_policy)
    finished: list[bool] = []
    thread = threading.Thread(target=lambda: finished.append(scheduler.run()))
    thread.start()

    def youtube_job_at() -> datetime | None:
        job = scheduler.scheduler.get_job("youtube")
        return job.next_run_time if job else None

    try:
        wait_for(lambda: len(fetch_runs(site, "youtube")) == 2)
        # Moved from the trigger's hour to the retry: between 10 and 30 minutes from now.
        wait_for(
            lambda: (
                datetime.now(UTC) + timedelta(minutes=10)
                < (youtube_job_at() or T0)
                < datetime.now(UTC) + timedelta(minutes=30)
            )
        )
        assert fetch_runs(site, "facebook") == ["ok"] and fetch_runs(site, "website") == ["ok"]
        found = status.collect(config)
        shown = {source.source: source for source in found.sources}
        assert shown["youtube"].next_reason == "retry 2 after failure, 15 min"
        assert shown["youtube"].next_run == youtube_job_at()
        assert shown["facebook"].next_reason == "scheduled"
        assert shown["facebook"].next_run == scheduler.scheduler.get_job("facebook").next_run_time
    finally:
        scheduler.stop()
        thread.join(timeout=10)
    assert finished == [True]


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


@pytest.mark.fault(
    "SIGTERM to `schedule` in the middle of a run (a Facebook request hanging)",
    "the running job is abandoned; `schedule` exits within 10 s",
    "0",
    "the database (integrity and foreign key checks clean) and the page, every file whole",
)
def test_schedule_abandons_a_hanging_request_and_exits_0_within_10_seconds(site):
    assert run(site, "update") == 0  # a page and a database to keep
    page = site.read("index.html")
    set_intervals(site, "1s", "1s")
    seen = site.server.stats.by_route.get("graph.page", 0)
    site.server.inject("graph.page", status=200, delay=60, times=100)
    process = start_schedule(site)
    try:
        wait_for(lambda: site.server.stats.by_route.get("graph.page", 0) > seen, 30)
        time.sleep(0.5)  # the request is in flight now
    finally:
        code, seconds, stderr = stop_and_time(process)
    assert code == 0, stderr
    assert seconds < 10
    assert "abandoning the running job" in stderr
    with sqlite3.connect(site.folder / "showcase.db") as db:
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert db.execute("pragma foreign_key_check").fetchall() == []
    json.loads(site.read("figures.json"))
    assert site.read("index.html").rstrip().endswith("</html>")
    assert page.count("data-episode") <= site.read("index.html").count("data-episode")


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
