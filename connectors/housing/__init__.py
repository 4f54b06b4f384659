"""Housing and construction bureau (住房城乡建设): the real-name platform."""

from connectors.base import Connector
from connectors.housing import graph, national, tables
from connectors.housing.limits import ROW_LIMITS
from connectors.housing.loaders import HousingLoaders
from connectors.housing.models import HousingRecord
from kernel.composition import Entity, GraphContribution


class HousingConnector(Connector):
    name = "housing"
    title = "住房城乡建设"
    metadata = HousingRecord.metadata
    loaders = HousingLoaders
    importable = tables.TABLES  # hub import, POST /ingest (its ingest scope with it)
    national_methods = national.METHODS  # the national platform interface's writes
    row_limits = ROW_LIMITS
    contribution = GraphContribution(
        query=graph.HousingQuery,
        entities={
            Entity.WORKER: graph.HousingWorker,
            Entity.PROJECT: graph.HousingProject,
            Entity.ENTERPRISE: graph.HousingEnterprise,
        },
    )


connector = HousingConnector
