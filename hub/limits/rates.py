"""Rate limits per client: a token bucket each, refilled continuously, answering 429 with
`Retry-After` when empty. Runs after authentication (it needs the caller) and before the
body is read.

Rates are written `"<n>/s|m|h [burst <b>]"` (burst defaults to n) and chosen by client
id, then agency, then `"default"`, e.g.
`HUB_RATE_LIMITS='{"default": "20/s burst 40", "bank": "5/s"}'`. A name given no rate
(`"off"`) is not limited. Buckets live in this process, or in Redis when
`HUB_REDIS_URL` is set, so several hub processes share one bucket per client; there one
Lua script refills and takes atomically, on Redis's clock.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from auth.middleware import Refusal
from hub.limits import refusal
from kernel import errors
from kernel.caller import Caller
from kernel.deferred import deferred
from kernel.tracing import tracer

if TYPE_CHECKING:
    import redis.exceptions as redis_exceptions
    from redis.asyncio import Redis
else:
    redis_exceptions = deferred("redis.exceptions")  # only where HUB_REDIS_URL is set

RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|m|h)\s*(?:burst\s+(\d+))?\s*", re.IGNORECASE)
PER_SECOND = {"s": 1.0, "m": 60.0, "h": 3600.0}
OFF = "off"
DEFAULT = "default"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = RATE.fullmatch(text)
        if not match or float(match[1]) <= 0:
            raise ValueError(f"rate {text!r}: write it as '20/s', '600/m burst 50' or 'off'")
        count = float(match[1])
        burst = int(match[3]) if match[3] else max(1, math.ceil(count))
        return cls(count / PER_SECOND[match[2].lower()], max(1, burst))


def parse_rates(configured: Mapping[str, str]) -> dict[str, Rate | None]:
    """Name (client id, agency or "default") → its rate, None for "off". Raises
    ValueError at start-up for a malformed one, so a typo never disables a limit."""
    return {
        name: None if text.strip().lower() == OFF else Rate.parse(text)
        for name, text in configured.items()
    }


class Buckets(Protocol):
    async def take(self, key: str, rate: Rate) -> float:
        """Take one token; 0 if there was one, else the seconds until there will be."""


class LocalBuckets:
    """Buckets in this process: (tokens, at) per key, at most `max_keys` of them (a key
    per source address could otherwise grow without bound); past that the buckets least
    recently used are forgotten, and come back full."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys

    async def take(self, key: str, rate: Rate) -> float:
        now = time.monotonic()
        tokens, at = self._state.get(key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - at) * rate.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate.per_second
        self._state[key] = (tokens, now)
        self._state.move_to_end(key)
        while len(self._state) > self._max_keys:
            self._state.popitem(last=False)
        return wait


TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisBuckets:
    """Buckets shared by every hub process using the same Redis (keys `hub:rate:<key>`,
    expiring once full again). While Redis does not answer, each process limits with its
    own buckets: an outage of the limiter must neither stop the agencies nor lift the
    limits."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._take = redis.register_script(TAKE_SCRIPT)
        self._fallback = LocalBuckets()

    async def take(self, key: str, rate: Rate) -> float:
        try:
            wait = await self._take(keys=[f"hub:rate:{key}"], args=[rate.per_second, rate.burst])
        except redis_exceptions.RedisError as error:
            log.warning("Redis unavailable for rate limits (%s): limiting in process", error)
            return await self._fallback.take(key, rate)
        return float(wait)


def _charged(scope: Scope) -> Caller | None:
    """Whose bucket a request takes from: the caller's; but a service acting for a caller
    (the hub at an agency's service, with an exchanged token: `auth.delegation`) is
    charged itself, since the caller's own request was charged where it arrived."""
    caller = scope.get("caller")
    if not isinstance(caller, Caller):
        return None
    return Caller(client_id=caller.actors[0]) if caller.actors else caller


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, rates: Mapping[str, Rate | None], buckets: Buckets) -> None:
        self.app = app
        self.rates = rates
        self.buckets = buckets

    def rate_for(self, caller: Caller) -> Rate | None:
        for name in (caller.client_id, caller.agency, DEFAULT):
            if name in self.rates:
                return self.rates[name]
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = _charged(scope)
        rate = self.rate_for(caller) if isinstance(caller, Caller) else None
        if rate is not None and isinstance(caller, Caller):
            with tracer.start_as_current_span("hub.limits", attributes={"hub.limit": "rate"}):
                wait = await self.buckets.take(caller.client_id, rate)
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                refusal.record(errors.RATE_LIMITED, f"{rate.per_second:g}/s", caller.client_id)
                await Refusal(
                    429,
                    errors.RATE_LIMITED,
                    f"client {caller.client_id!r} is over its rate; retry in {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                    retry_after=retry_after,
                ).send(send)
                return
        await self.app(scope, receive, send)
