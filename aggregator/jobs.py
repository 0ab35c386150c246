"""The jobs cron, the scheduler and the CLI run: fetch, copy thumbnails, render.

Library code: it logs and raises, never prints or exits.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from aggregator import progress, reads
from aggregator.config import Config
from aggregator.context import build_showcase, showcase_rows
from aggregator.cycles import collector_paused, give_back_memory
from aggregator.errors import DatabaseError, LockedError, SourceError, redact
from aggregator.held_logs import HeldLogs
from aggregator.lazy import LazyModule
from aggregator.matching import HashtagRule
from aggregator.models import Found, Item, KnownItems, SkippedItem, SourceResult, Usage
from aggregator.publish import TIMEOUT_SECONDS as PUBLISH_TIMEOUT_SECONDS
from aggregator.publish import PublishError, publish
from aggregator.render import render_showcase, source_label
from aggregator.retry import RetryPolicy
from aggregator.rows import ItemKey, StoredItem
from aggregator.runs import (  # noqa: F401  # a run's words and paths, re-exported
    FULL,
    QUICK,
    SHRINK_CAUSE,
    Clock,
    Mode,
    full_every,
    lock_path,
    next_mode,
    relative_links_warning,
    schedule_state_path,
    utc_now,
)
from aggregator.sources import MODULES, fetcher, quick_fetcher
from aggregator.thumbnail_files import (
    PROGRESS_LABEL,
    VARIANTS,
    ThumbnailFiles,
    safe_stem,
    variant_path,
)

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from aggregator import store
    from aggregator.thumbnails import ImageHosts, ThumbnailWanted
else:
    # SQLAlchemy (0.25 s to import) only once a run uses the store: `render` of an SQLite
    # file reads it through `reads`, and `status` only asks for this module's paths and words.
    store = LazyModule("aggregator.store")

log = logging.getLogger(__name__)


@dataclass
class FetchOutcome:
    source: str
    mode: Mode = FULL
    usage: Usage = field(default_factory=Usage)
    error: SourceError | None = None
    summary: store.SaveSummary | None = None
    seconds: float = 0.0
    skipped: list[SkippedItem] = field(default_factory=list)
    rows_changed: int = 0  # item rows its save wrote, hid, retired or decided anew

    @property
    def ok(self) -> bool:
        return self.error is None


@contextmanager
def database_lock(config: Config) -> Iterator[None]:
    """Only one update or fetch per database; a second one raises LockedError at once.

    On PostgreSQL the lock is in the database itself (an advisory lock), so it keeps apart
    updates from other hosts too; elsewhere it is a file lock beside the database."""
    from sqlalchemy.engine import make_url

    if make_url(config.database_url).get_backend_name() == "postgresql":
        with _advisory_lock(config.database_url):
            yield
        return
    with _file_lock(config):
        yield


# The advisory lock's key: 64 bits of a fixed name's hash, the same for every showcase version.
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"showcase update").digest()[:8], "big", signed=True
)


@contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    """pg_try_advisory_lock on a connection of its own, held for the run; PostgreSQL frees it
    when that connection ends, so a killed update leaves no lock behind."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    engine = create_engine(store.engine_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            ).scalar()
            connection.commit()
            if not taken:
                database = make_url(url).render_as_string(hide_password=True)
                raise LockedError(f"another update or fetch is running (on {database})")
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


@contextmanager
def _file_lock(config: Config) -> Iterator[None]:
    path = lock_path(config)
    with open_lock_file(path) as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another update or fetch is running ({path})") from None
        _write_pid(handle.fileno())
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_lock_file(path: Path) -> IO[str]:
    """The lock file, made when missing. flock needs no write access: a lock file left by
    another user (`showcase render` once run as root) is opened for reading and still locks."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return open(path, "a+")
        except PermissionError:
            return open(path)
    except OSError as error:
        raise DatabaseError(f"{path}: cannot open the lock file: {error.strerror}") from error


def _write_pid(fd: int) -> None:
    """The holder's pid, for a person to read; the flock alone is the lock, so a full disk
    that refuses these bytes must not stop the run."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as error:
        log.debug("lock file: pid not written: %s", error.strerror)


def open_database(config: Config) -> Engine:
    """The store's engine, its schema migrated (if it must be) under the database lock, so a
    migration never runs beside an update or another migration."""
    return store.open_database(config.database_url, lock=lambda: database_lock(config))


def fetch_sources(
    engine: Engine,
    config: Config,
    sources: Sequence[str],
    policy: RetryPolicy,
    clock: Clock = utc_now,
    mode: Mode = FULL,
    accept_shrink: bool = False,
) -> list[FetchOutcome]:
    """Fetch each source, store what came, and copy the showcase's new thumbnails.

    The sources are read at once, each on a thread of its own (a read mostly waits on its
    API), and stored one after the other in their order on this thread, the database's only
    writer; what a source logs while it is read is held back until its turn, so the lines come
    in the order a read of one source after the other gives. As soon as a source is read, the
    thumbnails of its items that carry the hashtag are copied in the background
    (`EarlyThumbnails`), while the sources are still read and stored; once all are stored,
    the showcase is selected, its thumbnails copied early are recorded, those it lacks still
    are copied, and any copied early that it does not show are removed. Every copy is done
    and recorded before this returns, so before the render that points at it."""
    from concurrent.futures import ThreadPoolExecutor

    selection = RunSelection()
    begun = [_begin(engine, config, name, clock, mode, selection) for name in sources]
    outcomes: list[FetchOutcome] = []
    with progress.counter(PROGRESS_LABEL, total=0) as shown:
        with (
            EarlyThumbnails(config, policy, _hidden_keys(engine), shown) as early,
            HeldLogs() as held,
            ThreadPoolExecutor(max(1, len(begun)), thread_name_prefix="showcase-fetch") as pool,
        ):
            answers = [
                pool.submit(held.run, fetch.name, _read_and_copy, config, fetch, policy, early)
                for fetch in begun
            ]
            for fetch in begun:
                held.release(fetch.name)
                # Popped: a listing is held no longer than its save, not through the copies.
                answer = answers.pop(0).result()
                outcome = _finish(engine, config, fetch, answer, clock, accept_shrink)
                del answer
                outcomes.append(outcome)
            rows = selection.unchanged_rows(outcomes)
            if rows is None:
                rows = _showcase_rows(engine, config)
        fetch_thumbnails(engine, config, policy, shown, rows, early.copies)
    return outcomes


def _showcase_rows(engine: Engine, config: Config) -> list[StoredItem]:
    """The showcase as every source's save left it: selected while the early copies still
    run, and with the thumbnail files as recorded before them."""
    with store.session_scope(engine) as session:
        return showcase_rows(session, config)


def _read_and_copy(
    config: Config, fetch: _Fetch, policy: RetryPolicy, early: EarlyThumbnails
) -> SourceResult | None:
    """The source's answer, its items' thumbnails begun as the source finds them (a page at a
    time where it tells them) or else as soon as it is there."""
    result = _read(config, fetch, policy, early.offer)
    if result is not None:
        early.offer(result.items)
    return result


def _hidden_keys(engine: Engine) -> frozenset[ItemKey]:
    """The items staff hid: never copied early (a hide may be a take-down)."""
    with store.session_scope(engine) as session:
        marks = reads.curation(session)
    return frozenset(key for key, mark in marks.items() if mark.hidden_at is not None)


def fetch_source(
    engine: Engine,
    config: Config,
    name: str,
    policy: RetryPolicy,
    clock: Clock = utc_now,
    mode: Mode = FULL,
    accept_shrink: bool = False,
    selection: RunSelection | None = None,
) -> FetchOutcome:
    """Fetch one source in `mode` and store what came. A quick run falls back to a full one
    for a source that has no quick refresh, or that has never been read in full.

    A complete listing that shrank suddenly retires nothing (`store.is_sudden_shrink`) unless
    `accept_shrink` or the config's `showcase.accept_shrink` confirms it: the run is recorded
    with the cause "shrink" and its one line, which `status` shows as a warning."""
    fetch = _begin(engine, config, name, clock, mode, selection)
    return _finish(engine, config, fetch, _read(config, fetch, policy), clock, accept_shrink)


@dataclass
class _Fetch:
    """A source's fetch begun: when, in which mode, what a quick refresh is told."""

    name: str
    started_at: datetime
    started: float
    outcome: FetchOutcome
    known: KnownItems | None


def _begin(
    engine: Engine,
    config: Config,
    name: str,
    clock: Clock,
    mode: Mode,
    selection: RunSelection | None,
) -> _Fetch:
    started_at, started = clock(), time.monotonic()
    with store.session_scope(engine) as session:
        quick = _can_be_quick(session, name, mode)
        known = known_items(session, config, name, selection) if quick else None
    outcome = FetchOutcome(source=name, mode=FULL if known is None else QUICK)
    return _Fetch(name, started_at, started, outcome, known)


def _read(
    config: Config, fetch: _Fetch, policy: RetryPolicy, found: Found | None = None
) -> SourceResult | None:
    """The source's answer (HTTP only, no database: it may run on a thread of its own)."""
    with progress.counter(f"{source_label(fetch.name)}: Seite") as pages:
        fetch.outcome.usage = progress.CountedUsage(shown=pages)
        return _call_source(config, fetch.name, policy, fetch.outcome, fetch.known, found)


def _finish(
    engine: Engine,
    config: Config,
    fetch: _Fetch,
    result: SourceResult | None,
    clock: Clock,
    accept_shrink: bool,
) -> FetchOutcome:
    """Store what a source's read brought, and record the run."""
    outcome, name = fetch.outcome, fetch.name
    if result is not None:
        outcome.skipped = list(result.skipped)
        accept = accept_shrink or config.showcase.accept_shrink
        rule = HashtagRule.of(config.showcase.hashtags)
        result = _save(engine, result, fetch.started_at, outcome, accept, rule)
    held = shrink_held_line(name, outcome.summary)
    if held:
        log.warning("%s", held)
    with store.session_scope(engine) as session:
        store.record_run(
            session,
            name,
            fetch.started_at,
            clock(),
            outcome.usage,
            outcome=_outcome_word(result, outcome.error, outcome.mode),
            error_cause=outcome.error.cause if outcome.error else SHRINK_CAUSE if held else None,
            error_message=outcome.error.line() if outcome.error else held,
            items_seen=len(result.items) if result else 0,
        )
    outcome.seconds = time.monotonic() - fetch.started
    _log_outcome(outcome)
    return outcome


def _save(
    engine: Engine,
    result: SourceResult,
    started_at: datetime,
    outcome: FetchOutcome,
    accept_shrink: bool,
    rule: HashtagRule,
) -> SourceResult | None:
    """Store the result, each row it writes with the hashtag rule's verdict, and decide the
    rows still undecided (the configured hashtags changed), all in one transaction, so that
    no selection meets a written row undecided; a bug in saving is this source's failure
    (rolled back whole), told by `status`, and the other sources still run."""
    try:
        with store.session_scope(engine) as session:
            verdicts = store.HashtagVerdicts(rule.key, rule.matches)
            outcome.summary = store.save_result(
                session, result, started_at, accept_shrink, verdicts
            )
            decided = store.mark_hashtags(session, rule.key, rule.matches)
            outcome.rows_changed = outcome.summary.written + decided
    except Exception as error:
        outcome.error = _unexpected(outcome.source, error)
        return None
    return result


def shrink_held_line(name: str, summary: store.SaveSummary | None) -> str | None:
    """The one line saying a sudden shrink was held, or None when nothing was."""
    if summary is None or not summary.held:
        return None
    return (
        f"{name}: the complete listing lost {summary.held} of {summary.live} items at once; "
        "nothing retired (a glitch is likelier than a purge). If they are really gone: "
        "showcase update --accept-shrink"
    )


def _can_be_quick(session: Session, name: str, mode: Mode) -> bool:
    if mode != QUICK or quick_fetcher(name) is None:
        return False
    return store.latest_run(session, name, [store.OUTCOME_FULL]) is not None


class RunSelection:
    """The showcase as a run found it, selected once however many sources refresh quickly
    (each is told its showcased ids; the selection reads and groups every candidate item)."""

    def __init__(self) -> None:
        self._rows: list[StoredItem] | None = None

    def showcased_ids(self, session: Session, config: Config, name: str) -> tuple[str, ...]:
        if self._rows is None:
            self._rows = showcase_rows(session, config)
        return tuple(row.platform_id for row in self._rows if row.source == name)

    def unchanged_rows(self, outcomes: Sequence[FetchOutcome]) -> list[StoredItem] | None:
        """The showcase as selected, when no source's save changed an item row since (a
        quick run with nothing new): the thumbnails' check needs no selection of its own."""
        if self._rows is None or any(outcome.rows_changed for outcome in outcomes):
            return None
        return self._rows


def known_items(
    session: Session, config: Config, name: str, selection: RunSelection | None = None
) -> KnownItems:
    """What a quick refresh of `name` is told: its live public ids, its showcased ids."""
    return KnownItems(
        public_ids=frozenset(store.public_platform_ids(session, name)),
        showcased_ids=(selection or RunSelection()).showcased_ids(session, config, name),
    )


def _call_source(
    config: Config,
    name: str,
    policy: RetryPolicy,
    outcome: FetchOutcome,
    known: KnownItems | None = None,
    found: Found | None = None,
) -> SourceResult | None:
    settings = getattr(config, name)
    quick = quick_fetcher(name) if known is not None else None
    try:
        if quick is not None and known is not None:
            result = quick(settings, policy, outcome.usage, known)
        else:
            result = fetcher(name)(settings, policy, outcome.usage, found=found)
    except SourceError as error:
        outcome.error = error
        return None
    except Exception as error:  # a bug or an unforeseen answer: the other sources still run
        outcome.error = _unexpected(name, error)
        return None
    if result.error is not None:
        outcome.error = (
            result.error
            if isinstance(result.error, SourceError)
            else _unexpected(name, result.error)
        )
    return result


def _unexpected(name: str, error: BaseException) -> SourceError:
    wrapped = SourceError(name, "unexpected error", f"{type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped


def _outcome_word(result: SourceResult | None, error: SourceError | None, mode: Mode) -> str:
    if error is None:
        return store.OUTCOME_QUICK if mode == QUICK else store.OUTCOME_FULL
    return "partial" if result is not None else "error"


def describe_outcome(outcome: FetchOutcome) -> str:
    """One line: source, outcome, mode, what changed, what it cost."""
    summary = outcome.summary
    counts = (
        f"{summary.new} new, {summary.updated} updated, {summary.retired} retired"
        if summary
        else "nothing stored"
    )
    if outcome.skipped:
        counts += f", {len(outcome.skipped)} skipped"
    state = "ok" if outcome.ok else f"failed ({outcome.error.line() if outcome.error else ''})"
    return (
        f"{outcome.source}: {state}; {counts}; {outcome.mode} run, "
        f"{outcome.usage.quota_units} quota units, {outcome.usage.requests} requests, "
        f"{outcome.seconds:.1f}s"
    )


def _log_outcome(outcome: FetchOutcome) -> None:
    log.info("%s", describe_outcome(outcome))


def fetch_thumbnails(
    engine: Engine,
    config: Config,
    policy: RetryPolicy,
    shown: progress.Counter | None = None,
    rows: list[StoredItem] | None = None,
    early: EarlyCopies | None = None,
) -> int:
    """Copy the thumbnails of showcase items that have none in the output directory yet
    (of `rows`, the showcase selected by the caller; selected here when None). An original
    already in thumbs/ (copied early, or by a run that ended before recording it) is recorded,
    not fetched again; an image the early copies tried in vain is left for the next run, as
    a failed copy is; what they copied that the showcase does not show is removed."""
    # Here, not at the top: Pillow and the HTTP stack serve fetching, not `render` or `status`.
    from aggregator.thumbnails import download_thumbnails, ensure_variants

    if rows is None:
        rows = _showcase_rows(engine, config)
    early = early or EarlyCopies()
    missing = _missing_thumbnails(config, rows, early.tried)
    _remove_unshown(config.output_dir, early.copied, rows)
    # The resized copies, when an older run lacks them.
    ensure_variants(config.output_dir, [*missing.recorded, *missing.found.values()])
    hosts = _image_hosts(config)
    stored = download_thumbnails(missing.wanted, config.output_dir, policy, hosts, shown=shown)
    _record_thumbnails(engine, {**missing.found, **stored}, len(missing.wanted), len(stored))
    return len(stored)


@dataclass
class _Missing:
    """The showcase's thumbnails to copy; the originals found in thumbs/ but not recorded,
    by item id; the file names recorded before."""

    wanted: list[ThumbnailWanted]
    found: dict[int, str]
    recorded: list[str]


def _missing_thumbnails(
    config: Config, rows: Sequence[StoredItem], tried: Collection[ItemKey] = ()
) -> _Missing:
    from aggregator.thumbnails import ThumbnailWanted

    present = ThumbnailFiles(config.output_dir)
    missing = _Missing([], {}, [row.thumbnail_file for row in rows if row.thumbnail_file])
    for row in rows:
        if not row.thumbnail_url or (row.thumbnail_file and present.exists(row.thumbnail_file)):
            continue
        stem = safe_stem(row.source, row.platform_id)
        found = present.original(stem) if stem else None
        if found:
            missing.found[row.id] = found
        elif (row.source, row.platform_id) not in tried:
            missing.wanted.append(
                ThumbnailWanted(row.id, row.source, row.platform_id, row.thumbnail_url)
            )
    return missing


def _remove_unshown(
    output_dir: Path, copied_early: Mapping[ItemKey, str], rows: Sequence[StoredItem]
) -> None:
    """Remove the thumbnails copied early for items the showcase does not show (an episode
    hidden through another of its items, an item whose save failed)."""
    shown = {(row.source, row.platform_id) for row in rows}
    unshown = [name for key, name in copied_early.items() if key not in shown]
    for name in unshown:
        for path in (name, *(variant_path(name, width, ext) for width, (ext, _) in VARIANTS)):
            (output_dir / path).unlink(missing_ok=True)
    if unshown:
        log.info("thumbnails: %d copied early are not shown, removed", len(unshown))


def _image_hosts(config: Config) -> ImageHosts:
    from aggregator.thumbnails import configured_endpoints, image_hosts

    return image_hosts(configured_endpoints(config))


def _record_thumbnails(engine: Engine, files: dict[int, str], wanted: int, copied: int) -> None:
    with store.session_scope(engine) as session:
        store.set_thumbnail_files(session, files)
    if wanted:
        log.info("thumbnails: %d of %d copied", copied, wanted)


@dataclass
class EarlyCopies:
    """What the early copies did: the files copied, by (source, platform id); every image
    they tried, copied or not."""

    copied: dict[ItemKey, str] = field(default_factory=dict)
    tried: set[ItemKey] = field(default_factory=set)


class EarlyThumbnails:
    """The thumbnails of the items that carry the hashtag, copied as the sources find them
    (a page of a listing at a time, or the whole listing once it is read), on threads of their
    own while the sources are still read and stored: a first update's copies, most of its
    work, no longer wait for the listings and the saves. One copier takes the images one after
    the other from every source, on kept-alive connections. Nothing here touches the database:
    what was copied and tried is `copies` once the `with` ends, for `fetch_thumbnails` to
    record or remove.

    Items public and carrying the hashtag are copied, not those staff hid, nor those whose
    original is in thumbs/ already, nor any offered before. An exception out of the `with`
    stops the copies (nothing new begun, what is under way waited for). A copy that fails (a
    full disk) is told at the end of the `with`, once every source is read and stored."""

    def __init__(
        self,
        config: Config,
        policy: RetryPolicy,
        hidden: frozenset[ItemKey] = frozenset(),
        shown: progress.Counter | None = None,
    ):
        self.config, self.policy, self.hidden, self.shown = config, policy, hidden, shown
        self.rule = HashtagRule.of(config.showcase.hashtags)
        self.present = ThumbnailFiles(config.output_dir)
        self.stop = threading.Event()
        self.copies = EarlyCopies()
        self._offered = threading.Lock()  # offers come from the sources' read threads
        self._queue: queue.SimpleQueue[ThumbnailWanted | None] = queue.SimpleQueue()
        self._wanted: list[ThumbnailWanted] = []
        self._pool: ThreadPoolExecutor | None = None
        self._copier: Future[dict[int, str]] | None = None

    def __enter__(self) -> EarlyThumbnails:
        return self

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if error is not None:
            self.stop.set()
        self._queue.put(None)  # no more offers: the copier ends once it has copied the rest
        if self._copier is None:
            return
        try:
            stored = self._copier.result()
        except Exception as failure:
            if error is None:
                raise failure from None
            return
        finally:
            assert self._pool is not None
            self._pool.shutdown()
        for number, name in stored.items():
            thumb = self._wanted[number]
            self.copies.copied[thumb.source, thumb.platform_id] = name

    def offer(self, items: Sequence[Item]) -> None:
        """Queue the thumbnails of those `items` the showcase will want, to copy them now."""
        from concurrent.futures import ThreadPoolExecutor

        from aggregator.thumbnails import download_thumbnails

        with self._offered:
            wanted = self._new_wanted(items)
            if not wanted or self.stop.is_set():
                return
            for thumb in wanted:
                self._queue.put(thumb)
            if self.shown is not None:
                self.shown.total = (self.shown.total or 0) + len(wanted)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="thumbnails-early")
                self._copier = self._pool.submit(
                    download_thumbnails,
                    iter(self._queue.get, None),
                    self.config.output_dir,
                    self.policy,
                    _image_hosts(self.config),
                    stop=self.stop,
                    shown=self.shown,
                )

    def _new_wanted(self, items: Sequence[Item]) -> list[ThumbnailWanted]:
        """The items' thumbnails to copy, numbered on from those offered before."""
        from aggregator.thumbnails import ThumbnailWanted

        wanted: list[ThumbnailWanted] = []
        for item in items:
            key = (item.source, item.platform_id)
            if not (item.public and item.thumbnail_url) or key in self.hidden:
                continue
            if key in self.copies.tried:
                continue
            stem = safe_stem(item.source, item.platform_id)
            if stem is None or self.present.original(stem):
                continue
            if self.rule.matches(item.title, item.description, item.tags):
                number = len(self._wanted)
                thumb = ThumbnailWanted(number, item.source, item.platform_id, item.thumbnail_url)
                self._wanted.append(thumb)
                self.copies.tried.add(key)
                wanted.append(thumb)
        return wanted


RENDER_LOCK_WAIT_SECONDS = 60.0  # far longer than a render takes; bounded all the same


def render_lock_path(config: Config) -> Path:
    """Beside the database lock: `showcase.db.render.lock`."""
    lock = lock_path(config)
    return lock.with_name(lock.name.removesuffix(".lock") + ".render.lock")


@contextmanager
def render_lock(config: Config, wait: float = RENDER_LOCK_WAIT_SECONDS) -> Iterator[None]:
    """One render of a database at a time, reading and writing under the lock: a render that
    read the store before a staff write must not finish after the render that shows it."""
    path = render_lock_path(config)
    deadline = time.monotonic() + wait
    with open_lock_file(path) as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockedError(f"another render is still writing ({path})") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def render_output(
    database: Engine | reads.SqliteReader,
    config: Config,
    clock: Clock = utc_now,
    publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
) -> list[Path]:
    """Render every output file under the render lock, then run the publish command
    (PublishError when it fails: the files are written by then). What is shown is read in one
    transaction, taken under the lock."""
    with render_lock(config), collector_paused():
        with _snapshot(database) as source:
            showcase = build_showcase(source, config, clock())
        written = render_showcase(showcase, config.output_dir, config.template_dirs)
    log.info("rendered %d files into %s", len(written), config.output_dir)
    if config.publish_command:
        publish(config, publish_timeout)
        log.info("published: %s", config.publish_command[0])
    return written


@contextmanager
def _snapshot(database: Engine | reads.SqliteReader) -> Iterator[reads.Reader | Session]:
    if isinstance(database, reads.SqliteReader):
        with database.transaction() as reader:
            yield reader
        return
    with store.session_scope(database) as session:
        yield session


def default_policy() -> RetryPolicy:
    return RetryPolicy()


def update(
    config: Config,
    sources: Sequence[str] | None = None,
    policy: RetryPolicy | None = None,
    clock: Clock = utc_now,
    render: bool = True,
    mode: Mode = FULL,
    accept_shrink: bool = False,
) -> list[FetchOutcome]:
    """Fetch the sources under the database lock, then render from what the store holds."""
    from sqlalchemy.exc import SQLAlchemyError

    policy = (policy or default_policy()).start()
    names = list(sources if sources is not None else fetchable_sources(config))
    engine = open_database(config)
    try:
        with database_lock(config):
            store.check_writable(engine)
            try:
                outcomes = fetch_sources(engine, config, names, policy, clock, mode, accept_shrink)
            except SQLAlchemyError as error:  # a full disk, a file gone read-only: one line
                raise store.database_error(config.database_url, error) from error
        if render:
            give_back_memory()
            # The publish command gets what is left of update's two minutes, at most its own.
            timeout = min(PUBLISH_TIMEOUT_SECONDS, max(1.0, policy.left_in_update()))
            try:
                render_output(engine, config, clock, timeout)
            except PublishError as error:
                error.outcomes = outcomes  # the fetch errors are still to be told
                raise
    finally:
        engine.dispose()
    return outcomes


def render_only(config: Config, clock: Clock = utc_now) -> list[Path]:
    """Render from what the database holds: an SQLite file whose schema is current is read
    with `sqlite3` alone (read-only); any other goes through SQLAlchemy, which migrates it
    under the database lock or refuses a newer schema, as every command does."""
    reader = reads.open_current_sqlite(config.database_url)
    if reader is not None:
        try:
            return render_output(reader, config, clock)
        finally:
            reader.close()
    engine = open_database(config)
    try:
        return render_output(engine, config, clock)
    finally:
        engine.dispose()


def fetchable_sources(config: Config) -> list[str]:
    """Configured sources that have a fetcher; others are logged and skipped."""
    names = []
    for name in config.configured_sources():
        if name in MODULES:
            names.append(name)
        else:
            log.warning(redact(f"{name}: not fetched: this version has no {name} source yet"))
    return names
