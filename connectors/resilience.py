"""How a call to an agency's service fails without hanging the request: a deadline over
the whole call, retries of transient failures with jittered backoff inside it, and a
circuit breaker that answers at once while the agency keeps failing. Kept apart from the
HTTP client (`connectors.remote`) so the policy reads, and is tested, on its own.

    call ─▶ breaker open? ── yes ─▶ CONNECTOR_UNAVAILABLE at once
              │ no (or the one probe after the cool-down)
              ▼
            deadline ─▶ attempt ─▶ Transient? ─▶ back off, attempt again (bounded)
              │ expired                   └─▶ retries spent ─▶ CONNECTOR_UNAVAILABLE
              ▼
            CONNECTOR_TIMEOUT

Only the agency's failures count against it: a refusal the request itself caused (400,
413, 422, 429 — a body over its limit, a message it cannot take, a client over its rate)
fails that request alone, neither retried nor counted, so one client's oversized query
cannot open the circuit for everyone.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from kernel.errors import ConnectorTimeout, ConnectorUnavailable
from kernel.metrics import (
    BREAKER_STATE,
    CONNECTOR_CALLS,
    CONNECTOR_DURATION,
    CONNECTOR_RETRIES,
)
from kernel.tracing import tracer

BREAKER_STATES: Final = {"closed": 0, "half-open": 1, "open": 2}

ResultT = TypeVar("ResultT")


class RemotePolicy(BaseModel):
    """How the hub treats an agency it reaches over the network (`HUB_CONNECTOR_*`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Deadline of one call, retries included: CONNECTOR_TIMEOUT after it.",
    )
    retries: int = Field(
        default=2,
        ge=0,
        description="Retries of a read that failed in passing (connection error, "
        "502/503/504), with jittered exponential backoff.",
    )
    backoff_seconds: float = Field(
        default=0.05, ge=0, description="First retry's mean delay; doubled for each further one."
    )
    breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failed calls that open a connector's circuit."
    )
    breaker_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long an open circuit fails calls at once before one probe goes through.",
    )
    max_body_bytes: int = Field(
        default=262_144,
        ge=1_024,
        description="The agencies' request body limit (their HUB_LIMITS_MAX_BODY_BYTES): a "
        "wave's calls are split over requests of at most this size.",
    )


class Transient(Exception):
    """A failure the next attempt may not meet (a connection error, 502/503/504, a token
    the service refused and the client has since renewed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(Exception):
    """The agency refused the request for what it asked (4xx but 401): the request's
    fault, not the agency's, so it does not count against the circuit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CircuitBreaker:
    """Closed: calls go through. Open (after `failures` consecutive failures): calls fail
    at once. After `reset_seconds`, one probe goes through; its success closes the
    circuit, its failure opens it again for another `reset_seconds`."""

    def __init__(
        self,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.probing else "open"

    def admit(self) -> bool:
        if self.opened_at is None:
            return True
        if not self.probing and self.clock() - self.opened_at >= self.reset_seconds:
            self.probing = True
            return True
        return False

    def retry_after(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_seconds - (self.clock() - self.opened_at))

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.threshold:
            self.opened_at = self.clock()
        self.probing = False


def unavailable(connector: str, reason: str) -> ConnectorUnavailable:
    return ConnectorUnavailable(
        f"connector {connector} is unavailable: {reason}", connector=connector
    )


async def retrying(
    attempt: Callable[[], Awaitable[ResultT]],
    retries: int,
    backoff_seconds: float,
    on_retry: Callable[[], None] | None = None,
) -> ResultT:
    """`attempt()`'s result, attempting again after each Transient failure, at most
    `retries` more times; the last Transient is raised when they are spent."""
    done = 0
    while True:
        try:
            return await attempt()
        except Transient:
            if done >= retries:
                raise
            if on_retry is not None:
                on_retry()
            delay = backoff_seconds * 2**done
            await asyncio.sleep(random.uniform(0.5 * delay, 1.5 * delay))
            done += 1


class Guard:
    """One agency's calls under its policy: the deadline, the retries and the breaker,
    shared by every request of the process (the breaker's memory is the point)."""

    def __init__(
        self, connector: str, policy: RemotePolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.connector = connector
        self.policy = policy
        self.breaker = CircuitBreaker(policy.breaker_failures, policy.breaker_seconds, clock)

    async def call(self, attempt: Callable[[], Awaitable[ResultT]]) -> ResultT:
        """`attempt()`'s result, or ConnectorUnavailable / ConnectorTimeout; counted by
        outcome (`kernel.metrics`), traced as one span, the breaker's state published."""
        started = time.perf_counter()
        outcome = "error"
        with tracer.start_as_current_span(
            "connector.call", attributes={"hub.agency": self.connector}
        ) as span:
            try:
                result = await self._call(attempt)
                outcome = "ok"
                return result
            except ConnectorTimeout:
                outcome = "timeout"
                raise
            except ConnectorUnavailable:
                outcome = "unavailable"
                raise
            finally:
                span.set_attribute("hub.outcome", outcome)
                CONNECTOR_CALLS.labels(self.connector, "remote", outcome).inc()
                CONNECTOR_DURATION.labels(self.connector, "remote").observe(
                    time.perf_counter() - started
                )
                BREAKER_STATE.labels(self.connector).set(BREAKER_STATES[self.breaker.state])

    async def _call(self, attempt: Callable[[], Awaitable[ResultT]]) -> ResultT:
        if not self.breaker.admit():
            raise unavailable(
                self.connector,
                f"it has been failing; the hub tries again in"
                f" {self.breaker.retry_after():.0f} s (circuit open)",
            )
        policy = self.policy
        try:
            async with asyncio.timeout(policy.timeout_seconds):
                result = await retrying(
                    attempt,
                    policy.retries,
                    policy.backoff_seconds,
                    CONNECTOR_RETRIES.labels(self.connector).inc,
                )
        except TimeoutError:
            self.breaker.failed()
            raise ConnectorTimeout(
                f"connector {self.connector} did not answer within {policy.timeout_seconds:g} s",
                connector=self.connector,
            ) from None
        except Transient as transient:
            self.breaker.failed()
            raise unavailable(self.connector, transient.reason) from None
        except Refused as refused:  # the agency is up: it answered, about this request
            raise unavailable(self.connector, refused.reason) from None
        except ConnectorUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return result
