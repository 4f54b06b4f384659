"""The table of bad files: each is refused or reported with the right row, nothing crashes."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from files import IDS, PAYROLL_HEADER, errors, only, payroll_csv, payroll_line, run

from connectors.bank.tables import PAYROLL_SPEC as BANK_PAYROLL
from connectors.hr.tables import BLACKLIST_SPEC as HR_BLACKLIST
from ingest.errors import IngestError
from ingest.writers import write_xlsx
from kernel.identifiers import make_uscc

GOOD = payroll_csv(payroll_line(0), payroll_line(1, name="李四"))


def test_a_good_file_in_each_csv_encoding_gives_the_same_rows() -> None:
    results = [run(GOOD.encode(encoding)) for encoding in ("utf-8", "utf-8-sig", "gb18030", "gbk")]
    for rows, report in results:
        assert report.ok
        assert report.rows_read == 2
        assert report.rows_valid == 2
        assert rows == results[0][0]
    assert results[0][0][0] == (
        2,
        ("6222000011112222333", "P-001", "张三", IDS[0], "6217000011112220",
         datetime.date(2026, 9, 1), datetime.date(2026, 10, 10),
         None, 700000, "paid", None, None, None, None),
    )  # fmt: skip


def test_sha256_is_of_the_bytes_sent() -> None:
    data = GOOD.encode("gb18030")
    _, report = run(data)
    assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_wrong_explicit_encoding_names_the_row_and_suggests_the_option() -> None:
    with pytest.raises(IngestError) as caught:
        run(GOOD.encode("gb18030"), encoding="utf-8")
    assert caught.value.row == 1  # the header is the first line that does not decode
    assert "--encoding gb18030" in caught.value.reason_en
    assert "--encoding gb18030" in caught.value.reason_zh


def test_gbk_bytes_after_an_ascii_start_are_caught_at_their_row() -> None:
    header = "account_no,project_code,worker_name,worker_id_number,card_no,period,paid_on,amount_fen,status"
    ascii_rows = [
        payroll_line(0, name="Zhang San", project=f"P-{i:03d}", status="paid") for i in range(3000)
    ]
    data = (header + "\n" + "\n".join(ascii_rows) + "\n" + payroll_line(1) + "\n").encode("gbk")
    with pytest.raises(IngestError) as caught:
        run(data)
    assert caught.value.row == 3002
    assert "--encoding gb18030" in caught.value.reason_en


def test_yuan_with_three_decimals_is_reported_at_its_row() -> None:
    rows, report = run(payroll_csv(payroll_line(0), payroll_line(1, amount="7000.125")).encode())
    issue = only(errors(report))
    assert (issue.row, issue.column, issue.value) == (3, "实发金额(元)", "7000.125")
    assert [number for number, _ in rows] == [2]


def test_unknown_status_is_reported_with_the_accepted_values() -> None:
    _, report = run(payroll_csv(payroll_line(0, status="DONE")).encode())
    issue = only(errors(report))
    assert (issue.row, issue.column, issue.value) == (2, "发放状态", "DONE")
    assert "已发放" in issue.reason_zh


def test_bad_id_checksum_is_masked_in_the_report() -> None:
    bad = IDS[0][:17] + ("0" if IDS[0][17] != "0" else "1")
    _, report = run(payroll_csv(payroll_line(0, id=bad)).encode())
    issue = only(errors(report))
    assert issue.value == bad[:3] + "*" * 11 + bad[-4:]
    assert bad not in json.dumps([issue.reason_en, issue.reason_zh], ensure_ascii=False)


def test_bad_uscc_checksum_in_the_blacklist() -> None:
    code = make_uscc("410105", 7)
    broken = code[:9] + ("1" if code[9] != "1" else "2") + code[10:]
    header = "列入决定书文号,统一社会信用代码,企业名称,法定代表人,所在地区代码,列入事由,列入日期"
    body = f"豫人社黑〔2026〕1号,{broken},某建筑劳务有限公司,王五,410105,拖欠工资,2026-03-01"
    _, report = run((header + "\n" + body + "\n").encode(), table=HR_BLACKLIST)
    issue = only(errors(report))
    assert (issue.row, issue.column) == (2, "统一社会信用代码")


def test_duplicate_keys_within_a_file_name_the_first_row() -> None:
    _, report = run(
        payroll_csv(payroll_line(0), payroll_line(1), payroll_line(0, amount="1.00")).encode()
    )
    issue = only(errors(report))
    assert issue.row == 4
    assert "row 2" in issue.reason_en
    assert "第 2 行" in issue.reason_zh
    assert IDS[0] not in (issue.value or "")


def test_missing_required_columns_refuse_the_file_naming_them() -> None:
    header = "专户账号,项目编码,姓名,工资卡号,发放月份,发放日期,发放状态"
    with pytest.raises(IngestError) as caught:
        run(payroll_csv("x", header=header).encode())
    assert "公民身份号码" in caught.value.reason_zh
    assert "实发金额" in caught.value.reason_zh


def test_unknown_columns_are_a_warning() -> None:
    header = PAYROLL_HEADER + ",备注"
    rows, report = run(payroll_csv(payroll_line(0) + ",月中发放", header=header).encode())
    assert len(rows) == 1
    assert report.ok
    warning = only(list(report.issues()))
    assert (warning.severity, warning.row, warning.column) == ("warning", 1, "备注")


def test_formula_injection_cell_is_refused() -> None:
    _, report = run(
        payroll_csv(payroll_line(0, name='"=HYPERLINK(""http://evil"",""点我"")"')).encode()
    )
    issue = only(errors(report))
    assert (issue.row, issue.column) == (2, "姓名")
    assert issue.value is not None
    assert issue.value.startswith("=HYPERLINK")


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(IngestError, match="empty"):
        run(data)


def test_a_header_only_file_reads_no_rows() -> None:
    rows, report = run(payroll_csv().encode())
    assert rows == []
    assert report.rows_read == 0
    assert report.ok


def test_ragged_rows_are_reported_and_trailing_empty_cells_tolerated() -> None:
    lines = (
        payroll_line(0) + ",,",
        payroll_line(1).rsplit(",", 2)[0],
        payroll_line(2) + ",extra",
        ",,,,",
    )
    rows, report = run(payroll_csv(*lines).encode())
    assert [number for number, _ in rows] == [2]
    assert [(issue.row, "cells" in issue.reason_en) for issue in errors(report)] == [
        (3, True),
        (4, True),
    ]
    assert report.rows_read == 3  # the blank row is not counted


def test_title_rows_above_the_header_are_skipped_and_rows_keep_their_numbers() -> None:
    text = "2026年9月代发工资明细表\n单位：元\n" + GOOD
    rows, report = run(text.encode("gb18030"))
    assert [number for number, _ in rows] == [4, 5]
    assert report.ok


def test_a_tab_separated_utf16_export_reads() -> None:
    text = GOOD.replace(",", "\t")
    rows, report = run(text.encode("utf-16"))
    assert len(rows) == 2
    assert report.ok


def test_jsonl_lines_that_are_not_objects_are_reported_and_the_rest_read() -> None:
    good = {"account_no": "6222000011112222333", "projectCode": "P-001", "workerName": "张三",
            "idCardNumber": IDS[0], "payRollBankCardNumber": "6217000011112222", "payMonth": "2026-09",
            "balanceDate": "2026-10-10", "actualAmount": 7000.5, "status": "PAID"}  # fmt: skip
    lines = [json.dumps(good, ensure_ascii=False), "[1, 2]", "{not json", "",
             json.dumps({**good, "idCardNumber": IDS[1], "extra": 1}, ensure_ascii=False),
             json.dumps({k: v for k, v in good.items() if k != "status"} | {"idCardNumber": IDS[2]})]  # fmt: skip
    rows, report = run(("\n".join(lines) + "\n").encode())
    assert [(number, values[8], values[9]) for number, values in rows] == [
        (1, 700050, "paid"),
        (5, 700050, "paid"),
    ]
    found = [(issue.row, issue.severity, issue.column) for issue in report.issues()]
    assert found == [
        (2, "error", None),
        (3, "error", None),
        (5, "warning", "extra"),
        (6, "error", "status"),
    ]


def test_a_truncated_xlsx_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "payroll.xlsx"
    write_xlsx(path, BANK_PAYROLL, [])
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 200):
        with pytest.raises(IngestError, match="damaged or incomplete"):
            run(data[:cut], name="payroll.xlsx")


def test_an_xlsx_with_a_corrupt_sheet_part_is_a_clear_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook><sheets><sheet name=")
    with pytest.raises(IngestError, match="damaged or incomplete"):
        run(buffer.getvalue(), name="x.xlsx")


def test_a_file_named_xlsx_that_is_not_one_is_refused() -> None:
    with pytest.raises(IngestError, match="not a spreadsheet"):
        run(GOOD.encode(), name="payroll.xlsx")


def test_an_html_page_saved_as_xls_is_refused() -> None:
    with pytest.raises(IngestError, match="web page"):
        run(b"<html><table><tr><td>1</td></tr></table></html>", name="payroll.xls")


def test_an_oversized_xlsx_sheet_is_refused_before_loading(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    write_xlsx(path, BANK_PAYROLL, [])
    with pytest.raises(IngestError, match="send it as CSV"):
        run(path, max_xlsx_sheet_bytes=100)


def test_a_csv_field_over_the_limit_is_a_clear_error() -> None:
    with pytest.raises(IngestError, match="malformed"):
        run(payroll_csv(payroll_line(0, name='"' + "张" * 200_000 + '"')).encode())


def test_a_jsonl_line_over_the_limit_is_a_clear_error() -> None:
    line = json.dumps({"workerName": "x" * (1 << 21)})
    with pytest.raises(IngestError, match="longer than"):
        run((line + "\n").encode())
