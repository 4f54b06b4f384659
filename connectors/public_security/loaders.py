"""Public security's batched loaders, created once per request."""

from __future__ import annotations

from connectors.database import Database
from connectors.loading import AgencyLoaders
from connectors.public_security.models import Identity, Residence
from schemas.batching import Waves

identity_t = Identity.__table__  # type: ignore[attr-defined]
residence_t = Residence.__table__  # type: ignore[attr-defined]


class PoliceLoaders(AgencyLoaders):
    def __init__(self, database: Database, waves: Waves) -> None:
        super().__init__(database, waves)
        self.identity = self.one_by(identity_t.c.id_number)
        self.residences_by_person = self.many_by(
            residence_t.c.id_number, order_by=[residence_t.c.registered_on]
        )
