"""The user's cache folder: what a render keeps for the next one (compiled templates, cards,
the grouping of the items into episodes), never in the output folder."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_folder(name: str) -> Path:
    """$XDG_CACHE_HOME/showcase/NAME, else ~/.cache/showcase/NAME: the user's own, never the
    output folder (a web server would publish it). RuntimeError: no home to be found."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "showcase" / name


def private_folder(folder: Path) -> Path | None:
    """`folder`, made if missing, when it is ours and writable by nobody else; else None. What
    the caches hold goes into the pages unchecked (bytecode runs, a card is pasted), so a
    folder others could write to is never read. A service user without a home has none."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = folder.stat()
    except OSError:
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o022 or not os.access(folder, os.W_OK):
        return None
    return folder


def private_cache_folder(name: str) -> Path | None:
    """`private_folder(user_cache_folder(name))`, None also when there is no home."""
    try:
        return private_folder(user_cache_folder(name))
    except RuntimeError:  # no home directory to be found
        return None
