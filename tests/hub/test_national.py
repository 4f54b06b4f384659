"""`POST /open.api` over a real uvicorn, called by an uploader written the way provinces'
are (`national_client`): every write method lands in the agency's tables through the
import engine and is answered per row by `AsyncHandleResult.Query`; every refusal is the
platform's error answer with nothing written (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from national_client import Uploader
from sqlalchemy import select

from auth.national import NationalRegistry
from conftest import RunningHub
from connectors.bank.tables import ACCOUNTS
from hub.limits.sources import SourceLimits
from hub.settings import NationalSettings
from hub_support import (
    ACCOUNT,
    CARD,
    PROJECT,
    USCC,
    WORKERS,
    Stores,
    account_row,
    audit_records,
    make_stores,
    running_hub,
    write,
)
from kernel.identifiers import make_uscc

BUILDER = make_uscc("410183", 8)
LABOUR = make_uscc("410183", 9)
SETTINGS = NationalSettings(poll_seconds=3600, lease_seconds=5)
"""A runner that polls hourly: every call here is run because the hub that queued it
woke its runner (`NationalRunner.wake`), not at a poll."""
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stores:
    return make_stores(request.param, tmp_path_factory.mktemp(request.param), "national")


@pytest.fixture(scope="module")
def registry(stores: Stores) -> Iterator[NationalRegistry]:
    registry = NationalRegistry(stores.auth.database, stores.auth.sealer)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def limited(stores: Stores, registry: NationalRegistry) -> tuple[str, str]:
    """A submitter whose rate is two calls a minute."""
    return registry.add_submitter("housing", "limited")


@pytest.fixture(scope="module")
def hub(
    stores: Stores, tmp_path_factory: pytest.TempPathFactory, limited: tuple[str, str]
) -> Iterator[RunningHub]:
    path = tmp_path_factory.mktemp("files") / "accounts.csv"
    assert stores.run("bank", "accounts", write(path, ACCOUNTS.spec, [account_row()])).applied
    rates = {"default": "50/s burst 200", f"national:{limited[0]}": "2/m burst 2"}
    sources = SourceLimits(failures="off", tally_seconds=0.2)  # refusals' tallies written soon
    with running_hub(stores, national=SETTINGS, rate_limits=rates, sources=sources) as running:
        yield running


@pytest.fixture(scope="module")
def housing(hub: RunningHub, registry: NationalRegistry) -> Iterator[Uploader]:
    appid, secret = registry.add_submitter("housing", "某省实名制平台")
    uploader = Uploader(hub.url, appid, secret)
    yield uploader
    uploader.http.close()


@pytest.fixture(scope="module")
def bank(hub: RunningHub, registry: NationalRegistry) -> Iterator[Uploader]:
    appid, secret = registry.add_submitter("bank", "某银行代发系统")
    uploader = Uploader(hub.url, appid, secret)
    yield uploader
    uploader.http.close()


def _rows(stores: Stores, table: str) -> list[Any]:
    connector = stores.connectors["housing" if table.startswith("housing") else "bank"]
    engine = connector.database.sync_engine()
    try:
        with engine.connect() as connection:
            found = connector.metadata.tables[table]
            return [row._mapping for row in connection.execute(select(found))]
    finally:
        engine.dispose()


def _corp(code: str, kind: str, name: str) -> dict[str, Any]:
    return {"projectCode": PROJECT, "corpCode": code, "corpName": name, "corpType": kind,
            "legalMan": "张三", "creditScore": 90}  # fmt: skip


def _load_project(housing: Uploader) -> None:
    for code, kind, name in ((USCC, "009", "某建工集团"), (BUILDER, "008", "某置业公司"),
                             (LABOUR, "006", "某劳务公司")):  # fmt: skip
        result = housing.send("ProjectSubContractor.Add", _corp(code, kind, name))
        assert result["status"] == "20", result
    project = {
        "projectCode": PROJECT, "name": "某安置房项目", "areaCode": "410183",
        "buildCorpCode": BUILDER, "contractorCorpCode": USCC, "contractPrice": "12000000.00",
        "startDate": "2025-03-17", "completeDate": "2027-06-30", "prjStatus": "003",
        "rightsNoticeBoard": 1, "paymentGuarantee": 0,
    }  # fmt: skip
    assert housing.send("Project.Add", project)["status"] == "20"


def test_a_province_uploader_loads_a_project_its_workers_and_their_days(
    stores: Stores, housing: Uploader
) -> None:
    _load_project(housing)
    team = housing.send(
        "Team.Add",
        {"projectCode": PROJECT, "corpCode": LABOUR, "corpName": "某劳务公司",
         "teamName": "钢筋一班", "responsiblePersonName": "李四",
         "responsiblePersonIDCardType": "01", "responsiblePersonIDNumber": WORKERS[0]},
    )  # fmt: skip
    assert team["status"] == "20", team
    team_no = team["rows"][0]["teamSysNo"]
    assert isinstance(team_no, int)
    workers = [
        {"workerName": name, "isTeamLeader": leader, "idCardType": "01", "idCardNumber": worker,
         "workType": "020", "payRollBankCardNumber": CARD}
        for name, leader, worker in (("李四", 1, WORKERS[0]), ("王五", 0, WORKERS[1]))
    ]  # fmt: skip
    roster = housing.send(
        "ProjectWorker.Add",
        {"projectCode": PROJECT, "corpCode": LABOUR, "teamSysNo": team_no, "workerList": workers},
    )
    assert roster["status"] == "20", roster
    assert [row["status"] for row in roster["rows"]] == ["20", "20"]
    moves = housing.send(
        "WorkerEntryExit.Add",
        {"projectCode": PROJECT, "corpCode": LABOUR, "teamSysNo": team_no, "workerList": [
            {"idCardType": "01", "idCardNumber": WORKERS[0], "date": "2026-09-01", "type": "1"},
            {"idCardType": "01", "idCardNumber": WORKERS[1], "date": "2026-09-01", "type": "1"},
            {"idCardType": "01", "idCardNumber": WORKERS[1], "date": "2026-09-20", "type": "0"},
        ]},
    )  # fmt: skip
    assert moves["status"] == "20", moves
    contract = housing.send(
        "WorkerContract.Add",
        {"projectCode": PROJECT, "corpCode": LABOUR, "corpName": "某劳务公司",
         "idCardType": "01", "idCardNumber": WORKERS[0], "contractPeriodType": "0",
         "startDate": "2026-09-01", "endDate": "2026-12-31", "unit": "日",
         "unitPrice": "350.00", "payDay": 15},
    )  # fmt: skip
    assert contract["status"] == "20", contract
    days = [
        {"idCardType": "01", "idCardNumber": WORKERS[0], "direction": direction,
         "date": f"2026-09-{day:02d} {hour}"}
        for day in (1, 2, 3) for direction, hour in (("01", "07:58:00"), ("02", "18:01:00"))
    ]  # fmt: skip
    first = housing.send(
        "WorkerAttendance.Add", {"projectCode": PROJECT, "teamSysNo": team_no, "dataList": days}
    )
    assert first["status"] == "20", first
    later = housing.send(
        "WorkerAttendance.Add",
        {"projectCode": PROJECT, "teamSysNo": team_no, "dataList": [
            {"idCardType": "01", "idCardNumber": WORKERS[0], "direction": "01",
             "date": "2026-09-07 08:00:00"}]},
    )  # fmt: skip
    assert later["status"] == "20", later

    [registration_a, registration_b] = sorted(
        _rows(stores, "housing_registration"), key=lambda r: r["worker_id_number"]
    )
    assert registration_a["employer_uscc"] == LABOUR
    assert registration_a["team"] == "钢筋一班"
    assert registration_a["trade"] == "钢筋工"
    assert registration_a["exit_date"] is None
    assert registration_b["exit_date"] == datetime.date(2026, 9, 20)
    [month] = _rows(stores, "housing_attendance_month")
    assert (month["days_present"], month["day_mask"]) == (4, 0b1000111)  # kept day 1-3, added 7
    [signed] = _rows(stores, "housing_labour_contract")
    assert (signed["daily_wage_fen"], signed["pay_day"]) == (35_000, 15)
    batches = _rows(stores, "housing_import_batch")
    assert {b["channel"] for b in batches} == {"national"}
    assert all(b["submitted_by"] == f"national:{housing.appid}" for b in batches)


def test_payroll_add_is_the_banks_and_lands_in_its_disbursements(
    stores: Stores, bank: Uploader, housing: Uploader
) -> None:
    payroll = {
        "projectCode": PROJECT, "corpCode": LABOUR, "corpName": "某劳务公司", "payMonth": "2026-09",
        "detailList": [{
            "idCardType": "01", "idCardNumber": WORKERS[0], "days": 22, "workHours": 176,
            "payRollBankCardNumber": CARD, "payRollBankName": "中国建设银行",
            "payBankCardNumber": ACCOUNT, "payBankName": "中国建设银行",
            "totalPayAmount": "8000.00", "actualAmount": "7000.50", "isBackPay": 0,
            "balanceDate": "2026-10-10", "thirdPayRollCode": "TX0001",
        }],
    }  # fmt: skip
    refused = housing.call("Payroll.Add", payroll)
    assert refused["code"] == -3, refused
    result = bank.send("Payroll.Add", payroll)
    assert result["status"] == "20", result
    [paid] = _rows(stores, "bank_disbursement")
    assert (paid["amount_fen"], paid["due_fen"], paid["status"]) == (700_050, 800_000, "paid")


def test_a_row_in_error_is_answered_per_row_and_nothing_is_written(
    stores: Stores, housing: Uploader
) -> None:
    before = _rows(stores, "housing_worker")
    result = housing.send(
        "ProjectWorker.Add",
        {"projectCode": PROJECT, "corpCode": LABOUR, "teamName": "钢筋一班", "workerList": [
            {"workerName": "赵六", "idCardType": "01", "idCardNumber": WORKERS[2],
             "workType": "010"},
            {"workerName": "", "idCardType": "01", "idCardNumber": WORKERS[3], "workType": "010"},
            {"workerName": "钱七", "idCardType": "01",
             "idCardNumber": WORKERS[4][:-1] + ("0" if WORKERS[4][-1] != "0" else "1"),
             "workType": "010"},
        ]},
    )  # fmt: skip
    assert result["status"] == "10", result
    assert [row["status"] for row in result["rows"]] == ["20", "10", "10"]
    assert result["rows"][1]["errors"][0]["field"] == "workerName"
    assert "身份" in json.dumps(result["rows"][2]["errors"], ensure_ascii=False)
    assert WORKERS[4] not in json.dumps(result, ensure_ascii=False)
    assert _rows(stores, "housing_worker") == before


def test_a_call_whose_first_table_is_refused_writes_nothing_and_registers_nothing(
    stores: Stores, housing: Uploader
) -> None:
    """ProjectWorker.Add's first table (the workers) is checked by its own import, not a
    dry run before it: refused, it writes no row and registers no refused batch, and the
    answer is every table's problems, as the dry run's refusal was."""
    before = {table: _rows(stores, table) for table in (
        "housing_worker", "housing_project_worker", "housing_import_batch")}  # fmt: skip
    result = housing.send(
        "ProjectWorker.Add",
        {"projectCode": PROJECT, "corpCode": LABOUR, "teamName": "钢筋一班", "workerList": [
            {"workerName": "名" * 60, "idCardType": "01", "idCardNumber": WORKERS[2],
             "workType": "010"},
            {"workerName": "孙八", "idCardType": "01", "idCardNumber": WORKERS[3],
             "workType": "010"},
        ]},
    )  # fmt: skip
    assert result["status"] == "10", result
    assert [row["status"] for row in result["rows"]] == ["10", "20"], result
    assert [e["field"] for e in result["rows"][0]["errors"]] == ["workerName"], result
    assert not result["batches"]
    assert {table: _rows(stores, table) for table in before} == before


def test_an_entry_for_a_worker_not_on_the_roster_is_refused(housing: Uploader) -> None:
    result = housing.send(
        "WorkerEntryExit.Add",
        {"projectCode": PROJECT, "workerList": [
            {"idCardType": "01", "idCardNumber": WORKERS[4], "date": "2026-09-01", "type": "1"}]},
    )  # fmt: skip
    assert result["status"] == "10"
    assert result["rows"][0]["errors"][0]["field"] == "idCardNumber"


# -- refusals ------------------------------------------------------------------------------

QUERY = json.dumps({"requestSerialCode": "none"})


def _refused(uploader: Uploader, form: dict[str, str]) -> dict[str, Any]:
    answer = uploader.post(form)
    assert answer["data"] is None, answer
    assert answer["code"] != 0, answer
    return answer


def test_a_wrong_sign_is_a_signature_error(housing: Uploader) -> None:
    form = housing.form("Project.Add", json.dumps({"projectCode": "X"}))
    assert _refused(housing, {**form, "sign": "0" * 64})["code"] == -2


def test_a_replayed_call_and_a_stale_timestamp_are_refused(housing: Uploader) -> None:
    form = housing.form("AsyncHandleResult.Query", QUERY)
    assert housing.post(form)["code"] == -1  # accepted, then: no such serial
    assert _refused(housing, form)["message"].endswith("nonce 已使用（重复请求）")
    stale = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=11)
    timestamp = stale.astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    old = housing.form("AsyncHandleResult.Query", QUERY, timestamp=f"{timestamp:%Y%m%d%H%M%S}")
    assert _refused(housing, old)["code"] == -2


def _recorded(stores: Stores, response: httpx.Response) -> dict[str, Any]:
    """The audit record of one call, by the request id its answer carried (a refusal's
    tally is written when its interval ends)."""
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 10
    while not (records := audit_records(stores, request_id)):
        assert time.monotonic() < deadline, f"no audit record {request_id}"
        time.sleep(0.1)
    [record] = records
    return record


def test_every_call_leaves_an_audit_record_and_refusals_a_tally(
    stores: Stores, housing: Uploader
) -> None:
    """Calls signed by a submitter are recorded under its appid; refusals of calls nobody
    signed (an unknown appid, a wrong sign) are counted in their source's tally, named by
    the platform's error as the same refusal elsewhere would be."""
    query = housing.form("AsyncHandleResult.Query", QUERY)
    signed = _recorded(stores, housing.http.post(housing.url, data=query))
    assert (signed["endpoint"], signed["client_id"], signed["status"]) == (
        "/open.api", housing.appid, 200,
    )  # fmt: skip
    assert "tally" not in signed

    forged = {**housing.form("AsyncHandleResult.Query", QUERY), "sign": "0" * 64}
    unsigned = _recorded(stores, housing.http.post(housing.url, data=forged))
    assert (unsigned["client_id"], unsigned["outcome"], unsigned["codes"]) == (
        housing.appid, "denied", ["invalid_token"],
    )  # fmt: skip
    assert unsigned["tally"]["count"] >= 1

    stranger = {**housing.form("AsyncHandleResult.Query", QUERY), "appid": "9" * 16}
    unknown = _recorded(stores, housing.http.post(housing.url, data=stranger))
    assert (unknown["client_id"], unknown["codes"]) == (None, ["FORBIDDEN"])
    assert "9" * 16 not in json.dumps(unknown)


def test_unknown_and_revoked_appids_have_no_access(
    hub: RunningHub, registry: NationalRegistry
) -> None:
    appid, secret = registry.add_submitter("housing")
    uploader = Uploader(hub.url, appid, secret)
    stranger = Uploader(hub.url, "9999999999999999", secret)
    assert _refused(stranger, stranger.form("AsyncHandleResult.Query", QUERY))["code"] == -3
    registry.revoke(appid)
    uploader_later = Uploader(hub.url, appid, secret)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=10)
    while uploader_later.post(uploader_later.form("AsyncHandleResult.Query", QUERY))["code"] != -3:
        assert datetime.datetime.now() < deadline, "revocation not seen"
    uploader.http.close()
    uploader_later.http.close()
    stranger.http.close()


@pytest.mark.parametrize(
    ("method", "data", "code"),
    [
        ("Project.Query", {"projectCode": PROJECT}, -1),
        ("ProjectWorker.Add", {"projectCode": PROJECT, "workerList": []}, -1),
        ("ProjectWorker.Add", {"projectCode": PROJECT, "workerList": "x"}, -1),
        ("Team.Add", ["not", "an", "object"], -1),
    ],
)
def test_wrong_methods_and_malformed_data_are_parameter_errors(
    stores: Stores, housing: Uploader, method: str, data: Any, code: int
) -> None:
    before = stores.rows("housing")
    form = housing.form(method, json.dumps(data, ensure_ascii=False))
    assert _refused(housing, form)["code"] == code
    assert housing.post(housing.form(method, "{not json"))["code"] == -1
    assert stores.rows("housing") == before


def test_a_field_that_does_not_decrypt_is_refused(stores: Stores, housing: Uploader) -> None:
    before = stores.rows("housing")
    data = {
        "projectCode": PROJECT,
        "corpCode": LABOUR,
        "teamName": "钢筋一班",
        "workerList": [{"workerName": "赵六", "idCardType": "01", "idCardNumber": WORKERS[2]}],
    }  # plaintext
    answer = _refused(housing, housing.form("ProjectWorker.Add", json.dumps(data)))
    assert answer["code"] == -1
    assert "解密" in answer["message"]
    assert stores.rows("housing") == before


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"appid": "1", "data": "{}"},
        {"appid": "1", "data": "{}", "format": "xml", "method": "x", "nonce": "1",
         "timestamp": "20260101000000", "version": "1.0", "sign": "x"},
    ],
)  # fmt: skip
def test_missing_parameters_are_parameter_errors(hub: RunningHub, form: dict[str, str]) -> None:
    response = httpx.post(f"{hub.url}/open.api", data=form)
    assert response.status_code == 200
    assert response.json()["code"] == -1


def test_a_body_that_is_no_form_is_a_parameter_error(hub: RunningHub) -> None:
    response = httpx.post(
        f"{hub.url}/open.api",
        content=b"\x00\xff" * 10,
        headers={"content-type": "multipart/form-data"},
    )
    assert response.status_code == 200
    assert response.json()["code"] == -1


def test_the_documented_example_runs(
    hub: RunningHub, registry: NationalRegistry, stores: Stores
) -> None:
    """docs/national-interface.md's example, run as an operator would run it."""
    page = (ROOT / "docs" / "national-interface.md").read_text(encoding="utf-8")
    example = page.split("## Example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    appid, secret = registry.add_submitter("housing", "docs example")
    done = subprocess.run(
        [sys.executable, "-c", example],
        env={
            **os.environ,
            "HUB_URL": hub.url,
            "NATIONAL_APPID": appid,
            "NATIONAL_APPSECRET": secret,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("20 "), done.stdout
    assert any(row["uscc"] == "91410183MAULDDAD7B" for row in _rows(stores, "housing_enterprise"))


def test_a_call_without_its_length_or_over_the_limit_is_refused(hub: RunningHub) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"appid=1&data="
        yield b"x" * 1000

    unbounded = httpx.post(
        f"{hub.url}/open.api",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert unbounded.json()["code"] == -1
    assert "Content-Length" in unbounded.json()["messageEn"]
    large = httpx.post(f"{hub.url}/open.api", data={"data": "x" * (SETTINGS.max_bytes + 1)})
    assert large.json()["code"] == -1


def test_a_finished_call_keeps_its_answer_but_not_its_data(
    stores: Stores, housing: Uploader
) -> None:
    answer = housing.call("ProjectSubContractor.Add", _corp(LABOUR, "006", "某劳务公司"))
    assert housing.result(answer["data"]["requestSerialCode"])["status"] == "20"
    engine = stores.auth.database.sync_engine()
    try:
        with engine.connect() as connection:
            kept = connection.exec_driver_sql(
                "SELECT data FROM auth_national_call WHERE state IN ('done', 'failed')"
            ).all()
    finally:
        engine.dispose()
    assert kept
    assert {row[0] for row in kept} == {""}


def test_a_submitter_over_its_rate_is_told_to_come_back(
    hub: RunningHub, limited: tuple[str, str]
) -> None:
    uploader = Uploader(hub.url, *limited)
    try:
        for _ in range(2):
            assert uploader.post(uploader.form("AsyncHandleResult.Query", QUERY))["code"] == -1
        response = uploader.http.post(
            uploader.url, data=uploader.form("AsyncHandleResult.Query", QUERY)
        )
    finally:
        uploader.http.close()
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == -5
