"""A table of bad files, each imported whole into real stores (SQLite and PostgreSQL): each
is refused or reported at the right row and column, and nothing is half-written — every
data table holds exactly what it held before (the registry records the refusal).

The "2 GB file" is a sparse 2 GiB file (no disk used: `truncate`), refused at its first
row without being read through; an XLSX whose sheet holds 200 MiB of cell data (about 1 MB
compressed) is refused from its zip directory before anything is parsed; bodies over the
HTTP limit are refused with 413 (tests/hub/test_ingest_http.py); memory on a million rows
is the benchmark's (bench/ingest_import.py).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.bank.tables import ACCOUNTS, DISBURSEMENTS
from hub_support import WORKERS, Stores, account_row, make_stores, pay_row, write


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stores:
    made = make_stores(request.param, tmp_path_factory.mktemp(request.param), "ingest_bad")
    path = tmp_path_factory.mktemp("accounts") / "accounts.csv"
    assert made.run("bank", "accounts", write(path, ACCOUNTS.spec, [account_row()])).applied
    return made


def _payroll(tmp: Path, edit: Callable[[list[str]], None], name: str = "payroll.csv") -> Path:
    """A good payroll file (three workers) in UTF-8, with its lines edited."""
    path = write(tmp / name, DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS[:3]])
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def _replace(row: int, old: str, new: str) -> Callable[[list[str]], None]:
    def edit(lines: list[str]) -> None:
        assert old in lines[row - 1]
        lines[row - 1] = lines[row - 1].replace(old, new, 1)

    return edit


def _gb18030(tmp: Path) -> Path:
    return write(tmp / "gb.csv", DISBURSEMENTS.spec, [pay_row()], "gb18030")


def _bad_id(lines: list[str]) -> None:
    good = WORKERS[1]
    check = "0" if good[-1] != "0" else "1"
    lines[2] = lines[2].replace(good, good[:-1] + check)


def _duplicate(lines: list[str]) -> None:
    lines.append(lines[1])


def _missing_columns(lines: list[str]) -> None:
    for index, line in enumerate(lines):
        lines[index] = ",".join(line.split(",")[:8])  # no 实发金额, 发放状态 and after


def _ragged(lines: list[str]) -> None:
    lines[3] = lines[3].rsplit(",", 3)[0]


def _truncated_xlsx(tmp: Path) -> Path:
    path = write(tmp / "payroll.xlsx", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _huge_sheet(tmp: Path) -> Path:
    """An XLSX whose sheet part holds 200 MiB of XML (compressed to about a megabyte)."""
    path = tmp / "huge.xlsx"
    chunk = (b"<row><c t='inlineStr'><is><t>x</t></is></c></row>" * 1300)[: 1 << 16]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for _ in range(200 << 20 >> 16):
                sheet.write(chunk)
    return path


def _sparse_2gb(tmp: Path) -> Path:
    path = tmp / "huge.csv"
    with path.open("wb") as file:
        file.truncate(2 << 30)  # a hole: no block is written
    return path


def _jsonl(tmp: Path) -> Path:
    path = write(tmp / "p.jsonl", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS[:2]])
    path.write_text(path.read_text() + '["not", "an", "object"]\n', encoding="utf-8")
    return path


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]
    row: int | None
    column: str | None
    reason: str
    options: tuple[tuple[str, object], ...] = ()


CASES = [
    Case("wrong encoding", _gb18030, 1, None, "--encoding gb18030", (("encoding", "utf-8"),)),
    Case(
        "yuan with three decimals",
        lambda tmp: _payroll(tmp, _replace(3, "7000.00", "7000.001")),
        3, "实发金额", "more than two decimals",
    ),
    Case(
        "unknown status",
        lambda tmp: _payroll(tmp, _replace(4, "已发放", "已入账")),
        4, "发放状态", "not one of the accepted values",
    ),
    Case("bad ID checksum", lambda tmp: _payroll(tmp, _bad_id), 3, "公民身份号码", "check"),
    Case("duplicate key", lambda tmp: _payroll(tmp, _duplicate), 5, None, "same key"),
    Case("missing columns", lambda tmp: _payroll(tmp, _missing_columns), 1, None, "实发金额"),
    Case("ragged row", lambda tmp: _payroll(tmp, _ragged), 4, None, "cells"),
    Case(
        "formula injection",
        lambda tmp: _payroll(tmp, _replace(2, "张三", '"=HYPERLINK(""http://x.example"",""领取"")"')),
        2, "姓名", "formula",
    ),
    Case("truncated XLSX", _truncated_xlsx, None, None, "damaged or incomplete"),
    Case("200 MiB XLSX sheet", _huge_sheet, None, None, "send it as CSV"),
    Case("2 GiB sparse file", _sparse_2gb, 1, None, "malformed"),
    Case("JSON Lines with a non-object", _jsonl, 3, None, "JSON object"),
]  # fmt: skip


def _data(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    return {name: found for name, found in rows.items() if not name.endswith("_import_batch")}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_bad_file_is_refused_at_its_row_and_changes_nothing(
    stores: Stores, tmp_path: Path, case: Case
) -> None:
    before = stores.rows("bank")
    path = case.make(tmp_path)
    result = stores.run("bank", "disbursements", path, **dict(case.options))
    assert result.outcome == "refused"
    found = [
        issue
        for issue in result.report.issues()
        if issue.severity == "error" and issue.row == case.row
        and (case.column is None or issue.column == case.column)
        and (case.reason in issue.reason_en or case.reason in issue.reason_zh)
    ]  # fmt: skip
    assert found, list(result.report.issues())
    after = stores.rows("bank")
    assert _data(after) == _data(before)
    assert after["bank_import_batch"][-1][-1] == "refused"
    result.report.close()
