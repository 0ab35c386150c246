"""`showcase demo`: the real pipeline against the bundled sample world, on loopback.

The fake API server that the tests use serves the sample data, so the demo runs the real API
clients, real SQLite and the real renderer with no keys and no network. Before its first fetch
the demo gives the figures the history staff would: the fetched ones backfilled monthly since
`since` on a fixed growth curve (the same page every run on the same day), the hand-entered
ones dated a few days to weeks back.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aggregator import jobs, store
from aggregator.config import Config, config_from_dict
from aggregator.errors import ShowcaseError
from aggregator.fakeapi import FakeApiServer, World
from aggregator.fakeapi.replay import NOWHERE, ReplayServer
from aggregator.fakeapi.world import Resource, privacy_status
from aggregator.figures import Point, entry_moment, local_day
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


DEMO_CHANNEL = "@kreativessachsen"
DEMO_PAGE = "kreativessachsen"

# What no API serves, entered by hand as `showcase figures set` would (the seed's own figures),
# each so many days before the demo runs: staff keep them current, so the page never shows
# a years-old date beside them.
_HAND_ENTERED = [
    ("facebook_group.members", 450, "Gruppenmitglieder", 6),
    ("akteure.erreicht", 3000, "erreichte AkteurInnen", 19),
    ("beratungsstellen", 13, "Beratungsstellen", 45),
]

# The fetched figures on the day the series began (`since`), as staff would backfill them
# (`showcase figures backfill`); today's values come from the sample world. 998 followers
# then and 1.310 now is the "+312 seit 27.06.2017" the page shows.
_VALUES_AT_SINCE = {
    "facebook.followers": 998,
    "facebook.likes": 1004,
    "youtube.subscribers": 61,
    "youtube.views": 240,
}


def _saturating(rate: float) -> Callable[[float], float]:
    """Fast growth at first, slower later: 0 at t=0, 1 at t=1."""
    return lambda t: (1 - math.exp(-rate * t)) / (1 - math.exp(-rate))


def _power(exponent: float) -> Callable[[float], float]:
    return lambda t: t**exponent


# The share of its growth a figure had reached after the share t of the time since `since`.
# A page's followers came fastest while the series was new; views keep accumulating faster
# as there are more videos to watch.
_GROWTH = {
    "facebook.followers": _saturating(2.2),
    "facebook.likes": _saturating(1.8),
    "youtube.subscribers": _power(0.8),
    "youtube.views": _power(1.4),
}
# Followers come and go with the seasons (new episodes in autumn, a quiet summer): a wobble
# of this share of the growth, none at either end. Views only ever add up.
_SEASONAL_SHARE = {
    "facebook.followers": 0.04,
    "facebook.likes": 0.04,
    "youtube.subscribers": 0.03,
    "youtube.views": 0.0,
}


def demo_config_dict(api_url: str) -> dict[str, Any]:
    return {
        "storage": {"database": "sqlite:///showcase.db"},
        "output": {"directory": "public"},
        "showcase": dict(_SHOWCASE),
        "youtube": {"channel": DEMO_CHANNEL, "api_endpoint": api_url},
        "facebook": {"page": DEMO_PAGE, "graph_url": api_url.rstrip("/")},
        "website": {"url": api_url.rstrip("/"), "tag": "flaechengluehen"},
    }


def run_demo(directory: Path, clock: jobs.Clock = jobs.utc_now) -> Path:
    """Run `update` on the sample world into `directory`; return the page's path.

    Before the first fetch the figures get the history staff would have given them: the
    fetched ones monthly since `since` (backfilled), the hand-entered ones recently."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    world = World.demo()
    with FakeApiServer(world, api_key=DEMO_KEY, access_token=DEMO_TOKEN) as server:
        config = config_from_dict(
            demo_config_dict(server.url), base_dir=directory, environ=_ENVIRON
        )
        today = local_day(clock(), ZoneInfo(config.showcase.timezone))
        _backfill_history(config, demo_histories(world, config.showcase.since, today))
        _enter_figures_by_hand(config, today)
        outcomes = jobs.update(config, clock=clock)
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


def _enter_figures_by_hand(config: Config, today: date) -> None:
    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            for key, value, label, days_ago in _HAND_ENTERED:
                day = today - timedelta(days=days_ago)
                store.set_manual_figure(session, key, value, entry_moment(day), label)
    finally:
        engine.dispose()


def demo_histories(world: World, since: date | None, today: date) -> dict[str, list[Point]]:
    """Each fetched figure's value on the `since` day of every month from `since` until
    before `today`: deterministic, ending close to the value the world serves today."""
    if since is None:
        return {}
    days = monthly_days(since, today)
    span = (today - since).days or 1
    histories: dict[str, list[Point]] = {}
    for key, now_value in _current_values(world).items():
        start, growth, seasonal = _VALUES_AT_SINCE[key], _GROWTH[key], _SEASONAL_SHARE[key]
        histories[key] = [
            (entry_moment(day), _value_on(day, start, now_value, growth, seasonal, since, span))
            for day in days
        ]
    channel = _demo_channel(world)
    histories["youtube.videos"] = [
        (entry_moment(day), _videos_published_by(world, channel, entry_moment(day))) for day in days
    ]
    return histories


def monthly_days(since: date, today: date) -> list[date]:
    """`since`, then the same day of each following month (the 28th at most), before today."""
    days: list[date] = []
    month = 0
    while True:
        year, month_index = divmod(since.month - 1 + month, 12)
        day = date(since.year + year, month_index + 1, min(since.day, 28) if month else since.day)
        if day >= today:
            return days
        days.append(day)
        month += 1


def _value_on(
    day: date,
    start: int,
    now_value: int,
    growth: Callable[[float], float],
    seasonal: float,
    since: date,
    span: int,
) -> int:
    share = growth((day - since).days / span)
    wobble = seasonal * 4 * share * (1 - share) * math.sin(2 * math.pi * (day.month - 5) / 12)
    return round(start + (now_value - start) * (share + wobble))


def _current_values(world: World) -> dict[str, int]:
    """Today's values of the figures that grow smoothly, as the sample world serves them."""
    page = world.find_page(DEMO_PAGE)
    if page is None:
        raise ShowcaseError(f"demo: the sample world has no page {DEMO_PAGE}")
    statistics = _demo_channel(world).get("statistics", {})
    return {
        "facebook.followers": int(page["followers_count"]),
        "facebook.likes": int(page["fan_count"]),
        "youtube.subscribers": int(statistics["subscriberCount"]),
        "youtube.views": int(statistics["viewCount"]),
    }


def _demo_channel(world: World) -> Resource:
    channel = world.find_channel(DEMO_CHANNEL)
    if channel is None:
        raise ShowcaseError(f"demo: the sample world has no channel {DEMO_CHANNEL}")
    return channel


def _videos_published_by(world: World, channel: Resource, moment: datetime) -> int:
    """The channel's public videos at `moment`: what its video count was then."""
    published = [
        datetime.fromisoformat(world.youtube_videos[video_id]["snippet"]["publishedAt"])
        for video_id in world.playlist_video_ids(channel)
        if privacy_status(world.youtube_videos[video_id]) == "public"
    ]
    return sum(1 for moment_published in published if moment_published <= moment)


def _backfill_history(config: Config, histories: dict[str, list[Point]]) -> None:
    """Backfill only before a figure's first fetched value: a demo run again into the same
    folder keeps what it fetched before."""
    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            for key, points in histories.items():
                first_fetched = store.first_fetched_at(session, key)
                for moment, value in points:
                    if first_fetched is None or moment < first_fetched:
                        store.backfill_figure(session, key, value, moment)
    finally:
        engine.dispose()
