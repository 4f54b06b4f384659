"""The national runner's idle wait and its wake: a call queued while the hub stops must not
keep the runner going (the hub's shutdown awaits it)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, cast

import pytest

from auth.national import NationalRegistry, QueuedCall
from hub.importing import Importer
from hub.national_app import NationalRunner
from hub.settings import NationalSettings


class _Queue:
    """A registry whose queue is empty once, then must not be looked at again."""

    def __init__(self) -> None:
        self.claims = 0

    def forget_answers(self, kept: timedelta) -> None:
        pass

    def forget_nonces(self, kept: timedelta) -> None:
        pass

    def claim(self, lease: timedelta, run: list[str]) -> QueuedCall | None:
        self.claims += 1
        if self.claims > 1:
            raise RuntimeError("the queue was looked at after the runner was cancelled")
        return None


class _Watched(NationalRunner):
    """A runner that says when it goes idle."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.idle = asyncio.Event()

    async def _idle(self, woken: asyncio.Event) -> None:
        self.idle.set()
        await super()._idle(woken)


def test_a_runner_woken_as_the_hub_stops_stops() -> None:
    """A wake and the cancel in the same turn of the loop (a call accepted as the hub
    stops): the cancel wins. `asyncio.wait_for` on Python 3.11 returned the wait's result
    instead, swallowing the cancel, and the runner looked at the queue again and idled
    until its next poll: the hub's shutdown waited on it for as long."""

    async def scenario() -> None:
        queue = _Queue()
        runner = _Watched(
            cast(NationalRegistry, queue),
            cast(Importer, None),
            {},
            NationalSettings(poll_seconds=3600),
        )
        running = asyncio.create_task(runner.run())
        await runner.idle.wait()
        for _ in range(3):  # the runner's wait has begun
            await asyncio.sleep(0)
        runner.wake()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        assert queue.claims == 1

    asyncio.run(scenario())
