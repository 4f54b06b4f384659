"""`in_thread`: a cancelled caller is told only once the thread's work has ended."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kernel.threads import in_thread


def test_a_cancelled_call_returns_after_its_thread_has_finished() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def work() -> str:
        started.set()
        release.wait(10)
        finished.set()
        return "done"

    async def scenario() -> None:
        task = asyncio.create_task(in_thread(work))
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()  # still inside the thread: the store it uses stays open
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished.is_set()

    asyncio.run(scenario())


def test_it_returns_what_the_function_returns_and_raises_what_it_raises() -> None:
    def fails() -> None:
        raise ValueError("refused")

    async def scenario() -> None:
        assert await in_thread(sum, [1, 2, 3]) == 6
        with pytest.raises(ValueError, match="refused"):
            await in_thread(fails)

    asyncio.run(scenario())
