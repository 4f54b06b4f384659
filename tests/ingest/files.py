"""Real files in real encodings for the ingest tests (no mocks of files or codecs)."""

from __future__ import annotations

import datetime
import io
from collections.abc import Sequence
from pathlib import Path

from connectors.bank.tables import PAYROLL_SPEC as BANK_PAYROLL
from ingest.readers import open_table
from ingest.report import Issue, Report
from ingest.tables import TableSpec
from ingest.validate import TypedRow, Validator
from kernel.identifiers import make_id_number

IDS = [
    make_id_number("341221", datetime.date(1975 + i, 1 + i % 12, 1 + i), 101 + 2 * i)
    for i in range(9)
]
PAYROLL_HEADER = "专户账号,项目编码,姓名,身份证号,工资卡号,发放月份,发放日期,实发金额(元),发放状态"


def payroll_line(i: int = 0, **changes: str) -> str:
    cells = {
        "account": "6222000011112222333",
        "project": "P-001",
        "name": "张三",
        "id": IDS[i],
        "card": f"621700001111{2220 + i}",
        "month": "2026-09",
        "paid_on": "2026/10/10",
        "amount": "7000.00",
        "status": "已发放",
    }
    cells.update(changes)
    return ",".join(cells.values())


def payroll_csv(*lines: str, header: str = PAYROLL_HEADER) -> str:
    return "\n".join((header, *lines)) + "\n"


def run(
    data: bytes | Path,
    table: TableSpec = BANK_PAYROLL,
    **options: object,
) -> tuple[list[tuple[int, TypedRow]], Report]:
    """Open, validate to the end and return the valid rows and the report."""
    report = Report(f"{table.agency}.{table.name}")
    validator = Validator(table, report)
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    with open_table(source, is_header=validator.is_header, **options) as raw:  # type: ignore[arg-type]
        rows = list(validator.read(raw))
        report.sha256 = raw.sha256
    return rows, report


def errors(report: Report) -> list[Issue]:
    return [issue for issue in report.issues() if issue.severity == "error"]


def only(issues: Sequence[Issue]) -> Issue:
    assert len(issues) == 1, issues
    return issues[0]
