"""Screenshots of the demo page for the README: docs/index-375.png and docs/index-1280.png.

    .venv/bin/python docs/screenshots.py

Runs `showcase demo` into a temporary folder and photographs its index.html in Debian's
chromium (the browser tests' helpers: nothing leaves loopback) at a phone's and a desktop's
width, after scrolling once so that the lazy thumbnails have loaded.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))

from browser_support import (  # noqa: E402
    Watch,
    chromium,
    chromium_path,
    scroll_through,
    serve_directory,
)

from aggregator.demo import run_demo  # noqa: E402

SHOTS = {375: 1700, 1280: 1500}  # width -> height of the picture


def main() -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder:
        page_path = run_demo(Path(folder))
        with serve_directory(page_path.parent) as base, chromium(executable) as browser:
            for width, height in SHOTS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                watch = Watch().attach(context)
                page = context.new_page()
                page.goto(f"{base}index.html")
                scroll_through(page)
                target = DOCS / f"index-{width}.png"
                page.screenshot(path=str(target))
                context.close()
                assert watch.outside == [], watch.outside
                print(target)


if __name__ == "__main__":
    main()
