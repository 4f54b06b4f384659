"""Which connectors this hub runs, each bound to its configured database."""

from __future__ import annotations

from connectors.base import Connector, discover
from connectors.database import Database
from hub.settings import HubSettings


def build_connectors(settings: HubSettings) -> list[Connector]:
    return [
        connector_class(
            Database(settings.database_url(connector_class.name), echo=settings.db_echo)
        )
        for connector_class in discover()
    ]
