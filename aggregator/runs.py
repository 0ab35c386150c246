"""What a run is, in the words `jobs`, the scheduler and `status` share: its modes, its clock,
the lock and state files beside the database. Light on purpose: `status` imports this, not
`jobs` (which brings the renderer and the store)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from aggregator import reads
from aggregator.config import Config

# `render.FRAGMENT_FILE`, named here without importing the renderer (a test checks they agree).
FRAGMENT_FILE = "fragment.html"

Clock = Callable[[], datetime]

# A full run reads every item and may retire what it no longer sees (`update`, and `schedule`
# once every `full_every`); a quick run reads the figures and the newest items only.
Mode = Literal["full", "quick"]
FULL: Mode = "full"
QUICK: Mode = "quick"


def utc_now() -> datetime:
    return datetime.now(UTC)


def schedule_state_path(config: Config) -> Path:
    """Where `schedule` says when it runs next: beside the lock (`showcase.db.schedule.json`)."""
    lock = lock_path(config)
    return lock.with_name(lock.name.removesuffix(".lock") + ".schedule.json")


def lock_path(config: Config) -> Path:
    """The lock sits beside an SQLite database; other databases get one keyed by their URL."""
    sqlite_file = reads.sqlite_path(config.database_url)
    if sqlite_file is not None:
        return Path(f"{sqlite_file}.lock")
    from sqlalchemy.engine import make_url

    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}.lock")
    digest = hashlib.sha256(config.database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"showcase-{digest}.lock"


SHRINK_CAUSE = "shrink"  # a successful run's cause: a sudden shrink was held, nothing retired


def next_mode(last_full_at: datetime | None, full_every: timedelta, at: datetime) -> Mode:
    """The mode of a scheduled run at `at`: full when the last full run is `full_every` old."""
    if last_full_at is None or at - last_full_at >= full_every:
        return FULL
    return QUICK


def full_every(config: Config, name: str) -> timedelta | None:
    """How often `schedule` reads the source in full; None: every run is full."""
    settings = getattr(config, name, None)
    every: timedelta | None = getattr(settings, "full_every", None)
    return every


def relative_links_warning(config: Config) -> str | None:
    """What to tell the operator when fragment.html is written with relative links: they
    resolve against the host page's address, so its thumbnails and privacy link break there."""
    if config.base_url is not None:
        return None
    fragment = config.output_dir / FRAGMENT_FILE
    return (
        f"output.base_url is not set: {fragment} has relative links to its thumbnails and "
        "privacy notes, which break in a page elsewhere; set it to the folder's public URL"
    )
