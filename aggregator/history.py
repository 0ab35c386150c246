"""`history.json`: each figure's values over time, for a website that draws its own chart.

    {"generated_at": ISO-8601,
     "since": "2017-06-27" | null,
     "figures": [{"key", "label", "manual", "points": [{"date": "2017-06-27", "value": 998}]}]}

One point per calendar day (in the configured time zone) on which the value changed, from
`since` on: the first point is the value in force on `since` when one was recorded, the last
is the current value on the day of its last fetch. See `figures.points_since`.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.figures import local_day
from aggregator.view import Showcase

HISTORY_FILE = "history.json"


def history_json(showcase: Showcase) -> bytes:
    """Compact: one point per day over years adds up, and a website fetches this file."""
    document = history_document(showcase)
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def history_document(showcase: Showcase) -> dict[str, Any]:
    zone = ZoneInfo(showcase.timezone)
    return {
        "generated_at": showcase.generated_at.astimezone(UTC).isoformat(timespec="seconds"),
        "since": showcase.since.isoformat() if showcase.since else None,
        "figures": [
            {
                "key": figure.key,
                "label": figure.label,
                "manual": figure.manual,
                "points": [
                    {"date": local_day(moment, zone).isoformat(), "value": value}
                    for moment, value in figure.history
                ],
            }
            for figure in showcase.figures
        ],
    }
