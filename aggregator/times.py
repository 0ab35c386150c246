"""Moments as the command line shows them: local to `showcase.timezone`, with the zone named.

`2026-11-26 10:00 CET`: one form in the status table, `figures list`, `curation` and the
scheduler's lines, so a time read on a server set to UTC is never taken for local time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

MINUTES = "%Y-%m-%d %H:%M %Z"
SECONDS = "%Y-%m-%d %H:%M:%S %Z"


def shown_time(moment: datetime, zone: ZoneInfo, pattern: str = MINUTES) -> str:
    """A naive moment is taken to be UTC, as the store keeps them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(pattern)
