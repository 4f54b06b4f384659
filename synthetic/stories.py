"""The planted stories: records at fixed keys that demos, tests and the documentation rely on.

Every generated world, at every scale and for every seed, holds these stories in district
410183 (新密市, Zhengzhou, Henan; court 豫0183). `stories(seed, through_month)` gives their keys
without generating anything; `planting.py` plants the facts behind them in batch 0, always with
six months of history (T-5 .. T, T = the through month, Oct 2026 by default) whatever the
scale's history. The keys depend on the seed (birth dates, credit-code serials, permit
serials) and on T (dates), never on the scale.

1. Dispute (`dispute_case_number` = （T.year）豫0183民初1024号): filed on day 23 of T, cause
   追索劳动报酬纠纷, status `filed`. Plaintiff: worker `dispute_worker_id` (张建国, male);
   defendants: his employer (a labour subcontractor) and the general contractor
   `blacklisted_contractor_uscc`; project `arrears_project_code`; disputed months
   `disputed_months` = T-3, T-2, T-1. He has an e-contract on that project at 350 yuan a day
   (pay day 10), attended 22/21/20 days in the disputed months, was paid the first in full,
   the second by half and the third not at all (claim: the difference, 10,675 yuan), and left
   the project on the last day of T-1. One mediation record, held on day 16 of T by
   新密市建筑业劳资纠纷人民调解委员会, outcome `failed`. `earlier_case_numbers`: two closed
   民初 cases filed T-30 and T-19 months (2024 and 2025 by default) by other workers against
   the same contractor over the completed project `earlier_project_code`, each with a judgment
   (the first enforced in full, the second in part).
2. Blacklisted contractor: one current HR blacklist entry (listed T-14 months, not removed),
   HR credit grade D, housing credit score 52; general contractor of the arrears project.
3. Arrears (`arrears_project_code`, with a wage special account): in T exactly
   `unpaid_worker_ids` (5 workers, all registered and attending) have no disbursement with
   status paid (three have none, one a `failed`, one a `returned` one); every other worker
   attending in T is paid in full. The builder's allocation for T equals what was paid, so it
   is below T's payroll due.
4. No account (`no_account_project_code`): no wage special account, so no allocations and no
   disbursements; every other measure satisfied.
5. Three-colour dashboard, evaluated per project on T with these nine measures:
   (1) rights-notice board; (2) wage special account; (3) real-name registration: workers
   registered on T's last day; (4) every such worker has a labour contract; (5) wage deposit
   with status paid; (6) payment guarantee; (7) allocations for T >= payroll due for T (days
   present x contract daily wage); (8) every registered worker has attendance in T; (9) every
   worker who attended in T has paid disbursements for T >= their due.
   Suggested colours: red = (9) fails where (2) holds (arrears); yellow = (2), (4), (5) or (7)
   fails; blue = only (1), (3), (6) or (8) fail; green = all hold. So the arrears project is
   red, the no-account project yellow, `blue_project_code` blue (its only lapse: no rights-
   notice board) and `compliant_project_code` green.
6. Residence: `workers_without_residence` are the workers actively registered (exit date
   None) on projects in 410183 with no temporary residence registration valid on T's last
   day: one never registered, two expired. Random workers on projects in 410183 always hold a
   valid registration (Xinmi pushes site registrations to the police), so this is the exact
   answer for the district at every scale; elsewhere about 15% of workers lack one.

Story workers use order codes 900-999 in their ID numbers and story enterprises credit-code
serials below 100: the random generator never does, so story keys never collide with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Final

from kernel.identifiers import make_case_number, make_id_number, make_uscc
from kernel.regions import ORIGIN_COUNTIES, court_code

# The last month with attendance and payroll, unless the caller says otherwise.
DEFAULT_THROUGH_MONTH: Final = date(2026, 10, 1)

DISTRICT_CODE: Final = "410183"
COURT_CODE: Final = court_code(DISTRICT_CODE)
COMMITTEE: Final = "新密市建筑业劳资纠纷人民调解委员会"
STORY_MONTHS: Final = 6

DISPUTE_CASE_SEQUENCE: Final = 1024
EARLIER_CASE_SEQUENCES: Final = (356, 1187)
DISPUTE_WORKER_NAME: Final = "张建国"
DISPUTE_DAILY_WAGE_FEN: Final = 35_000
DISPUTE_PAY_DAY: Final = 10
DISPUTE_DAYS: Final = (22, 21, 20)
DISPUTE_PAID_FEN: Final = (22 * 35_000, 21 * 35_000 // 2, 0)
DISPUTE_CLAIM_FEN: Final = sum(d * DISPUTE_DAILY_WAGE_FEN for d in DISPUTE_DAYS) - sum(
    DISPUTE_PAID_FEN
)

# Random workers' ID order codes stay below this; random enterprises' credit-code serials
# start at STORY_ENTERPRISE_SERIALS.
STORY_ORDER_CODES_FROM: Final = 900
STORY_ENTERPRISE_SERIALS: Final = 100

_CREW_SIZES: Final = {"unpaid": 5, "arrears_paid": 10, "no_account": 8, "blue": 8, "compliant": 10}


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after `month` (negative: before)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Stories:
    """The planted stories' keys (see the module docstring), and the rest of their cast."""

    through_month: date
    dispute_case_number: str
    dispute_worker_id: str
    disputed_months: tuple[date, ...]
    earlier_case_numbers: tuple[str, ...]
    blacklisted_contractor_uscc: str
    arrears_project_code: str
    unpaid_worker_ids: tuple[str, ...]
    no_account_project_code: str
    blue_project_code: str
    compliant_project_code: str
    workers_without_residence: tuple[str, ...]
    # The rest of the cast, which the generator plants and tests look up.
    earlier_project_code: str
    builder_uscc: str
    compliant_contractor_uscc: str
    arrears_employer_uscc: str
    employer_uscc: str
    arrears_paid_worker_ids: tuple[str, ...]
    no_account_worker_ids: tuple[str, ...]
    blue_worker_ids: tuple[str, ...]
    compliant_worker_ids: tuple[str, ...]
    earlier_plaintiff_ids: tuple[str, ...]

    @property
    def worker_ids(self) -> tuple[str, ...]:
        """Every story worker, in the order their order codes were given out."""
        return (
            self.dispute_worker_id,
            *self.unpaid_worker_ids,
            *self.arrears_paid_worker_ids,
            *self.no_account_worker_ids,
            *self.blue_worker_ids,
            *self.compliant_worker_ids,
            *self.earlier_plaintiff_ids,
        )


def earlier_case_filing_months(through_month: date) -> tuple[date, date]:
    """When the two earlier cases were filed: their case numbers carry these years."""
    return add_months(through_month, -30), add_months(through_month, -19)


def stories(seed: int = 42, through_month: date = DEFAULT_THROUGH_MONTH) -> Stories:
    """The planted stories' keys for a world generated with this seed and through month."""
    rng = random.Random(f"{seed}:stories")
    ids = iter(_story_ids(rng, 1 + sum(_CREW_SIZES.values()) + 2))  # + dispute, earlier
    dispute_worker = next(ids)
    crews = {name: tuple(next(ids) for _ in range(size)) for name, size in _CREW_SIZES.items()}
    earlier_plaintiffs = (next(ids), next(ids))
    contractor, builder, good_contractor, arrears_employer, employer = (
        make_uscc(DISTRICT_CODE, serial)
        for serial in rng.sample(range(STORY_ENTERPRISE_SERIALS), 5)
    )
    permit_months = {
        "arrears": -19,
        "no_account": -14,
        "blue": -10,
        "compliant": -22,
        "earlier": -44,
    }
    codes = {
        name: _permit_number(rng, add_months(through_month, months))
        for name, months in permit_months.items()
    }
    return Stories(
        through_month=through_month,
        dispute_case_number=make_case_number(
            through_month.year, COURT_CODE, "民初", DISPUTE_CASE_SEQUENCE
        ),
        dispute_worker_id=dispute_worker,
        disputed_months=tuple(add_months(through_month, k) for k in (-3, -2, -1)),
        earlier_case_numbers=tuple(
            make_case_number(filed.year, COURT_CODE, "民初", sequence)
            for filed, sequence in zip(
                earlier_case_filing_months(through_month), EARLIER_CASE_SEQUENCES, strict=True
            )
        ),
        blacklisted_contractor_uscc=contractor,
        arrears_project_code=codes["arrears"],
        unpaid_worker_ids=crews["unpaid"],
        no_account_project_code=codes["no_account"],
        blue_project_code=codes["blue"],
        compliant_project_code=codes["compliant"],
        workers_without_residence=(
            crews["arrears_paid"][0],
            crews["no_account"][0],
            crews["blue"][0],
        ),
        earlier_project_code=codes["earlier"],
        builder_uscc=builder,
        compliant_contractor_uscc=good_contractor,
        arrears_employer_uscc=arrears_employer,
        employer_uscc=employer,
        arrears_paid_worker_ids=crews["arrears_paid"],
        no_account_worker_ids=crews["no_account"],
        blue_worker_ids=crews["blue"],
        compliant_worker_ids=crews["compliant"],
        earlier_plaintiff_ids=earlier_plaintiffs,
    )


def _story_ids(rng: random.Random, count: int) -> list[str]:
    """Distinct ID numbers: the k-th story worker gets order code 900 + 2k (+1 for men)."""
    ids = []
    for k in range(count):
        male = k == 0 or rng.random() < 0.9
        county = rng.choice(ORIGIN_COUNTIES)
        born = date(rng.randint(1966, 2000), rng.randint(1, 12), rng.randint(1, 28))
        ids.append(make_id_number(county.code, born, STORY_ORDER_CODES_FROM + 2 * k + male))
    return ids


def _permit_number(rng: random.Random, month: date) -> str:
    """A construction-permit number issued in `month` in the story district."""
    issued = month.replace(day=rng.randint(1, 28))
    return f"{DISTRICT_CODE}{issued:%Y%m%d}{rng.randint(1, 30):02d}01"
