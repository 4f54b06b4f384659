"""Public security's batched loaders, created once per request."""

from __future__ import annotations

from connectors.database import Database
from connectors.loading import many_by, one_by
from connectors.public_security.models import Identity, Residence

identity_t = Identity.__table__  # type: ignore[attr-defined]
residence_t = Residence.__table__  # type: ignore[attr-defined]


class PoliceLoaders:
    def __init__(self, database: Database) -> None:
        self.identity = one_by(database, identity_t.c.id_number)
        self.residences_by_person = many_by(
            database, residence_t.c.id_number, order_by=[residence_t.c.registered_on]
        )
