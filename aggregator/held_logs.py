"""Log lines of work run on other threads, held back until the caller's turn for them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class HeldLogs:
    """What a function run through `run(key, ...)` logs is held until `release(key)`, then
    passed on in the order it came, and from then on passes straight through: work done at
    once on several threads logs as if done one after the other. Held back from the handlers
    of the `aggregator` logger and of the root logger, the ones the command line and the
    tests set; on leaving the `with`, whatever is still held is passed on."""

    def __init__(self) -> None:
        # Reentrant: a release passes the held records on while holding it, so that a record
        # logged meanwhile on the worker's thread waits for them and never overtakes them.
        self._lock = threading.RLock()
        self._keys: dict[int, str] = {}
        self._held: dict[str, list[logging.LogRecord]] = {}
        self._released: set[str] = set()
        self._handlers: list[logging.Handler] = []

    def __enter__(self) -> HeldLogs:
        self._handlers = [*logging.getLogger("aggregator").handlers, *logging.getLogger().handlers]
        for handler in self._handlers:
            handler.addFilter(self._passes)
        return self

    def __exit__(self, *exc: object) -> None:
        for key in list(self._held):
            self.release(key)
        for handler in self._handlers:
            handler.removeFilter(self._passes)

    def run(self, key: str, function: Callable[..., T], *args: object) -> T:
        thread = threading.get_ident()
        with self._lock:
            self._keys[thread] = key
            self._held.setdefault(key, [])
        try:
            return function(*args)
        finally:
            with self._lock:
                self._keys.pop(thread, None)

    def release(self, key: str) -> None:
        with self._lock:
            self._released.add(key)
            for record in self._held.pop(key, []):
                logging.getLogger(record.name).handle(record)

    def _passes(self, record: logging.LogRecord) -> bool:
        with self._lock:
            key = self._keys.get(record.thread or 0)
            if key is None or key in self._released:
                return True
            held = self._held[key]
            if not held or held[-1] is not record:  # one record meets each handler's filter
                held.append(record)
            return False
