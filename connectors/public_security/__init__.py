"""Public security (公安): identity and temporary residence registration."""

from connectors.base import Connector, Entity, GraphContribution
from connectors.public_security import graph, seed
from connectors.public_security.loaders import PoliceLoaders
from connectors.public_security.models import PoliceRecord


class PublicSecurityConnector(Connector):
    name = "public_security"
    title = "公安"
    metadata = PoliceRecord.metadata
    loaders = PoliceLoaders
    rows_for = staticmethod(seed.rows_for)
    contribution = GraphContribution(entities={Entity.WORKER: graph.PoliceWorker})


connector = PublicSecurityConnector
