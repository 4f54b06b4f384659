"""Blocking work off the event loop that a cancellation cannot leave running behind.

`asyncio.to_thread` returns to a cancelled caller at once while its thread goes on. A
background task cancelled at shutdown (the warnings' evaluation, the national queue's
runner, a dispatcher) would then still be inside a store that its owner closes next: the
thread reopens the store's engine, and that engine's connection is never closed (a leaked
connection, found by the suite's ResourceWarning check). `in_thread` lets the thread
finish before the cancellation goes on, so "the task is done" means "its work is done".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """As `asyncio.to_thread`; a cancelled caller waits for the call to end, then is
    cancelled (a second cancellation stops waiting)."""
    running = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise
