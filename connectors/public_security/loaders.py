"""Public security's batched loaders, created once per request."""

from __future__ import annotations

from connectors.loading import AgencyLoaders, as_of_served, many_by, one_by
from connectors.public_security.models import Identity, ImportBatch, Residence

identity_t = Identity.__table__  # type: ignore[attr-defined]
residence_t = Residence.__table__  # type: ignore[attr-defined]


class PoliceLoaders(AgencyLoaders):
    data_as_of = as_of_served(ImportBatch.__table__)  # type: ignore[attr-defined]
    identity = one_by(identity_t.c.id_number)
    residences_by_person = many_by(residence_t.c.id_number, order_by=[residence_t.c.registered_on])
