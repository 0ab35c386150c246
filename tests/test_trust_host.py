"""Bad days on the host (issue 11, item 3): a full disk, a read-only folder or database file,
a database in a missing folder, a corrupted or truncated database, one from a newer showcase.
Each: one line naming the file and the cause, exit 1 or 2, nothing that was good is damaged,
and the page stays as it was.

The faults are real, not patched: a full disk is a small tmpfs mounted in a private mount
namespace (`unshare -m`, util-linux unshare(1); tmpfs(5) `size=`), so ENOSPC comes from the
kernel; read-only means an unprivileged uid (setpriv(1)) against files it may not write, as
root ignores file modes. Both need root, which CI has (SHOWCASE_REQUIRE_ROOT=1 there).
SQLite's own words for these causes: https://www.sqlite.org/rescode.html (SQLITE_FULL
"database or disk is full", SQLITE_READONLY, SQLITE_NOTADB "file is not a database",
SQLITE_CORRUPT "database disk image is malformed", SQLITE_CANTOPEN).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY, write_config

from aggregator.cli import main
from aggregator.fakeapi import FakeApiServer, World

NOBODY = 65534
DEBUG = os.environ.get("DEBUG_HOST", "").split()


def require_root() -> None:
    """Mounts and setpriv need root; CI runs as root and sets SHOWCASE_REQUIRE_ROOT=1."""
    if os.geteuid() == 0 and shutil.which("setpriv") and shutil.which("unshare"):
        return
    reason = "mounting a small tmpfs and dropping to another uid need root"
    if os.environ.get("SHOWCASE_REQUIRE_ROOT") == "1":
        pytest.fail(f"{reason}; SHOWCASE_REQUIRE_ROOT=1 requires it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOUTUBE_API_KEY", API_KEY)
        patch.setenv("FACEBOOK_ACCESS_TOKEN", ACCESS_TOKEN)
        server = FakeApiServer(World.demo(), api_key=API_KEY, access_token=ACCESS_TOKEN).start()
        yield server
        server.stop()


@pytest.fixture(scope="module")
def good_day(server, tmp_path_factory) -> Path:
    """A site after one good update, its page written: copied for each test (one update
    costs seconds)."""
    folder = tmp_path_factory.mktemp("good-day")
    config = write_config(folder, server.url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YOUTUBE_API_KEY", API_KEY)
        patch.setenv("FACEBOOK_ACCESS_TOKEN", ACCESS_TOKEN)
        assert main(["--config", str(config), "update"]) == 0
    return folder


@pytest.fixture
def shared_folder():
    """A folder another uid can reach (pytest's own tmp folders are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="showcase-host-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def first_run(folder: Path, good_day: Path) -> Path:
    """The good day's site in `folder`: its config, database and page."""
    shutil.copytree(good_day, folder, dirs_exist_ok=True)
    return folder / "showcase.toml"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` and the hash of its bytes; not the lock file (it holds the
    pid of its last holder) nor SQLite's -wal and -shm files, which any reader makes, empties
    or rewrites (https://www.sqlite.org/walformat.html)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(("-shm", "-wal", ".lock"))
    }


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def run_cli(config: Path, *args: str, prefix: tuple[str, ...] = ()):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "aggregator", "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def as_nobody() -> tuple[str, ...]:
    return ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--")


def give_to_nobody(*paths: Path) -> None:
    for path in paths:
        for each in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(each, NOBODY, NOBODY)


def item_count(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM items").fetchone()[0]


# -- the database file -------------------------------------------------------------------


def corrupt_with_random_bytes(database: Path) -> None:
    database.write_bytes(random.Random(11).randbytes(database.stat().st_size))


def truncate_to_half(database: Path) -> None:
    os.truncate(database, database.stat().st_size // 2)


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (corrupt_with_random_bytes, "file is not a database"),
        (truncate_to_half, "database disk image is malformed"),
    ],
)
@pytest.mark.fault(
    "the database file overwritten with random bytes, or truncated to half its size",
    "update and render stop before fetching: one line naming the file and SQLite's cause",
    "2",
    "the damaged file as it is (for the operator to restore), the page as it was",
)
def test_a_corrupted_database_is_one_line_and_touches_nothing(
    tmp_path, good_day, capsys, damage, cause
):
    config = first_run(tmp_path, good_day)
    database = tmp_path / "showcase.db"
    damage(database)
    before = snapshot(tmp_path)
    capsys.readouterr()

    for command in ("update", "render"):
        assert main(["--config", str(config), command]) == 2
        line = one_line(capsys.readouterr().err)
        assert line == f"showcase: {database}: {cause}"

    assert snapshot(tmp_path) == before


@pytest.mark.fault(
    "the database configured in a folder that does not exist",
    "one line naming the file, 'unable to open database file' and its folder; nothing made",
    "2",
    "the page as it was; no folder created",
)
def test_a_database_in_a_missing_folder_is_one_line(tmp_path, good_day, capsys):
    config = first_run(tmp_path, good_day)
    config.write_text(
        config.read_text().replace("sqlite:///showcase.db", "sqlite:///gone/showcase.db")
    )
    before = snapshot(tmp_path)
    capsys.readouterr()

    assert main(["--config", str(config), "update"]) == 2

    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"showcase: {tmp_path / 'gone' / 'showcase.db'}: unable to open")
    assert "folder" in line
    assert not (tmp_path / "gone").exists()
    assert snapshot(tmp_path) == before


@pytest.mark.fault(
    "a database whose alembic_version names a revision this showcase does not know",
    "refused: one line with the file, its revision and 'made by a newer showcase; upgrade "
    "showcase'; never downgraded",
    "2",
    "the database byte for byte, the page as it was",
)
def test_a_database_from_a_newer_showcase_is_refused(tmp_path, good_day, capsys):
    config = first_run(tmp_path, good_day)
    database = tmp_path / "showcase.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    before = snapshot(tmp_path)
    capsys.readouterr()

    for command in ("update", "status", "render"):
        assert main(["--config", str(config), command]) == 2
        line = one_line(capsys.readouterr().err)
        assert line.startswith(f"showcase: {database}: schema revision 0099 was made by a newer")
        assert "upgrade showcase" in line

    assert snapshot(tmp_path) == before


@pytest.mark.fault(
    "the database file read-only to the uid that runs update (mode 0444, not root)",
    "update stops before fetching (no quota spent): one line naming the file and SQLite's "
    "'attempt to write a readonly database'",
    "2",
    "the database byte for byte, the page as it was",
)
def test_a_read_only_database_file(shared_folder, good_day, server):
    require_root()
    config = first_run(shared_folder, good_day)
    database = shared_folder / "showcase.db"
    give_to_nobody(shared_folder)
    database.chmod(0o444)
    before = snapshot(shared_folder)
    requests = len(server.stats.requests)

    child = run_cli(config, "update", prefix=as_nobody())

    assert child.returncode == 2, child.stderr
    line = one_line(child.stderr)
    assert line == f"showcase: {database}: attempt to write a readonly database"
    assert snapshot(shared_folder) == before
    assert len(server.stats.requests) == requests


@pytest.mark.fault(
    "the output folder read-only to the uid that runs update",
    "what was fetched is stored; the render fails with one line naming the file and "
    "'Permission denied'",
    "1",
    "every output file and thumbnail as it was; the database updated",
)
def test_a_read_only_output_folder(shared_folder, good_day, server):
    require_root()
    config = first_run(shared_folder, good_day)
    give_to_nobody(shared_folder / "showcase.db", shared_folder / "showcase.db.lock")
    os.chown(shared_folder, NOBODY, NOBODY)  # the database's -wal and -shm files
    output = shared_folder / "public"
    before = snapshot(output)

    child = run_cli(config, "update", prefix=as_nobody())

    assert child.returncode == 1, child.stderr
    line = one_line(child.stderr)
    assert str(output) in line and "Permission denied" in line
    assert snapshot(output) == before


# -- a full disk -------------------------------------------------------------------------

FULL_DISK = """
set -e
stash=$(mktemp -d)
cp -a "$FULL/." "$stash/"
size=$(( $(du -sk "$stash" | cut -f1) + 256 ))k
mount -t tmpfs -o "size=$size,mode=0755" tmpfs "$FULL"
cp -a "$stash/." "$FULL/"
dd if=/dev/zero of="$FULL/.filler" bs=4096 2>/dev/null || true
set +e
"$@" > "$RESULT/stdout" 2> "$RESULT/stderr"
echo $? > "$RESULT/rc"
rm -f "$FULL/.filler"
mkdir -p "$RESULT/after"
cp -a "$FULL/." "$RESULT/after/"
rm -rf "$stash"
"""


def on_a_full_disk(full: Path, result: Path, config: Path, *extra: str) -> tuple[int, str, Path]:
    """Run `update` with `full` on a tmpfs filled to its last block, in a private mount
    namespace; what the folder then holds is copied to `result/after`."""
    result.mkdir()
    env = {
        **os.environ,
        "FULL": str(full),
        "RESULT": str(result),
        "PYTHONPATH": str(Path(__file__).parent.parent),
    }
    command = [sys.executable, "-m", "aggregator", "--config", str(config), "update", *extra]
    subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", FULL_DISK, "sh", *command],
        env=env,
        timeout=120,
        check=True,
    )
    rc = int((result / "rc").read_text())
    return rc, (result / "stderr").read_text(), result / "after"


@pytest.mark.fault(
    "the disk under the output folder full (a tmpfs filled to its last block), two thumbnails "
    "still to copy",
    "what was fetched is stored; the thumbnail copy fails with one line naming the file and "
    "'No space left on device'; nothing is rendered over the page",
    "1",
    "every output file whole and as it was; no temporary file left behind",
)
def test_a_full_disk_under_the_outputs_and_thumbnails(tmp_path, good_day):
    require_root()
    config = first_run(tmp_path / "site", good_day)
    output = tmp_path / "site" / "public"
    thumbnails = sorted(output.rglob("*.jpg"))
    for thumbnail in thumbnails[:2]:
        thumbnail.unlink()
    before = snapshot(output)

    rc, stderr, after = on_a_full_disk(output, tmp_path / "result", config, *DEBUG)

    assert rc == 1, stderr
    line = one_line(stderr)
    assert "No space left on device" in line and str(output) in line, line
    assert snapshot(after) == before


@pytest.mark.fault(
    "the disk under the database full (a tmpfs filled to its last block)",
    "the run stops with one line naming the database and SQLite's 'database or disk is full'",
    "2",
    "the database as it was (every write rolled back), the page as it was",
)
def test_a_full_disk_under_the_database(tmp_path, good_day):
    require_root()
    config = first_run(tmp_path / "site", good_day)
    data = tmp_path / "site" / "data"
    data.mkdir()
    database = data / "showcase.db"
    (tmp_path / "site" / "showcase.db").rename(database)
    (tmp_path / "site" / "showcase.db.lock").rename(data / "showcase.db.lock")
    config.write_text(
        config.read_text().replace("sqlite:///showcase.db", "sqlite:///data/showcase.db")
    )
    output = tmp_path / "site" / "public"
    before, items = snapshot(output), item_count(database)

    rc, stderr, after = on_a_full_disk(data, tmp_path / "result", config, *DEBUG)

    assert rc == 2, stderr
    line = one_line(stderr)
    assert str(database) in line and "database or disk is full" in line, line
    assert item_count(after / "showcase.db") == items
    assert snapshot(output) == before
