"""The courts' batched loaders and case list, created once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Row, exists, select

from connectors.court.models import (
    CaseParty,
    DisputeCase,
    ImportBatch,
    Judgment,
    Mediation,
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

case_t = DisputeCase.__table__  # type: ignore[attr-defined]
party_t = CaseParty.__table__  # type: ignore[attr-defined]
mediation_t = Mediation.__table__  # type: ignore[attr-defined]
judgment_t = Judgment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CaseFilter:
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    region_prefix: str | None = None
    court_code: str | None = None
    within_regions: tuple[str, ...] = ()
    within_courts: tuple[str, ...] = ()
    filed_from: date | None = None
    filed_to: date | None = None
    party_uscc: str | None = None
    party_id_number: str | None = None
    party_name: str | None = None
    project_code: str | None = None


def _case_conditions(criteria: CaseFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if criteria.statuses:
        conditions.append(case_t.c.status.in_(criteria.statuses))
    if criteria.kinds:
        conditions.append(case_t.c.kind.in_(criteria.kinds))
    if criteria.region_prefix:
        conditions.append(starts_with(case_t.c.region_code, criteria.region_prefix))
    if criteria.court_code:
        conditions.append(case_t.c.court_code == criteria.court_code)
    if criteria.within_regions:
        conditions.append(any_prefix(case_t.c.region_code, criteria.within_regions))
    if criteria.within_courts:
        conditions.append(case_t.c.court_code.in_(criteria.within_courts))
    if criteria.filed_from:
        conditions.append(case_t.c.filed_on >= criteria.filed_from)
    if criteria.filed_to:
        conditions.append(case_t.c.filed_on <= criteria.filed_to)
    if criteria.project_code:
        conditions.append(case_t.c.project_code == criteria.project_code)
    if criteria.party_uscc:
        conditions.append(
            exists().where(
                party_t.c.case_number == case_t.c.case_number, party_t.c.uscc == criteria.party_uscc
            )
        )
    if criteria.party_id_number:
        conditions.append(
            exists().where(
                party_t.c.case_number == case_t.c.case_number,
                party_t.c.id_number == criteria.party_id_number,
            )
        )
    if criteria.party_name:
        conditions.append(
            exists().where(
                party_t.c.case_number == case_t.c.case_number,
                party_t.c.name == criteria.party_name,
            )
        )
    return conditions


class CourtLoaders(AgencyLoaders):
    data_as_of = as_of_served(ImportBatch.__table__)  # type: ignore[attr-defined]
    case = one_by(case_t.c.case_number)
    parties_by_case = many_by(party_t.c.case_number, order_by=[party_t.c.id])
    mediations_by_case = many_by(mediation_t.c.case_number, order_by=[mediation_t.c.held_on])
    judgment_by_case = one_by(judgment_t.c.case_number)
    # A party's cases with every column of the case: their fields are read at once.
    cases_by_worker = many_by(
        party_t.c.id_number,
        select(party_t.c.id_number, case_t).join(
            case_t, case_t.c.case_number == party_t.c.case_number
        ),
        order_by=[case_t.c.filed_on],
        primes="case",
    )
    cases_by_enterprise = many_by(
        party_t.c.uscc,
        select(party_t.c.uscc, case_t).join(case_t, case_t.c.case_number == party_t.c.case_number),
        order_by=[case_t.c.filed_on],
        primes="case",
    )
    cases_by_project = many_by(case_t.c.project_code, order_by=[case_t.c.filed_on], primes="case")

    @served(primes="case")
    async def cases_page(
        database: Database, criteria: CaseFilter, after: str | None, limit: int
    ) -> list[Row[Any]]:
        return await fetch_page(
            database,
            select(case_t),
            case_t.c.case_number,
            _case_conditions(criteria),
            after,
            limit,
        )

    @served()
    async def count_cases(database: Database, criteria: CaseFilter) -> int:
        return await count_rows(database, case_t, _case_conditions(criteria))
