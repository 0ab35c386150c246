"""A pytest plugin that writes every `fault` marker of the collected tests to a JSON file.

Used by tests/test_reliability_table.py, which collects the whole suite in a child process
with `-p reliability_rows` and compares docs/reliability.md with the table the rows make, so
the published table cannot drift from the tests that do the damage."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def pytest_collection_finish(session: Any) -> None:
    target = os.environ.get("SHOWCASE_FAULT_ROWS")
    if not target:
        return
    rows = []
    seen = set()
    for item in session.items:
        test = item.nodeid.split("[", 1)[0]  # one row per test, not per parameter
        for marker in item.iter_markers("fault"):
            row = (test, *map(str, marker.args))
            if row not in seen:
                seen.add(row)
                rows.append(row)
    Path(target).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
