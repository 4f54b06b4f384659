"""The merged graph: every connector's contribution plus the hub's cross-agency fields and
the audit log's readers, composed into Worker, Project, Enterprise, DisputeCase and the
root Query."""

from __future__ import annotations

from audit import graph as audit_graph
from connectors.base import Entity, GraphContribution, discover
from schemas import derived, refs
from schemas.composition import compose_type

CONTRIBUTIONS: tuple[GraphContribution, ...] = (
    *(connector.contribution for connector in discover()),
    *derived.CONTRIBUTIONS,
    audit_graph.CONTRIBUTION,
)
HUB_SUBGRAPH = "hub"
"""The name the hub's own cross-agency fields (`schemas.derived`) go by as a subgraph."""


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
Query = compose_type(
    "Query",
    "The hub's entry points; each root comes from the agency that owns the entity.",
    None,
    [c.query for c in CONTRIBUTIONS if c.query is not None],
)
