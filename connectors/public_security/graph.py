"""What public security contributes: identity of record and temporary residence."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

import strawberry

from connectors.public_security.loaders import PoliceLoaders
from kernel.access import scoped_resolver, scoped_type
from kernel.composition import Entity
from kernel.context import Info
from kernel.ownership import discloses
from kernel.records import from_row, from_rows
from kernel.regions import region_name
from kernel.scopes import WORKER_IDENTITY, WORKER_RESIDENCE


@strawberry.enum(description="临时居住登记状态")
class ResidenceStatus(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@discloses(Entity.WORKER, "id_number")
@scoped_type(WORKER_IDENTITY)
@strawberry.type(name="Identity", description="户籍 identity of record held by the police")
class IdentityRecord:
    id_number: strawberry.Private[str]
    household_region_code: str
    name: str = strawberry.field(description="姓名 on the household register")
    household_address: str

    @scoped_resolver(WORKER_IDENTITY)
    def household_region_name(self) -> str | None:
        return region_name(self.household_region_code)


@discloses(Entity.WORKER, "id_number")
@scoped_type(WORKER_RESIDENCE)
@strawberry.type(name="Residence", description="临时居住登记")
class ResidenceRecord:
    id_number: strawberry.Private[str]
    registration_no: str
    region_code: str
    address: str
    registered_on: date
    valid_until: date
    status: ResidenceStatus

    def valid_on(self, day: date) -> bool:
        return (
            self.status == ResidenceStatus.VALID.value
            and self.registered_on <= day <= self.valid_until
        )


def police(info: Info) -> PoliceLoaders:
    return info.context.loaders(PoliceLoaders)


def today() -> date:
    return datetime.now(UTC).date()


@strawberry.type
class PoliceWorker:
    id_number: strawberry.Private[str]

    @scoped_resolver(WORKER_IDENTITY)
    async def identity(self, info: Info) -> IdentityRecord | None:
        row = await police(info).identity.load(self.id_number)
        return from_row(IdentityRecord, row) if row else None

    @scoped_resolver(
        WORKER_IDENTITY,
        description="Whether the police register's name matches the real-name platform's",
    )
    async def identity_verified(self, info: Info, name: str) -> bool | None:
        row = await police(info).identity.load(self.id_number)
        return row is not None and row.name == name

    @scoped_resolver(
        WORKER_RESIDENCE, description="Temporary residence registrations, oldest first"
    )
    async def residences(self, info: Info) -> list[ResidenceRecord] | None:
        return from_rows(
            ResidenceRecord, await police(info).residences_by_person.load(self.id_number)
        )

    @scoped_resolver(
        WORKER_RESIDENCE, description="The registration valid on `on` (default: today, UTC), if any"
    )
    async def current_residence(self, info: Info, on: date | None = None) -> ResidenceRecord | None:
        day = on or today()
        for row in reversed(await police(info).residences_by_person.load(self.id_number)):
            record = from_row(ResidenceRecord, row)
            if record.valid_on(day):
                return record
        return None
