"""docs/reliability.md is made from the tests: one row per `@pytest.mark.fault(...)`.

Each row names a fault done on purpose, what happens, the exit code and what is kept; the test
carrying the marker is what proves it, so the table lists it too. After adding or changing a
marker, write the table anew with

    SHOWCASE_REGENERATE_RELIABILITY=1 .venv/bin/pytest tests/test_reliability_table.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent
TABLE = TESTS.parent / "docs" / "reliability.md"
HEADER = """# Reliability: faults done on purpose

Every row is a test in this repository that does the damage and checks the outcome; CI runs
them all on every change. This file is written from the tests' `fault` markers
(`tests/test_reliability_table.py` fails when it differs), so it cannot drift from them.

| fault done on purpose | what happens | exit | what is kept | test |
| --- | --- | --- | --- | --- |
"""


def fault_rows(tmp_path: Path) -> list[list[str]]:
    """Every fault marker of the whole suite, collected (not run) in a child pytest."""
    target = tmp_path / "rows.json"
    env = {**os.environ, "SHOWCASE_FAULT_ROWS": str(target), "PYTHONPATH": str(TESTS)}
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    subprocess.run(
        [*command, "-p", "reliability_rows", str(TESTS)],
        env=env,
        cwd=TESTS.parent,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads(target.read_text(encoding="utf-8"))


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def table(rows: list[list[str]]) -> str:
    lines = [
        f"| {cell(done)} | {cell(happens)} | {cell(code)} | {cell(kept)} | `{cell(test)}` |"
        for test, done, happens, code, kept in sorted(rows, key=lambda row: row[0])
    ]
    return HEADER + "\n".join(lines) + "\n"


def test_every_fault_row_has_its_four_parts():
    rows = [["t::a", "done", "happens", "0", "kept"]]
    assert table(rows).endswith("| done | happens | 0 | kept | `t::a` |\n")
    assert "a \\| b" in table([["t::b", "a | b", "x", "1", "y"]])


def test_the_published_table_is_the_one_the_tests_make(tmp_path):
    rows = fault_rows(tmp_path)
    assert rows, "no test carries a fault marker"
    assert all(len(row) == 5 for row in rows), "a fault marker needs done, happens, exit, kept"
    made = table(rows)
    if os.environ.get("SHOWCASE_REGENERATE_RELIABILITY"):
        TABLE.write_text(made, encoding="utf-8")
    assert TABLE.read_text(encoding="utf-8") == made, (
        "docs/reliability.md differs from the tests' fault markers; regenerate it (see the "
        "module docstring)"
    )
