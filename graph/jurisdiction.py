"""Row-level visibility: which projects, workers, enterprises and cases one caller may see.

    regions  a client bound to regions sees the projects there, and workers and
             enterprises only through their links to such projects (registration,
             builder, general contractor, registering employer)
    courts   a court or mediation committee sees the cases it holds, and the parties to
             them (with their evidence, as its scopes allow) and those cases' projects
    bank     a bank sees projects whose wage special account it keeps, and workers and
             enterprises linked to them; its own accounts' rows only (see the bank
             connector)

Limits combine (all must allow). A client with none sees everything its scopes allow.
Visibility is decided from the connectors' batched loaders, so a page of 50 workers
costs the same statements as a page of 5. Invisible entities look exactly like unknown
ones: `null` for a single reference, absent from a list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.lazy_type import LazyType

from connectors.bank.loaders import BankLoaders
from connectors.court.loaders import CourtLoaders
from connectors.housing.loaders import HousingLoaders
from kernel.access import caller_of
from kernel.caller import Caller
from kernel.context import RequestContext

ENTITY_KEYS = {
    "Worker": "id_number",
    "Project": "code",
    "Enterprise": "uscc",
    "DisputeCase": "case_number",
}


def within(code: str, prefixes: Sequence[str]) -> bool:
    return any(code.startswith(prefix) for prefix in prefixes)


class Jurisdiction:
    """One request's visibility decisions, loaded in batches and cached."""

    def __init__(self, caller: Caller, context: RequestContext) -> None:
        self.caller = caller
        self.housing = context.loaders(HousingLoaders)
        self.bank = context.loaders(BankLoaders)
        self.court = context.loaders(CourtLoaders)
        self.deciders = {
            "Project": self._projects,
            "Worker": self._workers,
            "Enterprise": self._enterprises,
            "DisputeCase": self._cases,
        }

    async def _projects(self, codes: list[str]) -> list[bool]:
        caller = self.caller
        visible = [True] * len(codes)
        if caller.regions:
            rows = await self.housing.project.load_many(codes)
            visible = [
                v and r is not None and within(r.region_code, caller.regions)
                for v, r in zip(visible, rows, strict=True)
            ]
        if caller.bank:
            accounts = await self.bank.account_by_project.load_many(codes)
            visible = [
                v and a is not None and a.bank_name.startswith(caller.bank)
                for v, a in zip(visible, accounts, strict=True)
            ]
        if caller.courts:
            cases = await self.court.cases_by_project.load_many(codes)
            visible = [
                v and any(c.court_code in caller.courts for c in found)
                for v, found in zip(visible, cases, strict=True)
            ]
        return visible

    async def _any_project_visible(self, codes_per_key: list[list[str]]) -> list[bool]:
        flat = sorted({code for codes in codes_per_key for code in codes})
        allowed = dict(zip(flat, await self._projects(flat), strict=True))
        return [any(allowed[code] for code in codes) for codes in codes_per_key]

    async def _workers(self, id_numbers: list[str]) -> list[bool]:
        caller = self.caller
        visible = [True] * len(id_numbers)
        if caller.courts:
            cases = await self.court.cases_by_worker.load_many(id_numbers)
            visible = [any(c.court_code in caller.courts for c in found) for found in cases]
        if caller.regions or caller.bank:
            registrations = await self.housing.registrations_by_worker.load_many(id_numbers)
            linked = await self._any_project_visible(
                [[r.project_code for r in found] for found in registrations]
            )
            visible = [v and ok for v, ok in zip(visible, linked, strict=True)]
        return visible

    async def _enterprises(self, usccs: list[str]) -> list[bool]:
        caller = self.caller
        visible = [True] * len(usccs)
        if caller.courts:
            cases = await self.court.cases_by_enterprise.load_many(usccs)
            visible = [any(c.court_code in caller.courts for c in found) for found in cases]
        if caller.regions or caller.bank:
            contracted, built, employed = await asyncio.gather(
                self.housing.projects_by_contractor.load_many(usccs),
                self.housing.projects_by_builder.load_many(usccs),
                self.housing.registrations_by_employer.load_many(usccs),
            )
            linked = await self._any_project_visible(
                [
                    [p.code for p in c] + [p.code for p in b] + [r.project_code for r in e]
                    for c, b, e in zip(contracted, built, employed, strict=True)
                ]
            )
            visible = [v and ok for v, ok in zip(visible, linked, strict=True)]
        return visible

    async def _cases(self, case_numbers: list[str]) -> list[bool]:
        caller = self.caller
        if caller.bank:
            return [False] * len(case_numbers)
        rows = await self.court.case.load_many(case_numbers)
        return [
            row is not None
            and (not caller.courts or row.court_code in caller.courts)
            and (not caller.regions or within(row.region_code, caller.regions))
            for row in rows
        ]

    async def keep(self, entity: str, value: Any) -> Any:
        """The value with what the caller may not see removed. Decided from the
        connectors' loaders, called here on the resolver side so they batch in waves (a
        loader's own fetch must never wait on another loader)."""
        if value is None:
            return None
        attribute = ENTITY_KEYS[entity]
        values = value if isinstance(value, list) else [value]
        allowed = await self.deciders[entity]([getattr(v, attribute) for v in values])
        kept = [v for v, ok in zip(values, allowed, strict=True) if ok]
        return kept if isinstance(value, list) else (kept[0] if kept else None)


def jurisdiction_of(info: Any) -> Jurisdiction:
    context: RequestContext = info.context
    found = context.per_request.get(Jurisdiction)
    if not isinstance(found, Jurisdiction):
        found = context.per_request[Jurisdiction] = Jurisdiction(caller_of(info), context)
    return found


def unlimited(caller: Caller) -> bool:
    return not (caller.regions or caller.courts or caller.bank)


class EntityGate(FieldExtension):
    """Applied to every field that returns Worker, Project, Enterprise or DisputeCase: a
    caller without limits passes straight through; what passes is noted, by key, as
    disclosed (the audit log's entity keys)."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.attribute = ENTITY_KEYS[entity]

    def _disclosed(self, info: Any, value: Any) -> Any:
        if value is not None:
            entities = info.context.disclosures.entities
            for item in value if isinstance(value, list) else (value,):
                entities.add((self.entity, getattr(item, self.attribute)))
        return value

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        """For a limited caller a sync field answers with an awaitable: the decision
        loads in batches."""
        value = next_(source, info, **kwargs)
        if unlimited(caller_of(info)):
            return self._disclosed(info, value)
        return self._kept(info, value)

    async def _kept(self, info: Any, value: Any) -> Any:
        return self._disclosed(info, await jurisdiction_of(info).keep(self.entity, value))

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any
    ) -> Any:
        value = await next_(source, info, **kwargs)
        if unlimited(caller_of(info)):
            return self._disclosed(info, value)
        return self._disclosed(info, await jurisdiction_of(info).keep(self.entity, value))


def _entity_of(field_type: Any) -> str | None:
    inner = field_type
    while isinstance(inner, StrawberryOptional | StrawberryList):
        inner = inner.of_type
    if isinstance(inner, LazyType) and inner.type_name in ENTITY_KEYS:
        return inner.type_name
    return None


def gate_entity_fields(types: Sequence[type]) -> None:
    """Puts an EntityGate on every field of these types (and of the record types they
    reach) that returns an entity reference; idempotent."""
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
            entity = _entity_of(field.type)
            if entity and not any(isinstance(e, EntityGate) for e in field.extensions):
                field.extensions = [*field.extensions, EntityGate(entity)]
            inner = field.type
            while isinstance(inner, StrawberryOptional | StrawberryList):
                inner = inner.of_type
            if isinstance(inner, type) and get_object_definition(inner) is not None:
                pending.append(inner)
            elif isinstance(inner, LazyType):
                pending.append(inner.resolve_type())
