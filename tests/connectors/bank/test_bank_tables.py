"""The bank's payroll file: back pay counts for the month it belongs to, and a stored row
reads back as the row the bank sent."""

from __future__ import annotations

import datetime

from connectors.bank.tables import DISBURSEMENTS, PAYROLL_SPEC
from ingest.report import Report
from ingest.validate import Validator

OCTOBER, AUGUST = datetime.date(2026, 10, 1), datetime.date(2026, 8, 1)
ROW = (
    "41410183202503171901", "P1", "张三", "341226196603139011", "6217000000990000006", OCTOBER,
    datetime.date(2026, 11, 5), 500_000, 480_000, "paid", 20, True, AUGUST, "TX1",
)  # fmt: skip


def test_back_pay_is_stored_under_the_month_it_belongs_to() -> None:
    stored = dict(zip(DISBURSEMENTS.written, DISBURSEMENTS.db_row()(ROW), strict=True))
    assert (stored["pay_month"], stored["period"], stored["is_back_pay"]) == (OCTOBER, AUGUST, True)
    assert DISBURSEMENTS.typed_row()(stored) == ROW


def test_regular_pay_is_its_payroll_month() -> None:
    regular = (*ROW[:11], False, None, None)
    stored = dict(zip(DISBURSEMENTS.written, DISBURSEMENTS.db_row()(regular), strict=True))
    assert stored["pay_month"] == stored["period"] == OCTOBER
    assert DISBURSEMENTS.typed_row()(stored) == regular


def test_back_pay_must_name_its_month_and_paid_may_not_exceed_due() -> None:
    report = Report("bank.disbursements")
    validator = Validator(PAYROLL_SPEC, report)
    header = [column.title for column in PAYROLL_SPEC.columns]
    validator.bind(header)
    cells = ["41410183202503171901", "P1", "张三", "341226196603139011", "6217000000990000006",
             "2026-10", "2026-11-05", "4000.00", "4800.00", "已发放", "20", "是", "", ""]  # fmt: skip
    assert list(validator.rows([(2, cells)])) == []
    reasons = {issue.reason_en for issue in report.issues()}
    assert "a back-pay row must name the month the pay belongs to" in reasons
    assert "the amount paid is more than the amount due" in reasons
