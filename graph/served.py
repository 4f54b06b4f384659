"""What an agency's service re-applies, for the caller an exchanged token names, to the rows
it serves on `/connector/load` (`connectors.serving`): the agency does not take the
hub's word for what the caller may see.

    row limits   a look-up keyed by an entity's key (a worker's ID number, a project's
                 code, …) answers nothing for an entity the caller may not see, decided
                 by the same rules as at the hub (`graph.jurisdiction`, from every
                 agency's records); a list query's `within_<limit>` criteria are the
                 caller's own limits, whatever the request said
    masking      a column the agency's graph shows masked (`scoped(..., mask=...)`: card
                 and account numbers) is masked in the rows for a caller without the
                 field's scopes — except entity keys, which the hub needs to join rows

The rows still reach the hub, whose graph applies field scopes to what the caller reads:
raw rows feed derived measures (a dashboard's `stats:read` counts wages it may not show),
so the agency cannot withhold a column by scope alone without breaking them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from graphql import GraphQLSchema

from connectors.loading import LoaderSpec
from graph.jurisdiction import Jurisdiction, unlimited
from kernel.access import ScopeGuard
from kernel.caller import Caller
from kernel.composition import Entity
from kernel.context import PageLimits, RequestContext
from kernel.cursors import Cursors

Mask = tuple[tuple[str, ...], Callable[[Any], Any]]
"""A masked column: the scopes that show it in clear, and the mask."""
WITHIN = "within_"
"""A list query's criteria field holding a caller's limit: `within_regions`."""


def masked_columns(schema: GraphQLSchema, keys: Mapping[str, str]) -> dict[str, Mask]:
    """Column name → (scopes, mask) of every masked field of the agency's graph, by the
    attribute the field reads; entity keys (`keys`) are left out."""
    found: dict[str, Mask] = {}
    for graphql_type in schema.type_map.values():
        for field in getattr(graphql_type, "fields", {}).values():
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None:
                continue
            for extension in definition.extensions:
                if isinstance(extension, ScopeGuard) and extension.mask is not None:
                    column = definition.python_name
                    if column not in keys:
                        found[column] = (extension.scopes, extension.mask)
    return found


class ServedRows:
    """The agency's policy, built once per process (`hub.subgraph_app`)."""

    def __init__(
        self,
        loader_factories: Mapping[type, Callable[..., object]],
        pages: PageLimits,
        cursors: Cursors,
        keys: Mapping[str, str],
        masks: Mapping[str, Mask],
    ) -> None:
        """`keys`: column name → the entity kind whose key it holds; `masks`: as
        `masked_columns` finds them."""
        self.loader_factories = loader_factories
        self.pages = pages
        self.cursors = cursors
        self.keys = dict(keys)
        self.masks = dict(masks)

    def for_caller(self, caller: Caller) -> CallerRows:
        context = RequestContext(
            limits=self.pages,
            loader_factories=self.loader_factories,
            cursors=self.cursors,
            caller=caller,
        )
        masks = {
            column: mask for column, (scopes, mask) in self.masks.items() if caller.missing(scopes)
        }
        return CallerRows(self, caller, Jurisdiction(caller, context), masks)


class CallerRows:
    """One request's decisions for one caller: loads batch across its calls."""

    def __init__(
        self,
        policy: ServedRows,
        caller: Caller,
        jurisdiction: Jurisdiction,
        masks: dict[str, Callable[[Any], Any]],
    ) -> None:
        self.policy = policy
        self.caller = caller
        self.jurisdiction = jurisdiction
        self.masks = masks

    def _entity_of(self, spec: LoaderSpec[Any]) -> tuple[Entity, int | None] | None:
        """The entity a look-up is keyed by, and its place in a composite key."""
        columns = spec.columns if isinstance(spec.columns, tuple) else (spec.columns,)
        for position, column in enumerate(columns):
            kind = self.policy.keys.get(str(column.key))
            if kind is not None:
                return Entity(kind), position if isinstance(spec.columns, tuple) else None
        return None

    async def visible(self, spec: LoaderSpec[Any], keys: Sequence[Hashable]) -> list[bool]:
        """Which of a look-up's keys name an entity the caller may see (all of them for a
        caller without row limits, or a look-up keyed by no entity)."""
        keyed = self._entity_of(spec)
        if unlimited(self.caller) or keyed is None:
            return [True] * len(keys)
        entity, position = keyed
        entity_keys = [key if position is None else key[position] for key in keys]  # type: ignore[index]
        return await self.jurisdiction.visible(entity, entity_keys)

    def criteria(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """A list query's arguments with every `within_<limit>` the caller's own."""
        return tuple(self._within(arg) for arg in args)

    def _within(self, arg: Any) -> Any:
        if not dataclasses.is_dataclass(arg) or isinstance(arg, type):
            return arg
        own = {
            f.name: self.caller.limit(f.name.removeprefix(WITHIN))
            for f in dataclasses.fields(arg)
            if f.name.startswith(WITHIN)
        }
        return dataclasses.replace(arg, **own) if own else arg

    def masked(self, body: Any) -> Any:
        """An encoded response (`connectors.wire`) with the caller's masked columns masked."""
        if not self.masks:
            return body
        return self._mask(body)

    def _mask(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._mask(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1 and isinstance(value.get("$row"), dict):
            return {
                "$row": {name: self._column(name, item) for name, item in value["$row"].items()}
            }
        return {name: self._mask(item) for name, item in value.items()}

    def _column(self, name: str, value: Any) -> Any:
        mask = self.masks.get(name)
        return mask(value) if mask is not None and isinstance(value, str) else value
