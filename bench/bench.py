"""Benchmark: `showcase update` against the fake APIs at scale, and `showcase render`.

    .venv/bin/python bench/bench.py [--uploads 5000] [--fb-videos 1000] [--fb-posts 5000]
                                    [--render-items 10000] [--runs 3]
    .venv/bin/python bench/bench.py --page     # the page's weight in Debian's chromium

Each command runs as its own process (the real CLI), so wall time and peak memory (max RSS)
are the command's own; the fake server runs in this process and counts quota units and requests.
Each measurement is repeated `--runs` times on a fresh site (these machines are shared and
noisy): the median is printed, with the fastest and slowest run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aggregator import store
from aggregator.fakeapi import FakeApiServer, World
from aggregator.models import Account, Figure, Item, SourceResult

KEY, TOKEN = "bench-key", "bench-token"


def write_config(folder: Path, api_url: str | None) -> Path:
    sources = ""
    if api_url:
        sources = (
            f'[youtube]\nchannel = "@kreativessachsen"\napi_endpoint = "{api_url}"\n'
            f'[facebook]\npage = "kreativessachsen"\ngraph_url = "{api_url.rstrip("/")}"\n'
        )
    path = folder / "showcase.toml"
    path.write_text(
        '[storage]\ndatabase = "sqlite:///showcase.db"\n[output]\ndirectory = "public"\n'
        '[showcase]\ntitle = "#flächenglühen"\nhashtags = ["flächenglühen"]\n' + sources
    )
    return path


@contextmanager
def synthetic_site(uploads: int, videos: int, posts: int) -> Iterator[tuple[Path, FakeApiServer]]:
    """A generated world served on loopback, and a config file in a temporary folder for it."""
    world = World.synthetic(youtube_uploads=uploads, facebook_videos=videos, facebook_posts=posts)
    with (
        tempfile.TemporaryDirectory() as folder,
        FakeApiServer(world, api_key=KEY, access_token=TOKEN) as server,
    ):
        yield write_config(Path(folder), server.url), server


def youtube_bound(uploads: int) -> int:
    """The contract's quota bound for a full refresh: 1 + 2·⌈N/50⌉."""
    return 1 + 2 * -(-uploads // 50)


def graph_bound(videos: int, posts: int) -> int:
    """The request bound at page size 100: the figures, ⌈videos/100⌉, and ⌈posts/100⌉ where
    Graph's /posts also lists an `added_video` post for each video, plus at most one empty
    last page."""
    return 1 + -(-videos // 100) + -(-(posts + videos) // 100) + 1


def run_cli(config: Path, *args: str) -> tuple[int, float, float]:
    """Run `showcase ARGS`; return exit code, seconds, and the child's peak RSS in MB."""
    env = dict(os.environ, YOUTUBE_API_KEY=KEY, FACEBOOK_ACCESS_TOKEN=TOKEN)
    command = [sys.executable, "-m", "aggregator", "--config", str(config), *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss / 1024


@dataclass
class Samples:
    """Wall times and peak RSS of repeated runs of one command."""

    seconds: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)

    def add(self, seconds: float, rss: float) -> None:
        self.seconds.append(seconds)
        self.rss.append(rss)

    def __str__(self) -> str:
        runs = len(self.seconds)
        spread = f" ({min(self.seconds):.1f}–{max(self.seconds):.1f})" if runs > 1 else ""
        return (
            f"{statistics.median(self.seconds):.1f} s{spread}, "
            f"peak RSS {statistics.median(self.rss):.0f} MB, median of {runs}"
        )


def bench_update(uploads: int, fb_videos: int, fb_posts: int, runs: int) -> None:
    samples = {"first": Samples(), "second": Samples()}
    costs: dict[str, str] = {}
    for _ in range(runs):
        with synthetic_site(uploads, fb_videos, fb_posts) as (config, server):
            for run, sample in samples.items():
                server.reset_stats()
                code, seconds, rss = run_cli(config, "update")
                assert code == 0, f"update exited {code}"
                sample.add(seconds, rss)
                stats = server.stats
                costs[run] = (
                    f"YouTube quota {stats.youtube_units} units "
                    f"(bound {youtube_bound(uploads)}), "
                    f"Graph requests {stats.graph_requests} "
                    f"(bound {graph_bound(fb_videos, fb_posts)}), "
                    f"thumbnails downloaded {stats.by_route.get('thumbs', 0)}"
                )
    for run, sample in samples.items():
        print(
            f"update ({run} run; {uploads} uploads, {fb_videos} FB videos, {fb_posts} posts): "
            f"{sample}, {costs[run]}"
        )


def bench_quick_refresh(uploads: int, fb_videos: int, fb_posts: int, runs: int) -> None:
    """`update --quick` with nothing new, after a full `update`: what a frequent run costs."""
    sample = Samples()
    with synthetic_site(uploads, fb_videos, fb_posts) as (config, server):
        run_cli(config, "update")
        for _ in range(runs):
            server.reset_stats()
            code, seconds, rss = run_cli(config, "update", "--quick")
            assert code == 0, f"update --quick exited {code}"
            sample.add(seconds, rss)
        stats = server.stats
    print(
        f"update --quick (nothing new; {uploads} uploads, {fb_videos} FB videos, "
        f"{fb_posts} posts): {sample}, "
        f"YouTube quota {stats.youtube_units} units (full: {youtube_bound(uploads)}), "
        f"Graph requests {stats.graph_requests} "
        f"(full: {graph_bound(fb_videos, fb_posts)})"
    )


def bench_render(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), None)
        engine = store.open_database(f"sqlite:///{folder}/showcase.db")
        now = datetime.now(UTC)
        items = [
            Item(
                source="youtube",
                platform_id=f"v{n:07d}",
                kind="video",
                title=f"Flächenglühen Folge {n} #flächenglühen",
                description="Ein Porträt. " * 40,
                url=f"https://www.youtube.com/watch?v=v{n:07d}",
                published_at=now - timedelta(hours=n),
                duration_seconds=180 + n % 600,
                views=n * 7,
            )
            for n in range(count)
        ]
        account = Account("youtube", "UCbench", "Bench", "https://www.youtube.com/@bench")
        result = SourceResult(
            "youtube", account, [Figure("youtube.subscribers", 1310)], items, complete=True
        )
        with store.session_scope(engine) as session:
            store.save_result(session, result, now)
        engine.dispose()
        sample = Samples()
        for _ in range(runs):
            code, seconds, rss = run_cli(config, "render")
            assert code == 0, f"render exited {code}"
            sample.add(seconds, rss)
        sizes = {p.name: p.stat().st_size for p in (Path(folder) / "public").glob("*.*")}
        print(
            f"render ({count} items): {sample}, "
            + ", ".join(f"{name} {size / 1024:.0f} kB" for name, size in sorted(sizes.items()))
        )


def bench_page() -> None:
    """Fragment bytes for 24 items, and bytes and requests of index.html's first load.

    A synthetic channel and page go through the real `update` (thumbnails and their resized
    copies included); Debian's chromium then loads index.html from a loopback server at 375
    and 1280 px without scrolling. Every request is checked to stay on loopback."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser_support import chromium, chromium_path, serve_directory

    executable = chromium_path()
    if executable is None:
        print("page: skipped, chromium is not installed (apt-get install chromium)")
        return
    # 115 uploads, 30 videos and 50 posts make exactly 24 showcase items; the larger world
    # makes 46, so that 22 of them sit folded behind "Weitere Videos" on the first load.
    for uploads, videos, posts in ((115, 30, 50), (210, 60, 140)):
        with synthetic_site(uploads, videos, posts) as (config, _server):
            run_cli(config, "update")
            public = config.parent / "public"
            fragment = public / "fragment.html"
            text = fragment.read_text(encoding="utf-8")
            items, cards = text.count("data-source="), text.count("data-episode=")
            print(
                f"page ({items} items in {cards} cards): fragment.html "
                f"{fragment.stat().st_size / 1000:.1f} kB (images aside)"
            )
            with serve_directory(public) as base, chromium(executable) as browser:
                for width in (375, 1280):
                    print(
                        f"page ({items} items): first load at {width} px: "
                        + first_load(browser, base, width)
                    )


def first_load(browser: Any, base: str, width: int) -> str:
    from browser_support import Watch

    context = browser.new_context(viewport={"width": width, "height": 900})
    watch = Watch().attach(context)
    sizes: list[int] = []
    page = context.new_page()
    page.on("response", lambda response: sizes.append(len(response.body())))
    page.goto(f"{base}index.html")
    page.wait_for_load_state("networkidle")
    context.close()
    leaving = f", {len(watch.outside)} NOT on loopback" if watch.outside else ", all loopback"
    return f"{sum(sizes) / 1000:.1f} kB in {len(watch.inside)} requests{leaving}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=5000)
    parser.add_argument("--fb-videos", type=int, default=1000)
    parser.add_argument("--fb-posts", type=int, default=5000)
    parser.add_argument("--render-items", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each measurement")
    parser.add_argument("--page", action="store_true", help="only the page weight (chromium)")
    args = parser.parse_args()
    if args.page:
        bench_page()
        return
    print(f"{os.cpu_count()} cores")
    bench_update(args.uploads, args.fb_videos, args.fb_posts, args.runs)
    bench_quick_refresh(args.uploads, args.fb_videos, args.fb_posts, args.runs)
    bench_render(args.render_items, args.runs)


if __name__ == "__main__":
    main()
