"""`Jurisdiction.keep` of a single value waits on a decision shared with every resolver
asking about the same kind of entity in that turn of the event loop: one resolver
cancelled (graphql-core cancels a failed field's siblings) must not cancel the others'
verdicts, and a decision cancelled before it started must leave no resolver waiting and
no later one gathering into it."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from types import SimpleNamespace

from graph.jurisdiction import Jurisdiction
from kernel.composition import Entity

SEEN = {"110", "220"}


class Deciding(Jurisdiction):
    """The decision alone: a caller who may see the workers in SEEN, decided a little later."""

    def __init__(self) -> None:
        self._asked = {}
        self._deciding = set()
        self.decisions: list[list[Hashable]] = []

    async def visible(self, entity: Entity, keys: list[Hashable]) -> list[bool]:
        self.decisions.append(keys)
        await asyncio.sleep(0.02)
        return [key in SEEN for key in keys]


def _worker(id_number: str) -> SimpleNamespace:
    return SimpleNamespace(id_number=id_number)


def test_one_resolver_cancelled_leaves_the_others_their_verdicts() -> None:
    async def run() -> list[object]:
        jurisdiction = Deciding()
        asking = [
            asyncio.create_task(jurisdiction.keep("Worker", _worker(key)))
            for key in ("110", "110", "330", "220")
        ]
        await asyncio.sleep(0.005)  # the decision has started
        asking[0].cancel()
        found = await asyncio.gather(*asking, return_exceptions=True)
        assert jurisdiction.decisions == [["110", "330", "220"]]  # one decision for all
        return [type(f).__name__ if isinstance(f, BaseException) else f.id_number if f else f
                for f in found]  # fmt: skip

    assert asyncio.run(run()) == ["CancelledError", "110", None, "220"]


def test_a_decision_cancelled_before_it_started_leaves_nobody_waiting() -> None:
    async def run() -> tuple[list[str], object]:
        jurisdiction = Deciding()
        first = asyncio.create_task(jurisdiction.keep("Worker", _worker("110")))
        await asyncio.sleep(0)  # `first` asked; its decision is scheduled, not started
        for decision in list(jurisdiction._deciding):
            decision.cancel()
        waited = await asyncio.wait_for(asyncio.gather(first, return_exceptions=True), 5)
        later = await asyncio.wait_for(jurisdiction.keep("Worker", _worker("220")), 5)
        return [type(f).__name__ for f in waited], later.id_number

    assert asyncio.run(run()) == (["CancelledError"], "220")
