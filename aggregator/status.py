"""`showcase status`: is every source healthy? Read from the database, offline by default.

Per configured source: the last success (full or quick), the last error and when, the data's
age against `showcase.stale_after`, quota units and requests spent today, and, when a scheduler
is running, its next attempt and why ("scheduled", "retry 2 after failure, 15 min"), computed
from the `fetch_runs` table the way the scheduler computes it (`scheduler.next_attempt`).
`--check-token` adds one live request: Graph's debug_token, for the Facebook token's
validity and expiry.

"Today" is the YouTube quota day: it starts at midnight Pacific Time, when the daily quota of
10,000 units resets. The same day is used for every source so the figures add up.

A source is unhealthy, with the cause named, when it was never fetched ("never fetched"), its
last run failed (the run's cause: "quota", "token", "http 503", ...), its data is older than
`stale_after` ("stale"), or, when checked, its token is invalid, has expired or has lost its
data access ("token").

Warnings are shown (table and JSON) but leave the exit code alone, since a monitoring check
that fails for weeks, or for good over a setting, teaches people to ignore it:
- a token that expires or loses its data access within 14 days: it still works, and the
  operator has two weeks to renew it;
- `output.base_url` unset, so that fragment.html carries relative links that break on a host
  page: a site that serves only index.html is fine without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aggregator import reads, rows, runs
from aggregator.config import Config
from aggregator.errors import SourceError
from aggregator.models import Usage
from aggregator.retry import RetryPolicy
from aggregator.times import shown_time

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from aggregator.scheduler import NextAttempt

QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
# Meta's data access lapses 90 days after the page's admin last used the app: say so in time.
TOKEN_WARNING = timedelta(days=14)
RENEW_TOKEN = "run showcase facebook-token with a new user token from the Graph API Explorer"


@dataclass(frozen=True)
class Problem:
    cause: str  # "never fetched", "stale", "token", "quota", "http 503", ...
    message: str


@dataclass(frozen=True)
class RunView:
    at: datetime
    mode: str = ""  # "full" or "quick", for successes
    cause: str = ""  # for failures
    message: str = ""


@dataclass(frozen=True)
class TokenView:
    valid: bool | None  # None: it could not be checked (`cause` says why)
    expires_at: datetime | None = None  # None: never
    data_access_expires_at: datetime | None = None
    problem: str = ""
    cause: str = "token"


@dataclass
class SourceStatus:
    source: str
    stale_after: timedelta
    last_success: RunView | None = None
    last_full: datetime | None = None
    last_error: RunView | None = None
    age: timedelta | None = None
    today: rows.RunUsage = field(default_factory=rows.RunUsage)
    next_run: datetime | None = None
    next_mode: str = ""
    next_reason: str = ""  # "scheduled", "retry 2 after failure, 15 min", ...
    token: TokenView | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # soon a problem; healthy still
    held_shrink: str = ""  # the last run held a sudden shrink: its line

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass
class Status:
    checked_at: datetime
    day_start: datetime
    sources: list[SourceStatus]
    scheduler_pid: int | None = None  # a scheduler that is running now
    warnings: list[Problem] = field(default_factory=list)  # shown, not unhealthy

    @property
    def healthy(self) -> bool:
        return all(source.healthy for source in self.sources)

    def causes(self) -> list[str]:
        return [
            f"{source.source} {problem.cause}"
            for source in self.sources
            for problem in source.problems
        ]

    def warned(self) -> list[str]:
        return [
            f"{source.source} {warning.cause}"
            for source in self.sources
            for warning in source.warnings
        ]


TokenCheck = Callable[[Config], TokenView]


def collect(
    config: Config,
    now: datetime | None = None,
    token_check: TokenCheck | None = None,
) -> Status:
    """The status of every configured source; `token_check` is called for Facebook only."""
    now = now or runs.utc_now()
    day_start = quota_day_start(now)
    state = _scheduler_state(runs.schedule_state_path(config))
    pid = _running_pid(state)
    started_at = _scheduler_started_at(state, now) if pid is not None else None
    sources = [SourceStatus(name, config.showcase.stale_after) for name in _sources(config)]
    if _database_exists(config):
        with _snapshot(config) as database:
            usage = reads.usage_since(database, day_start)
            for source in sources:
                _read_runs(database, source)
                source.today = usage.get(source.source, rows.RunUsage())
                if started_at is not None:
                    _set_next_attempt(source, _planned(database, config, source, started_at))
    elif started_at is not None:
        from aggregator.scheduler import NextAttempt

        for source in sources:
            _set_next_attempt(source, NextAttempt(started_at, "first run"))
    for source in sources:
        if source.last_success is not None:
            source.age = now - source.last_success.at
        source.next_mode = _next_mode(config, source)
        if source.source == "facebook" and token_check is not None:
            source.token = token_check(config)
        source.problems = problems(source, now)
        if source.token is not None:
            source.warnings = token_warnings(source.token, now)
    held = [
        Problem(runs.SHRINK_CAUSE, source.held_shrink) for source in sources if source.held_shrink
    ]
    return Status(now, day_start, sources, pid, setup_warnings(config) + held)


@contextmanager
def _snapshot(config: Config) -> Iterator[reads.Reader | Session]:
    """The database in one read transaction: an SQLite file whose schema is current through
    `sqlite3` alone, read-only; any other through SQLAlchemy (which migrates an older schema
    under the database lock and refuses a newer one, as every command does)."""
    reader = reads.open_current_sqlite(config.database_url)
    if reader is not None:
        try:
            with reader.transaction():
                yield reader
        finally:
            reader.close()
        return
    from aggregator import jobs, store

    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _planned(
    database: reads.Reader | Session, config: Config, source: SourceStatus, started_at: datetime
) -> NextAttempt:
    from aggregator.scheduler import plan_next_attempt  # only while a scheduler runs

    return plan_next_attempt(database, config, source.source, started_at)


def setup_warnings(config: Config) -> list[Problem]:
    relative_links = runs.relative_links_warning(config)
    return [Problem("base_url", relative_links)] if relative_links else []


def quota_day_start(now: datetime) -> datetime:
    """Midnight Pacific Time of `now`'s Pacific date, when YouTube's daily quota resets."""
    pacific_date = now.astimezone(QUOTA_ZONE).date()
    return datetime.combine(pacific_date, time(0), QUOTA_ZONE).astimezone(UTC)


def problems(source: SourceStatus, now: datetime) -> list[Problem]:
    found: list[Problem] = []
    if source.last_success is None and source.last_error is None:
        return [Problem("never fetched", f"{source.source}: no fetch has run yet")]
    last_error = source.last_error
    if last_error and (source.last_success is None or last_error.at > source.last_success.at):
        found.append(Problem(last_error.cause or "error", last_error.message))
    if source.last_success is None:
        found.append(Problem("never fetched", f"{source.source}: no fetch has succeeded yet"))
    elif source.age is not None and source.age > source.stale_after:
        found.append(
            Problem(
                "stale",
                f"{source.source}: data is {format_age(source.age)} old "
                f"(stale after {format_age(source.stale_after)})",
            )
        )
    if source.token is not None:
        found.extend(token_problems(source.token, now))
    return found


def token_problems(token: TokenView, now: datetime) -> list[Problem]:
    if token.valid is None:
        return [Problem(token.cause, f"facebook: the token could not be checked: {token.problem}")]
    if not token.valid:
        return [Problem("token", f"facebook: token: not valid: {token.problem or 'no reason'}")]
    for what, moment in _token_deadlines(token, past=True):
        if moment <= now:
            return [Problem("token", f"facebook: token: {what} on {moment:%Y-%m-%d %H:%M} UTC")]
    return []


def token_warnings(token: TokenView, now: datetime) -> list[Problem]:
    """A valid token that expires, or loses its data access, within TOKEN_WARNING."""
    if not token.valid:
        return []
    for what, moment in _token_deadlines(token, past=False):
        if now < moment <= now + TOKEN_WARNING:
            days = (moment - now).days
            when = "within a day" if days == 0 else f"in {days} day{'s' if days > 1 else ''}"
            message = (
                f"facebook: token: {what} on {moment:%Y-%m-%d %H:%M} UTC ({when}): {RENEW_TOKEN}"
            )
            return [Problem("token", message)]
    return []


def _token_deadlines(token: TokenView, past: bool) -> list[tuple[str, datetime]]:
    deadlines = (
        ("expired" if past else "expires", token.expires_at),
        ("lost its data access" if past else "loses its data access", token.data_access_expires_at),
    )
    return [(what, moment) for what, moment in deadlines if moment is not None]


def check_facebook_token(config: Config, policy: RetryPolicy | None = None) -> TokenView:
    """Ask Graph (one request) whether the configured token is valid, and until when."""
    from aggregator.sources import facebook

    if config.facebook is None:
        return TokenView(None, problem="facebook is not configured", cause="config")
    try:
        info = facebook.check_token(config.facebook, policy or RetryPolicy().start(), Usage())
    except SourceError as error:
        if error.cause == "token":
            return TokenView(False, problem=error.line())
        return TokenView(None, problem=error.line(), cause=error.cause)
    return TokenView(info.valid, info.expires_at, info.data_access_expires_at, info.problem)


# -- reading the runs --------------------------------------------------------------------------


def _read_runs(database: reads.Reader | Session, source: SourceStatus) -> None:
    name = source.source
    success = reads.latest_run(database, name, rows.SUCCESS_OUTCOMES)
    if success is not None:
        mode = runs.QUICK if success.outcome == rows.OUTCOME_QUICK else runs.FULL
        source.last_success = RunView(success.started_at, mode=mode)
    full = reads.latest_run(database, name, [rows.OUTCOME_FULL])
    source.last_full = full.started_at if full else None
    latest = reads.latest_run(database, name)
    if (
        latest is not None
        and latest.error_cause == runs.SHRINK_CAUSE
        and rows.run_succeeded(latest)
    ):
        source.held_shrink = latest.error_message or ""
    failure = reads.latest_run(database, name, failed=True)
    if failure is not None:
        source.last_error = RunView(
            failure.started_at,
            cause=failure.error_cause or failure.outcome,
            message=failure.error_message or "",
        )


def _next_mode(config: Config, source: SourceStatus) -> str:
    """Whether the scheduler's next run of the source will be full or quick."""
    if source.next_run is None:
        return ""
    every = runs.full_every(config, source.source)
    if every is None:
        return runs.FULL
    return runs.next_mode(source.last_full, every, source.next_run)


def _sources(config: Config) -> list[str]:
    return config.configured_sources()


def _database_exists(config: Config) -> bool:
    """An SQLite file that is not there means nothing was ever fetched; `status` must not
    create it (it may run as a monitoring user without write access)."""
    sqlite_file = reads.sqlite_path(config.database_url)
    if sqlite_file is not None:
        return os.path.exists(sqlite_file)
    from sqlalchemy.engine import make_url

    url = make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return True
    return os.path.exists(url.database)


def _scheduler_state(path: Path) -> dict[str, Any] | None:
    """What a running scheduler wrote; the scheduler module (APScheduler, SQLAlchemy) is
    imported only when it wrote something."""
    if not path.exists():
        return None
    from aggregator.scheduler import read_state

    return read_state(path)


def _running_pid(state: dict[str, Any] | None) -> int | None:
    pid = state.get("pid") if state else None
    if not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # running as another user (systemd's DynamicUser)
    return pid


def _scheduler_started_at(state: dict[str, Any] | None, now: datetime) -> datetime:
    """When the running scheduler started (what its first attempts count from)."""
    try:
        return datetime.fromisoformat((state or {})["started_at"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return now


def _set_next_attempt(source: SourceStatus, planned: NextAttempt) -> None:
    source.next_run = planned.at
    source.next_reason = planned.reason


# -- output ------------------------------------------------------------------------------------


def format_age(age: timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h" + (f"{minutes % 60}m" if hours < 10 and minutes % 60 else "")
    return f"{hours // 24}d" + (f"{hours % 24}h" if hours % 24 else "")


def as_json(status: Status) -> dict[str, Any]:
    return {
        "healthy": status.healthy,
        "checked_at": _iso(status.checked_at),
        "today_since": _iso(status.day_start),
        "scheduler": {"running": status.scheduler_pid is not None, "pid": status.scheduler_pid},
        "sources": [_source_json(source) for source in status.sources],
        # Every warning: the set-up's (source null) and each source's.
        "warnings": [
            {"source": None, "cause": w.cause, "message": w.message} for w in status.warnings
        ]
        + [
            {"source": source.source, "cause": w.cause, "message": w.message}
            for source in status.sources
            for w in source.warnings
        ],
    }


def _source_json(source: SourceStatus) -> dict[str, Any]:
    success, error = source.last_success, source.last_error
    return {
        "source": source.source,
        "healthy": source.healthy,
        "problems": [{"cause": p.cause, "message": p.message} for p in source.problems],
        "warnings": [{"cause": w.cause, "message": w.message} for w in source.warnings],
        "last_success": {"at": _iso(success.at), "mode": success.mode} if success else None,
        "last_full": _iso(source.last_full),
        "last_error": (
            {"at": _iso(error.at), "cause": error.cause, "message": error.message}
            if error
            else None
        ),
        "age_seconds": int(source.age.total_seconds()) if source.age is not None else None,
        "stale_after_seconds": int(source.stale_after.total_seconds()),
        "today": {
            "quota_units": source.today.quota_units,
            "requests": source.today.requests,
            "runs": source.today.runs,
        },
        "next_run": (
            {"at": _iso(source.next_run), "mode": source.next_mode, "reason": source.next_reason}
            if source.next_run
            else None
        ),
        "token": (
            {
                "valid": source.token.valid,
                "expires_at": _iso(source.token.expires_at),
                "data_access_expires_at": _iso(source.token.data_access_expires_at),
                "problem": source.token.problem,
            }
            if source.token
            else None
        ),
    }


def format_table(status: Status, zone: ZoneInfo) -> str:
    """A compact table for people, then one line per problem and the verdict."""

    def when(moment: datetime | None) -> str:
        return shown_time(moment, zone) if moment else "–"

    header = ("SOURCE", "HEALTH", "LAST SUCCESS", "AGE", "LAST ERROR", "TODAY", "NEXT RUN")
    rows = [header]
    for source in status.sources:
        success, error = source.last_success, source.last_error
        rows.append(
            (
                source.source,
                _health(source),
                f"{when(success.at)} {success.mode}" if success else "never",
                format_age(source.age) if source.age is not None else "–",
                f"{when(error.at)} {error.cause}" if error else "–",
                f"{source.today.quota_units} units, {source.today.requests} requests",
                _next_cell(source, when),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    for source in status.sources:
        if source.token is not None:
            lines.append(_token_line(source.token, when))
        lines.extend(f"  {problem.message}" for problem in source.problems if problem.message)
        lines.extend(f"  warning: {warning.message}" for warning in source.warnings)
    lines.append(
        f"today: since {when(status.day_start)} (midnight Pacific Time, when YouTube's quota "
        "resets)"
    )
    lines.append(
        f"scheduler: running (pid {status.scheduler_pid})"
        if status.scheduler_pid
        else "scheduler: not running"
    )
    lines.extend(f"warning: {warning.message}" for warning in status.warnings)
    lines.append(_verdict(status))
    return "\n".join(lines)


def _verdict(status: Status) -> str:
    if not status.healthy:
        return "unhealthy: " + ", ".join(status.causes())
    warned = status.warned()
    return f"healthy, but soon: {', '.join(warned)}" if warned else "healthy"


def _health(source: SourceStatus) -> str:
    if not source.healthy:
        return ", ".join(problem.cause for problem in source.problems)
    if source.warnings:
        return "ok, " + ", ".join(f"{warning.cause} soon" for warning in source.warnings)
    return "ok"


def _next_cell(source: SourceStatus, when: Callable[[datetime | None], str]) -> str:
    if source.next_run is None:
        return "–"
    return f"{when(source.next_run)} {source.next_mode} ({source.next_reason})"


def _token_line(token: TokenView, when: Callable[[datetime | None], str]) -> str:
    if token.valid is None:
        return "facebook token: not checked"
    if not token.valid:
        return "facebook token: not valid"
    expires = when(token.expires_at) if token.expires_at else "never"
    data_access = when(token.data_access_expires_at) if token.data_access_expires_at else "never"
    return f"facebook token: valid, expires {expires}, data access until {data_access}"


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None
