"""Figures over time and figures entered by hand: pure functions, no database, no HTML.

What staff type is checked here (`check_key`, `parse_count`, `parse_day`); the rules for
"the value on a day" live here too, so the page, `history.json` and the report agree:

- A date is a calendar day in the configured time zone. A figure's value *on* a day is the
  last one recorded before the next local midnight (`value_on`). "+312 seit 27.06.2017" is
  the current value minus the value on 27.06.2017; when nothing was recorded on or before
  that day, the change is unknown (None) rather than measured from a later first value.
- A hand-entered value holds from noon UTC of its date (`entry_moment`): noon falls on the
  same calendar day in every time zone from UTC-11 to UTC+11, so the date reads back unchanged.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import partial

from babel import Locale
from babel.numbers import format_decimal
from jinja2 import Environment

from aggregator.config import SOURCES
from aggregator.dates import DAY_EXAMPLES, parse_day_text
from aggregator.errors import UsageError

Point = tuple[datetime, int]

SPARKLINE_MAX_POINTS = 60
SPARKLINE_WIDTH = 100
SPARKLINE_HEIGHT = 24

_KEY = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_PLAIN_COUNT = re.compile(r"[0-9]+")
_GROUPED_COUNT = re.compile(r"[0-9]{1,3}(\.[0-9]{3})+")  # German thousands: 3.000, 1.310
_LARGEST_COUNT = 2**63 - 1  # an SQL BIGINT


def check_key(key: str) -> str:
    """A hand-entered figure's key: lower case, dotted, outside the fetched sources' names."""
    if not _KEY.fullmatch(key):
        raise UsageError(
            f"figure key {key!r}: use lower-case letters, digits, '_' and '-', "
            "parts joined by dots (e.g. agency.events)"
        )
    if key.split(".")[0] in SOURCES:
        raise UsageError(
            f"figure key {key!r}: {key.split('.')[0]}.* keys belong to fetched figures; "
            "choose a key of your own (e.g. facebook_group.members)"
        )
    return key


def parse_count(text: str) -> int:
    """A whole, non-negative number: `3000`, or grouped the German way, `3.000`."""
    cleaned = text.strip()
    if _PLAIN_COUNT.fullmatch(cleaned):
        value = int(cleaned)
    elif _GROUPED_COUNT.fullmatch(cleaned):
        value = int(cleaned.replace(".", ""))
    else:
        raise UsageError(f"{text!r} is not a count: write a whole number such as 3000 or 3.000")
    if value > _LARGEST_COUNT:
        raise UsageError(f"{text!r} is too large for a count")
    return value


def parse_day(text: str, what: str = "date") -> date:
    """`2017-06-27` or `27.06.2017`."""
    day = parse_day_text(text)
    if day is None:
        raise UsageError(f"{what}: {text!r} is not a date such as {DAY_EXAMPLES}")
    return day


def entry_moment(day: date) -> datetime:
    """When a value entered for `day` takes effect (noon UTC, see the module docstring)."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def day_start(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_end(day: date, zone: tzinfo) -> datetime:
    """The next local midnight, in UTC: the exclusive end of `day`."""
    return day_start(day + timedelta(days=1), zone)


def local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def value_before(points: Sequence[Point], moment: datetime) -> Point | None:
    """The last point recorded strictly before `moment` (`points` oldest first)."""
    index = bisect_left(points, moment, key=lambda point: point[0])
    return points[index - 1] if index else None


def value_on(points: Sequence[Point], day: date, zone: tzinfo) -> Point | None:
    """The value in force at the end of `day`: the last one recorded on or before it."""
    return value_before(points, day_end(day, zone))


def change_since(
    points: Sequence[Point], current: int, since: date | None, zone: tzinfo
) -> int | None:
    if since is None:
        return None
    baseline = value_on(points, since, zone)
    return None if baseline is None else current - baseline[1]


def points_since(
    points: Sequence[Point], since: date | None, zone: tzinfo, current: Point | None = None
) -> tuple[Point, ...]:
    """One point per local day (the day's last value) from `since` on, for a chart.

    The value in force on `since` opens the series, placed at the start of that day; the
    current value closes it at its `as_of`, so the line reaches the present."""
    series = list(points)
    if current is not None and (not series or current[0] > series[-1][0]):
        series.append(current)
    if since is not None:
        baseline = value_on(series, since, zone)
        after = [point for point in series if point[0] >= day_end(since, zone)]
        if baseline is not None:
            after.insert(0, (day_start(since, zone), baseline[1]))
        series = after
    return tuple(daily(series, zone))


def daily(points: Sequence[Point], zone: tzinfo) -> list[Point]:
    """The last point of each local day."""
    by_day: dict[date, Point] = {}
    for point in points:
        by_day[local_day(point[0], zone)] = point
    return list(by_day.values())


def downsample(points: Sequence[Point], limit: int = SPARKLINE_MAX_POINTS) -> list[Point]:
    """At most `limit` points, evenly spread, always keeping the first and the last."""
    if len(points) <= limit:
        return list(points)
    last = len(points) - 1
    return [points[round(index * last / (limit - 1))] for index in range(limit)]


def sparkline_points(
    history: Sequence[Point], width: int = SPARKLINE_WIDTH, height: int = SPARKLINE_HEIGHT
) -> str:
    """The `points` of an SVG polyline in a `0 0 width height` viewBox: time runs left to
    right, the smallest value sits at the bottom, the largest at the top (1 unit of margin)."""
    series = downsample(history)
    if not series:
        return ""
    start, end = series[0][0], series[-1][0]
    span = (end - start).total_seconds()
    low = min(value for _, value in series)
    high = max(value for _, value in series)
    margin = 1.0
    coordinates = []
    for index, (moment, value) in enumerate(series):
        share = (moment - start).total_seconds() / span if span else _index_share(index, series)
        level = (value - low) / (high - low) if high > low else 0.5
        x = share * width
        y = margin + (1 - level) * (height - 2 * margin)
        coordinates.append(f"{x:.1f},{y:.1f}")
    return " ".join(coordinates)


def _index_share(index: int, series: Sequence[Point]) -> float:
    return index / (len(series) - 1) if len(series) > 1 else 0.0


def signed_count(change: int, locale: Locale | str = "de_DE") -> str:
    """A change with its sign, grouped for the locale: `+312`, `-1.024`, `±0`."""
    if change == 0:
        return "±0"
    sign = "+" if change > 0 else "-"
    return sign + format_decimal(abs(change), locale=locale)


def install(env: Environment, locale: Locale) -> None:
    """The template helpers for figures: filter `signed_count`, global `sparkline_points`."""
    env.filters["signed_count"] = partial(signed_count, locale=locale)
    env.globals["sparkline_points"] = sparkline_points
