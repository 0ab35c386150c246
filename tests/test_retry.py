"""The one retry policy: bounded attempts, backoff, and a run-wide deadline."""

import pytest

from aggregator.errors import SourceError
from aggregator.retry import RetryPolicy


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def failing(errors, result="done"):
    calls = []

    def attempt():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return attempt, calls


def policy(clock, **kwargs):
    return RetryPolicy(sleep=clock.sleep, clock=clock, **kwargs).start()


def test_transient_errors_are_retried_with_growing_delays():
    clock = FakeClock()
    attempt, calls = failing([SourceError("youtube", "http 503", retryable=True)] * 2)
    assert policy(clock).call("youtube", attempt) == "done"
    assert len(calls) == 3
    assert clock.slept == [1.0, 2.0]


def test_permanent_errors_are_not_retried():
    clock = FakeClock()
    attempt, calls = failing([SourceError("youtube", "quota")])
    with pytest.raises(SourceError, match="quota"):
        policy(clock).call("youtube", attempt)
    assert len(calls) == 1 and clock.slept == []


def test_attempts_are_bounded():
    clock = FakeClock()
    attempt, calls = failing([SourceError("facebook", "rate limit", retryable=True)] * 10)
    with pytest.raises(SourceError, match="rate limit"):
        policy(clock, attempts=4).call("facebook", attempt)
    assert len(calls) == 4


def test_retry_after_is_honoured_but_capped():
    clock = FakeClock()
    errors = [SourceError("facebook", "rate limit", retryable=True, retry_after=600)]
    attempt, _ = failing(errors)
    policy(clock, max_delay=20).call("facebook", attempt)
    assert clock.slept == [20]


def test_no_sleep_past_the_deadline():
    clock = FakeClock()
    attempt, _calls = failing([SourceError("youtube", "timeout", retryable=True)] * 10)
    run = policy(clock, budget=5, attempts=10)
    with pytest.raises(SourceError, match="timeout"):
        run.call("youtube", attempt)
    assert sum(clock.slept) < 5


def test_spent_budget_stops_before_the_request():
    clock = FakeClock()
    run = policy(clock, budget=10)
    clock.now = 11
    attempt, calls = failing([])
    with pytest.raises(SourceError, match="timeout"):
        run.call("youtube", attempt)
    assert calls == []


def test_request_timeout_never_passes_the_deadline():
    clock = FakeClock()
    run = policy(clock, budget=100, timeout=15)
    assert run.request_timeout() == 15
    clock.now = 95
    assert run.request_timeout() == 5
