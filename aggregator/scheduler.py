"""`showcase schedule`: each source fetched at its `every`, the page rendered after each fetch.

APScheduler 3's BlockingScheduler runs one interval job per source: coalesced (a backlog of
missed runs becomes one run), never two instances at once, a misfire grace time long enough
that a late run still happens (APScheduler's default of 1 s would drop it silently), and a
little jitter so that several sites do not hit the APIs on the same second. Jobs run one at a
time in a single worker thread, under the same database lock as `update`: when cron holds it,
the run is skipped with one log line and the next one goes on.

When a source's run fails, it is tried again sooner than its `every`: after 5, 15, 45
minutes and so on (tripling), never later than `every`; a scheduler that starts after a failed
run fetches that source at once. `next_attempt` computes all of this from the `fetch_runs`
table alone, so `status` in another process shows the same time and reason as the scheduler
acts on.

Most runs are quick refreshes (figures, newest items, statistics of the showcased videos); a
run is full (every item, the only kind that can retire one) when the source's last full run
is `full_every` old. The choice is read from the `fetch_runs` table, so it survives restarts.

Stopping (SIGTERM, SIGINT): `stop()` only sets an event. A watcher thread then shuts the
scheduler down without waiting; the running job sees the event before its next request (the
retry policy refuses to start one and stops backing off), skips thumbnails and the render, and
ends. `run()` waits for it up to SHUTDOWN_SECONDS and reports whether it had to abandon it.

The job logic (`ScheduledRuns`) knows nothing of APScheduler, so tests drive it with a clock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    EVENT_SCHEDULER_START,
    JobEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aggregator import jobs, reads, store
from aggregator.config import Config
from aggregator.errors import ConfigError, LockedError, SourceError, redact
from aggregator.files import write_atomic
from aggregator.reads import Reader
from aggregator.retry import RetryPolicy
from aggregator.rows import StoredRun
from aggregator.times import shown_time

log = logging.getLogger(__name__)

T = TypeVar("T")

# The contract allows 10 s from SIGTERM to exit; the rest is left for the process to end.
SHUTDOWN_SECONDS = 7.0
MIN_MISFIRE_GRACE = timedelta(minutes=1)
MAX_JITTER_SECONDS = 60
FIRST_RETRY = timedelta(minutes=5)
RETRY_FACTOR = 3
# A run that left no record (skipped while cron held the lock) is tried again this much later.
SKIPPED_RUN_DELAY = timedelta(minutes=1)
# A job that fires this much before its source's next attempt (cron fetched it meanwhile)
# does not fetch; it only waits for the next attempt.
NOT_DUE_SLACK = timedelta(minutes=1)
# How often the jobs are checked against `fetch_runs`, for runs made by others (cron, a person).
REPLAN_EVERY = timedelta(minutes=1)
REPLAN_JOB = "replan"
STATE_EVENTS = (
    EVENT_SCHEDULER_START
    | EVENT_JOB_SUBMITTED
    | EVENT_JOB_EXECUTED
    | EVENT_JOB_ERROR
    | EVENT_JOB_MISSED
    | EVENT_JOB_MAX_INSTANCES
)


@dataclass
class StoppablePolicy(RetryPolicy):
    """The retry policy of a scheduled run: once `stop` is set it starts no request, and a
    backoff wait ends at once (its `sleep` should wait on the same event)."""

    stop: threading.Event = field(default_factory=threading.Event)

    def remaining(self) -> float:
        return 0.0 if self.stop.is_set() else super().remaining()

    def call(self, source: str, attempt_once: Callable[[], T]) -> T:
        if self.stop.is_set():
            raise _stopped(source)
        try:
            return super().call(source, attempt_once)
        except SourceError as error:
            if self.stop.is_set():
                raise _stopped(source) from error
            raise


def _stopped(source: str) -> SourceError:
    return SourceError(source, "stopped", "the scheduler is shutting down")


def scheduled_policy(stop: threading.Event) -> RetryPolicy:
    def sleep_unless_stopped(seconds: float) -> None:
        stop.wait(seconds)

    return StoppablePolicy(stop=stop, sleep=sleep_unless_stopped)


PolicyFactory = Callable[[threading.Event], RetryPolicy]


# -- when a source is tried next: one answer for the scheduler and `status` ---------------------


@dataclass(frozen=True)
class NextAttempt:
    at: datetime
    reason: str  # "first run", "scheduled", "at start, last run failed", "retry 2 after ..."
    retry: int = 0  # the how-manieth retry after failures this is; 0: not a retry


def next_attempt(
    source: str,
    last_run: store.FetchRunRow | StoredRun | None,
    failures: int,
    every: timedelta,
    started_at: datetime,
) -> NextAttempt:
    """When a scheduler that started at `started_at` tries `source` next, and why.

    `last_run` is the source's newest run (by anyone: the scheduler, cron, a person) and
    `failures` how many runs in a row have failed since its last success."""
    if last_run is None:
        return NextAttempt(started_at, "first run")
    if store.run_succeeded(last_run):
        due = (
            last_run.started_at + every + timedelta(seconds=steady_jitter(source, last_run, every))
        )
        return NextAttempt(max(due, started_at), "scheduled")
    if last_run.started_at < started_at:
        return NextAttempt(started_at, "at start, last run failed")
    retry = max(1, failures)
    delay = retry_delay(retry, every)
    reason = f"retry {retry} after failure, {delay_text(delay)}"
    return NextAttempt(last_run.finished_at + delay, reason, retry)


def plan_next_attempt(
    database: Reader | Session, config: Config, source: str, started_at: datetime
) -> NextAttempt:
    """`next_attempt` read from the `fetch_runs` table (by `status` without SQLAlchemy)."""
    last_run = reads.latest_run(database, source)
    failures = reads.failures_since_success(database, source)
    return next_attempt(source, last_run, failures, _every(config, source), started_at)


def retry_delay(retry: int, every: timedelta) -> timedelta:
    """How long after the `retry`-th failure in a row the source is tried again: 5, 15, 45
    minutes, tripling, never longer than its `every`."""
    delay = FIRST_RETRY
    for _ in range(retry - 1):
        if delay >= every:
            break
        delay *= RETRY_FACTOR
    return min(delay, every)


def steady_jitter(source: str, last_run: store.FetchRunRow | StoredRun, every: timedelta) -> int:
    """Seconds added to a scheduled run so that several sites do not call the APIs on the same
    second. Derived from the last run, not drawn at random, so `status` computes it too."""
    seed = f"{source} {last_run.started_at.isoformat()}".encode()
    return zlib.crc32(seed) % (jitter_seconds(every) + 1)


def delay_text(delay: timedelta) -> str:
    """`5 min`, `45 min`, `3 h`, `1 h 30 min`."""
    minutes = int(delay.total_seconds() // 60)
    if minutes < 1:
        return f"{int(delay.total_seconds())} s"
    hours, minutes = divmod(minutes, 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else [])
    return " ".join(parts)


@dataclass
class ScheduledRuns:
    """What one scheduled run of one source does: choose quick or full, fetch under the
    database lock, copy thumbnails, render, and log one line. It never raises."""

    config: Config
    engine: Engine
    stop: threading.Event = field(default_factory=threading.Event)
    clock: jobs.Clock = jobs.utc_now
    policy_factory: PolicyFactory = scheduled_policy

    def run(self, source: str) -> jobs.FetchOutcome | None:
        """One run; None when it was skipped (lock held, stopping) or failed outright."""
        if self.stop.is_set():
            return None
        try:
            return self._run(source)
        except Exception as error:  # a bug: one line, and the next run goes on
            log.error("%s: run failed: %s", source, redact(f"{type(error).__name__}: {error}"))
            log.debug("the run's traceback", exc_info=True)
            return None

    def next_attempt(self, source: str, started_at: datetime) -> NextAttempt:
        """When the source is tried next by a scheduler started at `started_at`."""
        with store.session_scope(self.engine) as session:
            return plan_next_attempt(session, self.config, source, started_at)

    def mode_for(self, source: str) -> jobs.Mode:
        every = jobs.full_every(self.config, source)
        if every is None:
            return jobs.FULL
        with store.session_scope(self.engine) as session:
            last_full = store.latest_run(session, source, [store.OUTCOME_FULL])
        return jobs.next_mode(last_full.started_at if last_full else None, every, self.clock())

    def _run(self, source: str) -> jobs.FetchOutcome | None:
        policy = self.policy_factory(self.stop).start()
        try:
            with jobs.database_lock(self.config):
                mode = self.mode_for(source)
                outcome = jobs.fetch_source(
                    self.engine, self.config, source, policy, self.clock, mode
                )
                if not self.stop.is_set():
                    jobs.fetch_thumbnails(self.engine, self.config, policy)
        except LockedError as error:
            log.warning("%s: skipped this run: %s", source, error)
            return None
        line = jobs.describe_outcome(outcome)
        rendered = False
        if self.stop.is_set():
            line += "; not rendered: stopping"
        else:
            rendered, what = self._render()
            line += what
        log.log(logging.INFO if outcome.ok and rendered else logging.WARNING, "%s", line)
        return outcome

    def _render(self) -> tuple[bool, str]:
        try:
            jobs.render_output(self.engine, self.config, self.clock)
        except Exception as error:
            log.debug("the render's traceback", exc_info=True)
            return False, "; render failed: " + redact(f"{type(error).__name__}: {error}")
        return True, "; rendered"


class Scheduler:
    """The long-running `showcase schedule`: `run()` blocks until `stop()` is called."""

    def __init__(
        self,
        config: Config,
        clock: jobs.Clock = jobs.utc_now,
        policy_factory: PolicyFactory = scheduled_policy,
    ):
        self.config = config
        self.sources = jobs.fetchable_sources(config)
        if not self.sources:
            raise ConfigError("schedule: no source is configured ([youtube], [facebook], ...)")
        self.state_path = jobs.schedule_state_path(config)
        self._stop = threading.Event()
        self._stop_requested_at: float | None = None
        self._started = threading.Event()
        self._active = 0
        self._active_changed = threading.Condition()
        self._state_lock = threading.Lock()
        self._started_at = clock()
        self.engine = jobs.open_database(config)
        self.runs = ScheduledRuns(config, self.engine, self._stop, clock, policy_factory)
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)}, timezone=UTC
        )

    def stop(self) -> None:
        """Ask the scheduler to stop. Safe in a signal handler: it only sets an event."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> bool:
        """Run the jobs until `stop()`; True when no job was left running at the end."""
        if self._stop.is_set():
            return True
        self._add_jobs()
        self.scheduler.add_listener(self._on_event, STATE_EVENTS)
        threading.Thread(target=self._shut_down_when_stopped, name="stopper", daemon=True).start()
        log.info("schedule: started; %s", "; ".join(self._describe(name) for name in self.sources))
        self.scheduler.start()  # blocks until the stopper thread shuts it down
        finished = self._wait_for_running_job()
        self._remove_state()
        if finished:
            self.engine.dispose()
            log.info("schedule: stopped")
        else:
            log.warning("schedule: stopped, abandoning the running job")
        return finished

    # -- jobs --------------------------------------------------------------------------------

    def _add_jobs(self) -> None:
        """One job per source. Its trigger fires every `every`, but after each run the job is
        moved to the source's next attempt (`next_attempt`); the trigger is what remains
        should that ever fail."""
        for name in self.sources:
            every = _every(self.config, name)
            self.scheduler.add_job(
                self._job,
                IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
                args=[name],
                id=name,
                name=f"fetch {name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=misfire_grace_seconds(every),
                next_run_time=self.first_attempt(name).at,
            )
        self.scheduler.add_job(
            self.replan,
            IntervalTrigger(seconds=REPLAN_EVERY.total_seconds(), timezone=UTC),
            id=REPLAN_JOB,
            name="move jobs to their next attempts",
            coalesce=True,
            max_instances=1,
        )

    def first_attempt(self, name: str) -> NextAttempt:
        """At once for a source never fetched, or whose last run failed, or whose data is
        older than `every`; otherwise when its data turns `every` old: a restart spends no
        quota on data that is still fresh."""
        return self.runs.next_attempt(name, self._started_at)

    def _job(self, name: str) -> None:
        with self._active_changed:
            self._active += 1
        try:
            if self._is_due(name):
                self.runs.run(name)
        finally:
            self._reschedule(name)
            with self._active_changed:
                self._active -= 1
                self._active_changed.notify_all()

    def _is_due(self, name: str) -> bool:
        """False when someone else (cron, a person) fetched the source since the job was
        planned: its next attempt has moved on."""
        planned = self._next_attempt(name)
        if planned is None or planned.at - self.runs.clock() <= NOT_DUE_SLACK:
            return True
        log.info("%s: not due, fetched meanwhile; next attempt %s", name, _at(planned))
        return False

    def _reschedule(self, name: str) -> None:
        """Move the source's job to its next attempt, as `status` computes it."""
        planned = self._next_attempt(name)
        if planned is None or self._stop.is_set():
            return  # the trigger's interval remains
        soonest = self.runs.clock() + min(SKIPPED_RUN_DELAY, _every(self.config, name))
        at = max(planned.at, soonest)
        with contextlib.suppress(JobLookupError, SchedulerNotRunningError):
            self.scheduler.modify_job(name, next_run_time=at)
        if planned.retry:
            log.info("%s: next attempt %s", name, _at(planned))

    def _next_attempt(self, name: str) -> NextAttempt | None:
        try:
            return self.runs.next_attempt(name, self._started_at)
        except Exception as error:  # the database cannot be read just now
            log.error(
                "%s: next attempt unknown: %s", name, redact(f"{type(error).__name__}: {error}")
            )
            return None

    def replan(self) -> None:
        """Bring a job forward when a run by someone else failed (cron, `showcase fetch`):
        the retry is due sooner than the job. (A job due later than planned, because someone
        else's run succeeded, finds that out when it fires: see `_is_due`.) Jobs run one at a
        time, so no source's run is under way now."""
        if self._stop.is_set():
            return
        for name in self.sources:
            job = self.scheduler.get_job(name)
            planned = self._next_attempt(name)
            if job is None or job.next_run_time is None or planned is None:
                continue
            if planned.at < job.next_run_time - NOT_DUE_SLACK:
                at = max(planned.at, self.runs.clock())
                with contextlib.suppress(JobLookupError, SchedulerNotRunningError):
                    self.scheduler.modify_job(name, next_run_time=at)
                log.info("%s: next attempt %s", name, _at(planned))

    def _describe(self, name: str) -> str:
        every = _every(self.config, name)
        full = jobs.full_every(self.config, name)
        text = f"{name} every {_duration(every)}"
        text += f", in full every {_duration(full)}" if full else ""
        return text + f", next {_at(self.first_attempt(name))}"

    # -- stopping ----------------------------------------------------------------------------

    def _shut_down_when_stopped(self) -> None:
        self._stop.wait()
        self._stop_requested_at = time.monotonic()
        self._started.wait()
        with contextlib.suppress(SchedulerNotRunningError):
            self.scheduler.shutdown(wait=False)

    def _wait_for_running_job(self) -> bool:
        requested = self._stop_requested_at or time.monotonic()
        timeout = max(0.0, SHUTDOWN_SECONDS - (time.monotonic() - requested))
        with self._active_changed:
            return self._active_changed.wait_for(lambda: self._active == 0, timeout=timeout)

    # -- the state file that `status` reads --------------------------------------------------

    def _on_event(self, event: SchedulerEvent) -> None:
        if event.code == EVENT_SCHEDULER_START:
            self._started.set()
        elif event.code == EVENT_JOB_MAX_INSTANCES and isinstance(event, JobEvent):
            log.warning(
                "%s: skipped this run: the previous one is still running or waiting its turn",
                event.job_id,
            )
        elif event.code == EVENT_JOB_MISSED and isinstance(event, JobEvent):
            log.warning(
                "%s: skipped the run due at %s: more than the grace time late",
                event.job_id,
                shown_time(event.scheduled_run_time, ZoneInfo(self.config.showcase.timezone)),
            )
        if isinstance(event, JobEvent) or event.code == EVENT_SCHEDULER_START:
            self._write_state()

    def _write_state(self) -> None:
        if self._stop.is_set():
            return
        next_runs = {
            job.id: job.next_run_time.astimezone(UTC).isoformat()
            for job in self.scheduler.get_jobs()
            if job.next_run_time is not None and job.id != REPLAN_JOB
        }
        state = {
            "pid": os.getpid(),
            "started_at": self._started_at.isoformat(),
            "updated_at": datetime.now(UTC).isoformat(),
            "next_runs": next_runs,
        }
        with self._state_lock:
            write_atomic(self.state_path, json.dumps(state, indent=2).encode() + b"\n")

    def _remove_state(self) -> None:
        with self._state_lock:
            self.state_path.unlink(missing_ok=True)


def read_state(path: Path) -> dict[str, Any] | None:
    """The state a running scheduler wrote, or None when there is none or it is unreadable."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def jitter_seconds(every: timedelta) -> int:
    """Up to 5% of the interval, at most a minute (0 for the second-long intervals of tests)."""
    return min(MAX_JITTER_SECONDS, int(every.total_seconds() // 20))


def misfire_grace_seconds(every: timedelta) -> int:
    """How late a run may still start (waiting behind another source's run, say): a whole
    interval, at least a minute. Later than that, the next run comes soon enough."""
    return int(max(every, MIN_MISFIRE_GRACE).total_seconds())


def _every(config: Config, name: str) -> timedelta:
    every: timedelta = getattr(config, name).every
    return every


def _at(planned: NextAttempt) -> str:
    return f"{planned.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({planned.reason})"


def _duration(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
