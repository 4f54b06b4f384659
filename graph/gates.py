"""The gates a schema puts on its fields when it is built, from what the types declare, so
no resolver has to remember them:

    EntityGate     a field returning Worker, Project, Enterprise or DisputeCase: what the
                   caller may not see is null or left out of the list; what passes is
                   noted, by key, as disclosed
    RecordGate     a field returning records that belong to an entity or carry a person's
                   data (`kernel.ownership`): a record whose entity the caller may not
                   see is left out — a wage account reached from its holder is still its
                   project's — and the persons the records are about are noted as
                   disclosed, so the audit log and each worker's access report name them
                   even when no Worker is selected
    ArgumentGate   a field with an argument (or filter field) naming an entity by its key:
                   an ID number needs `worker:identity`, or a guessed number could be
                   checked for existence; an entity the caller cannot see is treated as
                   unknown, so the field answers what it would for a key that matches
                   nothing (an empty page, an empty list, null)

Every decision goes through `graph.jurisdiction`, batched per wave: a page of 50 costs the
statements a page of 5 does. A caller without row limits passes every visibility check
without any statement; disclosures are noted for every caller.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType

from graph.jurisdiction import ENTITY_KEYS, jurisdiction_of, unlimited
from kernel.access import caller_of
from kernel.composition import Entity
from kernel.context import notes_of
from kernel.errors import Forbidden
from kernel.ownership import KEY_SCALARS, NAMES_KEY, Owner, disclosed_by, owner_of
from kernel.pagination import Connection, empty_connection
from kernel.scopes import WORKER_IDENTITY


def _items(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _note(info: Any, owners: Iterable[Owner], items: Iterable[Any]) -> None:
    keys = ((owner.entity.value, owner.key(item)) for item in items for owner in owners)
    notes_of(info).disclose([(kind, key) for kind, key in keys if key is not None], info.path)


class EntityGate(FieldExtension):
    """Applied to every field that returns Worker, Project, Enterprise or DisputeCase: a
    caller without limits passes straight through; what passes is noted, by key, as
    disclosed (the audit log's entity keys)."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.attribute = ENTITY_KEYS[entity]

    def _disclosed(self, info: Any, value: Any) -> Any:
        keys = [(self.entity, getattr(item, self.attribute)) for item in _items(value)]
        notes_of(info).disclose(keys, info.path)
        return value

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        """For a limited caller a sync field answers with an awaitable: the decision
        loads in batches."""
        value = next_(source, info, **kwargs)
        if inspect.isawaitable(value) or not unlimited(caller_of(info)):
            return self._kept(info, value)
        return self._disclosed(info, value)

    async def _kept(self, info: Any, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = await value
        if not unlimited(caller_of(info)):
            value = await jurisdiction_of(info).keep(self.entity, value)
        return self._disclosed(info, value)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any
    ) -> Any:
        return await self._kept(info, await next_(source, info, **kwargs))


class RecordGate(FieldExtension):
    """Applied to every field returning a record type that declares what it belongs to
    or whom it discloses (`kernel.ownership`)."""

    def __init__(self, owner: Owner | None, disclosed: tuple[Owner, ...]) -> None:
        self.owner = owner
        self.disclosed = disclosed

    def _disclosed(self, info: Any, value: Any) -> Any:
        _note(info, self.disclosed, _items(value))
        return value

    async def _kept(self, info: Any, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = await value
        owner = self.owner
        if owner is None or value is None or unlimited(caller_of(info)):
            return self._disclosed(info, value)
        items = _items(value)
        keys = sorted({k for k in map(owner.key, items) if k is not None}, key=str)
        verdicts = await jurisdiction_of(info).visible(owner.entity, list(keys))
        visible = {key for key, ok in zip(keys, verdicts, strict=True) if ok}
        kept = [item for item in items if owner.key(item) is None or owner.key(item) in visible]
        return self._disclosed(info, kept if isinstance(value, list) else (kept or [None])[0])

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        value = next_(source, info, **kwargs)
        if inspect.isawaitable(value) or not (self.owner is None or unlimited(caller_of(info))):
            return self._kept(info, value)
        return self._disclosed(info, value)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any
    ) -> Any:
        return await self._kept(info, await next_(source, info, **kwargs))


Named = tuple[tuple[str, ...], Entity]
"""Where an argument names an entity (`("filter", "project_code")`), and which."""


def _named_values(kwargs: dict[str, Any], path: tuple[str, ...]) -> list[Any]:
    found: list[Any] = [kwargs.get(path[0])]
    for name in path[1:]:
        found = [getattr(item, name, None) for value in found for item in _items(value)]
    return [item for value in found for item in _items(value)]


class ArgumentGate(FieldExtension):
    """Applied to every field with an argument that names an entity. It runs inside the
    field's scope guard, right before the resolver."""

    def __init__(self, named: Sequence[Named], empty: Callable[[], Any]) -> None:
        self.named = tuple(named)
        self.empty = empty

    def _keys(self, kwargs: dict[str, Any]) -> dict[Entity, list[Hashable]]:
        keys: defaultdict[Entity, list[Hashable]] = defaultdict(list)
        for path, entity in self.named:
            keys[entity] += [v for v in _named_values(kwargs, path) if v is not None]
        return {entity: found for entity, found in keys.items() if found}

    def _checked(self, info: Any, kwargs: dict[str, Any]) -> dict[Entity, list[Hashable]]:
        keys = self._keys(kwargs)
        if Entity.WORKER in keys and not caller_of(info).has(WORKER_IDENTITY):
            raise Forbidden(
                f"{info.path.typename}.{info.field_name}: naming a worker by ID number needs "
                f"scope {WORKER_IDENTITY}, which this client's grant lacks",
                missingScopes=[WORKER_IDENTITY],
            )
        return {} if unlimited(caller_of(info)) else keys

    async def _all_visible(self, info: Any, keys: dict[Entity, list[Hashable]]) -> bool:
        jurisdiction = jurisdiction_of(info)
        for entity, found in keys.items():
            if not all(await jurisdiction.visible(entity, found)):
                return False
        return True

    async def _gated(self, next_: Any, source: Any, info: Any, keys: Any, kwargs: Any) -> Any:
        if not await self._all_visible(info, keys):
            return self.empty()
        value = next_(source, info, **kwargs)
        return await value if inspect.isawaitable(value) else value

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        keys = self._checked(info, kwargs)
        if not keys:
            return next_(source, info, **kwargs)
        return self._gated(next_, source, info, keys, kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any
    ) -> Any:
        keys = self._checked(info, kwargs)
        if not keys:
            return await next_(source, info, **kwargs)
        return await self._gated(next_, source, info, keys, kwargs)


def _unwrapped(field_type: Any) -> Any:
    inner = field_type
    while isinstance(inner, StrawberryOptional | StrawberryList):
        inner = inner.of_type
    return inner


def _entity_of(field_type: Any) -> str | None:
    inner = _unwrapped(field_type)
    if isinstance(inner, LazyType) and inner.type_name in ENTITY_KEYS:
        return inner.type_name
    return None


def named_entities(field: StrawberryField) -> list[Named]:
    """The arguments of a field, and the fields of its input arguments, that name an
    entity: declared with `kernel.ownership.names`/`naming`, or typed with a key scalar."""
    found: list[Named] = []

    def visit(path: tuple[str, ...], metadata: Any, field_type: Any, depth: int) -> None:
        inner = _unwrapped(field_type)
        entity = (metadata or {}).get(NAMES_KEY) or KEY_SCALARS.get(inner)
        if isinstance(entity, Entity):
            found.append((path, entity))
            return
        definition = get_object_definition(inner) if isinstance(inner, type) else None
        if definition is not None and definition.is_input and depth < 4:
            for member in definition.fields:
                visit((*path, member.python_name), member.metadata, member.type, depth + 1)

    for argument in field.arguments:
        visit((argument.python_name,), argument.metadata, argument.type, 0)
    return found


def _empty_value(field: StrawberryField) -> Callable[[], Any]:
    """What the field answers when what its arguments name does not exist."""
    field_type = field.type
    while isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if isinstance(field_type, StrawberryList):
        return list
    definition = get_object_definition(field_type) if isinstance(field_type, type) else None
    origin = definition and (definition.concrete_of or definition).origin
    if isinstance(origin, type) and issubclass(origin, Connection):
        return empty_connection
    return lambda: None


def _gate(field: StrawberryField) -> None:
    """Puts the gates one field needs on it, once (schemas share field objects)."""
    present = {type(e) for e in field.extensions}
    entity = _entity_of(field.type)
    if entity and EntityGate not in present:
        field.extensions = [*field.extensions, EntityGate(entity)]
    inner = _unwrapped(field.type)
    if isinstance(inner, type) and RecordGate not in present:
        owner, disclosed = owner_of(inner), disclosed_by(inner)
        if owner is not None or disclosed:
            field.extensions = [*field.extensions, RecordGate(owner, disclosed)]
    named = named_entities(field)
    if named and ArgumentGate not in present:
        field.extensions = [ArgumentGate(named, _empty_value(field)), *field.extensions]


def gate_fields(types: Sequence[type]) -> None:
    """Puts the gates on every field of these types and of the types they reach;
    idempotent."""
    seen: set[type] = set()
    pending = list(types)
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        definition = get_object_definition(cls)
        if definition is None:
            continue
        for field in definition.fields:
            _gate(field)
            inner = _unwrapped(field.type)
            if isinstance(inner, type) and get_object_definition(inner) is not None:
                pending.append(inner)
            elif isinstance(inner, LazyType):
                pending.append(inner.resolve_type())
