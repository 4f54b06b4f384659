"""The world's workforce: random workers on a project's site, with everything that hangs off
them — employments with attendance and payroll, residence registrations, certificates and
payroll cards — and the builder's allocations into the project's special account.

`Workforce.worker` is the hot loop of the generator (a million calls at scale large), so it
is kept plain: pools of day masks, names and addresses are drawn once per world.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from kernel.regions import ORIGIN_COUNTIES, SITE_DISTRICTS, Region
from synthetic.documents import (
    BANKS,
    CERTIFICATE_TERM,
    ORIGINS,
    RENEWED,
    SHORT_STAY,
    SITES,
    Bank,
    IdentitySpace,
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
    Worker,
    WorkMonth,
)
from synthetic.months import Month, attendance_pools, last_day
from synthetic.names import TRADES, person_name, street_address, team_name
from synthetic.stories import DISTRICT_CODE

_TRADE_WAGES_YUAN: Final = {
    "钢筋工": 380, "木工": 400, "混凝土工": 330, "砌筑工": 350, "架子工": 370,
    "电工": 400, "焊工": 420, "抹灰工": 340, "油漆工": 320, "防水工": 330,
}  # fmt: skip
_LEVELS: Final = ("初级工", "中级工", "高级工")
_LEVEL_WEIGHTS: Final = (50, 35, 15)
_NAME_POOL: Final = 4096


@dataclass(slots=True)
class Site:
    """How one project runs in its batch: teams, habits, lapses, and its payroll totals."""

    project: Project
    region: Region
    bank: Bank  # where its workers hold their payroll cards
    teams: list[tuple[str, str, str, int]]  # team, trade, employer, daily wage (fen)
    contract_rate: float
    arrears: dict[int, float]  # month index -> share of workers unpaid or underpaid
    lumpy: bool  # allocates two months at once, every other month
    pay_dates: list[date]
    due: list[int]
    paid: list[int]
    owed: defaultdict[int, list[tuple[int, int]]]  # month index -> (worker serial, fen)


@dataclass(slots=True)
class Grievance:
    """A worker left owed wages before the through month: a candidate plaintiff."""

    worker: Worker
    project: Project
    months: list[date]
    owed_fen: int


class Workforce:
    """The workers of one world, drawn project by project from a batch's `random.Random`."""

    def __init__(
        self,
        shared: random.Random,
        workers: int,
        calendar: tuple[Month, ...],
        labour: list[str],
        completed: list[Project],
    ) -> None:
        self.calendar = calendar
        self.through_month = calendar[-1].first
        self.end = last_day(self.through_month)
        self.window_start = calendar[0].first
        self.labour = labour  # labour subcontractors' credit codes: the employers
        self.completed = completed  # projects where a worker may have been before
        self.pools = attendance_pools(shared)
        self.identities = IdentitySpace(shared)
        # Drawing from pools is ten times cheaper than composing a name or an address; a
        # pool of addresses per region means workers share dormitories and home villages.
        self.men = tuple(person_name(shared, True) for _ in range(_NAME_POOL))
        self.women = tuple(person_name(shared, False) for _ in range(_NAME_POOL // 4))
        pool = min(max(workers // 400, 64), 2048)
        self._addresses = {
            r.code: tuple(street_address(shared, r) for _ in range(pool))
            for r in (*SITE_DISTRICTS, *ORIGIN_COUNTIES)
        }

    def site(self, rng: random.Random, project: Project) -> Site:
        """How the project runs in this batch: its teams, employers, bank and lapses."""
        employers = rng.sample(self.labour, min(len(self.labour), rng.randint(1, 3)))
        teams = []
        for _ in range(rng.randint(2, 6)):
            trade = rng.choice(TRADES)
            wage = _TRADE_WAGES_YUAN.get(trade, 350) + rng.choice((-30, -20, -10, 0, 10, 20, 30))
            team = team_name(trade, rng.choice(self.men)[0])
            teams.append((team, trade, rng.choice(employers), wage * 100))
        arrears = {}
        if project.account is not None and rng.random() < 0.12:
            lapsed = rng.sample(
                range(len(self.calendar)), min(len(self.calendar), rng.randint(1, 2))
            )
            arrears = {month: rng.uniform(0.2, 0.6) for month in lapsed}
        months = len(self.calendar)
        return Site(
            project=project,
            region=SITES[project.region_code],
            bank=rng.choice(BANKS),
            teams=teams,
            contract_rate=1.0 if rng.random() < 0.85 else rng.uniform(0.5, 0.95),
            arrears=arrears,
            lumpy=rng.random() < 0.08,
            pay_dates=[month.pay_date(project.pay_day) for month in self.calendar],
            due=[0] * months,
            paid=[0] * months,
            owed=defaultdict(list),
        )

    def worker(
        self, rng: random.Random, serial: int, site: Site, grievances: list[Grievance]
    ) -> Worker:
        """A random worker on the site; the hot loop of the generator, so kept plain."""
        project = site.project
        id_number, male = self.identities.id_number(serial)
        home = ORIGINS[id_number[:6]]
        team, trade, employer, team_wage = rng.choice(site.teams)
        wage = min(max(team_wage + rng.choice((-2000, -1000, 0, 0, 1000, 2000)), 25_000), 45_000)
        entry, exit_date = self._tenure(rng, project)
        account_no = project.account.account_no if project.account is not None else None
        work = []
        owed_months: list[date] = []
        owed_fen = 0
        for month in self.calendar:
            span = month.span(entry, exit_date)
            mask = rng.choice(self.pools[month.last.day]) & span if span else 0
            if not mask:
                continue
            payment = None
            if account_no is not None:
                due = mask.bit_count() * wage
                amount, status = due, "paid"
                share = site.arrears.get(month.index)
                if share is not None and rng.random() < share:
                    amount = due * rng.randint(3, 8) // 10 if rng.random() < 0.4 else 0
                    site.owed[month.index].append((serial, due - amount))
                    if month.first < self.through_month:
                        owed_months.append(month.first)
                        owed_fen += due - amount
                else:
                    draw = rng.random()
                    if draw < 0.006:
                        status = "failed" if draw < 0.004 else "returned"
                site.due[month.index] += due
                if amount:
                    if status == "paid":
                        site.paid[month.index] += amount
                    payment = Payment(account_no, amount, site.pay_dates[month.index], status)
            work.append(WorkMonth(month.first, mask, payment))
        contract = None
        if rng.random() < site.contract_rate:
            signed = entry - timedelta(days=rng.randint(0, 3))
            contract = Contract(f"HT{entry:%Y%m%d}{serial:08d}1", signed, exit_date)
        current = Employment(
            project_code=project.code,
            employer_uscc=employer,
            team=team,
            trade=trade,
            entry_date=entry,
            exit_date=exit_date,
            daily_wage_fen=wage,
            pay_day=project.pay_day,
            contract=contract,
            months=tuple(work),
        )
        employments: tuple[Employment, ...] = (current,)
        residences = []
        earlier = self._earlier_employment(rng, serial, trade, wage, entry)
        if earlier is not None:
            employments = (earlier, current)
            registered = earlier.entry_date + timedelta(days=3)
            old_site = SITES[earlier.project_code[:6]]  # a permit number starts with its region
            address = self._address(rng, old_site)
            residences.append(
                residence(serial, 0, old_site, address, registered, SHORT_STAY, self.end)
            )
        # Xinmi pushes site registrations to the police: everyone there is registered.
        if site.region.code == DISTRICT_CODE or rng.random() >= 0.15:
            registered = renewed_since(rng, entry, self.end)
            address = self._address(rng, site.region)
            residences.append(
                residence(
                    serial, len(residences), site.region, address, registered, RENEWED, self.end
                )
            )
        elif rng.random() < 0.5:
            registered = self.end - timedelta(days=rng.randint(200, 500))
            address = self._address(rng, site.region)
            residences.append(
                residence(
                    serial, len(residences), site.region, address, registered, SHORT_STAY, self.end
                )
            )
        certificates: tuple[Certificate, ...] = ()
        if rng.random() < 0.35:
            issued = self.end - timedelta(days=rng.randint(60, 2500))
            level = rng.choices(_LEVELS, _LEVEL_WEIGHTS)[0]
            number = f"S{issued:%Y}{serial:08d}"
            certificates = (Certificate(number, trade, level, issued, issued + CERTIFICATE_TERM),)
        opened = employments[0].entry_date - timedelta(days=rng.randint(0, 10))
        worker = Worker(
            id_number=id_number,
            name=rng.choice(self.men if male else self.women),
            household_region_code=home.code,
            household_address=self._address(rng, home),
            employments=employments,
            residences=tuple(residences),
            certificates=certificates,
            card=PayrollCard(card_number(site.bank, serial), site.bank.name, opened),
        )
        if owed_fen:
            grievances.append(Grievance(worker, project, owed_months, owed_fen))
        return worker

    def _address(self, rng: random.Random, place: Region) -> str:
        return rng.choice(self._addresses[place.code])

    def _tenure(self, rng: random.Random, project: Project) -> tuple[date, date | None]:
        """Entry and exit: most entered before the window, a few leave during it."""
        if rng.random() < 0.7:
            earliest = max(
                project.start_date + timedelta(days=15), self.window_start - timedelta(days=540)
            )
            entry = earliest + timedelta(
                days=rng.randrange(max(1, (self.window_start - earliest).days))
            )
        else:
            span = (self.through_month - self.window_start).days + 20
            entry = self.window_start + timedelta(days=rng.randrange(span))
        if project.stopped_on is not None:
            before_stop = project.stopped_on - timedelta(days=rng.randint(5, 60))
            return max(min(entry, before_stop), project.start_date), project.stopped_on
        if rng.random() < 0.06:
            left_from = max(entry, self.window_start)
            stay = rng.randrange(max(1, (self.end - left_from).days))
            return entry, left_from + timedelta(days=stay)
        return entry, None

    def _earlier_employment(
        self, rng: random.Random, serial: int, trade: str, wage: int, before: date
    ) -> Employment | None:
        """For one worker in five, a registration on a completed project, ended before `before`."""
        if not self.completed or rng.random() >= 0.2:
            return None
        project = rng.choice(self.completed)
        assert project.stopped_on is not None
        entry = project.start_date + timedelta(days=rng.randint(30, 200))
        exit_date = min(entry + timedelta(days=rng.randint(60, 400)), project.stopped_on)
        if exit_date >= before:
            return None
        contract = None
        if rng.random() < 0.7:
            contract = Contract(f"HT{entry:%Y%m%d}{serial:08d}0", entry, exit_date)
        return Employment(
            project_code=project.code,
            employer_uscc=rng.choice(self.labour),
            team=team_name(trade, rng.choice(self.men)[0]),
            trade=trade,
            entry_date=entry,
            exit_date=exit_date,
            daily_wage_fen=max(wage - 2000, 25_000),  # a year or two ago
            pay_day=project.pay_day,
            contract=contract,
            months=(),
        )

    def allocations(self, rng: random.Random, site: Site) -> Iterator[Allocation]:
        """Labour costs the builder transferred: short in arrears months, else with a margin."""
        project, account = site.project, site.project.account
        if account is None:
            return
        for month in self.calendar:
            due = site.due[month.index]
            if month.index in site.arrears:
                amount = site.paid[month.index]
            elif site.lumpy:
                following = site.due[month.index + 1] if month.index + 1 < len(site.due) else 0
                amount = 0 if month.index % 2 else round_up((due + following) * 21 // 20)
            else:
                amount = round_up(due * rng.randint(100, 108) // 100)
            if amount:
                yield Allocation(
                    project_code=project.code,
                    account_no=account.account_no,
                    payer_uscc=project.builder_uscc,
                    period=month.first,
                    transferred_on=month.first.replace(day=rng.randint(20, 28)),
                    amount_fen=amount,
                )
