"""Housing's attendance sheet: the days present as the platform prints them, stored as the
day mask the graph reads."""

from __future__ import annotations

from connectors.housing.tables import ATTENDANCE, ATTENDANCE_SPEC
from ingest.report import Report
from ingest.validate import Validator


def _read(*cells: str) -> tuple[list[tuple[int, tuple[object, ...]]], Report]:
    report = Report("housing.attendance")
    validator = Validator(ATTENDANCE_SPEC, report)
    validator.bind(["身份证号", "项目编码", "考勤月份", "出勤日期", "出勤天数"])
    return list(validator.rows([(2, list(cells))])), report


def test_days_listed_become_the_mask_and_the_count() -> None:
    [(_, row)], _ = _read("341226196603139011", "P1", "2026-10", "1-3,5,8", "5")
    stored = dict(zip(ATTENDANCE.written, ATTENDANCE.db_row()(row), strict=True))
    assert stored["day_mask"] == 0b10010111
    assert stored["days_present"] == 5
    assert ATTENDANCE.typed_row()(stored) == row


def test_a_count_that_disagrees_with_the_days_is_refused() -> None:
    rows, report = _read("341226196603139011", "P1", "2026-10", "1-3", "5")
    assert rows == []
    [issue] = list(report.issues())
    assert issue.column == "出勤天数"
