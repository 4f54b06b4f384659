"""Request-wide batching: every loader of one request dispatches in waves.

A plain DataLoader dispatches on the next event-loop turn, so when two resolver chains
reach the same loader at different moments (one waiting on the database, one not) it
sends two statements, and how many depends on database timing. Here a request's loaders
hold their keys while any batch of that request is in flight; when a wave finishes and
the resolvers it woke have queued their next keys, every waiting loader dispatches
together. The statements a query costs then depend on its shape only — not on how many
rows it returns, nor on which database answers first.

A loader's fetch function must not wait on another loader: that loader's keys would
queue for the next wave, which cannot start until this one ends. Compose loaders on the
resolver side instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

from kernel.tracing import tracer

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")

# Event-loop turns a woken resolver needs to reach its next `load` (graphql-core completes
# the value, gathers child fields as tasks, the child starts): a handful; twice that is
# margin. Each idle turn costs microseconds.
SETTLE_TURNS = 12


class Waves:
    """One per request: runs the queued batches of all its loaders, wave after wave."""

    def __init__(self) -> None:
        self._queued: list[Loader[Hashable, object]] = []
        self._runner: asyncio.Task[None] | None = None

    def enqueue(self, loader: Loader[Hashable, object]) -> None:
        self._queued.append(loader)
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            number = 0
            while self._queued:
                for _ in range(SETTLE_TURNS):
                    await asyncio.sleep(0)
                wave, self._queued = self._queued, []
                number += 1
                with tracer.start_as_current_span(
                    "hub.wave", attributes={"hub.wave": number, "hub.wave.loaders": len(wave)}
                ):
                    await asyncio.gather(*(loader.dispatch() for loader in wave))
        finally:
            self._runner = None


class Loader(Generic[KeyT, ValueT]):
    """Loads values by key in batches, caching them for the request."""

    def __init__(
        self, fetch: Callable[[list[KeyT]], Awaitable[Sequence[ValueT]]], waves: Waves
    ) -> None:
        self._fetch = fetch
        self._waves = waves
        self._cache: dict[KeyT, asyncio.Future[ValueT]] = {}
        self._pending: dict[KeyT, asyncio.Future[ValueT]] = {}

    def load(self, key: KeyT) -> asyncio.Future[ValueT]:
        future = self._cache.get(key)
        if future is None:
            future = self._cache[key] = asyncio.get_running_loop().create_future()
            if not self._pending:
                self._waves.enqueue(self)  # type: ignore[arg-type]
            self._pending[key] = future
        return future

    async def load_many(self, keys: Iterable[KeyT]) -> list[ValueT]:
        futures = [self.load(key) for key in keys]
        if len(futures) == 1:  # one entity's decision, one representation's: no gathering
            return [await futures[0]]
        return list(await asyncio.gather(*futures))

    def prime(self, key: KeyT, value: ValueT) -> None:
        """Remember a value fetched another way (e.g. by a list query) for this request."""
        if key not in self._cache:
            future = asyncio.get_running_loop().create_future()
            future.set_result(value)
            self._cache[key] = future

    async def dispatch(self) -> None:
        batch, self._pending = self._pending, {}
        try:
            values = await self._fetch(list(batch))
        except Exception as error:  # every waiting resolver gets the same failure
            for future in batch.values():
                if not future.done():
                    future.set_exception(error)
            return
        for future, value in zip(batch.values(), values, strict=True):
            if not future.done():
                future.set_result(value)
