"""Cross-agency fields the hub computes from several connectors' data (never stored)."""

from graph.derived import compliance, freshness, residence, statement, wages, warnings
from kernel.composition import Entity, GraphContribution

CONTRIBUTIONS: tuple[GraphContribution, ...] = (
    GraphContribution(entities={Entity.WORKER: wages.WorkerWages}),
    GraphContribution(
        query=compliance.ComplianceQuery,
        entities={Entity.PROJECT: compliance.ProjectCompliance},
    ),
    GraphContribution(entities={Entity.PROJECT: wages.ProjectWages}),
    GraphContribution(query=residence.ResidenceQuery),
    GraphContribution(entities={Entity.PROJECT: statement.ProjectStatement}),
    GraphContribution(query=warnings.WarningRollupQuery),
    GraphContribution(query=freshness.FreshnessQuery),
)
