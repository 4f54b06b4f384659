"""Waiting on an event, with a bound, in the waiting task itself."""

from __future__ import annotations

import asyncio
import contextlib


async def until_set(event: asyncio.Event, seconds: float) -> None:
    """`seconds`, or until `event` is set, whichever comes first. Awaited in the caller's
    task under `asyncio.timeout`, not through `asyncio.wait_for`, which on Python 3.11
    returns the wait's result when the event is set in the same turn of the loop as a
    cancel, swallowing the cancel (a worker stopped as it was woken went on)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
