"""The import engine's guarantees, on SQLite and PostgreSQL: all or nothing, idempotent,
corrections keep their batch, back pay counts for its month, references within an agency
are errors and across agencies warnings, --accept-valid writes rejects that load once
fixed, dry runs change nothing, a failing audit write changes nothing, and a parsing
worker process gives the same answer."""

from __future__ import annotations

import csv
import datetime
import functools
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.bank.models import Disbursement
from connectors.bank.tables import ACCOUNTS, DISBURSEMENTS, TABLES
from hub_support import (
    ACCOUNT,
    PROJECT,
    WORKERS,
    Stores,
    account_row,
    make_stores,
    pay_row,
    row_order,
    write,
)
from ingest import engine, staging
from ingest.engine import ImportOptions, run_import
from ingest.parsing import ParseJob
from ingest.values import CHINA_STANDARD_TIME

SEPTEMBER = datetime.date(2026, 9, 1)
OCTOBER = datetime.date(2026, 10, 1)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stores:
    return make_stores(request.param, tmp_path_factory.mktemp(request.param), "ingest_engine")


@pytest.fixture
def bank(stores: Stores, tmp_path: Path) -> Stores:
    """Empty stores but for the bank's special account of the project."""
    stores.clear()
    result = stores.run(
        "bank", "accounts", write(tmp_path / "accounts.csv", ACCOUNTS.spec, [account_row()])
    )
    assert result.applied, list(result.report.issues())
    return stores


def _disbursements(stores: Stores) -> list[tuple[object, ...]]:
    engine = stores.connectors["bank"].database.sync_engine()
    table = Disbursement.__table__  # type: ignore[attr-defined]
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    select(
                        table.c.worker_id_number, table.c.pay_month, table.c.period,
                        table.c.amount_fen, table.c.is_back_pay, table.c.batch_id,
                    ).order_by(table.c.id)
                )
            ]  # fmt: skip
    finally:
        engine.dispose()


def test_the_same_file_twice_changes_nothing(bank: Stores, tmp_path: Path) -> None:
    path = write(
        tmp_path / "payroll.csv", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS], "gb18030"
    )
    first = bank.run("bank", "disbursements", path)
    assert (first.outcome, first.inserted, first.updated, first.unchanged) == ("applied", 5, 0, 0)
    before = bank.rows()
    again = bank.run("bank", "disbursements", path)
    assert (again.outcome, again.inserted, again.updated, again.unchanged) == ("applied", 0, 0, 5)
    after = bank.rows()
    registry = after.pop("bank_import_batch")
    assert before.pop("bank_import_batch") == registry[:-1]  # one more batch, nothing else
    assert before == after
    assert registry[-1][1:3] == ("disbursements", "cli")


def test_a_correction_replaces_the_value_and_keeps_which_batch_wrote_it(
    bank: Stores, tmp_path: Path
) -> None:
    rows = [pay_row(w) for w in WORKERS[:3]]
    first = bank.run("bank", "disbursements", write(tmp_path / "a.csv", DISBURSEMENTS.spec, rows))
    rows[1] = pay_row(WORKERS[1], amount=650_000)
    fix = bank.run("bank", "disbursements", write(tmp_path / "b.csv", DISBURSEMENTS.spec, rows))
    assert (fix.inserted, fix.updated, fix.unchanged) == (0, 1, 2)
    stored = _disbursements(bank)
    assert [row[3] for row in stored] == [700_000, 650_000, 700_000]
    assert [row[5] for row in stored] == [first.batch_id, fix.batch_id, first.batch_id]


def test_back_pay_counts_for_the_month_it_belongs_to(bank: Stores, tmp_path: Path) -> None:
    rows = [
        pay_row(WORKERS[0], OCTOBER),
        pay_row(WORKERS[0], OCTOBER, 300_000, back_pay_month=SEPTEMBER),
    ]
    result = bank.run("bank", "disbursements", write(tmp_path / "p.xlsx", DISBURSEMENTS.spec, rows))
    assert result.inserted == 2, list(result.report.issues())
    assert [row[:5] for row in _disbursements(bank)] == [
        (WORKERS[0], OCTOBER, OCTOBER, 700_000, False),
        (WORKERS[0], OCTOBER, SEPTEMBER, 300_000, True),
    ]
    assert result.as_of == datetime.date(2026, 10, 31)  # the payroll's month, not September


def test_two_rows_stored_under_one_key_are_refused(bank: Stores, tmp_path: Path) -> None:
    """Back pay for the payroll's own month is the same record as that month's pay."""
    rows = [pay_row(WORKERS[0], OCTOBER), pay_row(WORKERS[0], OCTOBER, back_pay_month=OCTOBER)]
    before = bank.rows()
    result = bank.run("bank", "disbursements", write(tmp_path / "d.csv", DISBURSEMENTS.spec, rows))
    assert result.outcome == "refused"
    [issue] = [i for i in result.report.issues() if i.severity == "error"]
    assert issue.row == 3
    assert "row 2" in issue.reason_en
    assert _without_registry(bank.rows()) == _without_registry(before)


def test_a_key_sent_twice_is_found_among_the_staged_rows(bank: Stores, tmp_path: Path) -> None:
    """The parsing side keeps no set of keys: the engine finds a file's duplicate keys
    among the staged rows, names the first row and masks nothing it need not; with
    --accept-valid the first row loads and the duplicate goes to the rejects."""
    other = account_row("62220000111122224444", PROJECT[:-1] + ("9" if PROJECT[-1] != "9" else "8"))
    rows = [account_row(), other, account_row(), account_row()]
    before = bank.rows()
    result = bank.run("bank", "accounts", write(tmp_path / "a.csv", ACCOUNTS.spec, rows))
    assert result.outcome == "refused"
    found = [(i.row, i.column, i.value) for i in result.report.issues() if i.severity == "error"]
    assert found == [
        (4, "专户账号", "414*************1901"),
        (5, "专户账号", "414*************1901"),
    ]
    assert all("row 2" in i.reason_en for i in result.report.issues() if i.severity == "error")
    assert all("第 2 行" in i.reason_zh for i in result.report.issues() if i.severity == "error")
    assert _without_registry(bank.rows()) == _without_registry(before)
    rejects = tmp_path / "a.rejects.csv"
    loaded = bank.run(
        "bank", "accounts", write(tmp_path / "b.csv", ACCOUNTS.spec, rows),
        accept_valid=True, rejects=rejects,
    )  # fmt: skip
    assert (loaded.outcome, loaded.inserted, loaded.updated, loaded.unchanged) == (
        "applied", 1, 0, 1,
    )  # fmt: skip
    assert loaded.rejected_rows == 2
    with rejects.open(encoding="utf-8-sig", newline="") as file:
        assert [r["原行号 row"] for r in csv.DictReader(file)] == ["4", "5"]


def _without_registry(
    rows: dict[str, list[tuple[object, ...]]],
) -> dict[str, list[tuple[object, ...]]]:
    return {name: found for name, found in rows.items() if not name.endswith("_import_batch")}


def test_an_account_the_bank_does_not_hold_is_an_error_and_nothing_changes(
    bank: Stores, tmp_path: Path
) -> None:
    rows = [pay_row(WORKERS[0]), pay_row(WORKERS[1], account="62220000111122223333")]
    before = bank.rows()
    result = bank.run("bank", "disbursements", write(tmp_path / "x.csv", DISBURSEMENTS.spec, rows))
    assert result.outcome == "refused"
    [issue] = [i for i in result.report.issues() if i.severity == "error"]
    assert (issue.row, issue.column) == (3, "专户账号+项目编码")
    assert "special account" in issue.reason_en
    assert issue.value == f"622*************3333 | {PROJECT}"  # account numbers masked
    after = bank.rows()
    refused = after["bank_import_batch"][-1]
    assert refused[-1] == "refused"
    assert _without_registry(after) == _without_registry(before)


def test_a_worker_housing_does_not_know_is_a_warning(bank: Stores, tmp_path: Path) -> None:
    result = bank.run(
        "bank", "disbursements", write(tmp_path / "w.csv", DISBURSEMENTS.spec, [pay_row()])
    )
    assert result.applied
    reasons = {issue.reason_en for issue in result.report.issues() if issue.severity == "warning"}
    assert "worker not known to housing" in reasons
    assert "project not known to housing" in reasons


def test_accept_valid_loads_the_rest_and_writes_rejects_that_load_once_fixed(
    bank: Stores, tmp_path: Path
) -> None:
    path = write(tmp_path / "mixed.csv", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS[:3]])
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace("7000.00", "7000.123")  # row 3: three decimals
    lines.append(lines[1].replace(ACCOUNT, "62220000111122223333").replace(WORKERS[0], WORKERS[4]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    rejects = tmp_path / "mixed.rejects.csv"

    result = bank.run("bank", "disbursements", path, accept_valid=True, rejects=rejects)
    assert (result.outcome, result.inserted, result.rejected_rows) == ("applied", 2, 2)
    with rejects.open(encoding="utf-8-sig", newline="") as file:
        rejected = list(csv.DictReader(file))
    assert [r["原行号 row"] for r in rejected] == ["3", "5"]
    assert "两位小数" in rejected[0]["错误原因 reasons"]
    assert "工资专户" in rejected[1]["错误原因 reasons"]

    rejected[0]["实发金额"] = "7000.12"
    rejected[1]["专户账号"] = ACCOUNT
    with rejects.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rejected[0]))
        writer.writeheader()
        writer.writerows(rejected)
    resent = bank.run("bank", "disbursements", rejects)
    assert (resent.outcome, resent.inserted) == ("applied", 2)
    assert sorted(row[3] for row in _disbursements(bank)) == [700_000, 700_000, 700_000, 700_012]


def test_a_dry_run_changes_nothing_and_says_what_it_would(bank: Stores, tmp_path: Path) -> None:
    before = bank.rows()
    path = write(tmp_path / "dry.jsonl", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS])
    result = bank.run("bank", "disbursements", path, dry_run=True)
    assert (result.outcome, result.inserted, result.batch_id) == ("dry-run", 5, None)
    assert bank.rows() == before


def test_a_failing_audit_write_changes_nothing(bank: Stores, tmp_path: Path) -> None:
    class Down(Exception):
        pass

    def audit(*_: object) -> None:
        raise Down

    before = bank.rows()
    path = write(tmp_path / "p.csv", DISBURSEMENTS.spec, [pay_row()])
    with pytest.raises(Down):
        run_import(
            DISBURSEMENTS, bank.connectors["bank"].database, path, batches=TABLES.batches,
            before_commit=audit,
        )  # fmt: skip
    assert bank.rows() == before


def test_a_parsing_worker_process_gives_the_same_result(bank: Stores, tmp_path: Path) -> None:
    rows = [pay_row(w) for w in WORKERS] + [pay_row(WORKERS[0])]  # a duplicate key
    path = write(tmp_path / "p.csv", DISBURSEMENTS.spec, rows)
    answers = []
    for workers in (0, 1):
        result = bank.run("bank", "disbursements", path, workers=workers, dry_run=True)
        answers.append((result.outcome, result.report.counts(), list(result.report.issues())))
        result.report.close()
    assert answers[0] == answers[1]
    assert answers[0][1]["errors"] == 1


def test_as_of_days(bank: Stores, tmp_path: Path) -> None:
    """Monthly tables: the end of their latest month; others: the day sent; or as told."""
    today = datetime.datetime.now(CHINA_STANDARD_TIME).date()
    accounts = bank.run(
        "bank", "accounts", write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    )
    assert accounts.as_of == today
    told = bank.run(
        "bank", "disbursements", write(tmp_path / "p.csv", DISBURSEMENTS.spec, [pay_row()]),
        as_of=datetime.date(2026, 9, 15),
    )  # fmt: skip
    assert told.as_of == datetime.date(2026, 9, 15)


def test_the_audit_log_records_what_was_written_about_whom(bank: Stores, tmp_path: Path) -> None:
    result = bank.run(
        "bank", "disbursements", write(tmp_path / "p.csv", DISBURSEMENTS.spec, [pay_row()])
    )
    engine = bank.audit.database.sync_engine()
    try:
        with engine.connect() as connection:
            payloads = [
                row[0]
                for row in connection.exec_driver_sql(
                    "SELECT payload FROM audit_record ORDER BY seq"
                )
            ]
            entities = set(connection.exec_driver_sql("SELECT kind, key FROM audit_entity"))
    finally:
        engine.dispose()
    last = payloads[-1]
    assert f'"batch":{result.batch_id}' in last
    assert '"scopes":["ingest:bank"]' in last
    assert WORKERS[0] not in last  # hashed, as for reads
    assert ("Worker", bank.hasher(WORKERS[0])) in entities
    assert ("Project", PROJECT) in entities


def test_options_default() -> None:
    assert ImportOptions().workers == 0


def test_the_audit_log_names_only_the_entities_whose_rows_changed(
    bank: Stores, tmp_path: Path
) -> None:
    rows = [pay_row(w) for w in WORKERS[:3]]
    path = write(tmp_path / "p.csv", DISBURSEMENTS.spec, rows)
    bank.run("bank", "disbursements", path)
    bank.run("bank", "disbursements", path)  # nothing changes
    rows[2] = pay_row(WORKERS[2], amount=1)
    bank.run("bank", "disbursements", write(tmp_path / "c.csv", DISBURSEMENTS.spec, rows))
    engine = bank.audit.database.sync_engine()
    try:
        with engine.connect() as connection:
            written = [
                (row[0], row[1])
                for row in connection.exec_driver_sql(
                    "SELECT r.seq, count(e.key) FROM audit_record r LEFT JOIN audit_entity e"
                    " ON e.seq = r.seq AND e.kind = 'Worker' WHERE r.endpoint = 'ingest'"
                    " GROUP BY r.seq ORDER BY r.seq"
                )
            ]
    finally:
        engine.dispose()
    assert [count for _, count in written[-3:]] == [3, 0, 1]


def test_a_row_against_a_rule_of_the_table_is_refused_not_raised(
    bank: Stores, tmp_path: Path
) -> None:
    """A second special account for a project that has one breaks the table's unique
    project code: the import is refused with the rule named, nothing written."""
    first = bank.run("bank", "accounts", write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()]))
    assert first.applied
    before = bank.rows()
    second = account_row("62220000111122225555", PROJECT)
    result = bank.run("bank", "accounts", write(tmp_path / "b.csv", ACCOUNTS.spec, [second]))
    assert result.outcome == "refused"
    [issue] = [i for i in result.report.issues() if i.severity == "error"]
    assert "project_code" in issue.reason_en
    assert "62220000111122225555" not in issue.reason_en
    assert _without_registry(bank.rows()) == _without_registry(before)


@pytest.fixture
def chunks_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser hands rows over two at a time and a streamed import applies them so:
    several chunks."""
    monkeypatch.setattr(engine, "ParseJob", functools.partial(ParseJob, batch_rows=2))
    monkeypatch.setattr(staging, "APPLY_ROWS", 2)


@pytest.mark.usefixtures("chunks_of_two")
def test_rows_applied_chunk_by_chunk_count_and_order_as_one_apply(
    bank: Stores, tmp_path: Path
) -> None:
    """Streamed: each chunk is upserted as it is staged; the counts, the file's order of
    the surrogate ids and the batches kept by unchanged rows are those of one apply."""
    first = bank.run(
        "bank", "disbursements",
        write(tmp_path / "a.csv", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS[:3]]),
    )  # fmt: skip
    rows = [pay_row(WORKERS[0]), pay_row(WORKERS[1], amount=650_000), pay_row(WORKERS[2])]
    rows += [pay_row(WORKERS[3]), pay_row(WORKERS[4])]
    result = bank.run("bank", "disbursements", write(tmp_path / "b.csv", DISBURSEMENTS.spec, rows))
    assert (result.outcome, result.inserted, result.updated, result.unchanged) == (
        "applied", 2, 1, 2,
    )  # fmt: skip
    stored = _disbursements(bank)
    assert [row[0] for row in stored] == WORKERS
    assert [row[3] for row in stored] == [700_000, 650_000, 700_000, 700_000, 700_000]
    assert [row[5] for row in stored] == [first.batch_id, result.batch_id, first.batch_id] + [
        result.batch_id
    ] * 2


@pytest.mark.usefixtures("chunks_of_two")
def test_an_error_found_after_chunks_were_applied_changes_nothing(
    bank: Stores, tmp_path: Path
) -> None:
    """Rows applied while the file was read are rolled back by errors the checks find
    later: a key the file has twice (within one chunk: on PostgreSQL that chunk's upsert
    fails, the rest are still staged and checked) and an account the bank lacks."""
    first = bank.run(
        "bank", "disbursements",
        write(tmp_path / "a.csv", DISBURSEMENTS.spec, [pay_row(w) for w in WORKERS[:2]]),
    )  # fmt: skip
    assert first.applied
    before = bank.rows()
    rows = [pay_row(WORKERS[2]), pay_row(WORKERS[3]), pay_row(WORKERS[4]), pay_row(WORKERS[4])]
    rows += [pay_row(WORKERS[0], amount=1), pay_row(WORKERS[1], amount=2)]
    rows.append(pay_row(WORKERS[1], month=OCTOBER, account="62220000111122223333"))
    result = bank.run("bank", "disbursements", write(tmp_path / "b.csv", DISBURSEMENTS.spec, rows))
    assert result.outcome == "refused"
    errors = [(i.row, i.reason_en) for i in result.report.issues() if i.severity == "error"]
    assert [row for row, _ in errors] == [5, 8]
    assert "row 4" in errors[0][1]
    after = bank.rows()
    registry = {row[0]: row for row in after["bank_import_batch"]}
    assert registry[result.batch_id][-1] == "refused"
    assert _without_registry(after) == _without_registry(before)
    assert [row[3] for row in _disbursements(bank)] == [700_000, 700_000]


def test_rows_are_compared_in_their_values_order() -> None:
    """`[-1]` of a table's rows is its newest batch even past the ninth (ids as numbers,
    not as text), with None and unordered values still sortable."""
    rows = [(10, "b", None), (9, "a", {"k": 1}), (9, None, {"k": 0})]
    assert sorted(rows, key=row_order) == [
        (9, "a", {"k": 1}),
        (9, None, {"k": 0}),
        (10, "b", None),
    ]
