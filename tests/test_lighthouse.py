"""Lighthouse on the demo page: 100 in performance, accessibility, best practices and SEO, at
Lighthouse's mobile settings (its default: a mid-range phone, throttled) and at `--preset=desktop`.

Lighthouse comes from npm, pinned in tests/lighthouse/package.json and package-lock.json
(`npm ci` there; .ci/run does it), and drives Debian's Chromium (CHROME_PATH). `showcase demo`
writes the page into a temporary folder, served on 127.0.0.1. Nothing leaves loopback: Chromium
resolves every other host name to "not found" (--host-resolver-rules), Lighthouse's error
reporting is off, and the test checks that every request the page made went to loopback.

Without Lighthouse (or Chromium) the tests are skipped; CI sets SHOWCASE_REQUIRE_LIGHTHOUSE=1,
which turns the skip into a failure. A failure names each failing audit: its id and title.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from browser_support import CHROMIUM_ARGS, chromium_path, is_loopback, serve_directory
from test_render import golden_showcase, parse, render_outputs

LIGHTHOUSE = Path(__file__).parent / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
REQUIRED = os.environ.get("SHOWCASE_REQUIRE_LIGHTHOUSE") == "1"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PRESETS = ("mobile", "desktop")
# Every host but 127.0.0.1 is "not found": a page (or Chromium itself) asking for anything
# else fails at once. Checked with a page holding an <img> from a Google host: Lighthouse
# reports net::ERR_NAME_NOT_RESOLVED for it.
BLOCK_THE_INTERNET = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
TIMEOUT_SECONDS = 240


def missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}, and SHOWCASE_REQUIRE_LIGHTHOUSE=1 asks for the Lighthouse tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> Iterator[str]:
    """`showcase demo` into a temporary folder, its output served on loopback."""
    if not LIGHTHOUSE.is_file():
        missing("lighthouse is not installed (cd tests/lighthouse && npm ci)")
    if chromium_path() is None:
        missing("chromium is not installed (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "demo", "--directory", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    page = Path(done.stdout.strip().splitlines()[-1])
    with serve_directory(page.parent) as base:
        yield f"{base}{page.name}"


def chrome_flags() -> str:
    flags = ["--headless=new", *CHROMIUM_ARGS, "--no-proxy-server", BLOCK_THE_INTERNET]
    if os.geteuid() != 0:  # as root Chromium's sandbox cannot start; otherwise keep it
        flags.remove("--no-sandbox")
    # Lighthouse splits this string like a shell: the rule's spaces stay inside its quotes.
    return " ".join(f"'{flag}'" if " " in flag else flag for flag in flags)


def run_lighthouse(url: str, preset: str, report: Path) -> dict[str, Any]:
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--no-enable-error-reporting",
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={report}",
        f"--chrome-flags={chrome_flags()}",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    environment = {**os.environ, "CHROME_PATH": str(chromium_path())}
    subprocess.run(command, env=environment, check=True, timeout=TIMEOUT_SECONDS)
    return json.loads(report.read_text(encoding="utf-8"))


def failing_audits(result: dict[str, Any]) -> list[str]:
    """'category: audit-id (title) value' for each scored audit below 1 in a category below 1."""
    lines = []
    for name, category in result["categories"].items():
        if category["score"] == 1:
            continue
        for reference in category["auditRefs"]:
            audit = result["audits"][reference["id"]]
            if reference["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                value = f" {audit['displayValue']}" if audit.get("displayValue") else ""
                lines.append(f"{name}: {audit['id']} ({audit['title']}){value}")
    return lines


def requests_made(result: dict[str, Any]) -> list[str]:
    return [item["url"] for item in result["audits"]["network-requests"]["details"]["items"]]


@pytest.mark.parametrize("preset", PRESETS)
def test_lighthouse_scores_100_in_every_category(demo_url, preset, tmp_path):
    result = run_lighthouse(demo_url, preset, tmp_path / f"lighthouse-{preset}.json")

    assert result.get("runtimeError") is None, result["runtimeError"]
    scores = {name: result["categories"][name]["score"] for name in CATEGORIES}
    failing = "\n".join(failing_audits(result))
    assert scores == dict.fromkeys(CATEGORIES, 1), f"{preset}: {scores}\n{failing}"
    assert [url for url in requests_made(result) if not is_loopback(url)] == []


# --- what the audits ask of every page, not only the demo's (fast: no browser) ----------------


@pytest.mark.parametrize("intro", ["Kurze Porträts kreativer Menschen aus Sachsen.", ""])
def test_every_page_has_a_description_for_search_engines(intro):
    """Lighthouse's SEO audit `meta-description` (https://developer.chrome.com/docs/lighthouse/
    seo/meta-description): a site whose config has no intro still gets one."""
    showcase = replace(golden_showcase(), intro=intro)

    for name in ("index.html", "embed.html"):
        head = parse(render_outputs(showcase)[name]).find_all("meta", name="description")

        (description,) = head
        assert description.attrs["content"] == (
            intro or "#flächenglühen: Videos, Beiträge und Kennzahlen"
        )
