"""Benchmark: `showcase update` against the fake APIs at scale, and `showcase render`.

    .venv/bin/python bench/bench.py [--uploads 5000] [--fb-videos 1000] [--fb-posts 5000]
                                    [--render-items 10000]

Each command runs as its own process (the real CLI), so wall time and peak memory (max RSS)
are the command's own; the fake server runs in this process and counts quota units and requests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def run_cli(config: Path, *args: str) -> tuple[int, float, float]:
    """Run `showcase ARGS`; return exit code, seconds, and the child's peak RSS in MB."""
    env = dict(os.environ, YOUTUBE_API_KEY=KEY, FACEBOOK_ACCESS_TOKEN=TOKEN)
    command = [sys.executable, "-m", "aggregator", "--config", str(config), *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss / 1024


def bench_update(uploads: int, fb_videos: int, fb_posts: int) -> None:
    world = World.synthetic(
        youtube_uploads=uploads, facebook_videos=fb_videos, facebook_posts=fb_posts
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        FakeApiServer(world, api_key=KEY, access_token=TOKEN) as server,
    ):
        config = write_config(Path(folder), server.url)
        for run in ("first", "second"):
            server.reset_stats()
            code, seconds, rss = run_cli(config, "update")
            stats = server.stats
            thumbs = stats.by_route.get("thumbs", 0)
            print(
                f"update ({run} run; {uploads} uploads, {fb_videos} FB videos, {fb_posts} posts): "
                f"exit {code}, {seconds:.1f} s, peak RSS {rss:.0f} MB, "
                f"YouTube quota {stats.youtube_units} units "
                f"(bound {1 + 2 * -(-uploads // 50)}), "
                f"Graph requests {stats.graph_requests} "
                f"(bound {1 + -(-fb_videos // 100) + -(-fb_posts // 100)}), "
                f"thumbnails downloaded {thumbs}"
            )


def bench_render(count: int) -> None:
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
        code, seconds, rss = run_cli(config, "render")
        sizes = {p.name: p.stat().st_size for p in (Path(folder) / "public").glob("*.*")}
        print(
            f"render ({count} items): exit {code}, {seconds:.1f} s, peak RSS {rss:.0f} MB, "
            + ", ".join(f"{name} {size / 1024:.0f} kB" for name, size in sorted(sizes.items()))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=5000)
    parser.add_argument("--fb-videos", type=int, default=1000)
    parser.add_argument("--fb-posts", type=int, default=5000)
    parser.add_argument("--render-items", type=int, default=10000)
    args = parser.parse_args()
    bench_update(args.uploads, args.fb_videos, args.fb_posts)
    bench_render(args.render_items)


if __name__ == "__main__":
    main()
