"""Workers on sites in a district without a temporary residence registration valid on a
given day: housing says who is on site, the police say who is registered."""

from __future__ import annotations

from datetime import date

import strawberry

from connectors.housing.loaders import HousingLoaders
from connectors.public_security.graph import ResidenceRecord, today
from connectors.public_security.loaders import PoliceLoaders
from kernel import refs
from kernel.access import scoped_resolver
from kernel.composition import Entity
from kernel.context import Info
from kernel.errors import Forbidden
from kernel.limits import REGIONS, bounded_list
from kernel.pagination import Connection, open_page
from kernel.records import from_row
from kernel.scalars import RegionCodePrefix
from kernel.scopes import WORKER_RESIDENCE

SCAN_CHUNK = 500


async def _unregistered(info: Info, region_prefix: str, day: date, after: str | None):
    housing = info.context.loaders(HousingLoaders)
    police = info.context.loaders(PoliceLoaders)
    cursor = after
    while True:
        workers = await housing.active_workers_in_region(region_prefix, cursor, SCAN_CHUNK)
        if not workers:
            return
        residences = await police.residences_by_person.load_many(workers)
        for worker, rows in zip(workers, residences, strict=True):
            if not any(from_row(ResidenceRecord, row).valid_on(day) for row in rows):
                yield worker
        cursor = workers[-1]


@strawberry.type
class ResidenceQuery:
    @scoped_resolver(
        WORKER_RESIDENCE,
        description="Workers with an open registration on a site in the region and no "
        "temporary residence registration valid on `on` (default: today, UTC)",
    )
    async def workers_without_residence(
        self,
        info: Info,
        site_region_code_prefix: RegionCodePrefix,
        on: date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[refs.WorkerRef] | None:
        page = open_page(info, first, after)
        regions = bounded_list(info, Entity.WORKER, [REGIONS.name]).limit(REGIONS.name)
        if regions and not any(site_region_code_prefix.startswith(r) for r in regions):
            raise Forbidden(
                f"region {site_region_code_prefix} is outside this client's jurisdiction "
                f"({', '.join(regions)})"
            )
        day = on or today()
        found: list[tuple[str, refs.WorkerKey]] = []
        async for worker in _unregistered(info, site_region_code_prefix, day, page.after):
            found.append((worker, refs.WorkerKey(id_number=worker)))
            if len(found) > page.size:
                break

        async def count_all() -> int:
            return sum([1 async for _ in _unregistered(info, site_region_code_prefix, day, None)])

        return page.connection(found, count_all)
