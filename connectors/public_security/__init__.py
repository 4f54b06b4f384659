"""Public security (公安): identity and temporary residence registration."""

from connectors.base import Connector
from connectors.public_security import graph
from connectors.public_security.loaders import PoliceLoaders
from connectors.public_security.models import PoliceRecord
from kernel.composition import Entity, GraphContribution


class PublicSecurityConnector(Connector):
    name = "public_security"
    title = "公安"
    metadata = PoliceRecord.metadata
    loaders = PoliceLoaders
    contribution = GraphContribution(entities={Entity.WORKER: graph.PoliceWorker})


connector = PublicSecurityConnector
