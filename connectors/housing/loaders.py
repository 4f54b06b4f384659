"""Housing's batched loaders and list queries, created once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, exists, or_, select

from connectors.housing.models import (
    AttendanceMonth,
    Enterprise,
    ImportBatch,
    LabourContract,
    Project,
    Registration,
    SkillCertificate,
    Worker,
)
from connectors.loading import (
    AgencyLoaders,
    any_prefix,
    as_of_served,
    count_rows,
    fetch_page,
    many_by,
    one_by,
    served,
    starts_with,
)
from storage.database import Database

worker_t = Worker.__table__  # type: ignore[attr-defined]
project_t = Project.__table__  # type: ignore[attr-defined]
enterprise_t = Enterprise.__table__  # type: ignore[attr-defined]
registration_t = Registration.__table__  # type: ignore[attr-defined]
attendance_t = AttendanceMonth.__table__  # type: ignore[attr-defined]
contract_t = LabourContract.__table__  # type: ignore[attr-defined]
certificate_t = SkillCertificate.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WorkerFilter:
    site_region_prefix: str | None = None
    project_code: str | None = None
    trade: str | None = None
    active_only: bool = False
    registered_from: date | None = None
    registered_to: date | None = None
    within_regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectFilter:
    region_prefix: str | None = None
    statuses: tuple[str, ...] = ()
    started_from: date | None = None
    started_to: date | None = None
    contractor_uscc: str | None = None
    builder_uscc: str | None = None
    within_regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnterpriseFilter:
    region_prefix: str | None = None
    kinds: tuple[str, ...] = ()
    name_contains: str | None = None
    within_regions: tuple[str, ...] = ()


def _worker_conditions(criteria: WorkerFilter) -> list[Any]:
    conditions: list[Any] = []
    if criteria.registered_from:
        conditions.append(worker_t.c.registered_on >= criteria.registered_from)
    if criteria.registered_to:
        conditions.append(worker_t.c.registered_on <= criteria.registered_to)
    on_site: list[Any] = [registration_t.c.worker_id_number == worker_t.c.id_number]
    if criteria.project_code:
        on_site.append(registration_t.c.project_code == criteria.project_code)
    if criteria.trade:
        on_site.append(registration_t.c.trade == criteria.trade)
    if criteria.active_only:
        on_site.append(registration_t.c.exit_date.is_(None))
    if criteria.site_region_prefix:
        on_site.append(
            exists().where(
                project_t.c.code == registration_t.c.project_code,
                starts_with(project_t.c.region_code, criteria.site_region_prefix),
            )
        )
    if len(on_site) > 1:
        if criteria.within_regions:  # registrations on projects the caller cannot see do not count
            on_site.append(
                exists().where(
                    project_t.c.code == registration_t.c.project_code,
                    any_prefix(project_t.c.region_code, criteria.within_regions),
                )
            )
        conditions.append(exists().where(and_(*on_site)))
    if criteria.within_regions:
        conditions.append(
            exists().where(
                registration_t.c.worker_id_number == worker_t.c.id_number,
                project_t.c.code == registration_t.c.project_code,
                any_prefix(project_t.c.region_code, criteria.within_regions),
            )
        )
    return conditions


def _project_conditions(criteria: ProjectFilter) -> list[Any]:
    conditions: list[Any] = []
    if criteria.region_prefix:
        conditions.append(starts_with(project_t.c.region_code, criteria.region_prefix))
    if criteria.statuses:
        conditions.append(project_t.c.status.in_(criteria.statuses))
    if criteria.started_from:
        conditions.append(project_t.c.start_date >= criteria.started_from)
    if criteria.started_to:
        conditions.append(project_t.c.start_date <= criteria.started_to)
    if criteria.contractor_uscc:
        conditions.append(project_t.c.contractor_uscc == criteria.contractor_uscc)
    if criteria.builder_uscc:
        conditions.append(project_t.c.builder_uscc == criteria.builder_uscc)
    if criteria.within_regions:
        conditions.append(any_prefix(project_t.c.region_code, criteria.within_regions))
    return conditions


def _enterprise_conditions(criteria: EnterpriseFilter) -> list[Any]:
    conditions: list[Any] = []
    if criteria.region_prefix:
        conditions.append(starts_with(enterprise_t.c.region_code, criteria.region_prefix))
    if criteria.kinds:
        conditions.append(enterprise_t.c.kind.in_(criteria.kinds))
    if criteria.name_contains:
        conditions.append(enterprise_t.c.name.contains(criteria.name_contains, autoescape=True))
    if criteria.within_regions:
        in_region = any_prefix(project_t.c.region_code, criteria.within_regions)
        conditions.append(
            or_(
                exists().where(
                    or_(
                        project_t.c.builder_uscc == enterprise_t.c.uscc,
                        project_t.c.contractor_uscc == enterprise_t.c.uscc,
                    ),
                    in_region,
                ),
                exists().where(
                    registration_t.c.employer_uscc == enterprise_t.c.uscc,
                    project_t.c.code == registration_t.c.project_code,
                    in_region,
                ),
            )
        )
    return conditions


class HousingLoaders(AgencyLoaders):
    data_as_of = as_of_served(ImportBatch.__table__)  # type: ignore[attr-defined]
    worker = one_by(worker_t.c.id_number)
    project = one_by(project_t.c.code)
    enterprise = one_by(enterprise_t.c.uscc)
    registrations_by_worker = many_by(
        registration_t.c.worker_id_number, order_by=[registration_t.c.entry_date]
    )
    registrations_by_project = many_by(
        registration_t.c.project_code, order_by=[registration_t.c.worker_id_number]
    )
    attendance_by_worker = many_by(attendance_t.c.worker_id_number, order_by=[attendance_t.c.month])
    attendance_by_project_month = many_by((attendance_t.c.project_code, attendance_t.c.month))
    contracts_by_worker = many_by(contract_t.c.worker_id_number, order_by=[contract_t.c.signed_on])
    contracts_by_project = many_by(contract_t.c.project_code)
    registrations_by_employer = many_by(registration_t.c.employer_uscc)
    certificates_by_worker = many_by(
        certificate_t.c.worker_id_number, order_by=[certificate_t.c.issued_on]
    )
    projects_by_contractor = many_by(project_t.c.contractor_uscc, order_by=[project_t.c.code])
    projects_by_builder = many_by(project_t.c.builder_uscc, order_by=[project_t.c.code])

    @served(primes="worker")
    async def workers_page(
        database: Database, criteria: WorkerFilter, after: str | None, limit: int
    ) -> list[Row[Any]]:
        return await fetch_page(
            database,
            select(worker_t),
            worker_t.c.id_number,
            _worker_conditions(criteria),
            after,
            limit,
        )

    @served()
    async def count_workers(database: Database, criteria: WorkerFilter) -> int:
        return await count_rows(database, worker_t, _worker_conditions(criteria))

    @served(primes="project")
    async def projects_page(
        database: Database, criteria: ProjectFilter, after: str | None, limit: int
    ) -> list[Row[Any]]:
        return await fetch_page(
            database,
            select(project_t),
            project_t.c.code,
            _project_conditions(criteria),
            after,
            limit,
        )

    @served()
    async def count_projects(database: Database, criteria: ProjectFilter) -> int:
        return await count_rows(database, project_t, _project_conditions(criteria))

    @served(primes="enterprise")
    async def enterprises_page(
        database: Database, criteria: EnterpriseFilter, after: str | None, limit: int
    ) -> list[Row[Any]]:
        return await fetch_page(
            database,
            select(enterprise_t),
            enterprise_t.c.uscc,
            _enterprise_conditions(criteria),
            after,
            limit,
        )

    @served()
    async def count_enterprises(database: Database, criteria: EnterpriseFilter) -> int:
        return await count_rows(database, enterprise_t, _enterprise_conditions(criteria))

    @served()
    async def active_workers_in_region(
        database: Database, region_prefix: str, after: str | None, limit: int
    ) -> list[str]:
        """ID numbers of workers with an open registration on a site in the region, in order."""
        statement = (
            select(registration_t.c.worker_id_number)
            .join(project_t, project_t.c.code == registration_t.c.project_code)
            .where(
                registration_t.c.exit_date.is_(None),
                starts_with(project_t.c.region_code, region_prefix),
            )
            .distinct()
        )
        rows = await fetch_page(
            database, statement, registration_t.c.worker_id_number, [], after, limit
        )
        return [row.worker_id_number for row in rows]
