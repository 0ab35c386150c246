"""Shared fixtures: the fake API server and a site configured against it."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from postgres_support import fresh_database

from aggregator import jobs, store
from aggregator.config import load_config
from aggregator.fakeapi import FakeApiServer, World
from aggregator.retry import RetryPolicy

API_KEY = "AIzaTestKey-0123456789"
ACCESS_TOKEN = "EAATestToken0123456789abcdef"

# Real recorded API answers (see SOURCES.md there), read in place, never copied into the repo.
REAL_API = Path(
    os.environ.get("SHOWCASE_REAL_API")
    or Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real-api"
)


def real_api_path(relative: str) -> Path:
    """The path of a recorded answer, e.g. "youtube/playlistItems_list_page2_last.json".

    Without the recordings a test that needs one is skipped; CI sets
    SHOWCASE_REQUIRE_RECORDINGS=1, under which a missing folder or file fails the test instead.
    """
    path = REAL_API / relative
    if not path.is_file():
        reason = f"recorded API answer {relative} is not available (looked in {REAL_API})"
        if os.environ.get("SHOWCASE_REQUIRE_RECORDINGS") == "1":
            pytest.fail(f"{reason}; SHOWCASE_REQUIRE_RECORDINGS=1 requires it", pytrace=False)
        pytest.skip(reason)
    return path


def real_api_json(relative: str) -> Any:
    return json.loads(real_api_path(relative).read_text(encoding="utf-8"))


@dataclass
class Site:
    folder: Path
    config: Path
    server: FakeApiServer
    world: World

    @property
    def output(self) -> Path:
        return self.folder / "public"

    def read(self, name: str) -> str:
        return (self.output / name).read_text(encoding="utf-8")


def write_config(
    folder: Path, api_url: str, extra: str = "", database: str = "sqlite:///showcase.db"
) -> Path:
    path = folder / "showcase.toml"
    path.write_text(
        f"""
[storage]
database = "{database}"
[output]
directory = "public"
base_url = "https://www.example.org/showcase/"
[showcase]
title = "#flächenglühen"
hashtags = ["flächenglühen", "#flaechengluehen"]
stale_after = "26h"
[youtube]
channel = "@kreativessachsen"
api_endpoint = "{api_url}"
[facebook]
page = "kreativessachsen"
graph_url = "{api_url.rstrip("/")}"
[website]
url = "{api_url.rstrip("/")}"
tag = "flaechengluehen"
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True, scope="session")
def private_cache_home(tmp_path_factory):
    """The renders' caches (templates, cards, episodes) in a folder of this session's, not the
    user's ~/.cache; subprocesses inherit it."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def reset_cli_logging():
    """`main()` points the package's logger at the stderr of its test; later log lines from a
    fake server's thread must not go to that closed stream."""
    yield
    package_log = logging.getLogger("aggregator")
    package_log.handlers.clear()
    package_log.setLevel(logging.NOTSET)
    package_log.propagate = True


@pytest.fixture
def fast_policy(monkeypatch):
    """No real waiting in tests: retries sleep zero seconds, requests time out after 1 s."""
    monkeypatch.setattr(
        jobs, "default_policy", lambda: RetryPolicy(sleep=lambda s: None, timeout=1.0)
    )


DATABASES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc):
    """A test marked `databases` (or in a module so marked) runs once on SQLite and once on a
    fresh PostgreSQL database, through the `database` fixture."""
    if "database" in metafunc.fixturenames and metafunc.definition.get_closest_marker("databases"):
        metafunc.parametrize("database", DATABASES, indirect=True)


@pytest.fixture
def database(request, tmp_path):
    """The database URL of a test's site: SQLite in its folder unless the test is run on
    PostgreSQL (see `pytest_generate_tests`)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'showcase.db'}"
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def make_site(tmp_path, monkeypatch, fast_policy, database):
    servers: list[FakeApiServer] = []
    monkeypatch.setenv("YOUTUBE_API_KEY", API_KEY)
    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", ACCESS_TOKEN)

    def make(world: World | None = None) -> Site:
        world = world or World.demo()
        server = FakeApiServer(world, api_key=API_KEY, access_token=ACCESS_TOKEN).start()
        servers.append(server)
        return Site(tmp_path, write_config(tmp_path, server.url, database=database), server, world)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def site(make_site) -> Site:
    return make_site()


def feed_members(feed: dict[str, Any]) -> list[dict[str, str]]:
    """Every item of a feed.json, episode by episode: the `_showcase.items` of each entry
    (source, id, url), which the lead's `_showcase.source`/`id` alone would not show."""
    return [member for entry in feed["items"] for member in entry["_showcase"]["items"]]


@pytest.fixture
def config(tmp_path, database):
    """A site's config whose APIs are a closed port: for tests of the store and the actions."""
    return load_config(write_config(tmp_path, "http://127.0.0.1:9/", database=database))


@pytest.fixture
def engine(config):
    engine = store.open_database(config.database_url)
    yield engine
    engine.dispose()
