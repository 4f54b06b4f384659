"""The stories' workers: how each is hired, attends, is paid and registered.

A story worker's months are given exactly (days present, what was disbursed) where a story
says so, and drawn from the stories' `random.Random` where it does not; the builder's
allocations follow the crew's payroll. Their serials (in contract, card and registration
numbers) lie above any random worker's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Final

from kernel.regions import Region
from synthetic.documents import (
    CERTIFICATE_TERM,
    ORIGINS,
    RENEWED,
    SHORT_STAY,
    STORY_BANK,
    card_number,
    renewed_since,
    residence,
    round_up,
)
from synthetic.facts import (
    Allocation,
    Certificate,
    Contract,
    Employment,
    Payment,
    PayrollCard,
    Project,
    Residence,
    Worker,
    WorkMonth,
)
from synthetic.months import Month, days_mask
from synthetic.names import person_name, street_address
from synthetic.stories import Stories, add_months

_STORY_SERIALS: Final = 99_000_000

# A month of a story worker: its calendar month, days present, and what was disbursed
# (amount and status, or None).
PlannedMonth = tuple[Month, int, tuple[int, str] | None]


class StoryWorkers:
    """Builds the stories' workers on projects in the story district."""

    def __init__(
        self,
        keys: Stories,
        rng: random.Random,
        calendar: tuple[Month, ...],
        end: date,
        site: Region,
    ) -> None:
        self.keys = keys
        self.rng = rng
        self.calendar = calendar
        self.end = end
        self.site = site
        self.serials = {
            id_number: _STORY_SERIALS + k for k, id_number in enumerate(keys.worker_ids)
        }

    def paid_in_full(self, wage: int, months: Sequence[Month]) -> list[PlannedMonth]:
        """20-26 days in each month, each paid in full."""
        days = [(month, self.rng.randint(20, 26)) for month in months]
        return [(month, present, (present * wage, "paid")) for month, present in days]

    def regular(
        self, id_number: str, project: Project, employer: str, team: tuple[str, str]
    ) -> Worker:
        """A worker on the project for all six months, paid in full (if it has an account)."""
        wage = self.rng.randint(30, 40) * 1000
        days = self.paid_in_full(wage, self.calendar)
        return self.worker(id_number, project, employer, team, wage, days=days)

    def worker(
        self,
        id_number: str,
        project: Project,
        employer: str,
        team: tuple[str, str],
        wage: int,
        *,
        days: Sequence[PlannedMonth],
        entry: date | None = None,
        exit_date: date | None = None,
        name: str | None = None,
    ) -> Worker:
        """The worker with one employment on the project, attending and paid as `days` say."""
        keys, rng = self.keys, self.rng
        serial = self.serials[id_number]
        male = int(id_number[16]) % 2 == 1
        if entry is None:
            joined = add_months(keys.through_month, -rng.randint(7, 12)).replace(
                day=rng.randint(1, 28)
            )
            entry = max(joined, project.start_date + timedelta(days=rng.randint(3, 20)))
        account = project.account
        work = tuple(
            WorkMonth(
                month.first,
                days_mask(rng, month, present),
                Payment(account.account_no, paid[0], month.pay_date(project.pay_day), paid[1])
                if paid is not None and account is not None
                else None,
            )
            for month, present, paid in days
        )
        home = ORIGINS[id_number[:6]]
        residences: tuple[Residence, ...] = ()
        lapsed = id_number in keys.workers_without_residence
        if id_number in keys.earlier_plaintiff_ids or (
            lapsed and id_number not in keys.no_account_worker_ids  # those never registered
        ):
            registered = self.end - timedelta(days=rng.randint(200, 500))
            address = street_address(rng, self.site)
            residences = (
                residence(serial, 0, self.site, address, registered, SHORT_STAY, self.end),
            )
        elif not lapsed:
            registered = renewed_since(rng, entry, self.end)
            address = street_address(rng, self.site)
            residences = (residence(serial, 0, self.site, address, registered, RENEWED, self.end),)
        issued = entry - timedelta(days=rng.randint(100, 1500))
        certificates = (
            (
                Certificate(
                    f"S{issued:%Y}{serial:08d}",
                    team[1],
                    "中级工",
                    issued,
                    issued + CERTIFICATE_TERM,
                ),
            )
            if id_number == keys.dispute_worker_id or rng.random() < 0.5
            else ()
        )
        return Worker(
            id_number=id_number,
            name=name or person_name(rng, male),
            household_region_code=home.code,
            household_address=street_address(rng, home),
            employments=(
                Employment(
                    project_code=project.code,
                    employer_uscc=employer,
                    team=team[0],
                    trade=team[1],
                    entry_date=entry,
                    exit_date=exit_date,
                    daily_wage_fen=wage,
                    pay_day=project.pay_day,
                    contract=Contract(f"HT{entry:%Y%m%d}{serial:08d}1", entry, exit_date),
                    months=work,
                ),
            ),
            residences=residences,
            certificates=certificates,
            card=PayrollCard(card_number(STORY_BANK, serial), STORY_BANK.name, entry),
        )

    def allocations(
        self, project: Project, crew: Sequence[Worker], *, margin: bool
    ) -> Iterator[Allocation]:
        """What the builder transferred: 5% over the payroll due, or exactly what was paid."""
        if project.account is None:
            return
        for month in self.calendar:
            due = paid = 0
            for worker in crew:
                for employment in worker.employments:
                    for work in employment.months:
                        if work.month == month.first:
                            due += employment.due_fen(work)
                            if work.payment is not None and work.payment.status == "paid":
                                paid += work.payment.amount_fen
            amount = round_up(due * 21 // 20) if margin else paid
            if amount:
                yield Allocation(
                    project_code=project.code,
                    account_no=project.account.account_no,
                    payer_uscc=project.builder_uscc,
                    period=month.first,
                    transferred_on=month.first.replace(day=25),
                    amount_fen=amount,
                )
