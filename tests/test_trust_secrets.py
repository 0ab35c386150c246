"""Secrets under every fault (issue 11, item 5): the YouTube API key, the Facebook access
token and the app secret never appear in anything a failing run leaves behind.

Each case runs the real command line in a child process (`python -X dev`, at `--verbose`,
the DEBUG level that logs every request) against the fake API with sentinel secrets, does one
fault, then asks `status --json`. The sentinels must then be absent from stdout, stderr
(messages and tracebacks), every file in the site's folder (the outputs, the thumbnails, the
database file and its -wal and -shm, read as raw bytes). The faults are the documented ones:
Graph's expired token, code 190 (https://developers.facebook.com/docs/graph-api/guides/
error-handling), YouTube's quotaExceeded (https://developers.google.com/youtube/v3/docs/
errors), googleapiclient's HttpError, whose message holds the request URL with `key=`
(googleapiclient/errors.py, HttpError.__repr__ uses self.uri), a body that is not JSON, an
answer slower than the deadline, a crash inside a source whose frame holds the token, and a
configuration error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import write_config

from aggregator.fakeapi.bodies import graph_error, youtube_error
from aggregator.fakeapi.server import FakeApiServer
from aggregator.fakeapi.world import World
from aggregator.sources.facebook import appsecret_proof

API_KEY = "AIzaSySENTINELkey00000000000000000000"
ACCESS_TOKEN = "EAASENTINELtoken0000000000000000000000"
APP_SECRET = "SENTINELappsecret000000000000000"
SECRETS = {
    "API key": API_KEY,
    "access token": ACCESS_TOKEN,
    "app secret": APP_SECRET,
    "appsecret_proof": appsecret_proof(ACCESS_TOKEN, APP_SECRET),
}

# The child: the test suite's fast retry policy (conftest.fast_policy: no sleeping, 1 s per
# request), optionally a crash inside the Facebook source, then `update` and `status --json`,
# and an end without closing the database.
CHILD = """
import os, sys
from sqlalchemy.engine import Engine
from aggregator import jobs, retry
from aggregator.cli import main
from aggregator.sources import facebook

jobs.default_policy = lambda: retry.RetryPolicy(sleep=lambda s: None, timeout=1.0)
# Connections left open and the process ended with os._exit, as a kill would: SQLite then
# leaves its -wal file (what was written, not yet checkpointed into the database) to be read.
Engine.dispose = lambda self, close=True: None
if os.environ.get("CRASH_INSIDE_FACEBOOK"):
    def crash(self):
        token = self.headers["Authorization"]  # the token, in a local variable of the frame
        raise RuntimeError(f"crashed while holding {token} and {self.proof}")
    facebook.GraphClient.get_page = crash
config = sys.argv[1]
code = main(["--config", config, "--verbose", "update"])
print("update exit", code, file=sys.stderr)
main(["--config", config, "--verbose", "status", "--json"])
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


def expired_token(server: FakeApiServer) -> None:
    server.inject("graph.page", body=graph_error(190, 463), times=5)


def quota(server: FakeApiServer) -> None:
    server.inject("youtube.channels", body=youtube_error(403, "quotaExceeded"), times=5)


def http_error_with_key_in_url(server: FakeApiServer) -> None:
    server.inject(
        "youtube.channels", status=404, body=b"<html>gone</html>", content_type="text/html"
    )


def garbage(server: FakeApiServer) -> None:
    for route in ("youtube.channels", "graph.page", "wordpress.posts"):
        server.inject(route, status=200, body=b"\x00<html>garbage", times=10)


def deadline(server: FakeApiServer) -> None:
    server.inject("graph.page", status=200, delay=1.5, times=10)


# Each fault, and what the one line on stderr says (the fault did happen).
FAULTS: dict[str, tuple[Callable[[FakeApiServer], None] | None, str]] = {
    "expired token": (expired_token, "facebook: token"),
    "quota": (quota, "youtube: quota"),
    "HttpError with key= in its URL": (http_error_with_key_in_url, "youtube: not found"),
    "garbage response": (garbage, "not JSON"),
    "deadline": (deadline, "facebook: timeout"),
    "crash inside a source": (None, "RuntimeError"),
    "bad config": (None, "config:"),
}


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    world = World.demo()
    world.facebook_app_secret = APP_SECRET
    with FakeApiServer(world, api_key=API_KEY, access_token=ACCESS_TOKEN) as running:
        yield running


def run_child(config: Path, crash: bool) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "YOUTUBE_API_KEY": API_KEY,
        "FACEBOOK_ACCESS_TOKEN": ACCESS_TOKEN,
        "FACEBOOK_APP_SECRET": APP_SECRET,
    }
    env.pop("CRASH_INSIDE_FACEBOOK", None)
    if crash:
        env["CRASH_INSIDE_FACEBOOK"] = "1"
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", CHILD, str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def leaks(text: bytes) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret.encode() in text]


@pytest.mark.fault(
    "a fault at DEBUG level (--verbose, python -X dev): expired token, quota, HttpError with "
    "key= in its URL, garbage answer, deadline, crash inside a source, bad config",
    "the one line and any traceback name the source and cause; key, token, app secret and "
    "appsecret_proof appear nowhere",
    "1 or 2",
    "the outputs, the database (raw bytes, -wal included) and status --json free of secrets",
)
@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_no_secret_in_anything_a_fault_leaves(tmp_path: Path, server: FakeApiServer, fault):
    extra = 'app_secret_env = "FACEBOOK_APP_SECRET"'
    config = write_config(tmp_path, server.url)
    text = config.read_text(encoding="utf-8")
    text = text.replace('graph_url = "', f'{extra}\ngraph_url = "')
    if fault == "bad config":
        text = text.replace('stale_after = "26h"', 'stale_after = "sometimes"')
    config.write_text(text, encoding="utf-8")
    inject, said = FAULTS[fault]
    if inject is not None:
        inject(server)

    done = run_child(config, crash=fault == "crash inside a source")

    assert "update exit 1" in done.stderr or "update exit 2" in done.stderr, done.stderr
    assert said in done.stderr, done.stderr[-3000:]
    if fault == "crash inside a source":
        assert "RuntimeError" in done.stderr and "Traceback" in done.stderr
        assert "REDACTED" in done.stderr
    assert leaks(done.stdout.encode()) == []
    assert leaks(done.stderr.encode()) == [], done.stderr[-3000:]
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    names = {path.name for path in files}
    assert fault == "bad config" or {"showcase.db", "showcase.db-wal"} <= names, names
    for path in files:
        assert leaks(path.read_bytes()) == [], path
