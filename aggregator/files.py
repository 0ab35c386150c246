"""Atomic writes: an embedding website never reads a half-written file."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

NEW_FILE_MODE = 0o644


def write_atomic(path: Path, data: bytes | Iterable[bytes], durable: bool = True) -> None:
    """Replace `path` with `data` (bytes, or pieces of them written one after the other) so
    that a reader sees either the old or the new file, whole.

    The temporary file lives in the same directory (os.replace is atomic only within one file
    system) and keeps the old file's permissions, or gets 0644 for a new file. Its name holds
    the writer's pid, so that a later render knows it for an orphan once the writer is gone.
    `durable=False` leaves out the fsyncs: for a file that can always be made again (a
    thumbnail is fetched again), never for the database or the pages.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else NEW_FILE_MODE
    fd, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as temp:
            if isinstance(data, bytes):
                temp.write(data)
            else:
                temp.writelines(data)
            if durable:
                temp.flush()
                os.fsync(temp.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except OSError as error:
        Path(temp_name).unlink(missing_ok=True)
        raise _naming(error, path) from error
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)


def write_new(path: Path, data: bytes) -> None:
    """Write `data` straight into place, as a file with mode 0644 whatever the umask, in a
    folder that exists: only for a file no reader is pointed at yet (a thumbnail's resized
    copy, which no page names before its original is in place, written last with
    `write_atomic`). A failed write removes it; a crash may leave it cut short, and the next
    copy rewrites it whole. One open instead of the atomic write's temporary file, chmod and
    rename: a third of the file system calls of a first update's 2,600 copies."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, NEW_FILE_MODE)
    except OSError as error:
        raise _naming(error, path) from error
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(fd, NEW_FILE_MODE)
            file.write(data)
    except OSError as error:  # a full disk, say: no empty or partial copy is left behind
        path.unlink(missing_ok=True)
        raise _naming(error, path) from error


def _naming(error: OSError, path: Path) -> OSError:
    """`error` with the file's name: a failed write names none, and the operator needs one."""
    if error.filename is not None:
        return error
    return OSError(error.errno, error.strerror or str(error), str(path))


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; only POSIX can open a directory for this."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- one generation of outputs -----------------------------------------------------------------

GENERATIONS_DIR = ".generations"
CURRENT_LINK = "current"
_BUILDING = ".building-"
_SWITCHING = ".switching-"
_LEGACY_TEMP_SECONDS = 3600  # a temporary file without a writer's pid is an orphan after this
_TEMP_FILE = re.compile(r"^\..+\.(?P<pid>\d+)\.\w+\.tmp$")


def write_generation(directory: Path, files: dict[str, bytes]) -> Path:
    """Write `files` (relative names) as one new generation of `directory` and switch to it.

    The files go into `.generations/<id>/`; each top-level name in `directory` is a relative
    symlink through `.generations/current`, and that one link is replaced with rename(2), so a
    reader finds every file of one render or every file of the previous one, never a mix.
    Older generations and what a killed writer left behind are removed after the switch.

    A file whose content the current generation already holds is hard-linked from there, so
    its mtime stays (a web server's If-Modified-Since and ETag keep answering "not modified");
    when every file is the same, nothing is written or switched at all.
    """
    directory = Path(directory)
    root = directory / GENERATIONS_DIR
    _make_folder_like(root, directory)
    current = _current_generation(root)
    unchanged = _unchanged_files(current, files) if current else set()
    if current and len(unchanged) == len(files) and _same_names(current, files):
        _link_top_level(directory, {relative.split("/")[0] for relative in files})
        remove_old_generations(root)
        remove_orphaned_temporaries(directory)
        return current
    name = f"{time.time_ns():020d}-{os.getpid()}"
    building = root / f"{_BUILDING}{name}"
    try:
        _write_tree(building, files, current, unchanged)
        os.rename(building, root / name)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _fsync_directory(root)
    _replace_symlink(root / CURRENT_LINK, name, root / f"{_SWITCHING}{name}")
    _link_top_level(directory, {relative.split("/")[0] for relative in files})
    remove_old_generations(root)
    remove_orphaned_temporaries(directory)
    return root / name


def _make_folder_like(folder: Path, model: Path) -> None:
    """Make `folder` with `model`'s permission bits (a group-writable, setgid output folder
    stays one inside, so staff in the service's group can render and clean up too)."""
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # not ours to change: the umask's mode stands
        os.chmod(folder, model.stat().st_mode & 0o7777)


def _current_generation(root: Path) -> Path | None:
    try:
        current = root / os.readlink(root / CURRENT_LINK)
    except OSError:
        return None
    return current if current.is_dir() else None


def _unchanged_files(current: Path, files: dict[str, bytes]) -> set[str]:
    """The names whose content `current` holds already, byte for byte."""
    unchanged = set()
    for relative, data in files.items():
        try:
            if (current / relative).stat().st_size != len(data):
                continue
            if (current / relative).read_bytes() == data:
                unchanged.add(relative)
        except OSError:
            continue
    return unchanged


def _same_names(current: Path, files: dict[str, bytes]) -> bool:
    """Whether `current` holds no file besides `files` (a figure gone takes its badges along)."""
    held = {str(path.relative_to(current)) for path in current.rglob("*") if not path.is_dir()}
    return held == set(files)


def _write_tree(
    folder: Path,
    files: dict[str, bytes],
    current: Path | None = None,
    unchanged: frozenset[str] | set[str] = frozenset(),
) -> None:
    for relative, data in files.items():
        path = folder / relative
        for parent in reversed((path.relative_to(folder.parent)).parents[:-1]):
            _make_folder_like(folder.parent / parent, folder.parent)
        if current and relative in unchanged and _linked(current / relative, path):
            continue
        with open(path, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(path, NEW_FILE_MODE)
    for subfolder in {p.parent for p in (folder / r for r in files)}:
        _fsync_directory(subfolder)


def _linked(source: Path, target: Path) -> bool:
    """Hard-link `source` as `target`; False when the file system cannot (the caller writes)."""
    try:
        os.link(source, target)
    except OSError:
        return False
    return True


def _replace_symlink(link: Path, target: str, temp: Path) -> None:
    temp.unlink(missing_ok=True)
    os.symlink(target, temp)
    os.replace(temp, link)
    _fsync_directory(link.parent)


def _link_top_level(directory: Path, names: set[str]) -> None:
    """Point each top-level output at `.generations/current/<name>` (done once per name; a
    file or folder from a version before generations is replaced)."""
    for name in sorted(names):
        path = directory / name
        target = f"{GENERATIONS_DIR}/{CURRENT_LINK}/{name}"
        if path.is_symlink() and os.readlink(path) == target:
            continue
        if path.is_dir() and not path.is_symlink():
            # A directory cannot be swapped for a link in one step: it moves aside first.
            aside = directory / GENERATIONS_DIR / f"{_BUILDING}{name}-{os.getpid()}"
            os.rename(path, aside)
            shutil.rmtree(aside, ignore_errors=True)
        _replace_symlink(path, target, directory / f".{name}.{os.getpid()}.link.tmp")


def remove_old_generations(root: Path) -> None:
    """Remove every finished generation older than the current one, and any generation being
    built or switched by a process that no longer runs (a render killed half-way)."""
    current = os.readlink(root / CURRENT_LINK)
    for entry in root.iterdir():
        if entry.name == CURRENT_LINK:
            continue
        if entry.name.startswith((_BUILDING, _SWITCHING)):
            if _writer_alive(entry.name.rsplit("-", 1)[-1]):
                continue
        elif entry.name >= current:
            continue  # the current one, or a newer one switched in by another render
        if entry.is_symlink() or entry.is_file():
            entry.unlink(missing_ok=True)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def remove_orphaned_temporaries(directory: Path) -> None:
    """Remove the temporary files of writes that never finished (see `write_atomic`) in
    `directory` and its folders, outside the generations."""
    folders = [directory] + [
        path
        for path in directory.iterdir()
        if path.is_dir() and not path.is_symlink() and path.name != GENERATIONS_DIR
    ]
    now = time.time()
    for folder in folders:
        for path in folder.glob(".*.tmp"):
            match = _TEMP_FILE.match(path.name)
            if match and _writer_alive(match["pid"]):
                continue
            if not match and now - path.lstat().st_mtime < _LEGACY_TEMP_SECONDS:
                continue
            path.unlink(missing_ok=True)


def _writer_alive(pid_text: str) -> bool:
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # another thread of this process (serve renders after each change)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    return True
