"""Log lines of work run on other threads, held back until the caller's turn for them."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Whose work logs: set for the function `run` runs, and inherited by the threads it starts
# in its context (as YouTube's pages read ahead are).
_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar("held_logs_key", default=None)


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
        with self._lock:
            self._held.setdefault(key, [])
        return contextvars.copy_context().run(self._run_as, key, function, *args)

    @staticmethod
    def _run_as(key: str, function: Callable[..., T], *args: object) -> T:
        _KEY.set(key)
        return function(*args)

    def release(self, key: str) -> None:
        with self._lock:
            self._released.add(key)
            for record in self._held.pop(key, []):
                logging.getLogger(record.name).handle(record)

    def _passes(self, record: logging.LogRecord) -> bool:
        with self._lock:
            key = _KEY.get()
            if key is None or key in self._released or key not in self._held:
                return True
            held = self._held[key]
            if not held or held[-1] is not record:  # one record meets each handler's filter
                held.append(record)
            return False
