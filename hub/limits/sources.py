"""Limits per source, before anything costly: a source (client address, `auth.sources`)
that fails to authenticate too often is refused before its next token is verified or its
next secret hashed.

    HUB_SOURCES_FAILURES           failed authentications (401s) a source may cause:
                                   a token bucket, `<n>/s|m|h [burst <b>]` or `off`
                                   (default 1/s burst 20); while it is empty the source
                                   gets 429 too_many_failures with Retry-After, unless it
                                   presents a token this process has already verified
                                   (that costs no cryptography, and keeps an agency behind
                                   the same address as an attacker at work)
    HUB_SOURCES_TRUSTED_PROXIES    addresses or networks of proxies in front of the hub:
                                   X-Forwarded-For and X-Forwarded-Proto are honoured from
                                   them only (uvicorn's ProxyHeadersMiddleware), so a
                                   client cannot name its own source
    HUB_SOURCES_TALLY_SECONDS      refusals of unauthenticated requests are recorded as
                                   one audit record per source and interval (`audit.tally`)

Why failures and not requests: an agency's legitimate traffic comes from few addresses
and is limited per client once authenticated (`rates.py`); what costs the hub without
any client to charge is a token that must be verified or a secret that must be hashed
(scrypt, ~40 ms) before it turns out wrong. Counting only failures never slows a client
that authenticates, however busy.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Final

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.middleware import Refusal
from auth.sources import source_of
from auth.tokens import TokenVerifier
from hub.limits import refusal
from hub.limits.rates import OFF, Buckets, Rate
from kernel import errors

FAILED: Final = 401
MAX_BLOCKED: Final = 100_000
"""Sources remembered as blocked at once (oldest forgotten first), so a flood from many
addresses cannot grow the map without bound."""


class SourceLimits(BaseModel):
    """`HUB_SOURCES_*`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    failures: str = Field(
        default="1/s burst 20",
        description="Failed authentications a source may cause before it is refused "
        "unverified: a rate as HUB_RATE_LIMITS writes them, or `off`.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description='Proxies whose X-Forwarded-For names the source, as JSON: ["10.0.0.1", '
        '"10.1.0.0/16"]; none by default (the peer address is the source).',
    )
    tally_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Unauthenticated refusals are recorded as one audit record per source "
        "and kind of refusal every this many seconds.",
    )

    def failure_rate(self) -> Rate | None:
        """The rate, or None for `off`; a malformed one stops the start (ValueError)."""
        return None if self.failures.strip().lower() == OFF else Rate.parse(self.failures)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class FailuresBySource:
    """Each source's failed authentications, shared by every endpoint of a process: a
    source blocked at /oauth/token is blocked at /graphql too. The buckets may be in
    Redis (shared by processes); which sources are blocked, each process remembers."""

    def __init__(
        self, rate: Rate | None, buckets: Buckets, verifier: TokenVerifier | None = None
    ) -> None:
        self.rate = rate
        # The failure that takes the last token blocks the source, so `burst` failures are
        # answered, not burst + 1: a bucket one smaller, its refusal the signal.
        self._bucket = Rate(rate.per_second, rate.burst - 1) if rate else None
        self.buckets = buckets
        self.verifier = verifier
        self._blocked: OrderedDict[str, float] = OrderedDict()
        """Source → when it may try again (monotonic)."""

    def wait(self, scope: Scope, source: str) -> float:
        """Seconds until the source may try again (0 when it may now, or when it shows a
        token this process has verified before)."""
        wait = self._blocked.get(source, 0.0) - time.monotonic()
        if wait <= 0:
            return 0.0
        token = _bearer(scope)
        if token and self.verifier is not None and self.verifier.remembers(token):
            return 0.0
        return wait

    async def charge(self, source: str) -> None:
        assert self._bucket is not None
        wait = await self.buckets.take(f"source:{source}", self._bucket)
        if wait > 0:
            self._blocked[source] = time.monotonic() + wait
            self._blocked.move_to_end(source)
            while len(self._blocked) > MAX_BLOCKED:
                self._blocked.popitem(last=False)


class SourceGuard:
    """Wraps /graphql and /oauth/token inside the audit middleware (its refusals are
    tallied like any other refusal of an unauthenticated request)."""

    def __init__(self, app: ASGIApp, failures: FailuresBySource) -> None:
        self.app = app
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rate = self.failures.rate
        if rate is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        source = source_of(scope)
        wait = self.failures.wait(scope, source)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            refusal.record(errors.TOO_MANY_FAILURES, f"{rate.per_second:g}/s", None)
            await Refusal(
                429,
                errors.TOO_MANY_FAILURES,
                f"too many failed authentications from this address; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
                retry_after=retry_after,
            ).send(send)
            return
        status: int | None = None

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watching)
        if status == FAILED:
            await self.failures.charge(source)
