"""Benchmark: issue 12's targets for `showcase update` and `render` against the fake APIs.

    .venv/bin/python bench/bench.py [--uploads 5000] [--fb-videos 1000] [--fb-posts 5000]
                                    [--render-items 10000] [--runs 3] [--thumbnail-sample 100]
    .venv/bin/python bench/bench.py --growth   # first update and render at 1,000/5,000/20,000
    .venv/bin/python bench/bench.py --thumbnails   # only the thumbnail phases per image
    .venv/bin/python bench/bench.py --page     # the page's weight in Debian's chromium
    .venv/bin/python bench/bench.py --render-only   # only `render` of the synthetic site

Each command runs as its own process (the real CLI), started by bench/spawn.py, so wall time,
CPU and peak memory (max RSS) are the command's own; the fake server runs in this process on a
fixed world (`World.fix`: what it works out is kept, as real APIs and image hosts serve what they
have), counts quota units and requests, and its CPU meanwhile is shown beside each command's.
bench/naive.py, the yardstick, does the same first update naively on a fresh copy of the same
world in the same run. Each measurement is repeated `--runs` times on a fresh site (these
machines are shared and noisy): the median is printed, with the fastest and slowest run, next
to its target and whether it holds. The thumbnail phases time thumbnails' own functions image by
image. No figure here is ever a timed test.
"""

from __future__ import annotations

import argparse
import atexit
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from PIL import Image

from aggregator import store, thumbnails
from aggregator.fakeapi import FakeApiServer, World
from aggregator.files import write_atomic
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
    """A generated world served on loopback, and a config file in a temporary folder for it.

    The world is fixed (`World.fix`) and its images are generated before anything is timed:
    the fake then serves what it worked out once, as the real APIs and image hosts do, rather
    than spending this machine's two cores on rebuilding listings and drawing JPEGs while the
    command under test runs. Each site has its own cache folder, so a first update renders
    with no card cache, as on a new installation."""
    world = World.synthetic(youtube_uploads=uploads, facebook_videos=videos, facebook_posts=posts)
    folder = Path(tempfile.mkdtemp(prefix="site-", dir=sites_root()))
    with FakeApiServer(world.fix(), api_key=KEY, access_token=TOKEN) as server:
        server.prepare_images()
        yield write_config(folder, server.url), server


@cache
def sites_root() -> Path:
    """The folder every site of this bench lives in, removed only when the bench ends.

    Removing each site as soon as it is measured would slow the next one down: on an ext4
    without a journal, as on these machines, the kernel skips the inodes freed in the last
    minute or more when it allocates a new one (ext4's `recently_deleted`), reading their
    inode table for each file created, and that scan ran under the directory's lock that the
    other thumbnail worker spun on. `perf` put 30 % of a thumbnail copy's CPU there right
    after the previous site's 4,300 files were removed; the same copy took 4.7 s of system
    CPU then and 1.0 s on a file system that had removed nothing lately."""
    root = Path(tempfile.mkdtemp(prefix="showcase-bench-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def youtube_bound(uploads: int) -> int:
    """The contract's quota bound for a full refresh: 1 + 2·⌈N/50⌉."""
    return 1 + 2 * -(-uploads // 50)


def graph_bound(videos: int, posts: int) -> int:
    """The request bound at page size 100: the figures, ⌈videos/100⌉, and ⌈posts/100⌉ where
    Graph's /posts also lists an `added_video` post for each video, plus at most one empty
    last page."""
    return 1 + -(-videos // 100) + -(-(posts + videos) // 100) + 1


def child_environment(site: Path | None = None) -> dict[str, str]:
    """The commands' environment: the fake's credentials, the site's own cache folder, and
    Python's bytecode cache in use as in an installed copy (pip compiles the package's modules
    at install; a shell that sets PYTHONDONTWRITEBYTECODE, as some sandboxes do, would make
    each command compile them)."""
    env = dict(os.environ, YOUTUBE_API_KEY=KEY, FACEBOOK_ACCESS_TOKEN=TOKEN)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if site is not None:
        env["XDG_CACHE_HOME"] = str(site / ".cache")
    return env


def compile_package() -> None:
    """Bytecode for the package's modules, as `pip install` writes it."""
    package = Path(store.__file__).parent
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(package), str(Path(__file__).parent)],
        env=child_environment(),
        check=True,
    )


class Run(NamedTuple):
    """One command: exit code, wall seconds, peak RSS in MB, its own CPU seconds (user and
    system, its threads included) and of those the system's (the kernel's, for it), and the
    CPU seconds the fake server (threads of this process, otherwise idle while it waits) spent
    meanwhile on the same cores."""

    code: int
    seconds: float
    rss: float
    cpu: float
    system_cpu: float
    fake_cpu: float


@cache
def launcher() -> subprocess.Popen[str]:
    """bench/spawn.py, which starts every command (see there why)."""
    spawn = str(Path(__file__).with_name("spawn.py"))
    pipe = subprocess.PIPE
    return subprocess.Popen([sys.executable, spawn], stdin=pipe, stdout=pipe, text=True)


def run_command(command: list[str], env: dict[str, str]) -> tuple[Run, str]:
    """Run `command` and wait for it; its standard output, and its error output on failure."""
    spawn = launcher()
    assert spawn.stdin and spawn.stdout
    fake_before = time.process_time()
    spawn.stdin.write(json.dumps({"command": command, "env": env}) + "\n")
    spawn.stdin.flush()
    done = json.loads(spawn.stdout.readline())
    fake_cpu = time.process_time() - fake_before
    if done["code"]:
        sys.stderr.write(done["stderr"])
    run = Run(
        done["code"], done["seconds"], done["rss_mb"], done["cpu"], done["system_cpu"], fake_cpu
    )
    return run, done["stdout"]


def run_cli(config: Path, *args: str) -> Run:
    """Run `showcase ARGS` on the site of `config`."""
    command = [sys.executable, "-m", "aggregator", "--config", str(config), *args]
    return run_command(command, child_environment(config.parent))[0]


def run_naive(config: Path, api_url: str) -> tuple[Run, dict[str, int]]:
    """Run bench/naive.py into a folder of its own; return the run and naive's counts."""
    folder = config.parent / "naive"
    folder.mkdir()
    command = [sys.executable, str(Path(__file__).with_name("naive.py")), api_url, str(folder)]
    run, out = run_command(command, child_environment(config.parent))
    assert run.code == 0, "naive.py failed"
    return run, json.loads(out)


def showcase_count(config: Path) -> int:
    """The items on our index.html (every showcase item is there, folded or not)."""
    return (config.parent / "public" / "index.html").read_text("utf-8").count("data-source=")


def spread(values: list[float], digits: int = 1) -> str:
    """Median, and (fastest–slowest) when there is more than one run."""
    text = f"{statistics.median(values):.{digits}f}"
    if len(values) > 1:
        text += f" ({min(values):.{digits}f}–{max(values):.{digits}f})"
    return text


@dataclass
class Samples:
    """Wall times and peak RSS of repeated runs of one command."""

    seconds: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)

    def add(self, seconds: float, rss: float) -> None:
        self.seconds.append(seconds)
        self.rss.append(rss)

    def __str__(self) -> str:
        return (
            f"{spread(self.seconds, 2)} s, peak RSS {statistics.median(self.rss):.0f} MB, "
            f"median of {len(self.seconds)}"
        )


@dataclass
class Target:
    """One row of issue 12's table: the runs' values and the bound they must stay under."""

    what: str
    unit: str
    bound: float
    values: list[float] = field(default_factory=list)
    digits: int = 2

    def row(self, note: str = "") -> str:
        median = statistics.median(self.values)
        holds = "holds" if median <= self.bound else "MISSED"
        return (
            f"  {self.what:<34} {spread(self.values, self.digits):>22} {self.unit:<3}"
            f" target ≤ {self.bound:g} {self.unit}: {holds}{note}"
        )


def timed(config: Path, *args: str) -> Run:
    run = run_cli(config, *args)
    assert run.code == 0, f"showcase {' '.join(args)} exited {run.code}"
    return run


def bench_targets(uploads: int, fb_videos: int, fb_posts: int, runs: int) -> None:
    """Issue 12's targets, each run on a fresh site, naive's first update on a fresh copy of
    the same world (its own server, so that neither warms the other's thumbnail cache)."""
    first = Target("first update (all thumbnails new)", "s", 4)
    naive = Target("naive first update (no resizing)", "s", 4)
    second = Target("second update, nothing new", "s", 2)
    quick = Target("update --quick, nothing new", "s", 1)
    render = Target("render (showcase items)", "s", 0.3)
    helps = Target("showcase --help", "s", 0.15)
    status = Target("showcase status", "s", 0.15)
    memory = Target("peak RSS of the first update", "MB", 128, digits=0)
    costs: dict[str, Any] = {}
    cpu: dict[str, list[Run]] = {"first": [], "naive": [], "second": []}
    for _ in range(runs):
        with synthetic_site(uploads, fb_videos, fb_posts) as (config, server):
            naive_run, counts = run_naive(config, server.url)
            naive.values.append(naive_run.seconds)
            cpu["naive"].append(naive_run)
            costs["naive"] = counts
        with synthetic_site(uploads, fb_videos, fb_posts) as (config, server):
            first_run = timed(config, "update")
            first.values.append(first_run.seconds)
            memory.values.append(first_run.rss)
            cpu["first"].append(first_run)
            stats = server.stats
            costs["first"] = (stats.youtube_units, stats.graph_requests, stats.thumb_requests)
            costs["showcase"] = showcase_count(config)
            server.reset_stats()
            second_run = timed(config, "update")
            second.values.append(second_run.seconds)
            cpu["second"].append(second_run)
            costs["second"] = (server.stats.youtube_units, server.stats.graph_requests)
            server.reset_stats()
            quick.values.append(timed(config, "update", "--quick").seconds)
            costs["quick"] = (server.stats.youtube_units, server.stats.graph_requests)
            render.values.append(timed(config, "render").seconds)
            helps.values.append(timed(config, "--help").seconds)
            status.values.append(timed(config, "status").seconds)
    units, graph, thumbs = costs["first"]
    youtube_floor, graph_floor = youtube_bound(uploads), graph_bound(fb_videos, fb_posts)
    print(
        f"targets ({uploads} uploads, {fb_videos} FB videos, {fb_posts} posts; "
        f"median (min–max) of {runs} runs, wall time of each command as its own process)"
    )
    faster = statistics.median(first.values) < statistics.median(naive.values)
    print(first.row(f"; faster than naive: {'yes' if faster else 'NO'}"))
    print(f"  {naive.what:<34} {spread(naive.values, 2):>22} s   the yardstick")
    print(
        f"    showcase items: ours {costs['showcase']}, naive {costs['naive']['showcase']}; "
        f"thumbnails: ours {thumbs}, naive {costs['naive']['thumbnails']}"
    )
    print(second.row())
    for name, what in (("first", "first update"), ("naive", "naive"), ("second", "second update")):
        print(
            f"    CPU of {what}: its own {spread([run.cpu for run in cpu[name]])} s (system "
            f"{spread([run.system_cpu for run in cpu[name]])}), the fake server's "
            f"{spread([run.fake_cpu for run in cpu[name]])} s (same two cores)"
        )
    for name, what in (("first", "first update"), ("naive", "naive")):
        print(
            f"    {what} at best on {os.cpu_count()} cores, its and the fake's CPU spread evenly: "
            f"{spread([cpu_floor(run) for run in cpu[name]], 2)} s; the wall took "
            f"{spread([run.seconds / cpu_floor(run) for run in cpu[name]], 2)}× that"
        )
    print(quick.row())
    print(render.row(f" ({costs['showcase']} items)"))
    print(helps.row())
    print(status.row())
    print(memory.row())
    at_floor = units <= youtube_floor and graph <= graph_floor
    print(
        f"  quota, first update: YouTube {units} units (floor {youtube_floor}), Graph {graph} "
        f"requests (floor {graph_floor}): {'holds' if at_floor else 'MISSED'}; second update "
        f"{costs['second'][0]} units, {costs['second'][1]} requests; --quick "
        f"{costs['quick'][0]} units, {costs['quick'][1]} requests"
    )


def cpu_floor(run: Run) -> float:
    """The shortest wall time the run's CPU allows on this machine's cores: its own CPU and the
    fake's, spread evenly over all of them (the real APIs would not share them)."""
    return (run.cpu + run.fake_cpu) / (os.cpu_count() or 1)


def bench_thumbnail_phases(sample: int) -> None:
    """Median ms per image of each phase, timing thumbnails' own functions on `sample` of the
    synthetic site's thumbnails (the same images a first update copies), one at a time."""
    with synthetic_site(5000, 1000, 5000) as (config, server):
        timed(config, "update")
        paths = [path for route, path in server.stats.requests if route == "thumbs"]
        urls = [server.url.rstrip("/") + path for path in paths[:: max(1, len(paths) // sample)]]
        hosts = thumbnails.image_hosts([server.url])
        http = thumbnails.checked_session(hosts)
        folder = config.parent / "phases"
        phases: dict[str, list[float]] = {p: [] for p in PHASES}
        for n, url in enumerate(urls[:sample]):
            clock = time.perf_counter()
            data = thumbnails._download_image(http, hosts, url, 30)
            clock = lap(phases["download"], clock)
            image = Image.open(io.BytesIO(data))
            widths = [w for w in thumbnails._WIDTHS if w <= thumbnails.crop_width(image.size)]
            if widths and image.format == "JPEG":  # as _encoded_variants decodes
                scale = max(widths) / thumbnails.crop_width(image.size)
                image.draft(
                    "RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale))
                )
            image.load()
            source = image if image.mode == "RGB" else image.convert("RGB")
            clock = lap(phases["decode"], clock)
            resized, larger = {}, source
            for w in sorted(widths, reverse=True):  # as _encoded_variants resizes
                resized[w] = larger = thumbnails._resized(source, (w, w * 9 // 16), larger)
            clock = lap(phases["resize"], clock)
            encoded = [
                (f"{n}.w{w}.{ext}", thumbnails._encode(resized[w], ext))
                for w in resized
                for ext in thumbnails._EXTENSIONS_OF[w]
            ]
            clock = lap(phases["encode"], clock)
            for name, out in [*encoded, (f"{n}.jpg", data)]:
                write_atomic(folder / name, out, durable=False)
            lap(phases["write"], clock)
        whole = []
        for url in urls[:sample]:
            data = thumbnails._download_image(http, hosts, url, 30)
            clock = time.perf_counter()
            thumbnails._converted(data, "thumbs/x")
            lap(whole, clock)
    print(f"thumbnail phases, median ms per image over {len(phases['download'])} images:")
    for phase, laps in phases.items():
        print(f"  {phase:<9} {statistics.median(laps) * 1000:7.2f} ms")
    print(
        f"  (decode+resize+encode in one _converted call: {statistics.median(whole) * 1000:.2f} ms)"
    )


PHASES = ("download", "decode", "resize", "encode", "write")


def lap(laps: list[float], since: float) -> float:
    now = time.perf_counter()
    laps.append(now - since)
    return now


def bench_growth(sizes: list[int]) -> None:
    """The first update and the render at each size, once; Facebook scaled with the uploads
    (a fifth as many videos, as many posts), the proportions of the default site."""
    rows = []
    for uploads in sizes:
        fb_videos, fb_posts = uploads // 5, uploads
        with synthetic_site(uploads, fb_videos, fb_posts) as (config, server):
            seconds, rss = timed(config, "update")[1:3]
            stats = server.stats
            render_seconds = timed(config, "render").seconds
            rows.append(
                (
                    uploads,
                    seconds,
                    rss,
                    stats.youtube_units + stats.graph_requests,
                    showcase_count(config),
                    render_seconds,
                )
            )
    print("growth (first update, then render; FB videos = uploads/5, posts = uploads; one run):")
    print("  uploads  update s   ×     RSS MB  ×    quota+Graph  ×    showcase  render s  ×")
    previous = None
    for row in rows:
        uploads, seconds, rss, cost, items, render_seconds = row
        ratios = ("", "", "", "")
        if previous:
            ratios = tuple(
                f"{new / old:.2f}"
                for new, old in zip(
                    (seconds, rss, cost, render_seconds),
                    (previous[1], previous[2], previous[3], previous[5]),
                    strict=True,
                )
            )
        print(
            f"  {uploads:>7} {seconds:>9.1f} {ratios[0]:>5} {rss:>8.0f} {ratios[1]:>5}"
            f" {cost:>10} {ratios[2]:>5} {items:>9} {render_seconds:>9.2f} {ratios[3]:>5}"
        )
        previous = row


def bench_render(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(dir=sites_root()) as folder:
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
            run = timed(config, "render")
            sample.add(run.seconds, run.rss)
        sizes = {p.name: p.stat().st_size for p in (Path(folder) / "public").glob("*.*")}
        print(
            f"render ({count} items): {sample}, "
            + ", ".join(f"{name} {size / 1024:.0f} kB" for name, size in sorted(sizes.items()))
        )


def bench_render_only(uploads: int, fb_videos: int, fb_posts: int, runs: int) -> None:
    """`render` of the synthetic site, `runs` times on one site after its first update: the
    render target without the updates around it, for iterating on the renderer."""
    with synthetic_site(uploads, fb_videos, fb_posts) as (config, _server):
        timed(config, "update")
        render = Target("render (showcase items)", "s", 0.3)
        for _ in range(runs):
            render.values.append(timed(config, "render").seconds)
        print(render.row(f" ({showcase_count(config)} items)"))


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
            timed(config, "update")
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
    parser.add_argument(
        "--growth", action="store_true", help="only the growth table: 1,000, 5,000, 20,000 uploads"
    )
    parser.add_argument(
        "--thumbnails", action="store_true", help="only the thumbnail phases per image"
    )
    parser.add_argument("--thumbnail-sample", type=int, default=100, help="images timed by phase")
    parser.add_argument(
        "--render-only", action="store_true", help="only `render` of the synthetic site"
    )
    args = parser.parse_args()
    compile_package()
    if args.page:
        bench_page()
        return
    print(f"{os.cpu_count()} cores")
    if args.growth:
        bench_growth([1000, 5000, 20000])
        return
    if args.thumbnails:
        bench_thumbnail_phases(args.thumbnail_sample)
        return
    if args.render_only:
        bench_render_only(args.uploads, args.fb_videos, args.fb_posts, args.runs)
        return
    bench_targets(args.uploads, args.fb_videos, args.fb_posts, args.runs)
    bench_thumbnail_phases(args.thumbnail_sample)
    bench_render(args.render_items, args.runs)


if __name__ == "__main__":
    main()
