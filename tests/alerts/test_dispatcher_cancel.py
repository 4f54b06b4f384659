"""A dispatcher cancelled as it is woken stops: it must not claim again (a dispatcher process
stopped by Ctrl-C under `asyncio.run`, its task cancelled as a delivery finished)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from alerts.dispatcher import Dispatcher
from alerts.payloads import AsClient
from alerts.settings import AlertSettings
from alerts.store import AlertStore


class _ClaimedAgain(BaseException):
    """Not an Exception: the dispatcher's loop, which outlives a database's hiccups, must
    not catch it and wait on."""


class _Queue:
    """A queue with nothing due once, that must not be asked again."""

    def __init__(self) -> None:
        self.claims = 0
        self.claimed = asyncio.Event()

    async def claim(self, *_: Any) -> list[Any]:
        self.claims += 1
        self.claimed.set()
        if self.claims > 1:
            raise _ClaimedAgain("claimed after the dispatcher was cancelled")
        return []

    async def close(self) -> None:
        pass


def test_a_dispatcher_woken_as_it_is_cancelled_stops() -> None:
    """The wake and the cancel in the same turn of the loop: the cancel wins.
    `asyncio.wait_for` on Python 3.11 returned the wait's result instead, and the
    dispatcher went round and claimed again."""

    async def scenario() -> None:
        queue = _Queue()
        async with httpx.AsyncClient() as http:
            dispatcher = Dispatcher(
                cast(AlertStore, SimpleNamespace(subscription=lambda _: None)),
                cast(AsClient, None),
                AlertSettings(poll_seconds=3600),
                http=http,
                queue=cast(Any, queue),
            )
            running = asyncio.create_task(dispatcher.run())
            await queue.claimed.wait()
            for _ in range(3):  # its wait has begun
                await asyncio.sleep(0)
            dispatcher._wake.set()
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
        assert queue.claims == 1

    asyncio.run(scenario())


class _OneThenNothing:
    """A queue with one delivery due, then nothing: each claim counted."""

    def __init__(self) -> None:
        self.claims = 0
        self.found_nothing = asyncio.Event()

    async def claim(self, *_: Any) -> list[Any]:
        self.claims += 1
        if self.claims == 1:
            return [SimpleNamespace(id="msg_1", subscription_id="sub_1")]
        self.found_nothing.set()
        return []

    async def close(self) -> None:
        pass


def test_a_fill_that_found_nothing_more_waits_for_a_slot_or_the_poll() -> None:
    """A fill claims one delivery, then finds nothing: the dispatcher waits (a delivery in
    flight, a poll of an hour) rather than filling again at once to find nothing again
    (a claim each time: a statement, or on a stream a relay and two reads)."""

    async def scenario() -> None:
        queue = _OneThenNothing()
        sent = asyncio.Event()
        async with httpx.AsyncClient() as http:
            dispatcher = Dispatcher(
                cast(AlertStore, SimpleNamespace(subscription=lambda _: None)),
                cast(AsClient, None),
                AlertSettings(poll_seconds=3600),
                http=http,
                queue=cast(Any, queue),
            )

            async def delivering(_: Any) -> None:
                await sent.wait()

            dispatcher._deliver = delivering  # type: ignore[method-assign]
            stop = asyncio.Event()
            running = asyncio.create_task(dispatcher.run(stop))
            await queue.found_nothing.wait()
            for _ in range(20):  # what it does next, without a wait of its own
                await asyncio.sleep(0)
            assert queue.claims == 2
            stop.set()
            sent.set()  # the delivery ends: the dispatcher wakes, sees the stop
            await running

    asyncio.run(scenario())
