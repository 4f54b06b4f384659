"""Concurrent clients: N tasks take the next call in turn until a request count or a time
budget runs out; the same driver measures the hub (over HTTP) and the floor (in process),
so the two numbers differ only in what answers."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.workloads import Call


@dataclass(frozen=True)
class Budget:
    """Bounds per run: stop issuing after `max_requests` or `seconds`, whichever first."""

    max_requests: int
    seconds: float
    warmup: int = 10


@dataclass(frozen=True)
class Stats:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(ordered: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values, in milliseconds."""
    index = max(0, math.ceil(share * len(ordered)) - 1)
    return round(ordered[index] * 1000, 2)


async def drive(
    calls: Sequence[Call],
    answer: Callable[[Call], Awaitable[bool]],
    concurrency: int,
    budget: Budget,
) -> Stats:
    """`answer` returns False for a failed request (counted, not timed)."""
    for index in range(min(budget.warmup, len(calls))):
        await answer(calls[index])
    latencies: list[float] = []
    errors = 0
    issued = 0
    started = time.perf_counter()
    deadline = started + budget.seconds

    async def client() -> None:
        nonlocal issued, errors
        while issued < budget.max_requests and time.perf_counter() < deadline:
            call = calls[issued % len(calls)]
            issued += 1
            begun = time.perf_counter()
            if await answer(call):
                latencies.append(time.perf_counter() - begun)
            else:
                errors += 1

    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        return Stats(0, round(elapsed, 2), 0.0, 0.0, 0.0, 0.0, errors)
    return Stats(
        requests=len(latencies),
        seconds=round(elapsed, 2),
        rps=round(len(latencies) / elapsed, 1),
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
        errors=errors,
    )
