"""What a connector is: the contract every agency package fulfils.

A connector has a name, owns the tables in its own metadata (its own database, since
in real life each agency runs its own system), contributes fields to the merged graph
(root fields and fields on the shared entities), builds per-request batched loaders,
and can say whether its source is healthy. Where its records are is its transport's
business (`connectors.transport`): its database in process, or its service over HTTP.
Its `seed` module (if any) turns the synthetic world into its rows; the connector itself
knows nothing of the generator.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path
from typing import ClassVar

from sqlalchemy import MetaData

from connectors.loading import AgencyLoaders, AsOfKept
from connectors.transport import Requester, Transport
from kernel.batching import Waves
from kernel.composition import GraphContribution
from kernel.limits import RowLimits
from storage.database import Database


def alembic_version_table(agency: str) -> str:
    """Alembic's bookkeeping table for one agency (distinct, so agencies may share a
    database server or even one database); its presence says the database is migrated."""
    return f"alembic_version_{agency}"


class Connector:
    """Subclasses declare; the base does. An agency package sets these class attributes:

    name, title      -- `bank`, `银行`: the name keys its settings (`HUB_BANK_DB_URL`)
    metadata         -- the agency's own tables (its own SQLModel registry)
    contribution     -- its fields on the root Query and on the shared entities
    row_limits       -- the kinds of row limit it declares, and what its records decide
                        about them (`kernel.limits`)
    loaders          -- its declared look-ups and list queries (`connectors.loading`)

    An instance is one agency as this process reaches it: through `transport`, built by
    the hub's wiring from its settings.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    metadata: ClassVar[MetaData]
    contribution: ClassVar[GraphContribution]
    loaders: ClassVar[type[AgencyLoaders]]
    row_limits: ClassVar[RowLimits] = RowLimits()

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.as_of_kept = AsOfKept()
        """Its tables' as-of days as this process last read them (`forget` after an import)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.transport.describe()}>"

    @property
    def migrations(self) -> Path:
        """The agency's own migration history, in its package (`connectors/bank/migrations`)."""
        return Path(importlib.import_module(type(self).__module__).__path__[0]) / "migrations"

    @property
    def version_table(self) -> str:
        return alembic_version_table(self.name)

    @property
    def database(self) -> Database:
        """The agency's database, when this process reaches it in process: what `hub
        migrate` and `hub seed` work on (`hub.wiring.local_connectors`)."""
        return self.transport.database

    def create_loaders(self, waves: Waves, requester: Requester | None = None) -> AgencyLoaders:
        """A fresh set of batched loaders for one request (never shared between callers);
        `requester`: whom the request is for, which a remote agency is told."""
        return type(self).loaders(self.transport.session(requester), waves, self.as_of_kept)

    async def check_health(self) -> None:
        """Raise unless the agency's records can be reached: its database answers and has
        been migrated, or its service says so."""
        await self.transport.check_health()

    async def dispose(self) -> None:
        await self.transport.dispose()


def discover() -> list[type[Connector]]:
    """Every `connectors.<agency>` package that exposes a `connector` class, by name (the
    packages beside this module, and those in `HUB_AGENCY_PATH`). Looked up once per
    search path: derived fields ask for every project (listing the directories cost
    ~0.1 ms a call, a third of a warning evaluation)."""
    return list(_discover(tuple(importlib.import_module("connectors").__path__)))


@functools.cache
def _discover(path: tuple[str, ...]) -> tuple[type[Connector], ...]:
    found: list[type[Connector]] = []
    for module_info in pkgutil.iter_modules(path):
        if not module_info.ispkg:
            continue
        module = importlib.import_module(f"connectors.{module_info.name}")
        connector = getattr(module, "connector", None)
        if isinstance(connector, type) and issubclass(connector, Connector):
            found.append(connector)
    return tuple(sorted(found, key=lambda c: c.name))
