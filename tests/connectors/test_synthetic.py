"""The synthetic world: deterministic, valid, consistent across agencies, with its stories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from itertools import islice

import pytest

from kernel.identifiers import (
    id_number_is_male,
    validate_case_number,
    validate_id_number,
    validate_uscc,
)
from kernel.regions import court_code
from synthetic.names import named_male
from synthetic.stories import (
    COMMITTEE,
    DISPUTE_DAILY_WAGE_FEN,
    DISPUTE_DAYS,
    DISPUTE_PAID_FEN,
    DISPUTE_WORKER_NAME,
    DISTRICT_CODE,
    STORY_ORDER_CODES_FROM,
    Stories,
    add_months,
    stories,
)
from synthetic.world import (
    DEFAULT_THROUGH_MONTH,
    SCALES,
    Employment,
    Enterprise,
    Project,
    Worker,
    WorldBatch,
    generate,
)

T = DEFAULT_THROUGH_MONTH
T_END = add_months(T, 1) - timedelta(days=1)


@dataclass
class World:
    """A whole generated world, indexed the way the agencies would join it."""

    batches: list[WorldBatch]

    @cached_property
    def workers(self) -> dict[str, Worker]:
        return {w.id_number: w for b in self.batches for w in b.workers}

    @cached_property
    def projects(self) -> dict[str, Project]:
        return {p.code: p for b in self.batches for p in b.projects}

    @cached_property
    def enterprises(self) -> dict[str, Enterprise]:
        return {e.uscc: e for b in self.batches for e in b.enterprises}

    def all(self, kind: str) -> list:  # type: ignore[type-arg]
        return [fact for batch in self.batches for fact in getattr(batch, kind)]

    def crew(self, code: str) -> list[tuple[Worker, Employment]]:
        return [
            (w, e) for w in self.workers.values() for e in w.employments if e.project_code == code
        ]

    def allocated(self, code: str, month: date) -> int:
        return sum(
            a.amount_fen
            for a in self.all("allocations")
            if a.project_code == code and a.period == month
        )


@pytest.fixture(scope="module")
def demo() -> World:
    return World(list(generate("demo", 42)))


@pytest.fixture(scope="module")
def small() -> World:
    return World(list(generate("small", 42)))


@pytest.fixture(scope="module")
def small_by_1000() -> list[WorldBatch]:
    """The small world in batches of about 1,000 workers."""
    return list(generate("small", 42, batch_size=1000))


@pytest.fixture(scope="module")
def keys() -> Stories:
    return stories(42)


def _unique(values: Iterable[object]) -> bool:
    counts = Counter(values)
    return not [value for value, count in counts.items() if count > 1]


# --- determinism and scale --------------------------------------------------------------


def test_same_seed_gives_identical_batches(demo: World) -> None:
    assert list(generate("demo", 42)) == demo.batches


def test_different_seed_gives_a_different_world(demo: World) -> None:
    other = World(list(generate("demo", 43)))
    assert set(other.workers).isdisjoint(set(demo.workers) - set(stories(42).worker_ids))
    assert other.batches[0].enterprises != demo.batches[0].enterprises


def test_batches_are_independent_of_each_other(small_by_1000: list[WorldBatch]) -> None:
    """Batch k depends on the seed and k only: a later batch is the same however reached.
    (Up to that batch: the world's later batches are not needed to make it.)"""
    again = list(islice(generate("small", 42, batch_size=1000), 4))
    assert len(again) == 4
    assert small_by_1000[3] == again[3]


@pytest.mark.parametrize("scale", ["demo", "small"])
def test_scale_sizes(scale: str, demo: World, small: World) -> None:
    world = demo if scale == "demo" else small
    size = SCALES[scale]
    assert len(world.workers) == size.workers
    assert len(world.projects) == size.projects
    assert len(world.enterprises) == size.enterprises
    assert len(world.all("cases")) == size.cases
    assert world.batches[0].months == tuple(
        add_months(T, k - size.months + 1) for k in range(size.months)
    )


@pytest.mark.parametrize("scale", ["medium", "large"])
def test_reference_data_of_big_scales(scale: str) -> None:
    first = next(generate(scale, 42))
    assert len(first.projects) == SCALES[scale].projects
    assert len(first.enterprises) == SCALES[scale].enterprises
    assert len(first.months) == SCALES[scale].months


def test_batches_stay_near_the_batch_size(small_by_1000: list[WorldBatch]) -> None:
    batches = small_by_1000
    assert all(len(b.workers) <= 1000 + 400 for b in batches)
    assert sum(len(b.workers) for b in batches) == SCALES["small"].workers
    assert all(not b.projects and not b.enterprises for b in batches[1:])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="scale 'huge'"):
        next(generate("huge", 42))
    with pytest.raises(ValueError, match="1st of a month"):
        next(generate("demo", 42, date(2026, 10, 15)))


# --- identifiers ------------------------------------------------------------------------


def test_every_key_validates_and_is_unique(small: World) -> None:
    workers = small.workers.values()
    assert len(small.workers) == sum(len(b.workers) for b in small.batches)
    assert all(validate_id_number(w.id_number) == w.id_number for w in workers)
    assert len(small.enterprises) == sum(len(b.enterprises) for b in small.batches)
    assert all(validate_uscc(uscc) == uscc for uscc in small.enterprises)
    cases = small.all("cases")
    assert all(validate_case_number(c.case_number) == c.case_number for c in cases)
    employments = [e for w in workers for e in w.employments]
    assert _unique(c.case_number for c in cases)
    assert _unique(p.code for b in small.batches for p in b.projects)
    assert _unique(e.contract.contract_no for e in employments if e.contract)
    assert _unique(r.registration_no for w in workers for r in w.residences)
    assert _unique(c.certificate_no for w in workers for c in w.certificates)
    assert _unique(w.card.card_no for w in workers)
    assert _unique(c.complaint_no for c in small.all("complaints"))
    assert _unique(b.decision_no for b in small.all("blacklist"))
    assert _unique(p.account.account_no for p in small.projects.values() if p.account)


def test_project_codes_are_permit_numbers(small: World) -> None:
    for project in small.projects.values():
        assert len(project.code) == 18
        assert project.code.isdigit()
        assert project.code[:6] == project.region_code
        assert date.fromisoformat(project.code[6:14]) <= project.start_date


def test_card_numbers_pass_the_luhn_check(small: World) -> None:
    def luhn_ok(number: str) -> bool:
        digits = [int(d) for d in reversed(number)]
        doubled = [d * 2 - 9 if d * 2 > 9 else d * 2 for d in digits[1::2]]
        return (sum(digits[::2]) + sum(doubled)) % 10 == 0

    assert all(luhn_ok(w.card.card_no) for w in small.workers.values())


def test_story_workers_never_collide_with_random_ones(small: World, keys: Stories) -> None:
    story = set(keys.worker_ids)
    assert len(story) == len(keys.worker_ids)
    for id_number in small.workers:
        assert (int(id_number[14:17]) >= STORY_ORDER_CODES_FROM) == (id_number in story)


def test_names_and_genders_agree(demo: World, keys: Stories) -> None:
    assert demo.workers[keys.dispute_worker_id].name == DISPUTE_WORKER_NAME
    assert id_number_is_male(keys.dispute_worker_id)
    story = set(keys.worker_ids)
    for id_number, worker in demo.workers.items():
        if id_number not in story:
            assert named_male(worker.name) == id_number_is_male(id_number), worker.name


# --- cross-agency consistency -----------------------------------------------------------


def test_attendance_and_payroll_fall_within_the_registration(small: World) -> None:
    for worker in small.workers.values():
        for employment in worker.employments:
            project = small.projects[employment.project_code]
            assert project.start_date <= employment.entry_date
            assert employment.exit_date is None or employment.entry_date <= employment.exit_date
            for work in employment.months:
                last = add_months(work.month, 1) - timedelta(days=1)
                assert employment.entry_date <= last
                assert employment.exit_date is None or work.month <= employment.exit_date
                assert 0 < work.day_mask < 1 << last.day
                first_day = employment.entry_date.day if employment.entry_date > work.month else 1
                assert work.day_mask & ((1 << (first_day - 1)) - 1) == 0
                if employment.exit_date is not None and employment.exit_date < last:
                    assert work.day_mask >> employment.exit_date.day == 0
                if work.payment is not None:
                    assert project.account is not None
                    assert work.payment.account_no == project.account.account_no
                    assert work.payment.paid_on > last
                    assert work.payment.amount_fen <= employment.due_fen(work)


def test_wages_are_250_to_450_yuan_a_day(small: World) -> None:
    wages = [e.daily_wage_fen for w in small.workers.values() for e in w.employments]
    assert min(wages) >= 25_000
    assert max(wages) <= 45_000
    assert all(e.pay_day in range(1, 29) for w in small.workers.values() for e in w.employments)


def test_full_months_have_15_to_26_days(small: World) -> None:
    counts = Counter(
        work.days_present
        for worker in small.workers.values()
        for employment in worker.employments
        if employment.entry_date < DEFAULT_THROUGH_MONTH - timedelta(days=200)
        and employment.exit_date is None
        for work in employment.months
    )
    assert counts
    assert min(counts) >= 15
    assert max(counts) <= 26


def test_references_between_facts_resolve(small: World) -> None:
    kinds = {uscc: e.kind for uscc, e in small.enterprises.items()}
    for project in small.projects.values():
        assert kinds[project.builder_uscc] == "builder"
        assert kinds[project.contractor_uscc] == "general_contractor"
    for worker in small.workers.values():
        for employment in worker.employments:
            assert kinds[employment.employer_uscc] == "labour_subcontractor"
    for allocation in small.all("allocations"):
        account = small.projects[allocation.project_code].account
        assert account is not None
        assert allocation.account_no == account.account_no
    for entry in small.all("blacklist"):
        assert entry.enterprise_uscc in small.enterprises
    for complaint in small.all("complaints"):
        assert complaint.project_code in small.projects
        assert complaint.worker_id_number is None or complaint.worker_id_number in small.workers


def test_every_case_party_exists(small: World) -> None:
    for case in small.all("cases"):
        assert case.project_code in small.projects
        assert case.court_code == court_code(small.projects[case.project_code].region_code)
        assert case.disputed_months == tuple(sorted(case.disputed_months))
        roles = Counter(party.role for party in case.parties)
        assert roles["plaintiff"] >= 1
        assert roles["defendant"] >= 1
        for party in case.parties:
            if party.role == "plaintiff":
                assert party.id_number in small.workers
                assert small.workers[party.id_number].name == party.name
            else:
                assert party.uscc in small.enterprises
                assert small.enterprises[party.uscc].name == party.name
        assert case.filed_on <= T_END
        assert case.closed_on is None or case.filed_on <= case.closed_on <= T_END


def test_lapses_occur_but_most_projects_comply(small: World) -> None:
    projects = list(small.projects.values())
    share = len([p for p in projects if p.account is None]) / len(projects)
    assert 0.01 < share < 0.2
    assert any(not p.rights_notice_board for p in projects)
    assert any(p.deposit is None for p in projects)
    payments = [w.payment for b in small.batches for _, _, w in b.work_months() if w.payment]
    statuses = Counter(payment.status for payment in payments)
    assert statuses["paid"] > 0.95 * len(payments)
    assert statuses["failed"]
    assert statuses["returned"]
    active = [w for w in small.workers.values() if w.employments[-1].exit_date is None]
    lacking = [w for w in active if not any(r.valid_on(T_END) for r in w.residences)]
    assert 0.08 < len(lacking) / len(active) < 0.22


# --- the planted stories ----------------------------------------------------------------


def test_stories_are_the_same_at_every_scale(demo: World, small: World, keys: Stories) -> None:
    assert demo.batches[0].workers == small.batches[0].workers
    assert demo.batches[0].cases == small.batches[0].cases
    assert stories(42) == keys
    assert stories(7) != keys
    assert stories(7).dispute_case_number == keys.dispute_case_number


def test_dispute_story(demo: World, keys: Stories) -> None:
    case = next(c for c in demo.all("cases") if c.case_number == keys.dispute_case_number)
    assert case.case_number == "（2026）豫0183民初1024号"
    assert case.filed_on.replace(day=1) == T
    assert (case.kind, case.cause, case.status) == ("litigation", "追索劳动报酬纠纷", "filed")
    assert case.project_code == keys.arrears_project_code
    assert (
        case.disputed_months
        == keys.disputed_months
        == (
            date(2026, 7, 1),
            date(2026, 8, 1),
            date(2026, 9, 1),
        )
    )
    plaintiffs = [p for p in case.parties if p.role == "plaintiff"]
    assert [(p.id_number, p.name) for p in plaintiffs] == [(keys.dispute_worker_id, "张建国")]
    assert keys.blacklisted_contractor_uscc in {
        p.uscc for p in case.parties if p.role == "defendant"
    }
    (mediation,) = case.mediations
    assert (mediation.committee, mediation.outcome) == (COMMITTEE, "failed")
    assert COMMITTEE == "新密市建筑业劳资纠纷人民调解委员会"
    assert mediation.held_on < case.filed_on

    (employment,) = demo.workers[keys.dispute_worker_id].employments
    assert employment.project_code == keys.arrears_project_code
    assert employment.contract is not None
    assert employment.daily_wage_fen == DISPUTE_DAILY_WAGE_FEN == 35_000
    disputed = [w for w in employment.months if w.month in keys.disputed_months]
    assert [w.days_present for w in disputed] == list(DISPUTE_DAYS) == [22, 21, 20]
    paid = [w.payment.amount_fen if w.payment else 0 for w in disputed]
    assert paid == list(DISPUTE_PAID_FEN)
    assert paid[0] == 22 * 35_000
    assert paid[1] == 21 * 35_000 // 2
    assert case.claim_amount_fen == sum(employment.due_fen(w) for w in disputed) - sum(paid)


def test_earlier_cases_against_the_contractor(demo: World, keys: Stories) -> None:
    cases = {c.case_number: c for c in demo.all("cases")}
    assert keys.earlier_case_numbers == ("（2024）豫0183民初356号", "（2025）豫0183民初1187号")
    for number in keys.earlier_case_numbers:
        case = cases[number]
        assert case.status == "closed"
        assert case.judgment is not None
        assert case.closed_on is not None
        assert keys.blacklisted_contractor_uscc in {p.uscc for p in case.parties}
        assert case.filed_on.year == int(number[1:5])
        for party in case.parties:
            assert party.uscc in demo.enterprises or party.id_number in demo.workers


def test_blacklisted_contractor(demo: World, keys: Stories) -> None:
    contractor = demo.enterprises[keys.blacklisted_contractor_uscc]
    assert contractor.kind == "general_contractor"
    assert contractor.credit_grade == "D"
    assert contractor.credit_score < 60
    entries = [b for b in demo.all("blacklist") if b.enterprise_uscc == contractor.uscc]
    assert len(entries) == 1
    assert entries[0].removed_on is None
    assert entries[0].listed_on <= T_END
    assert demo.projects[keys.arrears_project_code].contractor_uscc == contractor.uscc


def _attended_in(world: World, code: str, month: date) -> list[tuple[Worker, Employment, int]]:
    """(worker, employment, paid fen with status paid) of everyone present on the project."""
    return [
        (
            worker,
            employment,
            sum(
                w.payment.amount_fen
                for w in employment.months
                if w.month == month and w.payment and w.payment.status == "paid"
            ),
        )
        for worker, employment in world.crew(code)
        if any(w.month == month and w.days_present for w in employment.months)
    ]


def test_arrears_story(demo: World, keys: Stories) -> None:
    project = demo.projects[keys.arrears_project_code]
    assert project.region_code == DISTRICT_CODE
    assert project.account is not None
    present = _attended_in(demo, project.code, T)
    unpaid = {w.id_number for w, _, paid in present if not paid}
    assert unpaid == set(keys.unpaid_worker_ids)
    assert len(keys.unpaid_worker_ids) == 5
    for worker, employment, paid in present:
        assert employment.exit_date is None
        if worker.id_number not in unpaid:
            (work,) = [w for w in employment.months if w.month == T]
            assert paid == employment.due_fen(work)
    due = sum(e.due_fen(w) for _, e in demo.crew(project.code) for w in e.months if w.month == T)
    assert demo.allocated(project.code, T) < due


def _lapses(world: World, code: str, month: date) -> set[str]:
    """The nine measures (see stories.py) this project fails in `month`."""
    project = world.projects[code]
    end = add_months(month, 1) - timedelta(days=1)
    crew = world.crew(code)
    active = [
        (w, e)
        for w, e in crew
        if e.entry_date <= end and (e.exit_date is None or e.exit_date >= end)
    ]
    works = [(e, w) for _, e in crew for w in e.months if w.month == month]
    due = sum(e.due_fen(w) for e, w in works)
    paid_in_full = all(
        w.payment is not None
        and w.payment.status == "paid"
        and w.payment.amount_fen >= e.due_fen(w)
        for e, w in works
    )
    measures = {
        "board": project.rights_notice_board,
        "account": project.account is not None,
        "registration": bool(active),
        "contracts": all(e.contract is not None for _, e in active),
        "deposit": project.deposit is not None and project.deposit.status == "paid",
        "guarantee": project.payment_guarantee,
        "allocations": project.account is not None and world.allocated(code, month) >= due,
        "attendance": all(any(w.month == month for w in e.months) for _, e in active),
        "wages": project.account is not None and paid_in_full,
    }
    return {name for name, held in measures.items() if not held}


def test_three_colour_stories(demo: World, keys: Stories) -> None:
    assert _lapses(demo, keys.compliant_project_code, T) == set()
    assert _lapses(demo, keys.blue_project_code, T) == {"board"}
    assert _lapses(demo, keys.no_account_project_code, T) == {"account", "allocations", "wages"}
    assert {"wages", "allocations"} <= _lapses(demo, keys.arrears_project_code, T)
    assert "account" not in _lapses(demo, keys.arrears_project_code, T)
    for code in (keys.compliant_project_code, keys.blue_project_code, keys.no_account_project_code):
        assert demo.projects[code].region_code == DISTRICT_CODE


def test_no_account_project_has_no_bank_records(demo: World, keys: Stories) -> None:
    code = keys.no_account_project_code
    assert all(not w.payment for _, e in demo.crew(code) for w in e.months)
    assert not [a for a in demo.all("allocations") if a.project_code == code]
    assert len(demo.crew(code)) == len(keys.no_account_worker_ids)


@pytest.mark.parametrize("scale", ["demo", "small"])
def test_workers_without_residence(scale: str, demo: World, small: World, keys: Stories) -> None:
    world = demo if scale == "demo" else small
    lacking = {
        worker.id_number
        for worker in world.workers.values()
        for employment in worker.employments
        if employment.exit_date is None
        and world.projects[employment.project_code].region_code == DISTRICT_CODE
        and not any(r.valid_on(T_END) for r in worker.residences)
    }
    assert lacking == set(keys.workers_without_residence)
    assert len(keys.workers_without_residence) == 3


def test_stories_follow_the_through_month() -> None:
    through = date(2025, 6, 1)
    keys = stories(42, through)
    assert keys.disputed_months == (date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1))
    assert keys.dispute_case_number == "（2025）豫0183民初1024号"
    first = next(generate("demo", 42, through))
    assert keys.dispute_case_number in {c.case_number for c in first.cases}
    assert set(keys.earlier_case_numbers) <= {c.case_number for c in first.cases}
