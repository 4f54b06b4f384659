"""Human resources and social security bureau (人力资源社会保障)."""

from connectors.base import Connector
from connectors.hr import graph, tables
from connectors.hr.loaders import HrLoaders
from connectors.hr.models import HrRecord
from kernel.composition import Entity, GraphContribution


class HrConnector(Connector):
    name = "hr"
    title = "人力资源社会保障"
    metadata = HrRecord.metadata
    loaders = HrLoaders
    importable = tables.TABLES  # hub import, POST /ingest (its ingest scope with it)
    contribution = GraphContribution(
        entities={
            Entity.WORKER: graph.HrWorker,
            Entity.PROJECT: graph.HrProject,
            Entity.ENTERPRISE: graph.HrEnterprise,
        },
    )


connector = HrConnector
