"""Which connectors this hub runs, each bound to its configured database, and the auth
store beside them; together they are what `hub migrate` migrates."""

from __future__ import annotations

from auth.store import AuthStore
from connectors.base import Connector, discover
from connectors.database import Database
from hub.migrate import MigrationTarget
from hub.settings import HubSettings


def build_connectors(settings: HubSettings) -> list[Connector]:
    return [
        connector_class(_database(settings, settings.database_url(connector_class.name)))
        for connector_class in discover()
    ]


def build_auth_store(settings: HubSettings) -> AuthStore:
    return AuthStore(_database(settings, settings.auth_db_url))


def migration_targets(connectors: list[Connector], auth_store: AuthStore) -> list[MigrationTarget]:
    """Every database the one migration history applies to."""
    return [*connectors, auth_store]


def _database(settings: HubSettings, url: str) -> Database:
    return Database(
        url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
