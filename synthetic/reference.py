"""The world's reference data: enterprises with their credit, projects with their special
account, deposit and insurance, the HR blacklist, and how workers spread over projects.

All of it belongs to batch 0 and draws from that batch's `random.Random(f"{seed}:0")`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Final

from kernel.identifiers import make_uscc
from kernel.regions import SITE_DISTRICTS
from synthetic.documents import (
    BANKS,
    CITY_ABBREVIATIONS,
    SITES,
    injury_insurance,
    wage_account,
    wage_deposit,
)
from synthetic.facts import BlacklistEntry, Enterprise, Project
from synthetic.names import enterprise_name, person_name, project_name
from synthetic.stories import STORY_ENTERPRISE_SERIALS

# Kinds in proportion (builders 25%, general contractors 20%, specialty 15%, labour 30%,
# professional 10%), with every kind among the first five.
_KIND_CYCLE: Final = (
    *("builder", "general_contractor", "labour_subcontractor", "specialty_contractor"),
    *("professional", "builder", "labour_subcontractor", "general_contractor"),
    *("labour_subcontractor", "builder", "specialty_contractor", "labour_subcontractor"),
    *("general_contractor", "builder", "labour_subcontractor", "professional"),
    *("specialty_contractor", "general_contractor", "builder", "labour_subcontractor"),
)
_GRADES: Final = ("A", "B", "C", "D")
_GRADE_WEIGHTS: Final = (45, 32, 16, 7)
_SCORES: Final = {"A": (85, 98), "B": (72, 86), "C": (60, 74), "D": (38, 59)}
_QUALIFICATIONS: Final = {
    "builder": ("房地产开发企业一级资质", "房地产开发企业二级资质"),
    "general_contractor": (
        "建筑工程施工总承包特级",
        "建筑工程施工总承包一级",
        "建筑工程施工总承包二级",
        "市政公用工程施工总承包二级",
    ),
    "labour_subcontractor": ("施工劳务资质",),
    "professional": ("专业作业资质",),
}
# A specialty contractor's qualification follows the trade its name says.
_SPECIALTIES: Final = {
    "钢结构": "钢结构工程专业承包",
    "幕墙": "建筑幕墙工程专业承包",
    "防水": "防水防腐保温工程专业承包",
    "机电": "建筑机电安装工程专业承包",
    "消防": "消防设施工程专业承包",
}
_STATUSES: Final = ("under_construction", "suspended", "completed")
_STATUS_WEIGHTS: Final = (80, 6, 14)
_BLACKLIST_REASONS: Final = (
    "拖欠农民工工资，经责令限期支付逾期未支付",
    "拖欠农民工工资数额较大，造成群体性事件",
    "拒不支付农民工工资，被依法追究刑事责任",
)


def latest_grading(through_month: date) -> date:
    """HR grades employers every year on 31 March: the latest grading by the through month."""
    year = through_month.year if through_month.month > 3 else through_month.year - 1
    return date(year, 3, 31)


def _qualification(rng: random.Random, kind: str, name: str) -> str:
    if kind == "specialty_contractor":
        work = next(
            (q for key, q in _SPECIALTIES.items() if key in name), "建筑装修装饰工程专业承包"
        )
        return work + rng.choice(("一级", "二级"))
    return rng.choice(_QUALIFICATIONS[kind])


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Whole shares of `total` in proportion to `weights` (largest remainders get the rest)."""
    if not weights:
        return []
    whole = sum(weights)  # once: summed per weight, a large world's 14,348 took 0.8 CPU s
    exact = [w * total / whole for w in weights]
    counts = [int(share) for share in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def make_enterprises(rng: random.Random, count: int, graded_on: date) -> list[Enterprise]:
    """`count` enterprises, kinds in proportion, graded and scored, across the site districts."""
    serial_base = STORY_ENTERPRISE_SERIALS + rng.randrange(100_000_000)
    enterprises = []
    for index in range(count):
        kind = _KIND_CYCLE[index % len(_KIND_CYCLE)]
        site = rng.choice(SITE_DISTRICTS)
        grade = rng.choices(_GRADES, _GRADE_WEIGHTS)[0]
        name = enterprise_name(rng, site.city, kind)
        enterprises.append(
            Enterprise(
                uscc=make_uscc(site.code, serial_base + index),
                name=name,
                kind=kind,
                region_code=site.code,
                qualification=_qualification(rng, kind, name),
                credit_score=rng.randint(*_SCORES[grade]),
                legal_representative=person_name(rng, rng.random() < 0.85),
                credit_grade=grade,
                graded_on=graded_on,
            )
        )
    return enterprises


def make_projects(
    rng: random.Random,
    count: int,
    by_kind: dict[str, list[Enterprise]],
    taken: set[str],
    through_month: date,
    window_start: date,
) -> list[Project]:
    """`count` projects with permit numbers not in `taken` (which grows); most are under
    construction, and a few lack an account, a deposit, a board, a guarantee or insurance."""
    projects = []
    for index in range(count):
        site = rng.choice(SITE_DISTRICTS)
        status = "under_construction" if index == 0 else rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
        closed = status == "completed"
        issued = window_start - timedelta(
            days=rng.randint(800, 1800) if closed else rng.randint(30, 900)
        )
        code = f"{site.code}{issued:%Y%m%d}{rng.randint(1, 30):02d}{rng.randint(1, 3):02d}"
        while code in taken:
            code = f"{code[:14]}{rng.randint(31, 99):02d}{code[16:]}"
        taken.add(code)
        start = issued + timedelta(days=rng.randint(0, 30))
        planned_end = start + timedelta(days=rng.randint(540, 1100))
        stopped_on = None
        if closed:
            stopped_on = min(
                planned_end + timedelta(days=rng.randint(-60, 90)),
                window_start - timedelta(days=rng.randint(1, 60)),
            )
        elif status == "suspended":
            latest = max(10, (through_month - window_start).days - 1)
            stopped_on = window_start + timedelta(days=rng.randint(10, latest))
        price = rng.randint(500, 60_000) * 1_000_000
        account = None
        if rng.random() > 0.07:
            opened = start + timedelta(days=rng.randint(0, 20))
            bank = rng.choice(BANKS)
            account = wage_account(bank, site, code, opened, "closed" if closed else "active")
        deposit = None
        if rng.random() > 0.08:
            paid_on = issued + timedelta(days=rng.randint(0, 10))
            deposit = wage_deposit(price, paid_on, "refunded" if closed else "paid")
        projects.append(
            Project(
                code=code,
                name=project_name(rng, site.name),
                region_code=site.code,
                builder_uscc=rng.choice(by_kind["builder"]).uscc,
                contractor_uscc=rng.choice(by_kind["general_contractor"]).uscc,
                contract_price_fen=price,
                start_date=start,
                planned_end_date=planned_end,
                status=status,
                stopped_on=stopped_on,
                rights_notice_board=rng.random() > 0.08,
                payment_guarantee=rng.random() > 0.10,
                pay_day=rng.choice((10, 15, 15, 20, 25)),
                account=account,
                deposit=deposit,
                insurance=injury_insurance(code, start, planned_end)
                if rng.random() > 0.05
                else None,
            )
        )
    return projects


def make_blacklist(
    rng: random.Random, enterprises: list[Enterprise], end: date
) -> list[BlacklistEntry]:
    """Most D-grade contractors are listed now; some C-grade ones were, and got removed."""
    numbers: defaultdict[tuple[str, int], int] = defaultdict(lambda: 100)
    entries = []
    for enterprise in enterprises:
        if enterprise.kind == "builder":
            continue
        if enterprise.credit_grade == "D" and rng.random() < 0.6:
            listed = end - timedelta(days=rng.randint(30, 900))
            removed = None
        elif enterprise.credit_grade == "C" and rng.random() < 0.15:
            listed = end - timedelta(days=rng.randint(400, 1100))
            removed = listed + timedelta(days=rng.randint(365, 399))
        else:
            continue
        city = CITY_ABBREVIATIONS[SITES[enterprise.region_code].city]
        numbers[city, listed.year] += 1
        entries.append(
            BlacklistEntry(
                decision_no=f"{city}人社黑〔{listed.year}〕{numbers[city, listed.year]}号",
                enterprise_uscc=enterprise.uscc,
                responsible_person=enterprise.legal_representative,
                reason=rng.choice(_BLACKLIST_REASONS),
                listed_on=listed,
                removed_on=removed,
            )
        )
    return entries


def worker_runs(
    rng: random.Random, projects: list[Project], workers: int, batch_size: int
) -> list[list[tuple[Project, int]]]:
    """Headcounts of the active projects, cut into runs of about `batch_size` workers."""
    active = [p for p in projects if p.status != "completed"]
    headcounts = _apportion(workers, [rng.lognormvariate(0, 0.7) for _ in active])
    runs: list[list[tuple[Project, int]]] = []
    size = batch_size
    for project, headcount in zip(active, headcounts, strict=True):
        if not headcount:
            continue
        if size >= batch_size:
            runs.append([])
            size = 0
        runs[-1].append((project, headcount))
        size += headcount
    return runs
