"""One evaluation: observe the data (`graph.events`), record what changed
(`alerts.store`). `Evaluations` runs them in the background of a serving process, one at a
time: pushes that arrive during a run ask for one more run, not one each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from alerts.store import AlertStore, Evaluated
from graph.events import Observer
from kernel.threads import in_thread

log = logging.getLogger(__name__)


async def evaluate(
    observer: Observer,
    store: AlertStore,
    month: date | None = None,
    today: date | None = None,
    *,
    after_import: bool = False,
) -> Evaluated:
    """Evaluates `month` (default: the latest month the bank's payroll covers).
    `after_import`: only what changed since the last evaluation is looked at again
    (`graph.scope`), with the same outcome as looking at everything, which a month's
    close does."""
    today = today or datetime.now(UTC).date()
    since = await in_thread(store.baseline) if after_import else None
    found = await observer.observe(month, today, since)
    return await in_thread(store.record, found)


class Evaluations:
    def __init__(self, run: Callable[[], Awaitable[Evaluated]]) -> None:
        self._run = run
        self._asked = asyncio.Event()
        self.runs = 0

    def request(self) -> None:
        """Ask for an evaluation after the data changed (cheap; never waits)."""
        self._asked.set()

    async def run_forever(self) -> None:
        while True:
            await self._asked.wait()
            self._asked.clear()
            try:
                done = await self._run()
            except Exception as error:  # the next import asks again; a close re-evaluates
                # its type only: a database error quotes the rows it failed on (ID numbers)
                log.error("warning evaluation failed: %s", type(error).__name__)
                continue
            self.runs += 1
            log.info(
                "warnings for %s: %d events, %d deliveries queued",
                done.month.strftime("%Y-%m"), done.events, done.deliveries,
            )  # fmt: skip


async def escalate_forever(store: AlertStore, every_seconds: float = 60.0) -> None:
    """Moves overdue work orders up a level, once a minute, in every serving process (the
    store's lock makes concurrent runs take turns; an order moves once per deadline)."""
    while True:
        try:
            moved = await in_thread(store.escalate_overdue)
        except Exception as error:  # the next round tries again
            log.warning("escalating overdue work orders failed: %s", type(error).__name__)
        else:
            if moved:
                log.info("%d overdue work orders escalated", moved)
        await asyncio.sleep(every_seconds)
