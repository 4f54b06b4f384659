"""Working days for work-order deadlines follow the State Council's holiday schedule: a
deadline across the Spring Festival skips its nine days off and counts the Saturday
worked before it; an adjusted working Saturday counts; a year without a calendar counts
Monday to Friday and says so; an operator's file adds a province's own days; opening and
escalating an order both count by it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from alerts.calendar import CHINA, CalendarError, WorkingDays
from alerts.kinds import Kind
from alerts.models import AlertEvent, WorkOrder
from alerts.settings import AlertSettings
from alerts.store import OPEN, AlertStore
from storage import migrate
from storage.database import Database


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A moment in China's time, as the store keeps it (UTC)."""
    return datetime(year, month, day, hour, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture(scope="module")
def official() -> WorkingDays:
    return WorkingDays.load()


def test_the_2026_schedule_is_the_state_councils(official: WorkingDays) -> None:
    assert 2026 in official.years
    assert not official.is_working(date(2026, 1, 1))
    assert official.is_working(date(2026, 1, 4))  # Sunday, worked
    assert [official.is_working(date(2026, 2, d)) for d in range(14, 25)] == [
        True, *[False] * 9, True,
    ]  # fmt: skip
    assert official.is_working(date(2026, 2, 28))  # Saturday, worked
    assert not official.is_working(date(2026, 5, 5))
    assert official.is_working(date(2026, 5, 9))
    assert not official.is_working(date(2026, 6, 19))
    assert not official.is_working(date(2026, 9, 25))
    assert official.is_working(date(2026, 9, 20))
    assert not any(official.is_working(date(2026, 10, d)) for d in range(1, 8))
    assert official.is_working(date(2026, 10, 10))
    assert "2026" in official.sources[0]


def test_a_deadline_across_the_spring_festival(official: WorkingDays) -> None:
    # Friday 13 February: Saturday 14th is worked, 15th-23rd are off, then Tue 24, Wed 25
    assert official.add_days(at(2026, 2, 13), 3) == at(2026, 2, 25)
    # opened on a day off, it counts from the first day back
    assert official.add_days(at(2026, 2, 18), 1) == at(2026, 2, 24)
    assert official.add_days(at(2026, 2, 18), 3) == at(2026, 2, 26)


def test_a_deadline_across_an_adjusted_working_saturday(official: WorkingDays) -> None:
    # Thursday 7 May: Friday 8th, Saturday 9th (worked, for the May Day holiday), Monday 11th
    assert official.add_days(at(2026, 5, 7), 3) == at(2026, 5, 11)
    # Friday 25 September (中秋) is off; Sunday 20th worked for National Day
    assert official.add_days(at(2026, 9, 18), 1) == at(2026, 9, 20)


def test_days_are_chinas_not_utcs(official: WorkingDays) -> None:
    """23:30 UTC on Friday 13 February is already Saturday the 14th in China."""
    late = datetime(2026, 2, 13, 23, 30, tzinfo=UTC)
    assert official.add_days(late, 1) == datetime(2026, 2, 23, 23, 30, tzinfo=UTC)


def test_a_year_without_a_calendar_counts_monday_to_friday_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = WorkingDays.load()
    assert 2027 not in calendar.years  # not published when this was written
    with caplog.at_level(logging.WARNING, logger="alerts.calendar"):
        # Thursday 4 February 2027: Friday, Monday, Tuesday (the Spring Festival unknown)
        assert calendar.add_days(at(2027, 2, 4), 3) == at(2027, 2, 9)
        assert calendar.add_days(at(2027, 3, 4), 3) == at(2027, 3, 9)
    warned = [r.getMessage() for r in caplog.records if "2027" in r.getMessage()]
    assert len(warned) == 1  # once a year, not once a day
    assert "Monday to Friday" in warned[0]
    # across the turn of the year: 31 December 2026 is a Thursday
    assert calendar.add_days(at(2026, 12, 30), 3) == at(2027, 1, 4)


def test_an_operators_file_adds_its_own_days(tmp_path: Path) -> None:
    local = tmp_path / "province.toml"
    local.write_text(
        'source = "某省人民政府办公厅通知（示例）"\n'
        "years = [2027]\n"
        'off = [{ name = "地方假日（示例）", from = 2026-03-03, to = 2026-03-04 },\n'
        '       { name = "2027 春节", from = 2027-02-06, to = 2027-02-14 }]\n'
        'work = [{ name = "调休", date = 2027-02-20 }]\n',
        encoding="utf-8",
    )
    calendar = WorkingDays.load(local)
    # Monday 2 March 2026: Thursday 5th is the next working day after the local days off
    assert calendar.add_days(at(2026, 3, 2), 1) == at(2026, 3, 5)
    assert 2027 in calendar.years
    # Friday 5 February 2027: off until the 14th, then Mon 15, Tue 16, …, Saturday 20 worked
    assert calendar.add_days(at(2027, 2, 5), 6) == at(2027, 2, 20)
    assert calendar.sources[-1] == "某省人民政府办公厅通知（示例）"


@pytest.mark.parametrize(
    "text",
    [
        "off = [{ from = 2026-03-04, to = 2026-03-03 }]",
        'work = [{ date = "2026-03-03" }]',
        "off = [",
    ],
)
def test_a_malformed_calendar_fails_at_start_up(tmp_path: Path, text: str) -> None:
    local = tmp_path / "bad.toml"
    local.write_text(text, encoding="utf-8")
    with pytest.raises(CalendarError, match=r"bad\.toml"):
        WorkingDays.load(local)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    store = AlertStore(Database(f"sqlite:///{tmp_path / 'alerts.db'}"), AlertSettings())
    migrate.upgrade([store])
    yield store
    store.close()


def test_orders_open_and_escalate_by_the_calendar(store: AlertStore) -> None:
    opened = at(2026, 2, 13)
    assert store.deadline(Kind.WORKER_UNPAID, opened) == at(2026, 2, 25)
    with store.engine.begin() as connection:
        event_id = connection.execute(
            insert(AlertEvent.__table__).values(  # type: ignore[attr-defined]
                key="k",
                kind=Kind.WORKER_UNPAID.value,
                region_code="410183",
                details="{}",
                raised_at=opened,
            )
        ).inserted_primary_key[0]
        order_id = connection.execute(
            insert(WorkOrder.__table__).values(  # type: ignore[attr-defined]
                event_id=event_id,
                kind=Kind.WORKER_UNPAID.value,
                agency="hr",
                region_code="410183",
                status=OPEN,
                deadline=at(2026, 2, 12),
                opened_at=opened,
            )
        ).inserted_primary_key[0]
    assert store.escalate_overdue(opened) == 1
    moved = store.order(order_id)
    assert (moved.region_code, moved.deadline) == ("410100", at(2026, 2, 25))
