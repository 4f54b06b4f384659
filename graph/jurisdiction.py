"""Row-level visibility: which projects, workers, enterprises and cases one caller may see,
combined from what the agencies contribute (`kernel.limits`): the kinds of limit, the
deciders their records offer and the links between entities.

For each limit the caller's grant carries, an entity passes when the deciders for that
limit and its kind say so; an entity of a kind no decider covers passes when one of the
entities it links to, of the limit's home kind, passes. Nothing decided and nothing
linked is invisible; a limit no package declares hides everything (fail closed). All of
a grant's limits must pass. A caller with none sees everything its scopes allow.

Visibility is decided from the connectors' batched loaders, so a page of 50 workers
costs the same statements as a page of 5. Invisible entities look exactly like unknown
ones: `null` for a single reference, absent from a list.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections import defaultdict
from collections.abc import Awaitable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.base import discover
from kernel.access import caller_of
from kernel.batching import Loader
from kernel.caller import Caller
from kernel.composition import Entity
from kernel.context import RequestContext
from kernel.limits import KERNEL_LIMITS, Decider, Link, RowLimit, RowLimits

ENTITY_KEYS = {
    "Worker": "id_number",
    "Project": "code",
    "Enterprise": "uscc",
    "DisputeCase": "case_number",
}


@dataclass
class Rules:
    """Every package's contributions, indexed."""

    kinds: dict[str, RowLimit] = dataclasses.field(default_factory=dict)
    deciders: defaultdict[tuple[str, Entity], list[Decider]] = dataclasses.field(
        default_factory=lambda: defaultdict(list)
    )
    links: defaultdict[tuple[Entity, Entity], list[Link]] = dataclasses.field(
        default_factory=lambda: defaultdict(list)
    )

    @classmethod
    def of(cls, contributions: Sequence[RowLimits]) -> Rules:
        rules = cls()
        for contribution in contributions:
            for kind in contribution.kinds:
                if kind.name in rules.kinds:
                    raise ValueError(f"row limit {kind.name} is declared twice")
                rules.kinds[kind.name] = kind
        for contribution in contributions:
            for decider in contribution.deciders:
                if decider.limit not in rules.kinds:
                    raise ValueError(f"a decider for {decider.limit}, which nobody declares")
                rules.deciders[(decider.limit, decider.entity)].append(decider)
            for link in contribution.links:
                rules.links[(link.source, link.target)].append(link)
        return rules

    def check(self, limits: dict[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
        """A grant's limits, each value normalised by its kind; ValueError naming what is
        unknown or malformed."""
        checked: dict[str, tuple[str, ...]] = {}
        for name, values in limits.items():
            kind = self.kinds.get(name)
            if kind is None:
                raise ValueError(f"no row limit {name!r}; known: {', '.join(sorted(self.kinds))}")
            checked[name] = tuple(kind.check(value) for value in values if value.strip())
        return {name: values for name, values in checked.items() if values}


RULES = Rules.of([KERNEL_LIMITS, *(connector.row_limits for connector in discover())])
"""The installed packages' row limits: every agency's, and the kernel's."""


class _Stepped:
    """A loader whose every load takes exactly one wave: it waits for the wave it would
    join, even when what it asks for is cached."""

    def __init__(self, loader: Loader[Hashable, Any], step: Loader[object, None]) -> None:
        self._loader = loader
        self._step = step

    async def load(self, key: Hashable) -> Any:
        step = self._step.load(object())
        found = await self._loader.load(key)
        await step
        return found

    async def load_many(self, keys: Iterable[Hashable]) -> list[Any]:
        """The step is queued first and awaited last: both are of the wave the keys join,
        without the task and gathering future `asyncio.gather` would make for them."""
        step = self._step.load(object())
        found = await self._loader.load_many(keys)
        await step
        return found


class _SteppedLoaders:
    def __init__(self, loaders: object, step: Loader[object, None]) -> None:
        self._loaders = loaders
        self._step = step

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._loaders, name)
        return _Stepped(found, self._step) if isinstance(found, Loader) else found


async def _nothing(keys: list[object]) -> list[None]:
    return [None] * len(keys)


class InStep:
    """The request context as deciders and links see it: every load they make takes one
    wave, cached or not. So every decision about one kind of entity under one limit takes
    the same number of waves, whatever this request happened to load before, and the
    decisions a page's entities need finish together, their fields load together — the
    statements a page costs depend on the query's shape, not on which rows were cached."""

    def __init__(self, context: RequestContext) -> None:
        self._context = context
        self._step: Loader[object, None] = Loader(_nothing, context.waves)
        self._wrapped: dict[type, _SteppedLoaders] = {}

    def loaders(self, kind: type) -> Any:
        found = self._wrapped.get(kind)
        if found is None:
            found = self._wrapped[kind] = _SteppedLoaders(self._context.loaders(kind), self._step)
        return found


T = TypeVar("T")


async def _side_by_side(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """The coroutines run together, so their loads join the same waves. One alone (a
    grant's single limit, a kind's single decider or link: the usual case) is awaited
    in place: `asyncio.gather` would make a task and a gathering future for it, for each
    entity a page or an `_entities` call decides."""
    started = list(awaitables)
    if len(started) == 1:
        return [await started[0]]
    return list(await asyncio.gather(*started))


class Jurisdiction:
    """One request's visibility decisions, loaded in batches through the agencies' loaders."""

    def __init__(self, caller: Caller, context: RequestContext, rules: Rules = RULES) -> None:
        self.caller = caller
        self.context = context
        self.rules = rules
        self.steps = InStep(context)
        self._asked: dict[Entity, dict[Hashable, asyncio.Future[bool]]] = {}
        self._deciding: set[asyncio.Task[None]] = set()

    async def visible(self, entity: Entity, keys: list[Hashable]) -> list[bool]:
        verdicts = await _side_by_side(
            self._under(name, values, entity, keys) for name, values in self.caller.limits
        )
        return (
            [all(passed) for passed in zip(*verdicts, strict=True)]
            if verdicts
            else [True] * len(keys)
        )

    async def _under(
        self, name: str, values: tuple[str, ...], entity: Entity, keys: list[Hashable]
    ) -> list[bool]:
        kind = self.rules.kinds.get(name)
        if kind is None:
            return [False] * len(keys)
        deciders = self.rules.deciders.get((name, entity))
        if deciders:
            verdicts = await _side_by_side(d.decide(self.steps, values, keys) for d in deciders)
            return [all(passed) for passed in zip(*verdicts, strict=True)]
        links = self.rules.links.get((entity, kind.home))
        if entity is kind.home or not links:
            return [False] * len(keys)
        followed = await _side_by_side(link.follow(self.steps, keys) for link in links)
        targets = [
            [t for per_link in per_key for t in per_link] for per_key in zip(*followed, strict=True)
        ]
        flat = sorted({t for linked in targets for t in linked}, key=str)
        passed = dict(zip(flat, await self._under(name, values, kind.home, flat), strict=True))
        return [any(passed[t] for t in linked) for linked in targets]

    async def keep(self, entity: str, value: Any) -> Any:
        """The value with what the caller may not see removed. Decided from the
        connectors' loaders, called here on the resolver side so they batch in waves (a
        loader's own fetch must never wait on another loader).

        A single value is decided together with the others asked for in the same turn of
        the event loop (`_one`): an `_entities` call's representations, a page's
        entity-valued fields, each keeps one entity, and deciding each alone made as many
        chains of deciders and stepped loads, where one decision of them all costs the
        same waves and statements."""
        if value is None:
            return None
        attribute = ENTITY_KEYS[entity]
        if not isinstance(value, list):
            # shielded: the verdict is shared with every resolver asking about this key, and
            # a resolver cancelled (a sibling field failed) must not cancel theirs
            verdict = asyncio.shield(self._one(Entity(entity), getattr(value, attribute)))
            return value if await verdict else None
        allowed = await self.visible(Entity(entity), [getattr(v, attribute) for v in value])
        return [v for v, ok in zip(value, allowed, strict=True) if ok]

    def _one(self, entity: Entity, key: Hashable) -> asyncio.Future[bool]:
        """Whether the caller may see this entity, decided with every other key of its
        kind asked for before the decision starts (the event loop's next turn)."""
        loop = asyncio.get_running_loop()
        asked = self._asked.get(entity)
        if asked is None:
            asked = self._asked[entity] = {}
            task = loop.create_task(self._decide(entity, asked))
            self._deciding.add(task)
            task.add_done_callback(functools.partial(self._settle, entity, asked))
        found = asked.get(key)
        if found is None:
            found = asked[key] = loop.create_future()
        return found

    async def _decide(self, entity: Entity, asked: dict[Hashable, asyncio.Future[bool]]) -> None:
        del self._asked[entity]  # keys asked for from now on are another decision's
        verdicts = await self.visible(entity, list(asked))
        for future, verdict in zip(asked.values(), verdicts, strict=True):
            if not future.done():
                future.set_result(verdict)

    def _settle(
        self,
        entity: Entity,
        asked: dict[Hashable, asyncio.Future[bool]],
        task: asyncio.Task[None],
    ) -> None:
        """What a decision that did not decide leaves its waiters: its failure, or its
        cancel, even one before it started (its keys then no longer gather there)."""
        self._deciding.discard(task)
        if self._asked.get(entity) is asked:
            del self._asked[entity]
        error = None if task.cancelled() else task.exception()
        for future in asked.values():
            if future.done():
                continue
            if error is None:
                future.cancel()
            else:
                future.set_exception(error)


def jurisdiction_of(info: Any) -> Jurisdiction:
    context: RequestContext = info.context
    found = context.per_request.get(Jurisdiction)
    if not isinstance(found, Jurisdiction):
        found = context.per_request[Jurisdiction] = Jurisdiction(caller_of(info), context)
    return found


def unlimited(caller: Caller) -> bool:
    return not caller.limits
