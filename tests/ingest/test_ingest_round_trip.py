"""Exports read back through the readers and the validator give the same typed rows."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

import pytest
from files import IDS, run

from connectors.bank.tables import PAYROLL_SPEC as BANK_PAYROLL
from connectors.hr.tables import BLACKLIST_SPEC as HR_BLACKLIST
from ingest import values
from ingest.readers import open_table
from ingest.report import Issue, Report
from ingest.tables import ColumnSpec, TableSpec, data_dictionary
from ingest.validate import TypedRow
from ingest.writers import csv_cell, write_csv, write_jsonl, write_xlsx
from kernel.identifiers import make_uscc

D = datetime.date
PAYROLL: list[TypedRow] = [
    ("6222000011112222333", "P-001", "张三", IDS[0], "6217000011112220", D(2026, 9, 1),
     D(2026, 10, 10), 750000, 700050, "paid", 22, False, None, "TX0001"),
    ("6222000011112222333", "P-001", "阿依古丽·买买提", IDS[1], "6217000011112221", D(2026, 9, 1),
     D(2026, 10, 10), None, 1, "returned", None, True, D(2026, 7, 1), None),
    ("6222000011112222333", "P-002", "O'Brien, \"Jr\"", IDS[2], "6217000011112222", D(2026, 9, 1),
     D(2026, 10, 11), 123456789012, 123456789012, "failed", 0, None, None, "a,b \"c\""),
]  # fmt: skip
BLACKLIST: list[TypedRow] = [
    ("豫人社黑〔2026〕1号", make_uscc("410105", 1), "某建筑劳务有限公司", "王五", IDS[3], "410105",
     3_000_000, "拖欠 12 名农民工工资", D(2026, 3, 1), None),
    ("豫人社黑〔2026〕2号", make_uscc("410183", 2), "另一公司", "赵六", None, "410183", None,
     "拒不支付", D(2025, 1, 2), D(2026, 1, 2)),
]  # fmt: skip


def typed(rows: list[tuple[int, TypedRow]]) -> list[TypedRow]:
    return [values for _, values in rows]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
@pytest.mark.parametrize(("table", "rows"), [(BANK_PAYROLL, PAYROLL), (HR_BLACKLIST, BLACKLIST)])
def test_csv_round_trip(encoding: str, table: object, rows: list[TypedRow]) -> None:
    out = io.BytesIO()
    assert write_csv(out, table, rows, encoding) == len(rows)  # type: ignore[arg-type]
    back, report = run(out.getvalue(), table=table)  # type: ignore[arg-type]
    assert report.ok, list(report.issues())
    assert typed(back) == rows


@pytest.mark.parametrize(("table", "rows"), [(BANK_PAYROLL, PAYROLL), (HR_BLACKLIST, BLACKLIST)])
def test_xlsx_round_trip(tmp_path: Path, table: object, rows: list[TypedRow]) -> None:
    path = tmp_path / "export.xlsx"
    assert write_xlsx(path, table, rows) == len(rows)  # type: ignore[arg-type]
    back, report = run(path, table=table)  # type: ignore[arg-type]
    assert report.ok, list(report.issues())
    assert typed(back) == rows


@pytest.mark.parametrize(("table", "rows"), [(BANK_PAYROLL, PAYROLL), (HR_BLACKLIST, BLACKLIST)])
def test_jsonl_round_trip(table: object, rows: list[TypedRow]) -> None:
    out = io.BytesIO()
    write_jsonl(out, table, rows)  # type: ignore[arg-type]
    back, report = run(out.getvalue(), table=table)  # type: ignore[arg-type]
    assert report.ok, list(report.issues())
    assert typed(back) == rows


def test_csv_export_headers_are_the_chinese_titles_and_values_as_people_write_them() -> None:
    out = io.BytesIO()
    write_csv(out, BANK_PAYROLL, PAYROLL[:1], "gb18030")
    lines = list(csv.reader(io.StringIO(out.getvalue().decode("gb18030"))))
    assert lines[0][:4] == ["专户账号", "项目编码", "姓名", "公民身份号码"]
    assert lines[1][5:12] == ["2026-09", "2026-10-10", "7500.00", "7000.50", "已发放", "22", "否"]


def test_timestamps_round_trip_in_every_format(tmp_path: Path) -> None:
    table = TableSpec(
        "housing", "attendance", "考勤", key=("id_number", "at"),
        columns=(ColumnSpec("id_number", "公民身份号码", values.id_number()),
                 ColumnSpec("at", "考勤时间", values.timestamp())),
    )  # fmt: skip
    rows = [(IDS[0], datetime.datetime(2026, 9, 1, 0, 30, 5, tzinfo=datetime.UTC))]
    out = io.BytesIO()
    write_csv(out, table, rows)
    assert "2026-09-01 08:30:05" in out.getvalue().decode("utf-8-sig")
    assert typed(run(out.getvalue(), table=table)[0]) == rows
    out = io.BytesIO()
    write_jsonl(out, table, rows)
    assert typed(run(out.getvalue(), table=table)[0]) == rows
    write_xlsx(tmp_path / "t.xlsx", table, rows)
    assert typed(run(tmp_path / "t.xlsx", table=table)[0]) == rows


def test_csv_cells_that_could_run_are_prefixed_but_numbers_are_not() -> None:
    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("-12.50") == "-12.50"
    assert csv_cell("+86 138") == "'+86 138"
    assert csv_cell("张三") == "张三"


def test_xlsx_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    table = TableSpec("t", "t", "t", key=(), columns=(ColumnSpec("note", "备注", values.text()),))
    write_xlsx(tmp_path / "f.xlsx", table, [("=1+1",)])
    with open_table(tmp_path / "f.xlsx") as raw:
        assert [cells for _, cells in raw.rows] == [["=1+1"]]


# --- report rendering -------------------------------------------------------------------------


def test_report_csv_is_excel_friendly_and_formula_safe() -> None:
    report = Report("bank.disbursements")
    report.add(Issue(7, "姓名", '=HYPERLINK("x")', "starts like a formula", "以公式字符开头"))
    report.add(Issue(9, "发放状态", "-1", "negative", "负数", "warning"))
    out = io.StringIO(newline="")
    report.write_csv(out)
    text = out.getvalue()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1] == [
        "7",
        "姓名",
        '\'=HYPERLINK("x")',
        "错误 error",
        "以公式字符开头",
        "starts like a formula",
    ]
    assert rows[2][2:4] == ["'-1", "警告 warning"]
    assert (report.errors, report.warnings) == (1, 1)
    report.close()


def test_report_json_for_machines() -> None:
    report = Report("bank.disbursements", source="payroll.csv", sha256="ab" * 32)
    report.rows_read, report.rows_valid, report.rows_rejected = 3, 2, 1
    report.add(Issue(3, "实发金额(元)", "7000.123", "three decimals", "三位小数"))
    report.lap("validate")
    out = io.StringIO()
    report.write_json(out)
    document = json.loads(out.getvalue())
    assert document["rowsRead"] == 3
    assert document["errors"] == 1
    assert not document["fileRefused"]
    assert document["issues"] == [
        {"row": 3, "column": "实发金额(元)", "value": "7000.123", "severity": "error",
         "reasonEn": "three decimals", "reasonZh": "三位小数"}
    ]  # fmt: skip
    assert set(document["seconds"]) == {"validate"}


def test_many_issues_are_spooled_not_held() -> None:
    report = Report("t")
    for row in range(30_000):
        report.add(Issue(row, "c", "v" * 40, "reason", "原因"))
    assert report._spool is not None
    assert report._spool._rolled
    assert sum(1 for _ in report.issues()) == 30_000
    report.close()


# --- the data dictionary ----------------------------------------------------------------------


def test_dictionary_lists_every_column_with_its_headers_type_unit_and_values() -> None:
    text = data_dictionary(BANK_PAYROLL)
    for column in BANK_PAYROLL.columns:
        assert f"`{column.name}`" in text
        for synonym in column.synonyms:
            assert f"`{synonym}`" in text
    assert "| 元 / yuan |" in text
    assert "paid (已发放 / 发放成功 / 成功 / 已支付 / success / succeeded)" in text
    assert "natural key: 项目编码 `project_code`、公民身份号码 `worker_id_number`" in text
