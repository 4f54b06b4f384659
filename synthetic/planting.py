"""The planted stories' facts (see `stories.py` for the stories and their keys), built into
batch 0 from the stories' own `random.Random`: the story enterprises and projects, the
arrears project with the dispute worker and the five unpaid, the crews of the no-account,
blue and compliant projects, and the earlier cases with the blacklisting they led to.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Final

from synthetic.disputes import ruling
from synthetic.documents import (
    SITES,
    STORY_BANK,
    court_name,
    injury_insurance,
    wage_account,
    wage_deposit,
    yuan,
)
from synthetic.facts import (
    CAUSE,
    BlacklistEntry,
    Complaint,
    DisputeCase,
    Enterprise,
    Judgment,
    Mediation,
    Party,
    Project,
    WorldBatch,
)
from synthetic.months import calendar, last_day
from synthetic.stories import (
    COMMITTEE,
    DISPUTE_CLAIM_FEN,
    DISPUTE_DAILY_WAGE_FEN,
    DISPUTE_DAYS,
    DISPUTE_PAID_FEN,
    DISPUTE_PAY_DAY,
    DISPUTE_WORKER_NAME,
    DISTRICT_CODE,
    STORY_MONTHS,
    Stories,
    add_months,
    earlier_case_filing_months,
)
from synthetic.story_workers import StoryWorkers

# Key attribute, name, kind, qualification, housing credit score, legal representative, grade.
_STORY_ENTERPRISES: Final = (
    ("blacklisted_contractor_uscc", "郑州豫通建设集团有限公司", "general_contractor",
     "建筑工程施工总承包二级", 52, "刘宏伟", "D"),
    ("builder_uscc", "郑州豫景置业有限公司", "builder", "房地产开发企业二级资质", 81,
     "陈立新", "B"),
    ("compliant_contractor_uscc", "郑州安居建设工程有限公司", "general_contractor",
     "建筑工程施工总承包一级", 93, "王振华", "A"),
    ("arrears_employer_uscc", "郑州市顺达建筑劳务有限公司", "labour_subcontractor",
     "施工劳务资质", 68, "赵大勇", "C"),
    ("employer_uscc", "郑州市百川劳务有限公司", "labour_subcontractor", "施工劳务资质", 88,
     "孙保国", "A"),
)  # fmt: skip
# Key attribute, name, general contractor's key attribute, contract price (yuan),
# rights-notice board, wage special account.
_STORY_PROJECTS: Final = (
    ("arrears_project_code", "新密市青屏花园二期住宅工程", "blacklisted_contractor_uscc",
     186_000_000, True, True),
    ("no_account_project_code", "新密市溱水路棚户区改造安置房项目", "compliant_contractor_uscc",
     92_000_000, True, False),
    ("blue_project_code", "新密市第二实验小学教学楼工程", "compliant_contractor_uscc",
     48_000_000, False, True),
    ("compliant_project_code", "新密市人民医院门诊综合楼项目", "compliant_contractor_uscc",
     135_000_000, True, True),
    ("earlier_project_code", "新密市嵩山路商住楼项目", "blacklisted_contractor_uscc",
     76_000_000, True, True),
)  # fmt: skip
_MEDIATOR: Final = "李红梅"
# What the five unpaid workers got for the through month.
_UNPAID_FATES: Final = (None, None, None, "failed", "returned")


class Planting:
    """The stories' facts, built from their keys into batch 0."""

    def __init__(
        self, keys: Stories, rng: random.Random, graded_on: date, months: tuple[date, ...]
    ) -> None:
        self.keys = keys
        self.rng = rng
        self.graded_on = graded_on
        self.calendar = calendar(keys.through_month, STORY_MONTHS)
        self.site = SITES[DISTRICT_CODE]
        end = last_day(keys.through_month)
        self.hiring = StoryWorkers(keys, rng, self.calendar, end, self.site)
        self.batch = WorldBatch(index=0, months=months)
        self.projects: dict[str, Project] = {}
        self.names: dict[str, str] = {}

    def plant(self) -> WorldBatch:
        keys = self.keys
        for attribute, name, kind, qualification, score, person, grade in _STORY_ENTERPRISES:
            uscc = getattr(keys, attribute)
            self.names[uscc] = name
            self.batch.enterprises.append(
                Enterprise(
                    uscc,
                    name,
                    kind,
                    DISTRICT_CODE,
                    qualification,
                    score,
                    person,
                    grade,
                    self.graded_on,
                )
            )
        for attribute, name, contractor, price, board, account in _STORY_PROJECTS:
            project = self._project(
                getattr(keys, attribute),
                name,
                getattr(keys, contractor),
                price * 100,
                board=board,
                account=account,
            )
            self.projects[project.code] = project
            self.batch.projects.append(project)
        self._arrears()
        for code, crew in (
            (keys.no_account_project_code, keys.no_account_worker_ids),
            (keys.blue_project_code, keys.blue_worker_ids),
            (keys.compliant_project_code, keys.compliant_worker_ids),
        ):
            project = self.projects[code]
            team = ("王砌筑班组", "砌筑工")
            workers = [
                self.hiring.regular(id_number, project, keys.employer_uscc, team)
                for id_number in crew
            ]
            self.batch.workers.extend(workers)
            self.batch.allocations.extend(self.hiring.allocations(project, workers, margin=True))
        self._earlier()
        return self.batch

    def _project(
        self, code: str, name: str, contractor: str, price: int, *, board: bool, account: bool
    ) -> Project:
        issued = date.fromisoformat(code[6:14])
        start = issued + timedelta(days=12)
        completed = code == self.keys.earlier_project_code
        stopped_on = last_day(add_months(self.keys.through_month, -20)) if completed else None
        planned_end = stopped_on or start + timedelta(days=900)
        return Project(
            code=code,
            name=name,
            region_code=DISTRICT_CODE,
            builder_uscc=self.keys.builder_uscc,
            contractor_uscc=contractor,
            contract_price_fen=price,
            start_date=start,
            planned_end_date=planned_end,
            status="completed" if completed else "under_construction",
            stopped_on=stopped_on,
            rights_notice_board=board,
            payment_guarantee=True,
            pay_day=DISPUTE_PAY_DAY if code == self.keys.arrears_project_code else 15,
            account=wage_account(
                STORY_BANK,
                self.site,
                code,
                start + timedelta(days=10),
                "closed" if completed else "active",
            )
            if account
            else None,
            deposit=wage_deposit(
                price, issued + timedelta(days=5), "refunded" if completed else "paid"
            ),
            insurance=injury_insurance(code, start, planned_end),
        )

    def _arrears(self) -> None:
        """The dispute worker, the five unpaid in the through month, and their paid mates."""
        keys, rng = self.keys, self.rng
        project = self.projects[keys.arrears_project_code]
        steel, carpentry = ("张钢筋班组", "钢筋工"), ("李木工班组", "木工")
        wage = DISPUTE_DAILY_WAGE_FEN
        before = self.hiring.paid_in_full(wage, self.calendar[:2])
        disputed = [m for m in self.calendar if m.first in keys.disputed_months]
        during = [
            (month, days, (paid, "paid") if paid else None)
            for month, days, paid in zip(disputed, DISPUTE_DAYS, DISPUTE_PAID_FEN, strict=True)
        ]
        crew = [
            self.hiring.worker(
                keys.dispute_worker_id,
                project,
                keys.arrears_employer_uscc,
                steel,
                wage,
                entry=add_months(keys.through_month, -8).replace(day=3),
                exit_date=last_day(disputed[-1].first),
                days=before + during,
                name=DISPUTE_WORKER_NAME,
            )
        ]
        for id_number, fate in zip(keys.unpaid_worker_ids, _UNPAID_FATES, strict=True):
            worker_wage = rng.randint(32, 36) * 1000
            days = self.hiring.paid_in_full(worker_wage, self.calendar[:-1])
            present = rng.randint(18, 24)
            last = (present * worker_wage, fate) if fate else None
            days.append((self.calendar[-1], present, last))
            crew.append(
                self.hiring.worker(
                    id_number, project, keys.arrears_employer_uscc, steel, worker_wage, days=days
                )
            )
        for k, id_number in enumerate(keys.arrears_paid_worker_ids):
            team = steel if k < 4 else carpentry
            crew.append(self.hiring.regular(id_number, project, keys.arrears_employer_uscc, team))
        self.batch.workers.extend(crew)
        self.batch.allocations.extend(self.hiring.allocations(project, crew, margin=False))
        august = keys.disputed_months[1]
        owed = DISPUTE_DAYS[1] * wage - DISPUTE_PAID_FEN[1]
        self.batch.complaints.append(
            Complaint(
                complaint_no=f"TS{august:%Y%m}{self.hiring.serials[keys.dispute_worker_id]:08d}",
                kind="complaint",
                enterprise_uscc=keys.blacklisted_contractor_uscc,
                project_code=project.code,
                worker_id_number=keys.dispute_worker_id,
                filed_on=keys.disputed_months[2].replace(day=14),
                amount_fen=owed,
                status="referred",
                summary=f"{DISPUTE_WORKER_NAME}反映{project.name}拖欠"
                f"{august.year}年{august.month}月工资{yuan(owed)}，已移送调解",
            )
        )
        self._dispute_case(project)

    def _dispute_case(self, project: Project) -> None:
        keys = self.keys
        month = keys.through_month
        self.batch.cases.append(
            DisputeCase(
                case_number=keys.dispute_case_number,
                court_name=court_name(DISTRICT_CODE),
                region_code=DISTRICT_CODE,
                kind="litigation",
                cause=CAUSE,
                claim_amount_fen=DISPUTE_CLAIM_FEN,
                status="filed",
                filed_on=month.replace(day=23),
                closed_on=None,
                project_code=project.code,
                disputed_months=keys.disputed_months,
                parties=(
                    Party("plaintiff", DISPUTE_WORKER_NAME, keys.dispute_worker_id, None),
                    *self._defendants(keys.arrears_employer_uscc, keys.blacklisted_contractor_uscc),
                ),
                mediations=(
                    Mediation(COMMITTEE, _MEDIATOR, month.replace(day=16), "failed", None),
                ),
                judgment=None,
            )
        )

    def _earlier(self) -> None:
        """Two closed cases against the blacklisted contractor, and its blacklisting."""
        keys, rng = self.keys, self.rng
        project = self.projects[keys.earlier_project_code]
        contractor = keys.blacklisted_contractor_uscc
        # (plaintiff, months on the project before T, disputed months before T, days a month,
        #  daily wage in fen, share enforced in tenths)
        plan = (
            (keys.earlier_plaintiff_ids[0], (-40, -34), (-36, -35), 22, 30_000, 10),
            (keys.earlier_plaintiff_ids[1], (-30, -21), (-23, -21), 21, 32_000, 6),
        )
        filings = earlier_case_filing_months(keys.through_month)
        for (id_number, tenure, disputed, days, wage, enforced), filed_month, number in zip(
            plan, filings, keys.earlier_case_numbers, strict=True
        ):
            entry = add_months(keys.through_month, tenure[0]).replace(day=5)
            exit_date = last_day(add_months(keys.through_month, tenure[1]))
            worker = self.hiring.worker(
                id_number,
                project,
                keys.arrears_employer_uscc,
                ("张钢筋班组", "钢筋工"),
                wage,
                entry=entry,
                exit_date=exit_date,
                days=[],
            )
            self.batch.workers.append(worker)
            months = tuple(
                add_months(keys.through_month, k) for k in range(disputed[0], disputed[1] + 1)
            )
            claim = len(months) * days * wage
            filed = filed_month.replace(day=rng.randint(5, 20))
            judged = filed + timedelta(days=rng.randint(50, 80))
            enforced_fen = claim * enforced // 10
            self.batch.cases.append(
                DisputeCase(
                    case_number=number,
                    court_name=court_name(DISTRICT_CODE),
                    region_code=DISTRICT_CODE,
                    kind="litigation",
                    cause=CAUSE,
                    claim_amount_fen=claim,
                    status="closed",
                    filed_on=filed,
                    closed_on=judged + timedelta(days=rng.randint(40, 120)),
                    project_code=project.code,
                    disputed_months=months,
                    parties=(
                        Party("plaintiff", worker.name, id_number, None),
                        *self._defendants(contractor),
                    ),
                    mediations=(),
                    judgment=Judgment(
                        judged, claim, enforced_fen, ruling(self.names, [contractor], claim)
                    ),
                )
            )
        listed = add_months(keys.through_month, -14).replace(day=18)
        self.batch.blacklist.append(
            BlacklistEntry(
                decision_no=f"郑人社黑〔{listed.year}〕12号",
                enterprise_uscc=contractor,
                responsible_person="刘宏伟",
                reason=f"拖欠{project.name}农民工工资，经人民法院判决"
                f"{keys.earlier_case_numbers[-1]}后仍未足额支付",
                listed_on=listed,
                removed_on=None,
            )
        )

    def _defendants(self, *usccs: str) -> tuple[Party, ...]:
        return tuple(Party("defendant", self.names[uscc], None, uscc) for uscc in usccs)
