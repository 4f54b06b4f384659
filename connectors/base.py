"""What a connector is: the contract every agency package fulfils.

A connector has a name, owns the tables in its own metadata (its own database, since
in real life each agency runs its own system), contributes fields to the merged graph
(root fields and fields on the shared entities), builds per-request batched loaders,
and can say whether its source is healthy. Its `seed` module (if any) turns the
synthetic world into its rows; the connector itself knows nothing of the generator.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import ClassVar

from sqlalchemy import MetaData, func, select, table

from connectors.loading import AgencyLoaders
from connectors.remote import RemoteAgency, Requester
from kernel.batching import Waves
from kernel.composition import GraphContribution
from kernel.limits import RowLimits
from storage.database import Database


class Connector:
    """Subclasses declare; the base does. An agency package sets these class attributes:

    name, title      -- `bank`, `银行`: the name keys its settings (`HUB_BANK_DB_URL`)
    metadata         -- the agency's own tables (its own SQLModel registry)
    contribution     -- its fields on the root Query and on the shared entities
    row_limits       -- the kinds of row limit it declares, and what its records decide
                        about them (`kernel.limits`)
    loaders          -- builds its per-request batched loaders from its database
    """

    name: ClassVar[str]
    title: ClassVar[str]
    metadata: ClassVar[MetaData]
    contribution: ClassVar[GraphContribution]
    loaders: ClassVar[type[AgencyLoaders]]
    row_limits: ClassVar[RowLimits] = RowLimits()

    def __init__(self, database: Database, remote: RemoteAgency | None = None) -> None:
        """`remote`: the agency runs as its own service (`hub connector serve`) and is
        reached there; `database` is then the service's business, not this process's."""
        self.database = database
        self.remote = remote

    def __repr__(self) -> str:
        where = self.remote if self.remote is not None else self.database
        return f"<{type(self).__name__} {self.name} {where!r}>"

    def create_loaders(self, waves: Waves, requester: Requester | None = None) -> AgencyLoaders:
        """A fresh set of batched loaders for one request (never shared between callers);
        a remote agency is told whom the request is for."""
        remote = self.remote.session(requester) if self.remote is not None else None
        return type(self).loaders(self.database, waves, remote)

    @property
    def migrations(self) -> Path:
        """The agency's own migration history, in its package (`connectors/bank/migrations`)."""
        return Path(importlib.import_module(type(self).__module__).__path__[0]) / "migrations"

    @property
    def version_table(self) -> str:
        """Alembic's bookkeeping table for this agency (distinct, so agencies may share a
        database server or even one database)."""
        return f"alembic_version_{self.name}"

    async def check_health(self) -> None:
        """Raise unless the agency's database answers and has been migrated (a remote
        agency: unless its service says so)."""
        if self.remote is not None:
            return await self.remote.check_health()
        await self.database.scalar(select(func.count()).select_from(table(self.version_table)))


def discover() -> list[type[Connector]]:
    """Every `connectors.<agency>` package that exposes a `connector` class, by name (the
    packages beside this module, and those in `HUB_AGENCY_PATH`)."""
    found: list[type[Connector]] = []
    for module_info in pkgutil.iter_modules(importlib.import_module("connectors").__path__):
        if not module_info.ispkg:
            continue
        module = importlib.import_module(f"connectors.{module_info.name}")
        connector = getattr(module, "connector", None)
        if isinstance(connector, type) and issubclass(connector, Connector):
            found.append(connector)
    return sorted(found, key=lambda c: c.name)
