"""One connector's part of the graph as an Apollo Federation v2 subgraph.

Built from the connector contract alone, the same way for every agency: each entity the
connector contributes to is its key type plus the connector's part, marked
`@key(fields: "<key>")` and resolvable through `_entities`; the other entities appear as
key-only stubs (`resolvable: false`), so a field such as a disbursement's `project`
returns a reference that the subgraph owning the project's other fields resolves.

What holds in the hub holds here, on the same field objects:
- scopes: every field keeps its `ScopeGuard`; its `@requiresScopes` prints as Apollo's
  directive, imported with `@link`, since only that one composes (the hub's own
  `RequiresScopes` would be a foreign directive of the same name);
- jurisdiction: `_entities` skips root fields, so `resolve_reference` applies the entity
  gate (an invisible entity is `null`, like an unknown one), and entity-valued fields
  carry the gates as in the hub (`graph.gates`);
- enumeration: a Worker representation is a look-up by ID number, so it needs
  `worker:identity` (FORBIDDEN whether or not the worker exists), and one request holds
  at most `HUB_PAGES_MAXIMUM` representations;
- cost: `_entities` costs its selection once per representation (`kernel.costs`; a
  variable counts as `HUB_PAGES_MAXIMUM`), so the hub's operation limits refuse here
  what they refuse at the hub;
- errors: `HubSchema`'s codes (`FORBIDDEN`, `BAD_USER_INPUT`, …) and logging.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLDirective
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key, Shareable
from strawberry.federation.schema_directives import RequiresScopes as ApolloRequiresScopes
from strawberry.federation.types import FieldSet
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.field import StrawberryField

from graph import merged
from graph.gates import gate_fields
from graph.jurisdiction import jurisdiction_of, unlimited
from graph.schema import ErrorObserver, ExtensionFactory, HubSchema
from kernel import refs
from kernel.access import RequiresScopes, caller_of
from kernel.composition import Entity, GraphContribution, compose_type
from kernel.context import Info, notes_of
from kernel.costs import COST_KEY, Cost
from kernel.errors import BadUserInput, Forbidden
from kernel.scalars import SCALAR_MAP
from kernel.scopes import WORKER_IDENTITY

KEY_TYPES: dict[Entity, type] = {
    Entity.WORKER: refs.WorkerKey,
    Entity.PROJECT: refs.ProjectKey,
    Entity.ENTERPRISE: refs.EnterpriseKey,
    Entity.DISPUTE_CASE: refs.DisputeCaseKey,
}
FEDERATION_VERSION = "2.11"
_CONFIG = StrawberryConfig(scalar_map=SCALAR_MAP)


def _key_field(entity: Entity) -> StrawberryField:
    (field,) = get_object_definition(KEY_TYPES[entity], strict=True).fields
    return field


def key_name(entity: Entity) -> str:
    """The key as GraphQL spells it (`idNumber`), for `@key(fields: ...)`."""
    return _CONFIG.name_converter.get_graphql_name(_key_field(entity))


def _key_parser(entity: Entity) -> Callable[[object], Any]:
    """Checks a representation's key as an argument would be: a bad ID number is
    BAD_USER_INPUT for that representation, not a lookup."""
    scalar = SCALAR_MAP.get(_key_field(entity).type)
    if scalar is not None and scalar.parse_value is not None:
        return scalar.parse_value

    def text(value: object) -> str:
        if not isinstance(value, str) or not value:
            raise BadUserInput(f"{entity.value}.{key_name(entity)} must be a non-empty string")
        return value

    return text


def _reference_resolver(entity: Entity) -> classmethod[Any, ..., Any]:
    python_name, graphql_name = _key_field(entity).python_name, key_name(entity)
    parse = _key_parser(entity)

    async def resolve_reference(cls: type, info: Info, **representation: Any) -> Any:
        found = cls(**{python_name: parse(representation.get(graphql_name))})
        if entity is Entity.WORKER and not caller_of(info).has(WORKER_IDENTITY):
            raise Forbidden(
                f"a Worker representation names a worker by ID number, which needs scope "
                f"{WORKER_IDENTITY}",
                missingScopes=[WORKER_IDENTITY],
            )
        if not unlimited(caller_of(info)):
            found = await jurisdiction_of(info).keep(entity.value, found)
        if found is not None:  # disclosed: the audit record and the access report name it
            notes_of(info).disclose([(entity.value, getattr(found, python_name))], info.path)
        return found

    return classmethod(resolve_reference)


def _entity_type(entity: Entity, parts: list[type]) -> type:
    """The subgraph's view of one entity. It is named and placed like the merged type
    (`graph.merged.Worker`), which strawberry takes for the same type: the connectors'
    lazy references to the merged type then resolve to this view."""
    description = get_object_definition(getattr(merged, entity.value), strict=True).description
    key = KEY_TYPES[entity]
    if not parts:
        stub = Key(fields=FieldSet(key_name(entity)), resolvable=False)
        return compose_type(entity.value, description or "", key, [], directives=[stub])
    return compose_type(
        entity.value,
        description or "",
        key,
        parts,
        directives=[Key(fields=FieldSet(key_name(entity)))],
        attributes={"resolve_reference": _reference_resolver(entity)},
    )


def _apollo_directives(field: StrawberryField, shared: bool) -> list[object]:
    directives = [_apollo(d) for d in field.directives]
    return [*directives, Shareable()] if shared else directives


def _apollo(directive: object) -> object:
    if isinstance(directive, RequiresScopes):
        return ApolloRequiresScopes(scopes=directive.scopes)
    return directive


class SubgraphSchema(strawberry.federation.Schema, HubSchema):
    """A federation schema with the hub's error policy. Its fields are per-schema copies
    that carry Apollo's `@requiresScopes` in place of the hub's, and `@shareable` on the
    value types several subgraphs define alike (pages, regions); the hub's own schema
    and its field objects are left as they are.

    Strawberry finds the directives in use on the original fields: the two hooks below
    trade the hub's directive for Apollo's there too, so `@link` imports it and no
    definition of the hub's own prints."""

    def __init__(self, query: type | None, types: Sequence[type], **kwargs: Any) -> None:
        self._copies: dict[int, StrawberryField] = {}
        directives = [ApolloRequiresScopes, Shareable]
        super().__init__(query=query, types=[*types, *directives], **kwargs)

    def _prepare_schema_directives(self) -> None:
        copies = self._copies.values()
        shared = [d for f in copies for d in f.directives if isinstance(d, Shareable)]
        in_use = [_apollo(d) for d in self._schema_directives_in_use]
        self._schema_directives_in_use = [*in_use, *shared]
        super()._prepare_schema_directives()

    def _collect_graphql_directives(
        self, schema_directive_types: Iterable[type]
    ) -> tuple[GraphQLDirective, ...]:
        kept = [t for t in schema_directive_types if t is not RequiresScopes]
        return super()._collect_graphql_directives(kept)

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """`_entities`, with as many representations as a page may hold at most: each
        one is a look-up, and a list of hundreds is a probe, not a page."""
        maximum = info.context.limits.maximum
        if len(representations) > maximum:
            raise BadUserInput(
                f"_entities takes at most {maximum} representations (HUB_PAGES_MAXIMUM), "
                f"got {len(representations)}"
            )
        # Strawberry pops `__typename` and puts `info` into each representation: give it
        # copies, so the request's variables (which the audit record keeps) stay as sent.
        copies: list[Any] = [dict(r) if isinstance(r, dict) else r for r in representations]
        return super().entities_resolver(info, copies)

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        shared = _is_shared_value_type(type_definition)
        fields = []
        for field in type_definition.fields:
            found = self._copies.get(id(field))
            if found is None:
                found = self._copies[id(field)] = copy.copy(field)
                found.directives = _apollo_directives(field, shared)
            fields.append(found)
        return fields


def _is_shared_value_type(definition: StrawberryObjectDefinition) -> bool:
    """A value type from the shared kernel (`kernel.*`, not a connector's own), which
    several subgraphs may define and resolve alike; a generic's specialisation
    (`WorkerConnection`) counts where its generic is defined."""
    module = (definition.concrete_of or definition).origin.__module__
    return (
        module.startswith("kernel.")
        and module != "graph.merged"
        and definition.name not in {e.value for e in Entity}
        and not definition.name.startswith("_")
    )


def build_subgraph_schema(
    contributions: Sequence[GraphContribution],
    extensions: Sequence[ExtensionFactory] = (),
    *,
    hide_suggestions: bool = False,
    error_observer: ErrorObserver | None = None,
) -> SubgraphSchema:
    """A subgraph of one agency's contribution (or the hub's own, several): its root
    fields (if any), `_service` and `_entities`."""
    entities = [
        _entity_type(e, [c.entities[e] for c in contributions if e in c.entities]) for e in Entity
    ]
    roots: list[type] = [c.query for c in contributions if c.query is not None]
    query = roots[0] if len(roots) == 1 else None
    if len(roots) > 1:
        query = compose_type("Query", "The subgraph's entry points.", None, roots)
    gate_fields([*([query] if query else []), *entities])
    schema = SubgraphSchema(
        query=query,
        types=entities,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=list(extensions),
        federation_version=FEDERATION_VERSION,
    )
    entities_field = schema._schema.query_type.fields.get("_entities")  # type: ignore[union-attr]
    if entities_field is not None:  # one look-up per representation, each its selection
        entities_field.extensions = {
            **(entities_field.extensions or {}),
            COST_KEY: Cost(per="representations"),
        }
    schema.hide_suggestions = hide_suggestions
    if error_observer is not None:
        schema.error_observer = error_observer
    return schema
