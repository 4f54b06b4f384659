"""The merged graph: every connector's contribution plus the hub's cross-agency fields,
composed into Worker, Project, Enterprise and DisputeCase; the root Query is composed when
a schema is built, so a layer above (the audit log's readers) can add root fields."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import discover
from graph import derived
from kernel import refs
from kernel.composition import CompositionError, Entity, GraphContribution, compose_type

CONTRIBUTIONS: tuple[GraphContribution, ...] = (
    *(connector.contribution for connector in discover()),
    *derived.CONTRIBUTIONS,
)
HUB_SUBGRAPH = "hub"
"""The name the hub's own cross-agency fields (`graph.derived`) go by as a subgraph."""


def _parts(entity: Entity) -> list[type]:
    return [c.entities[entity] for c in CONTRIBUTIONS if entity in c.entities]


Worker = compose_type(
    "Worker",
    "建筑工人: a construction worker, identified by ID number, as every agency knows them.",
    refs.WorkerKey,
    _parts(Entity.WORKER),
)
Project = compose_type(
    "Project",
    "工程项目: a construction project, identified by its code (e.g. the permit number).",
    refs.ProjectKey,
    _parts(Entity.PROJECT),
)
Enterprise = compose_type(
    "Enterprise",
    "企业: a builder, contractor or subcontractor, identified by its USCC.",
    refs.EnterpriseKey,
    _parts(Entity.ENTERPRISE),
)
DisputeCase = compose_type(
    "DisputeCase",
    "劳动争议案件: a wage dispute before a court or mediation committee, by case number.",
    refs.DisputeCaseKey,
    _parts(Entity.DISPUTE_CASE),
)


def compose_query(extra: Sequence[GraphContribution] = ()) -> type:
    """The root Query of every contribution's root fields, and of `extra`'s, which may add
    root fields only (the entities are composed above, once)."""
    for contribution in extra:
        if contribution.entities:
            raise CompositionError("a contribution added at schema build has root fields only")
    return compose_type(
        "Query",
        "The hub's entry points; each root comes from the agency that owns the entity.",
        None,
        [c.query for c in (*CONTRIBUTIONS, *extra) if c.query is not None],
    )
