"""The failure policy on its own (`connectors.resilience`): the breaker on an injected
clock, bounded retries of transient failures only, and the guard that joins them under a
deadline. No HTTP here: `test_remote_client.py` drives the same policy through the client."""

from __future__ import annotations

import asyncio

import pytest

from connectors.resilience import CircuitBreaker, Guard, RemotePolicy, Transient, retrying
from kernel.errors import ConnectorTimeout, ConnectorUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Attempts:
    """An attempt that fails with the scripted failures, then answers."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.made = 0

    async def __call__(self) -> str:
        self.made += 1
        if self.failures:
            raise self.failures.pop(0)
        return "answer"


def test_a_failed_probe_opens_the_circuit_again() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_seconds=10, clock=clock)
    for _ in range(3):
        assert breaker.admit()
        breaker.failed()
    assert not breaker.admit()
    clock.now = 10.0
    assert breaker.admit()  # one probe
    assert breaker.state == "half-open"
    assert not breaker.admit()  # and only one
    breaker.failed()
    assert breaker.state == "open"
    clock.now = 15.0
    assert not breaker.admit()
    assert breaker.retry_after() == 5.0
    clock.now = 20.0
    assert breaker.admit()
    breaker.succeeded()
    assert breaker.state == "closed"
    assert breaker.admit()


def test_a_success_forgives_earlier_failures() -> None:
    breaker = CircuitBreaker(failures=2, reset_seconds=10, clock=Clock())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed"


def test_transient_failures_are_retried_until_the_attempt_answers() -> None:
    attempt = Attempts(Transient("HTTP 503"), Transient("HTTP 502"))
    assert asyncio.run(retrying(attempt, retries=2, backoff_seconds=0)) == "answer"
    assert attempt.made == 3


def test_retries_are_bounded_and_the_last_failure_says_why() -> None:
    attempt = Attempts(*(Transient(f"HTTP 50{n}") for n in range(5)))
    with pytest.raises(Transient, match="HTTP 502"):
        asyncio.run(retrying(attempt, retries=2, backoff_seconds=0))
    assert attempt.made == 3


def test_other_failures_are_not_retried() -> None:
    attempt = Attempts(ConnectorUnavailable("refused", connector="bank"))
    with pytest.raises(ConnectorUnavailable):
        asyncio.run(retrying(attempt, retries=2, backoff_seconds=0))
    assert attempt.made == 1


QUICK = RemotePolicy(retries=0, backoff_seconds=0, breaker_failures=2, breaker_seconds=10)


def _guard(clock: Clock, **changes: float) -> Guard:
    return Guard("bank", QUICK.model_copy(update=changes), clock)


def test_the_guard_opens_the_circuit_and_fails_fast_without_attempting() -> None:
    clock = Clock()
    guard = _guard(clock)
    attempt = Attempts(*(Transient("HTTP 503") for _ in range(3)))

    async def run() -> None:
        for _ in range(2):
            with pytest.raises(ConnectorUnavailable, match="HTTP 503"):
                await guard.call(attempt)
        assert guard.breaker.state == "open"
        with pytest.raises(ConnectorUnavailable, match=r"in 10 s \(circuit open\)") as refused:
            await guard.call(attempt)
        assert refused.value.details == {"connector": "bank"}
        assert attempt.made == 2  # not even attempted
        clock.now = 10.0
        with pytest.raises(ConnectorUnavailable):
            await guard.call(attempt)  # the probe fails: open again
        assert (attempt.made, guard.breaker.state) == (3, "open")
        clock.now = 20.0
        assert await guard.call(attempt) == "answer"  # the next probe closes it
        assert guard.breaker.state == "closed"

    asyncio.run(run())


def test_a_stalled_attempt_times_out_at_the_deadline_and_counts_as_a_failure() -> None:
    guard = _guard(Clock(), timeout_seconds=0.01, breaker_failures=1)
    never = asyncio.Event()

    async def stalled() -> str:
        await never.wait()
        return "never"

    with pytest.raises(ConnectorTimeout) as timed_out:
        asyncio.run(guard.call(stalled))
    assert timed_out.value.code == "CONNECTOR_TIMEOUT"
    assert timed_out.value.details == {"connector": "bank"}
    assert guard.breaker.state == "open"
