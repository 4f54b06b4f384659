"""Housing and construction bureau (住房城乡建设): the real-name platform."""

from connectors.base import Connector, Entity, GraphContribution
from connectors.housing import graph, seed
from connectors.housing.loaders import HousingLoaders
from connectors.housing.models import HousingRecord


class HousingConnector(Connector):
    name = "housing"
    title = "住房城乡建设"
    metadata = HousingRecord.metadata
    loaders = HousingLoaders
    rows_for = staticmethod(seed.rows_for)
    contribution = GraphContribution(
        query=graph.HousingQuery,
        entities={
            Entity.WORKER: graph.HousingWorker,
            Entity.PROJECT: graph.HousingProject,
            Entity.ENTERPRISE: graph.HousingEnterprise,
        },
    )


connector = HousingConnector
