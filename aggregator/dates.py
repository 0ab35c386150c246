"""Calendar days as people write them: `2017-06-27` or, the German way, `27.06.2017`.

One parser for the command line (`--as-of`, `--since`) and the config (`showcase.since`), so
what works in one works in the other."""

from __future__ import annotations

import re
from datetime import date

DAY_EXAMPLES = "2017-06-27 or 27.06.2017"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_GERMAN_DAY = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")


def parse_day_text(text: str) -> date | None:
    """The day `text` names, or None when it names none (a wrong format or no such day)."""
    cleaned = text.strip()
    try:
        if _ISO_DAY.fullmatch(cleaned):
            return date.fromisoformat(cleaned)
        german = _GERMAN_DAY.fullmatch(cleaned)
        if german:
            day, month, year = (int(part) for part in german.groups())
            return date(year, month, day)
    except ValueError:
        pass
    return None
