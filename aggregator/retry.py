"""Timeouts, bounded retries and backoff: the one place that decides when to try again."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aggregator.errors import SourceError

log = logging.getLogger(__name__)

T = TypeVar("T")

# `update` must give up well within two minutes (the contract), render included.
UPDATE_LIMIT_SECONDS = 120.0
UPDATE_BUDGET_SECONDS = 100.0


@dataclass
class RetryPolicy:
    """How often and how long to wait for one run's requests.

    A source raises `SourceError(retryable=True)` for a transient failure (5xx, 429, Graph's
    rate-limit codes, timeouts); `call` retries it with exponential backoff until `attempts` or
    the run's deadline is spent. Every other error goes straight through.
    """

    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 20.0
    timeout: float = 15.0
    budget: float = UPDATE_BUDGET_SECONDS
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _deadline: float | None = field(default=None, init=False, repr=False)

    def start(self) -> RetryPolicy:
        """Start the run's clock: from now on every request shares `budget` seconds."""
        self._deadline = self.clock() + self.budget
        return self

    def remaining(self) -> float:
        if self._deadline is None:
            self.start()
        assert self._deadline is not None
        return max(0.0, self._deadline - self.clock())

    def left_in_update(self) -> float:
        """What is left of the contract's two minutes for `update`: the fetch budget's rest,
        plus the part of the two minutes the budget keeps free for rendering."""
        if self._deadline is None:
            self.start()
        assert self._deadline is not None
        return max(0.0, self._deadline + UPDATE_LIMIT_SECONDS - self.budget - self.clock())

    def request_timeout(self) -> float:
        """Timeout for the next request: never past the run's deadline."""
        return max(1.0, min(self.timeout, self.remaining()))

    def call(self, source: str, attempt_once: Callable[[], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            if self.remaining() <= 0:
                raise SourceError(source, "timeout", "gave up: the run's time budget is spent")
            try:
                return attempt_once()
            except SourceError as error:
                if not error.retryable or attempt == self.attempts:
                    raise
                delay = self._delay(attempt, error.retry_after)
                if delay >= self.remaining():
                    raise
                log.info(
                    "%s (attempt %d of %d, retrying in %.1fs)", error, attempt, self.attempts, delay
                )
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        if retry_after is not None:
            delay = min(self.max_delay, max(delay, retry_after))
        return delay
