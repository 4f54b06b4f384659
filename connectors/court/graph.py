"""What courts and mediation committees contribute: dispute cases, their parties,
mediation records and judgments; the disputeCase roots."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Sequence
from datetime import date
from typing import Any

import strawberry

from connectors.court.limits import COURTS
from connectors.court.loaders import CaseFilter, CourtLoaders
from kernel import refs
from kernel.access import scoped_resolver, scoped_type
from kernel.composition import Entity
from kernel.context import Info
from kernel.limits import REGIONS, bounded_list
from kernel.ownership import discloses, names
from kernel.pagination import Connection, open_page
from kernel.records import from_row, from_rows, row_field
from kernel.scalars import (
    USCC,
    CaseNumber,
    Fen,
    IdNumber,
    RegionCodePrefix,
    YearMonth,
    months_between,
)
from kernel.scopes import CASE_READ


@strawberry.enum(description="案件状态")
class CaseStatus(enum.Enum):
    FILED = "filed"
    MEDIATING = "mediating"
    MEDIATED = "mediated"
    JUDGED = "judged"
    CLOSED = "closed"


@strawberry.enum(description="案件类型")
class CaseKind(enum.Enum):
    LITIGATION = "litigation"
    PRE_LITIGATION_MEDIATION = "pre_litigation_mediation"


@strawberry.enum
class PartyRole(enum.Enum):
    PLAINTIFF = "plaintiff"
    DEFENDANT = "defendant"
    THIRD_PARTY = "third_party"


@strawberry.enum
class MediationOutcome(enum.Enum):
    AGREED = "agreed"
    FAILED = "failed"
    PENDING = "pending"


@discloses(Entity.WORKER, "id_number")
@scoped_type(CASE_READ)
@strawberry.type(name="CaseParty", description="当事人: a worker or an enterprise")
class PartyRecord:
    id_number: strawberry.Private[str | None]
    uscc: strawberry.Private[str | None]
    role: PartyRole
    name: str

    @scoped_resolver(CASE_READ, description="The worker, when the party is a person")
    def worker(self) -> refs.WorkerRef | None:
        return refs.WorkerKey(id_number=self.id_number) if self.id_number else None

    @scoped_resolver(CASE_READ, description="The enterprise, when the party is one")
    def enterprise(self) -> refs.EnterpriseRef | None:
        return refs.EnterpriseKey(uscc=self.uscc) if self.uscc else None


@scoped_type(CASE_READ)
@strawberry.type(name="Mediation", description="调解记录")
class MediationRecord:
    committee: str = strawberry.field(description="调解委员会")
    mediator: str
    held_on: date
    outcome: MediationOutcome
    agreed_amount_fen: Fen | None


@scoped_type(CASE_READ)
@strawberry.type(name="Judgment", description="判决与执行")
class JudgmentRecord:
    judged_on: date
    awarded_amount_fen: Fen
    enforced_amount_fen: Fen
    summary: str


def court(info: Info) -> CourtLoaders:
    return info.context.loaders(CourtLoaders)


def _case(part: CourtDisputeCase, info: Info) -> Awaitable[Any]:
    return court(info).case.load(part.case_number)


@strawberry.type
class CourtDisputeCase:
    case_number: strawberry.Private[str]

    court_name = row_field(CASE_READ, _case, "court_name", str)
    court_code = row_field(
        CASE_READ, _case, "court_code", str, description="Court code, e.g. 豫0183"
    )
    kind = row_field(CASE_READ, _case, "kind", CaseKind, convert=CaseKind)
    cause = row_field(CASE_READ, _case, "cause", str, description="案由, e.g. 追索劳动报酬纠纷")
    claim_amount_fen = row_field(CASE_READ, _case, "claim_amount_fen", Fen)
    status = row_field(CASE_READ, _case, "status", CaseStatus, convert=CaseStatus)
    filed_on = row_field(CASE_READ, _case, "filed_on", date)
    closed_on = row_field(CASE_READ, _case, "closed_on", date)

    @scoped_resolver(CASE_READ, description="The months whose wages are in dispute")
    async def disputed_months(self, info: Info) -> list[YearMonth] | None:
        row = await court(info).case.load(self.case_number)
        return months_between(row.disputed_from, row.disputed_to) if row else []

    @scoped_resolver(CASE_READ, description="The project the dispute arose on")
    async def project(self, info: Info) -> refs.ProjectRef | None:
        row = await court(info).case.load(self.case_number)
        return refs.ProjectKey(code=row.project_code) if row and row.project_code else None

    @scoped_resolver(CASE_READ)
    async def parties(self, info: Info, role: PartyRole | None = None) -> list[PartyRecord] | None:
        rows = await court(info).parties_by_case.load(self.case_number)
        return [from_row(PartyRecord, r) for r in rows if role is None or r.role == role.value]

    @scoped_resolver(CASE_READ)
    async def mediations(self, info: Info) -> list[MediationRecord] | None:
        return from_rows(
            MediationRecord, await court(info).mediations_by_case.load(self.case_number)
        )

    @scoped_resolver(CASE_READ)
    async def judgment(self, info: Info) -> JudgmentRecord | None:
        row = await court(info).judgment_by_case.load(self.case_number)
        return from_row(JudgmentRecord, row) if row else None


def _case_keys(rows: Sequence[Any]) -> list[refs.DisputeCaseKey] | None:
    seen: dict[str, refs.DisputeCaseKey] = {}
    for row in rows:
        seen.setdefault(row.case_number, refs.DisputeCaseKey(case_number=row.case_number))
    return list(seen.values())


@strawberry.type
class CourtWorker:
    id_number: strawberry.Private[str]

    @scoped_resolver(CASE_READ, description="Cases this worker is a party to, oldest first")
    async def dispute_cases(self, info: Info) -> list[refs.DisputeCaseRef] | None:
        return _case_keys(await court(info).cases_by_worker.load(self.id_number))


@strawberry.type
class CourtEnterprise:
    uscc: strawberry.Private[str]

    @scoped_resolver(CASE_READ, description="Cases this enterprise is a party to, oldest first")
    async def dispute_cases(self, info: Info) -> list[refs.DisputeCaseRef] | None:
        return _case_keys(await court(info).cases_by_enterprise.load(self.uscc))


@strawberry.type
class CourtProject:
    code: strawberry.Private[str]

    @scoped_resolver(CASE_READ, description="Cases arising on this project, oldest first")
    async def dispute_cases(self, info: Info) -> list[refs.DisputeCaseRef] | None:
        return _case_keys(await court(info).cases_by_project.load(self.code))


@strawberry.input
class DisputeCaseFilterInput:
    status: list[CaseStatus] | None = None
    kind: list[CaseKind] | None = None
    region_code_prefix: RegionCodePrefix | None = None
    court_code: str | None = None
    filed_from: date | None = None
    filed_to: date | None = None
    party_uscc: USCC | None = None
    party_id_number: IdNumber | None = None
    party_name: str | None = strawberry.field(
        default=None, description="a party's full name, as the court recorded it (exact)"
    )
    project_code: str | None = names(Entity.PROJECT, default=None)


@strawberry.type
class CourtQuery:
    @scoped_resolver(CASE_READ, description="One case by case number; null when no court holds it")
    async def dispute_case(self, info: Info, case_number: CaseNumber) -> refs.DisputeCaseRef | None:
        row = await court(info).case.load(case_number)
        return refs.DisputeCaseKey(case_number=row.case_number) if row else None

    @scoped_resolver(CASE_READ, description="Dispute cases, by case number")
    async def dispute_cases(
        self,
        info: Info,
        filter: DisputeCaseFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[refs.DisputeCaseRef] | None:
        given = filter or DisputeCaseFilterInput()
        caller = bounded_list(info, Entity.DISPUTE_CASE, [REGIONS.name, COURTS.name])
        criteria = CaseFilter(
            within_regions=caller.limit(REGIONS.name),
            within_courts=caller.limit(COURTS.name),
            statuses=tuple(s.value for s in given.status or ()),
            kinds=tuple(k.value for k in given.kind or ()),
            region_prefix=given.region_code_prefix,
            court_code=given.court_code,
            filed_from=given.filed_from,
            filed_to=given.filed_to,
            party_uscc=given.party_uscc,
            party_id_number=given.party_id_number,
            party_name=(given.party_name or "").strip() or None,
            project_code=given.project_code,
        )
        page = open_page(info, first, after)
        loaders = court(info)
        rows = await loaders.cases_page(criteria, page.after, page.size + 1)
        return page.connection(
            [(r.case_number, refs.DisputeCaseKey(case_number=r.case_number)) for r in rows],
            lambda: loaders.count_cases(criteria),
        )
