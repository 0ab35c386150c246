"""Figures over time on a fixed history: parsing what staff type, the change since a date,
the page's daily history and sparkline, and history.json."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from aggregator import figures
from aggregator.errors import UsageError
from aggregator.history import HISTORY_FILE, history_document
from aggregator.render import Formats, make_environment, render_outputs
from aggregator.view import FigureView, Showcase

BERLIN = ZoneInfo("Europe/Berlin")
SINCE = date(2017, 6, 27)
NOW = datetime(2017, 10, 5, 6, 0, tzinfo=UTC)


def at(day: str, hour: int = 5) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


SUBSCRIBERS = [
    (at("2017-05-01"), 950),
    (at("2017-06-27", 8), 998),  # the value on 27.06.2017
    (at("2017-06-27", 23), 1001),  # 01:00 on 28.06. in Berlin: after that day
    (at("2017-08-01"), 1200),
    (at("2017-08-01", 9), 1210),  # same day: only the day's last value is a point
    (at("2017-10-01"), 1310),
]


@pytest.mark.parametrize(
    ("text", "value"),
    [("450", 450), ("3000", 3000), ("3.000", 3000), ("1.310", 1310), (" 12.345.678 ", 12345678),
     ("0", 0)],
)  # fmt: skip
def test_counts_are_whole_numbers_plain_or_grouped_the_german_way(text, value):
    assert figures.parse_count(text) == value


@pytest.mark.parametrize("text", ["1,5", "1.5", "abc", "", "-5", "3.00", "1.0000", "1e3", "٣"])
def test_anything_else_is_not_a_count(text):
    with pytest.raises(UsageError, match="not a count"):
        figures.parse_count(text)


@pytest.mark.parametrize(
    ("text", "day"),
    [("2017-06-27", SINCE), ("27.06.2017", SINCE), ("1.4.2024", date(2024, 4, 1))],
)
def test_dates_are_iso_or_german(text, day):
    assert figures.parse_day(text) == day


@pytest.mark.parametrize("text", ["2017-13-01", "31.02.2017", "27.06.17", "20170627", "gestern"])
def test_a_bad_date_is_a_usage_error(text):
    with pytest.raises(UsageError, match=r"--since: .* is not a date"):
        figures.parse_day(text, "--since")


@pytest.mark.parametrize("key", ["facebook_group.members", "agency.events", "akteure-2017"])
def test_keys_of_our_own(key):
    assert figures.check_key(key) == key


@pytest.mark.parametrize(
    "key", ["youtube.subscribers", "facebook.followers", "website.posts", "Agency", "a..b", "a b"]
)
def test_fetched_or_malformed_keys_are_refused(key):
    with pytest.raises(UsageError, match="figure key"):
        figures.check_key(key)


def test_a_hand_entered_date_reads_back_as_the_same_day_everywhere():
    moment = figures.entry_moment(date(2017, 10, 5))
    for zone in ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"):
        assert figures.local_day(moment, ZoneInfo(zone)) == date(2017, 10, 5)


def test_change_since_is_measured_from_the_value_on_that_day():
    assert figures.change_since(SUBSCRIBERS, 1310, SINCE, BERLIN) == 312
    assert figures.change_since(SUBSCRIBERS, 1310, date(2017, 8, 1), BERLIN) == 100
    assert figures.change_since(SUBSCRIBERS, 1310, None, BERLIN) is None


def test_no_change_since_when_nothing_was_recorded_by_then():
    later = SUBSCRIBERS[3:]
    assert figures.change_since(later, 1310, SINCE, BERLIN) is None


def test_daily_history_opens_with_the_value_on_since_and_reaches_the_present():
    points = figures.points_since(SUBSCRIBERS, SINCE, BERLIN, (NOW, 1310))
    days = [(figures.local_day(moment, BERLIN).isoformat(), value) for moment, value in points]
    assert days == [
        ("2017-06-27", 998),
        ("2017-06-28", 1001),
        ("2017-08-01", 1210),
        ("2017-10-01", 1310),
        ("2017-10-05", 1310),
    ]
    assert points[0][0] == datetime(2017, 6, 26, 22, tzinfo=UTC)  # midnight in Berlin


def test_daily_history_without_since_or_baseline_starts_at_the_first_value():
    assert figures.points_since(SUBSCRIBERS, None, BERLIN)[0] == SUBSCRIBERS[0]
    assert figures.points_since(SUBSCRIBERS[3:], SINCE, BERLIN)[0][1] == 1210


def test_sparkline_points_span_the_viewbox_in_time_and_value():
    history = ((at("2017-06-27"), 1000), (at("2017-07-27"), 1300), (at("2017-08-26"), 1000))
    assert figures.sparkline_points(history) == "0.0,23.0 50.0,1.0 100.0,23.0"
    flat = ((at("2017-06-27"), 5), (at("2017-06-28"), 5))
    assert figures.sparkline_points(flat) == "0.0,12.0 100.0,12.0"
    assert figures.sparkline_points(()) == ""


def test_a_long_history_is_drawn_with_at_most_60_points():
    start = at("2017-06-27")
    history = [(start + timedelta(days=day), day) for day in range(3400)]
    coordinates = figures.sparkline_points(history).split()
    assert len(coordinates) == figures.SPARKLINE_MAX_POINTS
    assert coordinates[0] == "0.0,23.0" and coordinates[-1] == "100.0,1.0"


def test_signed_counts():
    assert figures.signed_count(312) == "+312"
    assert figures.signed_count(3000) == "+3.000"
    assert figures.signed_count(-1024) == "-1.024"
    assert figures.signed_count(0) == "±0"


def figure_view(**overrides) -> FigureView:
    fields = {
        "key": "youtube.subscribers",
        "source": "youtube",
        "label": "YouTube-Abonnenten",
        "value": 1310,
        "as_of": NOW,
        "stale": False,
        "since": SINCE,
        "change_since": 312,
        "history": figures.points_since(SUBSCRIBERS, SINCE, BERLIN, (NOW, 1310)),
    }
    return FigureView(**{**fields, **overrides})


def showcase(*figure_views: FigureView) -> Showcase:
    return Showcase(
        title="#flächenglühen",
        intro="",
        generated_at=NOW,
        locale="de_DE",
        timezone="Europe/Berlin",
        figures=list(figure_views),
        since=SINCE,
    )


def test_the_sparkline_partial_is_an_accessible_inline_svg():
    env = make_environment((), Formats(Locale.parse("de_DE"), BERLIN))
    template = env.from_string('{% include "_sparkline.html" %}')
    svg = template.render(figure=figure_view())
    assert svg.strip().startswith("<svg") and svg.strip().endswith("</svg>")
    assert 'role="img"' in svg and 'viewBox="0 0 100 24"' in svg
    assert "<title>Verlauf seit 27.06.2017: von 998 auf 1.310</title>" in svg
    points = re.search(r'<polyline points="([^"]+)"', svg).group(1)
    assert len(points.split()) == 5
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")


def test_the_signed_count_filter_is_there_for_the_page():
    env = make_environment((), Formats(Locale.parse("de_DE"), BERLIN))
    assert env.from_string("{{ 312|signed_count }}").render() == "+312"


def test_history_json_has_one_point_per_day_from_since():
    manual = figure_view(
        key="agency.events",
        source="manual",
        label="Veranstaltungen",
        value=80,
        manual=True,
        change_since=None,
        history=((figures.entry_moment(date(2017, 10, 5)), 80),),
    )
    document = history_document(showcase(figure_view(), manual))
    assert document == {
        "generated_at": "2017-10-05T06:00:00+00:00",
        "since": "2017-06-27",
        "figures": [
            {
                "key": "youtube.subscribers",
                "label": "YouTube-Abonnenten",
                "manual": False,
                "points": [
                    {"date": "2017-06-27", "value": 998},
                    {"date": "2017-06-28", "value": 1001},
                    {"date": "2017-08-01", "value": 1210},
                    {"date": "2017-10-01", "value": 1310},
                    {"date": "2017-10-05", "value": 1310},
                ],
            },
            {
                "key": "agency.events",
                "label": "Veranstaltungen",
                "manual": True,
                "points": [{"date": "2017-10-05", "value": 80}],
            },
        ],
    }


def test_render_writes_history_json():
    outputs = render_outputs(showcase(figure_view()))
    assert json.loads(outputs[HISTORY_FILE])["figures"][0]["key"] == "youtube.subscribers"
