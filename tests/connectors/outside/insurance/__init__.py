"""A social-insurance fund (社会保险基金) as a sixth agency, kept outside the tree: the proof
that an agency is one package. It brings its tables and their migration history, its
loaders, its fields on Enterprise, a scope of its own, a kind of row limit of its own
(a fund sees the enterprises it insures) and its seed rows; nothing else changes."""

from connectors.base import Connector
from connectors.insurance import graph
from connectors.insurance.limits import ROW_LIMITS
from connectors.insurance.loaders import InsuranceLoaders
from connectors.insurance.models import InsuranceRecord
from kernel.composition import Entity, GraphContribution


class InsuranceConnector(Connector):
    name = "insurance"
    title = "社会保险基金"
    metadata = InsuranceRecord.metadata
    loaders = InsuranceLoaders
    row_limits = ROW_LIMITS
    contribution = GraphContribution(entities={Entity.ENTERPRISE: graph.InsuranceEnterprise})


connector = InsuranceConnector
