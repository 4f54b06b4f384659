"""The agencies' as-of days are read once every few seconds per process, not once per
request; an import this process applies counts at once."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from connectors.loading import AsOfKept

DAYS = {"attendance": date(2026, 10, 31)}


class Reads:
    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.count = 0

    async def __call__(self) -> dict[str, date]:
        self.count += 1
        await asyncio.sleep(0)
        outcome = self.outcomes.pop(0) if self.outcomes else DAYS
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, dict)
        return outcome


def test_one_reading_serves_every_request_within_its_seconds() -> None:
    async def run() -> None:
        kept, read = AsOfKept(seconds=60), Reads()
        together = await asyncio.gather(*(kept.get(read) for _ in range(5)))
        assert together == [DAYS] * 5
        assert await kept.get(read) == DAYS
        assert read.count == 1

    asyncio.run(run())


def test_forgotten_or_stale_days_are_read_again() -> None:
    later = {"attendance": date(2026, 11, 30)}

    async def run() -> None:
        kept, read = AsOfKept(seconds=60), Reads(DAYS, later)
        assert await kept.get(read) == DAYS
        kept.forget()  # an import was applied
        assert await kept.get(read) == later
        stale = AsOfKept(seconds=0)
        assert await stale.get(read) == DAYS
        assert await stale.get(read) == DAYS
        assert read.count == 4

    asyncio.run(run())


def test_a_failed_reading_is_not_kept() -> None:
    async def run() -> None:
        kept, read = AsOfKept(seconds=60), Reads(OSError("database gone"))
        with pytest.raises(OSError, match="database gone"):
            await kept.get(read)
        assert await kept.get(read) == DAYS
        assert read.count == 2

    asyncio.run(run())


def test_a_caller_that_leaves_does_not_cancel_the_reading() -> None:
    async def run() -> None:
        kept, read = AsOfKept(seconds=60), Reads()
        leaving = asyncio.ensure_future(kept.get(read))
        await asyncio.sleep(0)
        leaving.cancel()
        assert await kept.get(read) == DAYS
        assert read.count == 1

    asyncio.run(run())
