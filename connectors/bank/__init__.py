"""Banks (银行): wage special accounts and payroll disbursement."""

from connectors.bank import graph, national, tables
from connectors.bank.limits import ROW_LIMITS
from connectors.bank.loaders import BankLoaders
from connectors.bank.models import BankRecord
from connectors.base import Connector
from kernel.composition import Entity, GraphContribution


class BankConnector(Connector):
    name = "bank"
    title = "银行"
    metadata = BankRecord.metadata
    loaders = BankLoaders
    importable = tables.TABLES  # hub import, POST /ingest (its ingest scope with it)
    national_methods = national.METHODS  # the national platform interface's Payroll.Add
    row_limits = ROW_LIMITS
    contribution = GraphContribution(
        entities={
            Entity.WORKER: graph.BankWorker,
            Entity.PROJECT: graph.BankProject,
            Entity.ENTERPRISE: graph.BankEnterprise,
        },
    )


connector = BankConnector
