"""Disputes in the worker batches: arrears complaints and labour inspections per project, and
wage dispute cases — in court (民初) or in pre-litigation mediation (民诉前调) — brought
preferably by workers the batch left owed, each with its course so far.

Random cases' sequence numbers start above the stories' (356, 1024, 1187), so case numbers
never collide with theirs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Final

from kernel.identifiers import make_case_number
from kernel.regions import court_code
from synthetic.documents import IdentitySpace, committee_name, court_name, yuan
from synthetic.facts import (
    CAUSE,
    Complaint,
    DisputeCase,
    Judgment,
    Mediation,
    Party,
    Project,
    Worker,
)
from synthetic.months import Month, last_day
from synthetic.names import person_name
from synthetic.stories import add_months
from synthetic.workforce import Grievance, Site

_COMPLAINT_STATUSES: Final = ("accepted", "investigating", "resolved", "referred")
# Random cases' sequence numbers start here, above the stories' (356, 1024, 1187).
_RANDOM_CASES_FROM: Final = 2001


def ruling(names: dict[str, str], defendants: Sequence[str], awarded: int) -> str:
    """The operative part of a judgment for the workers against `defendants`."""
    defendant_names = "、".join(names[uscc] for uscc in defendants)
    return f"判决被告{defendant_names}于判决生效之日起十日内支付原告劳动报酬{yuan(awarded)}"


class Docket:
    """The complaints and dispute cases of one world, drawn from a batch's `random.Random`."""

    def __init__(
        self,
        calendar: tuple[Month, ...],
        identities: IdentitySpace,
        enterprise_names: dict[str, str],
    ) -> None:
        self.calendar = calendar
        self.through_month = calendar[-1].first
        self.end = last_day(self.through_month)
        self.window_start = calendar[0].first
        self.identities = identities
        self.enterprise_names = enterprise_names

    def complaints(self, rng: random.Random, site: Site) -> Iterator[Complaint]:
        """Half the arrears months draw a complaint; some lapsed projects an inspection."""
        project = site.project
        for month in self.calendar:
            owed = site.owed.get(month.index)
            pay_date = site.pay_dates[month.index]
            if not owed or pay_date >= self.end or rng.random() < 0.5:
                continue
            serial = owed[0][0]
            amount = sum(fen for _, fen in owed)
            yield Complaint(
                complaint_no=f"TS{month.first:%Y%m}{serial:08d}",
                kind="complaint",
                enterprise_uscc=project.contractor_uscc,
                project_code=project.code,
                worker_id_number=self.identities.id_number(serial)[0],
                filed_on=min(pay_date + timedelta(days=rng.randint(1, 12)), self.end),
                amount_fen=amount,
                status=rng.choice(_COMPLAINT_STATUSES),
                summary=(
                    f"{len(owed)}名农民工反映{project.name}拖欠"
                    f"{month.first.year}年{month.first.month}月工资共{yuan(amount)}"
                ),
            )
        lapses = [
            text
            for lapsed, text in (
                (project.account is None, "未开设农民工工资专用账户"),
                (project.deposit is None, "未存储工资保证金"),
                (site.contract_rate < 1, "部分农民工未签订劳动合同"),
                (bool(site.arrears), "存在拖欠农民工工资情形"),
            )
            if lapsed
        ]
        if lapses and rng.random() < 0.3:
            window = (self.end - self.window_start).days
            filed = self.window_start + timedelta(days=rng.randrange(window))
            yield Complaint(
                complaint_no=f"JC{filed:%Y%m}{project.code}",
                kind="inspection",
                enterprise_uscc=project.contractor_uscc,
                project_code=project.code,
                worker_id_number=None,
                filed_on=filed,
                amount_fen=sum(fen for owed in site.owed.values() for _, fen in owed),
                status=rng.choice(_COMPLAINT_STATUSES[1:3]),
                summary=f"对{project.name}开展劳动保障专项检查，发现：{'；'.join(lapses)}",
            )

    def case(
        self,
        rng: random.Random,
        workers: list[Worker],
        projects: dict[str, Project],
        grievances: list[Grievance],
        index: int,
    ) -> DisputeCase | None:
        """A dispute, preferably by workers left owed; else over a sum a worker contests."""
        if grievances:
            first = grievances.pop(rng.randrange(len(grievances)))
            group = [first]
            if rng.random() < 0.25:
                group += [g for g in grievances if g.project is first.project][:3]
                for grievance in group[1:]:
                    grievances.remove(grievance)
            plaintiffs = [grievance.worker for grievance in group]
            project = first.project
            months = sorted({month for grievance in group for month in grievance.months})
            claim = sum(grievance.owed_fen for grievance in group)
        else:
            worker = rng.choice(workers)
            employment = worker.employments[-1]
            past = [work for work in employment.months if work.month < self.through_month]
            if not past:
                return None
            disputed = past[-rng.randint(1, min(2, len(past))) :]
            plaintiffs = [worker]
            project = projects[employment.project_code]
            months = [work.month for work in disputed]
            claim = sum(employment.due_fen(work) for work in disputed) * rng.randint(2, 10) // 10
        defendants = [plaintiffs[0].employments[-1].employer_uscc]
        if rng.random() < 0.6:
            defendants.append(project.contractor_uscc)
        sequence = _RANDOM_CASES_FROM + index
        return self._litigate(rng, sequence, plaintiffs, defendants, project, months, claim)

    def _litigate(
        self,
        rng: random.Random,
        sequence: int,
        plaintiffs: Sequence[Worker],
        defendants: Sequence[str],
        project: Project,
        months: Sequence[date],
        claim: int,
    ) -> DisputeCase:
        """The case's course so far: mediation, judgment and enforcement as time allowed."""
        due_on = add_months(months[-1], 1).replace(day=project.pay_day)
        filed = due_on + timedelta(days=rng.randint(5, 60))
        if filed > self.end:  # cases about recent months: filed since they fell due
            filed = due_on + timedelta(days=rng.randint(1, (self.end - due_on).days))
        remaining = (self.end - filed).days
        mediations: list[Mediation] = []
        judgment = None
        closed = None
        committee = committee_name(project.region_code)
        mediator = person_name(rng, rng.random() < 0.6)
        if rng.random() < 0.45:
            kind, case_type = "pre_litigation_mediation", "民诉前调"
            held = filed + timedelta(days=min(remaining, rng.randint(3, 20)))
            agreed = None
            if remaining < 7:
                status, outcome = "mediating", "pending"
            elif rng.random() < 0.7:
                status, outcome, closed = "mediated", "agreed", held
                agreed = claim * rng.randint(70, 100) // 100
            else:
                status, outcome, closed = "closed", "failed", held
            mediations.append(Mediation(committee, mediator, held, outcome, agreed))
        else:
            kind, case_type, status = "litigation", "民初", "filed"
            if rng.random() < 0.3:
                held = filed - timedelta(days=rng.randint(1, 4))
                mediations.append(Mediation(committee, mediator, held, "failed", None))
            if remaining >= 45 and rng.random() < 0.6:
                judged = filed + timedelta(days=rng.randint(30, min(remaining, 90)))
                awarded = claim * rng.randint(80, 100) // 100
                left = (self.end - judged).days
                if left >= 20 and rng.random() < 0.6:
                    status, enforced = "closed", awarded
                    closed = judged + timedelta(days=rng.randint(10, min(45, left)))
                else:
                    status, enforced = "judged", awarded * rng.choice((0, 0, 3, 5)) // 10
                judgment = Judgment(
                    judged, awarded, enforced, ruling(self.enterprise_names, defendants, awarded)
                )
        parties = [Party("plaintiff", w.name, w.id_number, None) for w in plaintiffs]
        parties += [
            Party("defendant", self.enterprise_names[uscc], None, uscc) for uscc in defendants
        ]
        return DisputeCase(
            case_number=make_case_number(
                filed.year, court_code(project.region_code), case_type, sequence
            ),
            court_name=court_name(project.region_code),
            region_code=project.region_code,
            kind=kind,
            cause=CAUSE,
            claim_amount_fen=claim,
            status=status,
            filed_on=filed,
            closed_on=closed,
            project_code=project.code,
            disputed_months=tuple(months),
            parties=tuple(parties),
            mediations=tuple(mediations),
            judgment=judgment,
        )
