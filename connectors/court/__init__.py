"""Courts and mediation committees (法院 / 调解组织): wage dispute cases."""

from connectors.base import Connector
from connectors.court import graph, tables
from connectors.court.limits import ROW_LIMITS
from connectors.court.loaders import CourtLoaders
from connectors.court.models import CourtRecord
from kernel.composition import Entity, GraphContribution


class CourtConnector(Connector):
    name = "court"
    title = "法院 / 调解组织"
    metadata = CourtRecord.metadata
    loaders = CourtLoaders
    importable = tables.TABLES  # hub import, POST /ingest (its ingest scope with it)
    row_limits = ROW_LIMITS
    contribution = GraphContribution(
        query=graph.CourtQuery,
        entities={
            Entity.DISPUTE_CASE: graph.CourtDisputeCase,
            Entity.WORKER: graph.CourtWorker,
            Entity.PROJECT: graph.CourtProject,
            Entity.ENTERPRISE: graph.CourtEnterprise,
        },
    )


connector = CourtConnector
