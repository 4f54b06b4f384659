"""Merging contributions into one type, loudly: two contributors of one field is an error,
never a silent override."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.types.private import is_private


class Entity(enum.Enum):
    """The shared entities of the merged graph, each identified by its key."""

    WORKER = "Worker"
    PROJECT = "Project"
    ENTERPRISE = "Enterprise"
    DISPUTE_CASE = "DisputeCase"


@dataclass(frozen=True)
class GraphContribution:
    """Strawberry types whose fields the hub merges into the root Query and the entities.

    `query` contributes root fields; `entities` maps an entity to a type whose fields
    extend it (resolvers read the entity key from `self`).
    """

    query: type | None = None
    entities: Mapping[Entity, type] = field(default_factory=dict)


class CompositionError(TypeError):
    """Two contributions define the same field, or a contribution is not a strawberry type."""


def _field_names(part: type) -> set[str]:
    definition = get_object_definition(part)
    if definition is None:
        raise CompositionError(f"{part.__qualname__} is not a strawberry type")
    return {field.python_name for field in definition.fields if not is_private(field.type)}


def compose_type(
    name: str,
    description: str,
    base: type | None,
    parts: Sequence[type],
    *,
    directives: Sequence[object] = (),
    attributes: Mapping[str, Any] | None = None,
) -> type:
    """One strawberry type with the fields of `base` (the key) and every part; a subgraph
    adds its federation `directives` (`@key`) and `attributes` (`resolve_reference`)."""
    owners: dict[str, str] = {}
    for part in ([base] if base else []) + list(parts):
        for field_name in _field_names(part):
            if field_name in owners:
                raise CompositionError(
                    f"{name}.{field_name} is contributed by both {owners[field_name]} "
                    f"and {part.__qualname__}"
                )
            owners[field_name] = part.__qualname__
    bases: Iterable[type] = (base, *parts) if base else tuple(parts)
    namespace = {"__module__": "graph.merged", "__doc__": description, **(attributes or {})}
    merged = type(name, tuple(bases), namespace)
    return strawberry.type(merged, name=name, description=description, directives=directives)
