"""Public security (公安): identity and temporary residence registration."""

from connectors.base import Connector
from connectors.public_security import graph, tables
from connectors.public_security.loaders import PoliceLoaders
from connectors.public_security.models import PoliceRecord
from kernel.composition import Entity, GraphContribution


class PublicSecurityConnector(Connector):
    name = "public_security"
    title = "公安"
    metadata = PoliceRecord.metadata
    loaders = PoliceLoaders
    importable = tables.TABLES  # hub import, POST /ingest (its ingest scope with it)
    contribution = GraphContribution(entities={Entity.WORKER: graph.PoliceWorker})


connector = PublicSecurityConnector
