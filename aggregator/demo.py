"""`showcase demo`: the real pipeline against the bundled sample world, on loopback.

The fake API server that the tests use serves the sample data, so the demo runs the real API
clients, real SQLite and the real renderer with no keys and no network.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

from aggregator import jobs, store
from aggregator.config import Config, config_from_dict
from aggregator.errors import ShowcaseError
from aggregator.fakeapi import FakeApiServer, World
from aggregator.fakeapi.replay import NOWHERE, ReplayServer
from aggregator.figures import entry_moment
from aggregator.files import write_atomic

log = logging.getLogger(__name__)

DEMO_KEY = "demo-youtube-key"
DEMO_TOKEN = "demo-facebook-token"
_ENVIRON = {"YOUTUBE_API_KEY": DEMO_KEY, "FACEBOOK_ACCESS_TOKEN": DEMO_TOKEN}

_SHOWCASE: dict[str, Any] = {
    "title": "#flächenglühen",
    "intro": (
        "Kurze Porträts kreativer Menschen aus Sachsen: die Videoreihe von Kreatives Sachsen, "
        "auf YouTube und Facebook, dazu die Interviews auf unserer Website."
    ),
    "hashtags": ["flächenglühen", "flaechengluehen"],
    "locale": "de_DE",
    "timezone": "Europe/Berlin",
    "stale_after": "26h",
    "since": "2017-06-27",
}

_RENDER_CONFIG_HEAD = """\
# Written by `showcase demo`: re-render the demo page with
#   showcase --config showcase-demo/showcase.toml render
[storage]
database = "sqlite:///showcase.db"

[output]
directory = "public"

[showcase]
"""


def render_config_text() -> str:
    """The demo's config without its sources (their fake server is gone after the demo)."""
    # A JSON string or list of strings is also a valid TOML value.
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in _SHOWCASE.items()]
    return _RENDER_CONFIG_HEAD + "\n".join(lines) + "\n"


# What no API serves, entered by hand as `showcase figures set` would (the seed's own figures).
_HAND_ENTERED = [
    ("facebook_group.members", 450, "Gruppenmitglieder", date(2017, 10, 5)),
    ("akteure.erreicht", 3000, "erreichte AkteurInnen", date(2017, 10, 5)),
    ("beratungsstellen", 13, "Beratungsstellen", date(2017, 10, 5)),
]


def demo_config_dict(api_url: str) -> dict[str, Any]:
    return {
        "storage": {"database": "sqlite:///showcase.db"},
        "output": {"directory": "public"},
        "showcase": dict(_SHOWCASE),
        "youtube": {"channel": "@kreativessachsen", "api_endpoint": api_url},
        "facebook": {"page": "kreativessachsen", "graph_url": api_url.rstrip("/")},
        "website": {"url": api_url.rstrip("/"), "tag": "flaechengluehen"},
    }


def run_demo(directory: Path) -> Path:
    """Run `update` on the sample world into `directory`; return the page's path."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with FakeApiServer(World.demo(), api_key=DEMO_KEY, access_token=DEMO_TOKEN) as server:
        config = config_from_dict(
            demo_config_dict(server.url), base_dir=directory, environ=_ENVIRON
        )
        _enter_figures_by_hand(config)
        outcomes = jobs.update(config)
    failed = [outcome.error.line() for outcome in outcomes if outcome.error is not None]
    if failed:
        raise ShowcaseError("demo failed: " + "; ".join(failed))
    write_atomic(directory / "showcase.toml", render_config_text().encode())
    return config.output_dir / "index.html"


def run_replay(
    recording: Path, directory: Path, outside: str = NOWHERE
) -> tuple[Path, list[jobs.FetchOutcome]]:
    """Run `update` into `directory` against a recording (`fetch --record`) served from
    loopback, with the recorded showcase settings; return the page's path and the outcomes
    (a recorded failure fails again, which is what a bug report needs). Requests the
    recording does not lead to loopback go to the proxy `outside`, where nothing listens."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with ReplayServer(recording) as replay, replay.isolated(outside):
        config = config_from_dict(replay.config_dict(), base_dir=directory, environ=_ENVIRON)
        outcomes = jobs.update(config)
    if replay.unmatched:
        log.warning("replay: %d requests had no recorded answer", len(replay.unmatched))
    return config.output_dir / "index.html", outcomes


def _enter_figures_by_hand(config: Config) -> None:
    engine = store.open_database(config.database_url)
    try:
        with store.session_scope(engine) as session:
            for key, value, label, day in _HAND_ENTERED:
                store.set_manual_figure(session, key, value, entry_moment(day), label)
    finally:
        engine.dispose()
