"""The police's rows from the synthetic world: identities and temporary residence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table

from connectors.public_security.models import Identity, Residence
from synthetic.world import WorldBatch, seed_table


def rows_for(batch: WorldBatch) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    yield (
        seed_table(Identity),
        [
            {
                "id_number": w.id_number,
                "name": w.name,
                "household_region_code": w.household_region_code,
                "household_address": w.household_address,
            }
            for w in batch.workers
        ],
    )
    yield (
        seed_table(Residence),
        [
            {
                "registration_no": r.registration_no,
                "id_number": w.id_number,
                "region_code": r.region_code,
                "address": r.address,
                "registered_on": r.registered_on,
                "valid_until": r.valid_until,
                "status": r.status,
            }
            for w in batch.workers
            for r in w.residences
        ],
    )
