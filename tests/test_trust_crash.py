"""Crashes: a real `showcase update` killed with SIGKILL at every phase, then run again.

The child is `python -c CHILD`: it replaces one function of the phase with one that kills the
process on its Nth call, then runs the real command line. Nothing in the package knows."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY
from test_render import golden_showcase
from test_scheduler import add_video

from aggregator.files import GENERATIONS_DIR
from aggregator.render import render_showcase

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import importlib, os, signal, sys
module, name, nth, half = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "half"
owner = importlib.import_module(module)
real = getattr(owner, name)
calls = 0
def killing(*args, **kwargs):
    global calls
    calls += 1
    if calls == nth:
        if half:  # the generation's first half is on disk, the rest never comes
            files = list(args[1].items())
            real(args[0], dict(files[: len(files) // 2]))
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
setattr(owner, name, killing)
from aggregator.cli import main
sys.exit(main(sys.argv[5:]))
"""

PHASES = {
    # the second YouTube request: the first page of the uploads listing
    "listing": ("aggregator.sources.youtube", "_execute_once", 2, ""),
    # the items written (one bulk upsert), the figures not yet: inside the save's transaction
    "saving": ("aggregator.store", "_save_figures", 1, ""),
    # the second file renamed into place: a thumbnail or its resized copy, its temp file left
    "thumbnails": ("os", "replace", 2, ""),
    # half of the generation's files written, then nothing
    "outputs": ("aggregator.files", "_write_tree", 1, "half"),
}
PAGES = ("index.html", "fragment.html", "embed.html", "feed.xml")
DATA = ("figures.json", "feed.json", "history.json")


def showcase(site, *args: str, patch: tuple[str, str, int, str] | None = None):
    env = dict(os.environ, YOUTUBE_API_KEY=API_KEY, FACEBOOK_ACCESS_TOKEN=ACCESS_TOKEN)
    prefix = ["-c", CHILD, *map(str, patch)] if patch else ["-m", "aggregator"]
    command = [sys.executable, *prefix, "--config", str(site.config), *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def visible_outputs(output: Path) -> dict[str, bytes]:
    """What a web server serves: every file reached from the output folder's own names."""
    found = {}
    for path in output.iterdir():
        if path.name.startswith(".") or path.name == "thumbs":
            continue
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
        for file in files:
            found[file.relative_to(output).as_posix()] = file.read_bytes()
    return found


def assert_whole(outputs: dict[str, bytes]) -> None:
    for name in DATA:
        json.loads(outputs[name])
    for name in PAGES:
        text = outputs[name].decode("utf-8").rstrip()
        closing = {"fragment.html": "</section>", "feed.xml": "</feed>"}.get(name, "</html>")
        assert text.endswith(closing), name


def rows(site) -> dict[str, set[tuple]]:
    with sqlite3.connect(site.folder / "showcase.db") as db:
        assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert db.execute("pragma foreign_key_check").fetchall() == []
        items = "select source, platform_id, title, url, published_at, public from items"
        history = "select key, value, taken_at from figure_history"
        return {
            "items": set(db.execute(items)),
            "figures": set(db.execute("select key, value, as_of from figures")),
            "history": set(db.execute(history)),
        }


FAULTS = {
    "listing": "`kill -9` of `update` during a listing (the uploads' first page)",
    "saving": "`kill -9` of `update` while saving, mid-way through the items",
    "thumbnails": "`kill -9` of `update` during thumbnail work, a temporary file half-done",
    "outputs": "`kill -9` of `update` while writing the outputs, half the files written",
}
HAPPENS = (
    "integrity and foreign key checks clean; the page stays the last good render's, "
    "byte for byte; the rerun takes the lock, finishes, removes the killed render's leftovers"
)
KEPT = "every item and figure of the last good run; every output file whole, all of one render"


@pytest.mark.parametrize(
    "phase",
    [
        pytest.param(phase, marks=pytest.mark.fault(FAULTS[phase], HAPPENS, "-9, rerun 0", KEPT))
        for phase in PHASES
    ],
)
def test_kill_9_at_every_phase_of_update_loses_nothing(site, phase):
    assert showcase(site, "update").returncode == 0
    before_rows, before_outputs = rows(site), visible_outputs(site.output)
    add_video(site, "NEWvideo001", "Neu: Die Weberin aus Crimmitschau #Flächenglühen")
    add_video(site, "NEWvideo002", "Neu: Der Drechsler aus Olbernhau #Flächenglühen")

    killed = showcase(site, "update", patch=PHASES[phase])

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after_kill = rows(site)
    assert before_rows["items"] <= after_kill["items"]
    assert before_rows["history"] <= after_kill["history"]
    # Killed before the switch: the page is the last good render's, every byte of it.
    assert visible_outputs(site.output) == before_outputs

    rerun = showcase(site, "update")

    assert rerun.returncode == 0, rerun.stderr  # not 75: the lock died with the process
    after = rows(site)
    assert {row[:2] for row in before_rows["items"]} <= {row[:2] for row in after["items"]}
    assert before_rows["history"] <= after["history"]
    outputs = visible_outputs(site.output)
    assert_whole(outputs)
    assert "NEWvideo002" in outputs["index.html"].decode()
    generated = json.loads(outputs["figures.json"])["generated_at"]
    assert json.loads(outputs["history.json"])["generated_at"] == generated
    generations = site.output / GENERATIONS_DIR
    assert sorted(p.name for p in generations.iterdir()) == sorted(
        ["current", os.readlink(generations / "current")]
    ), "old generations and a killed render's half are removed"
    assert not list(site.output.rglob("*.tmp")), "orphaned temporary files are removed"


# -- what a killed render leaves behind ---------------------------------------------------------


@pytest.fixture
def dead_pid() -> int:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    )
    return int(finished.stdout)


@pytest.fixture
def live_pid():
    sleeper = subprocess.Popen(["sleep", "60"])
    yield sleeper.pid
    sleeper.kill()
    sleeper.wait()


def leftovers(output: Path, pid: int) -> list[Path]:
    """What a render or a thumbnail copy by `pid` leaves when it dies half-way."""
    building = output / GENERATIONS_DIR / f".building-{0:020d}-{pid}"
    (building / "badges").mkdir(parents=True)
    (building / "index.html").write_text("<!doctype html><p>halb")
    switching = output / GENERATIONS_DIR / f".switching-{0:020d}-{pid}"
    switching.symlink_to(building.name)
    (output / "thumbs").mkdir(exist_ok=True)
    temps = [
        output / f".index.html.{pid}.k3j_x9ab.tmp",
        output / f"thumbs/.a.jpg.{pid}.q0w9e8r7.tmp",
    ]
    for temp in temps:
        temp.write_bytes(b"half")
    return [building, switching, *temps]


@pytest.mark.fault(
    "a render or thumbnail copy killed half-way: a half generation and temporary files left",
    "the next render removes them (their writer's pid is gone); a running writer's are kept",
    "0",
    "the last good page until the new one is switched in whole",
)
def test_the_next_render_removes_what_a_killed_writer_left(tmp_path, dead_pid, live_pid):
    render_showcase(golden_showcase(), tmp_path)
    first = os.readlink(tmp_path / GENERATIONS_DIR / "current")
    dead, live = leftovers(tmp_path, dead_pid), leftovers(tmp_path, live_pid)

    render_showcase(replace(golden_showcase(), title="Neu"), tmp_path)

    assert [path for path in dead if os.path.lexists(path)] == []
    assert [path for path in live if not os.path.lexists(path)] == []
    assert not (tmp_path / GENERATIONS_DIR / first).exists()


def test_temporary_files_without_a_pid_go_after_an_hour(tmp_path):
    """Temporary files of versions before the pid was in their name."""
    render_showcase(golden_showcase(), tmp_path)
    old, fresh = tmp_path / ".index.html.k3j_x9ab.tmp", tmp_path / ".feed.json.a1b2c3d4.tmp"
    for temp in (old, fresh):
        temp.write_bytes(b"half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))

    render_showcase(golden_showcase(), tmp_path)

    assert not old.exists() and fresh.exists()


def test_outputs_of_a_version_before_generations_become_links(tmp_path):
    (tmp_path / "badges").mkdir()
    (tmp_path / "badges" / "gone.figure.json").write_text("{}")
    (tmp_path / "index.html").write_text("vorher")

    render_showcase(golden_showcase(), tmp_path)

    assert (tmp_path / "index.html").is_symlink() and (tmp_path / "badges").is_symlink()
    assert (tmp_path / "index.html").read_text().startswith("<!doctype html>")
    assert not (tmp_path / "badges" / "gone.figure.json").exists()
    assert [p.name for p in (tmp_path / GENERATIONS_DIR).iterdir() if p.name != "current"] == [
        os.readlink(tmp_path / GENERATIONS_DIR / "current")
    ]


def test_rsync_with_copy_links_publishes_plain_whole_files(tmp_path):
    """The README's publish_command: `-L` copies what the names link to, the generations stay."""
    if shutil.which("rsync") is None:
        if os.environ.get("SHOWCASE_REQUIRE_RSYNC") == "1":
            pytest.fail("rsync is not installed; SHOWCASE_REQUIRE_RSYNC=1 requires it")
        pytest.skip("rsync is not installed")
    output = tmp_path / "public"
    render_showcase(golden_showcase(), output)
    command = ["rsync", "-aL", "--delete", "--delay-updates", "--exclude=/.generations"]
    subprocess.run([*command, f"{output}/", str(tmp_path / "web")], check=True, timeout=60)

    web = tmp_path / "web"
    assert not (web / GENERATIONS_DIR).exists()
    assert not [p for p in web.rglob("*") if p.is_symlink()]
    assert visible_outputs(web) == visible_outputs(output)
