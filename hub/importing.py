"""Agencies' data in and out through the hub: which tables each agency can load, the other
agencies' databases its references are checked against, and the audit record every
import leaves. The command line (`hub import`, `hub export`) and the HTTP endpoint
(`POST /ingest/<agency>/<table>`) both go through here to `ingest.engine`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from connectors.base import Connector
from ingest.targets import AgencyTables


def agency_tables(connector: Connector | type[Connector]) -> AgencyTables | None:
    """The agency's importable tables (its `tables` module), or None if it declares none."""
    package = connector.__module__ if isinstance(connector, type) else type(connector).__module__
    try:
        module = importlib.import_module(f"{package}.tables")
    except ModuleNotFoundError as error:
        if error.name != f"{package}.tables":
            raise
        return None
    tables: AgencyTables = module.TABLES
    return tables


def importable_agencies(connectors: Sequence[Connector]) -> dict[str, AgencyTables]:
    """Agency name → its tables, for every connector that declares some."""
    found = {}
    for connector in connectors:
        tables = agency_tables(connector)
        if tables is not None:
            found[connector.name] = tables
    return found
