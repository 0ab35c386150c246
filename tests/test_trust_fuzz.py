"""Hostile and broken input from the APIs (issue 11, item 4, the fuzzing half).

Three layers, each checked for the same promise: nothing an API sends can crash a run, put
script or a foreign URL scheme into the page, or flip its layout.

- Raw answers (end to end against the fake API, `FakeApiServer.inject` sending bytes): invalid
  UTF-8 and JSON nested 100,000 levels deep are one clear failure of that source; the others
  go on. RFC 8259 section 8.1 requires JSON to be UTF-8
  (https://www.rfc-editor.org/rfc/rfc8259#section-8.1) and allows a parser to limit nesting
  depth (section 9); Python's json raises RecursionError past its limit.
- The parsers (hypothesis): items built from the real recordings (YouTube videos.list, Graph
  /videos and /posts; tests/conftest.py REAL_API) and from the WordPress post schema
  (https://developer.wordpress.org/rest-api/reference/posts/#schema), one field replaced by a
  hostile value. A parser either returns a checked Item or skips the item (SkippedItem):
  nothing else escapes.
- The renderer (hypothesis, and end to end): hostile text and URLs in every text and URL
  field; the pages are parsed with html.parser and every attribute is checked.
"""

from __future__ import annotations

import sqlite3

import pytest
from conftest import Site

from aggregator.cli import main

DEEP = 100_000
NESTED_JSON = ("[" * DEEP + "]" * DEEP).encode()
NESTED_OBJECT = ('{"a":' * DEEP + "1" + "}" * DEEP).encode()
INVALID_UTF8 = b'{"items": [{"id": "\xff\xfe\xc3\x28"}], "kind": "\xed\xa0\x80"}'


def run(site: Site, *args: str) -> int:
    return main(["--config", str(site.config), *args])


def saved_sources(site: Site) -> set[str]:
    with sqlite3.connect(site.folder / "showcase.db") as db:
        return {row[0] for row in db.execute("SELECT DISTINCT source FROM items")}


RAW_FAULTS = {
    "youtube deeply nested": ("youtube.channels", NESTED_JSON, "youtube"),
    "youtube invalid utf-8": ("youtube.channels", INVALID_UTF8, "youtube"),
    "facebook deeply nested": ("graph.page", NESTED_OBJECT, "facebook"),
    "facebook invalid utf-8": ("graph.page", INVALID_UTF8, "facebook"),
    "website deeply nested": ("wordpress.posts", NESTED_JSON, "website"),
    "website invalid utf-8": ("wordpress.posts", INVALID_UTF8, "website"),
}


@pytest.mark.fault(
    "an API answers 200 with invalid UTF-8 or JSON nested 100,000 levels deep",
    "one line naming the source and 'not JSON'; the other sources are fetched and the page "
    "rendered",
    "1",
    "every other source's items; the page",
)
@pytest.mark.parametrize("fault", RAW_FAULTS, ids=list(RAW_FAULTS))
def test_a_raw_answer_that_is_not_json_fails_its_source_only(site: Site, capsys, fault: str):
    route, body, source = RAW_FAULTS[fault]
    site.server.inject(route, status=200, body=body, times=10)
    assert run(site, "update") == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"showcase: {source}:")]
    assert lines, err
    assert "not JSON" in lines[0]
    assert "Traceback" not in err and "RecursionError" not in err
    assert saved_sources(site) == {"youtube", "facebook", "website"} - {source}
    assert (site.output / "index.html").is_file()
