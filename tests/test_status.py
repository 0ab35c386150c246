"""`showcase status`: the truth under each failure, as a table and as JSON, with exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from conftest import ACCESS_TOKEN, API_KEY
from test_cli import run

from aggregator import jobs, status
from aggregator.config import load_config
from aggregator.fakeapi import graph_error, youtube_error


def status_of(site, capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(site, "status", *args)
    return code, capsys.readouterr().out


def json_status(site, capsys, *args: str) -> tuple[int, dict]:
    code, out = status_of(site, capsys, "--json", *args)
    return code, json.loads(out)


def by_source(document: dict) -> dict[str, dict]:
    return {source["source"]: source for source in document["sources"]}


def only_youtube_and_facebook(site) -> None:
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(text.split("[website]")[0], encoding="utf-8")


@pytest.fixture
def two_sources(site):
    only_youtube_and_facebook(site)
    return site


@pytest.mark.databases
def test_healthy_after_an_update(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    code, out = status_of(site, capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SOURCE", "HEALTH", "LAST", "SUCCESS", "AGE", "LAST", "ERROR",
                                "TODAY", "NEXT", "RUN"]  # fmt: skip
    assert lines[1].split()[:2] == ["youtube", "ok"]
    assert "3 units" in lines[1]
    assert lines[-1] == "healthy"
    assert "scheduler: not running" in out

    code, document = json_status(site, capsys)
    assert code == 0 and document["healthy"] is True
    youtube = by_source(document)["youtube"]
    assert youtube["last_success"]["mode"] == "full"
    assert youtube["today"] == {"quota_units": 3, "requests": 3, "runs": 1}
    assert youtube["age_seconds"] < 60
    assert youtube["stale_after_seconds"] == 26 * 3600
    assert youtube["last_error"] is None and youtube["next_run"] is None
    assert by_source(document)["facebook"]["today"]["requests"] == 3


def test_never_fetched_without_creating_the_database(two_sources, capsys):
    site = two_sources
    code, out = status_of(site, capsys)
    assert code == 1
    assert out.splitlines()[-1] == "unhealthy: youtube never fetched, facebook never fetched"
    assert not (site.folder / "showcase.db").exists()


def test_an_exhausted_quota_is_named(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    site.server.inject("youtube.channels", body=youtube_error(403, "quotaExceeded"))
    assert run(site, "update") == 1
    code, out = status_of(site, capsys)
    assert code == 1
    assert out.splitlines()[-1] == "unhealthy: youtube quota"
    assert "  youtube: quota: quotaExceeded" in out
    code, document = json_status(site, capsys)
    youtube = by_source(document)["youtube"]
    assert youtube["problems"][0]["cause"] == "quota"
    assert youtube["last_error"]["cause"] == "quota"
    assert youtube["last_success"] is not None
    assert by_source(document)["facebook"]["healthy"] is True
    assert API_KEY not in json.dumps(document)


def test_a_rejected_token_is_named_and_a_later_success_heals(two_sources, capsys):
    site = two_sources
    site.server.inject("graph.page", body=graph_error(190, 463))
    assert run(site, "update") == 1
    code, out = status_of(site, capsys)
    assert code == 1
    assert out.splitlines()[-1] == "unhealthy: facebook token, facebook never fetched"
    assert ACCESS_TOKEN not in out
    assert run(site, "update") == 0
    code, document = json_status(site, capsys)
    assert code == 0
    assert by_source(document)["facebook"]["last_error"]["cause"] == "token"  # still shown


def test_stale_data_is_named(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    with sqlite3.connect(site.folder / "showcase.db") as db:
        db.execute("update fetch_runs set started_at = datetime(started_at, '-27 hours')")
    code, out = status_of(site, capsys)
    assert code == 1
    assert out.splitlines()[-1] == "unhealthy: youtube stale, facebook stale"
    assert "youtube: data is 27h old (stale after 26h)" in out


def test_quick_runs_count_as_success_and_as_todays_usage(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    assert run(site, "update", "--quick") == 0
    code, document = json_status(site, capsys)
    assert code == 0
    youtube = by_source(document)["youtube"]
    assert youtube["last_success"]["mode"] == "quick"
    assert youtube["today"] == {"quota_units": 6, "requests": 6, "runs": 2}


def test_a_running_scheduler_shows_each_next_attempt_and_why(two_sources, capsys):
    """Computed from fetch_runs as the scheduler computes it (see test_scheduler.py for the
    two agreeing while APScheduler runs)."""
    site = two_sources
    started = datetime.now(UTC) - timedelta(hours=1)
    assert run(site, "update") == 0
    site.server.inject("youtube.channels", body=youtube_error(400, "keyInvalid"))
    assert run(site, "update") == 1
    config = load_config(site.config)
    state = {"pid": os.getpid(), "started_at": started.isoformat()}
    jobs.schedule_state_path(config).write_text(json.dumps(state))
    _, document = json_status(site, capsys)
    assert document["scheduler"] == {"running": True, "pid": os.getpid()}
    youtube, facebook = by_source(document)["youtube"], by_source(document)["facebook"]
    failed_at = datetime.fromisoformat(youtube["last_error"]["at"])
    assert youtube["next_run"]["reason"] == "retry 1 after failure, 5 min"
    assert datetime.fromisoformat(youtube["next_run"]["at"]) - failed_at < timedelta(minutes=6)
    assert youtube["next_run"]["mode"] == "quick"  # the last full run is less than 1d old
    assert facebook["next_run"]["reason"] == "scheduled"
    _, out = status_of(site, capsys)
    assert "(retry 1 after failure, 5 min)" in out.splitlines()[1]
    assert "(scheduled)" in out.splitlines()[2]
    state["pid"] = 2**22 + 12345  # not a running process
    jobs.schedule_state_path(config).write_text(json.dumps(state))
    _, document = json_status(site, capsys)
    assert document["scheduler"]["running"] is False
    assert by_source(document)["youtube"]["next_run"] is None


def test_check_token_reports_expiry(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    code, out = status_of(site, capsys, "--check-token")
    assert code == 0
    assert "facebook token: valid, expires never, data access until never" in out
    assert site.server.stats.requests[-1][1].startswith("/v25.0/debug_token")
    assert out.splitlines()[-1] == "healthy"

    soon = datetime.now(UTC) + timedelta(days=3, hours=1)
    site.world.facebook_token = {"expires_at": int(soon.timestamp())}
    code, document = json_status(site, capsys, "--check-token")
    assert code == 0  # a warning, not a failure: the token still works
    facebook = by_source(document)["facebook"]
    assert facebook["healthy"] is True and facebook["problems"] == []
    assert facebook["warnings"][0]["cause"] == "token"
    assert "expires on" in facebook["warnings"][0]["message"]
    assert "in 3 days" in facebook["warnings"][0]["message"]
    assert [(w["source"], w["cause"]) for w in document["warnings"]] == [("facebook", "token")]
    assert facebook["token"]["expires_at"].startswith(soon.date().isoformat())


# https://developers.facebook.com/docs/facebook-login/auth-vs-data/: data access lapses 90
# days after the admin last used the app; debug_token's data_access_expires_at says when
# (debug_token.json has one, a page token of a long-lived user token may have one too).
def test_data_access_ending_within_14_days_is_a_warning(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    ending = datetime.now(UTC) + timedelta(days=13, hours=12)
    site.world.facebook_token = {"data_access_expires_at": int(ending.timestamp())}
    code, out = status_of(site, capsys, "--check-token")
    assert code == 0
    lines = out.splitlines()
    assert lines[2].split()[:3] == ["facebook", "ok,", "token"]  # HEALTH: "ok, token soon"
    warning = next(line for line in lines if line.startswith("  warning: "))
    assert f"loses its data access on {ending:%Y-%m-%d}" in warning
    assert "in 13 days" in warning and "showcase facebook-token" in warning
    assert lines[-1] == "healthy, but soon: facebook token"


def test_data_access_15_days_away_is_no_warning(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    later = datetime.now(UTC) + timedelta(days=15)
    site.world.facebook_token = {"data_access_expires_at": int(later.timestamp())}
    code, document = json_status(site, capsys, "--check-token")
    assert code == 0 and document["warnings"] == []
    assert by_source(document)["facebook"]["warnings"] == []


@pytest.mark.parametrize("key", ["data_access_expires_at", "expires_at"])
def test_an_expired_token_or_lost_data_access_is_unhealthy(two_sources, capsys, key):
    site = two_sources
    assert run(site, "update") == 0
    past = datetime.now(UTC) - timedelta(hours=2)
    site.world.facebook_token = {key: int(past.timestamp())}
    code, document = json_status(site, capsys, "--check-token")
    assert code == 1
    facebook = by_source(document)["facebook"]
    assert [problem["cause"] for problem in facebook["problems"]] == ["token"]
    assert facebook["warnings"] == []
    assert past.strftime("%Y-%m-%d") in facebook["problems"][0]["message"]


def test_check_token_reports_an_invalid_token(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    site.world.facebook_token = {
        "is_valid": False,
        "error": {"code": 190, "message": "Error validating access token: session expired"},
    }
    code, out = status_of(site, capsys, "--check-token")
    assert code == 1
    assert out.splitlines()[-1] == "unhealthy: facebook token"
    assert "facebook token: not valid" in out
    assert "session expired" in out


def test_check_token_when_graph_rejects_the_token_itself(two_sources, capsys):
    site = two_sources
    assert run(site, "update") == 0
    site.server.inject("graph.page", body=graph_error(190, 460))  # debug_token is a node path
    code, out = status_of(site, capsys, "--check-token")
    assert code == 1
    assert out.splitlines()[-1] == "unhealthy: facebook token"


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 1, 15, 7, 59, tzinfo=UTC), datetime(2026, 1, 14, 8, 0, tzinfo=UTC)),
        (datetime(2026, 1, 15, 8, 0, tzinfo=UTC), datetime(2026, 1, 15, 8, 0, tzinfo=UTC)),
        (datetime(2026, 7, 15, 12, 0, tzinfo=UTC), datetime(2026, 7, 15, 7, 0, tzinfo=UTC)),
    ],
)
def test_today_starts_at_midnight_pacific(now, start):
    assert status.quota_day_start(now) == start


def test_ages_read_shortly():
    assert status.format_age(timedelta(minutes=12)) == "12m"
    assert status.format_age(timedelta(hours=3, minutes=5)) == "3h5m"
    assert status.format_age(timedelta(hours=27)) == "27h"
    assert status.format_age(timedelta(days=3, hours=2)) == "3d2h"
