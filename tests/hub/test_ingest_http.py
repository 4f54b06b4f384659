"""`POST /ingest/<agency>/<table>` over a real uvicorn: an agency's system pushes JSON Lines
or a file with its client-credentials token, and gets the report back; every refusal is a
clear status, and nothing changes unless the push is applied."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ClientCredentials, RunningHub
from connectors.bank.tables import ACCOUNTS, DISBURSEMENTS
from hub.settings import IngestSettings
from hub_support import (
    WORKERS,
    Stores,
    account_row,
    audit_records,
    make_stores,
    pay_row,
    running_hub,
    write,
)
from ingest.writers import write_csv, write_jsonl

PUSHER = "bank-ccb-payroll"
URL = "/ingest/bank/disbursements"
JSONL = {"Content-Type": "application/x-ndjson"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stores:
    return make_stores(request.param, tmp_path_factory.mktemp(request.param), "ingest_http")


@pytest.fixture(scope="module")
def hub(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    path = tmp_path_factory.mktemp("files") / "accounts.csv"
    assert stores.run("bank", "accounts", write(path, ACCOUNTS.spec, [account_row()])).applied
    with running_hub(
        stores,
        ingest=IngestSettings(max_bytes=64 << 10),
        rate_limits={"default": "50/s burst 200", "court-system-xinmi": "1/m"},
    ) as running:
        yield running


def _client(hub: RunningHub, client_id: str, purpose: str = "data-submission") -> httpx.Client:
    return httpx.Client(
        base_url=hub.url,
        timeout=30,
        auth=ClientCredentials(client_id, hub.secrets[client_id]),
        headers={"X-Purpose": purpose},
    )


@pytest.fixture(scope="module")
def bank(hub: RunningHub) -> Iterator[httpx.Client]:
    with _client(hub, PUSHER) as client:
        yield client


def _jsonl(*rows: tuple[object, ...]) -> bytes:
    out = io.BytesIO()
    write_jsonl(out, DISBURSEMENTS.spec, rows)
    return out.getvalue()


def test_a_push_is_applied_audited_and_idempotent(
    hub: RunningHub, bank: httpx.Client, stores: Stores
) -> None:
    body = _jsonl(*(pay_row(w) for w in WORKERS[:3]))
    response = bank.post(URL, content=body, headers=JSONL, params={"name": "2026-09.jsonl"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["outcome"], answer["inserted"], answer["rowsRead"]) == ("applied", 3, 3)
    records = audit_records(stores, response.headers["x-request-id"])
    assert [r["endpoint"] for r in records] == ["ingest", "/ingest/{agency}/{table}"]  # route
    assert records[0]["write"]["batch"] == answer["batchId"]  # type: ignore[index]
    assert records[0]["client_id"] == PUSHER

    again = bank.post(URL, content=body, headers=JSONL).json()
    assert (again["outcome"], again["inserted"], again["unchanged"]) == ("applied", 0, 3)


def test_rows_with_errors_are_422_with_the_report_and_change_nothing(
    hub: RunningHub, bank: httpx.Client, stores: Stores
) -> None:
    before = stores.rows("bank")["bank_disbursement"]
    lines = _jsonl(pay_row(WORKERS[3]), pay_row(WORKERS[4])).decode().splitlines()
    lines[1] = lines[1].replace('"paid"', '"已入账"')
    response = bank.post(URL, content="\n".join(lines).encode(), headers=JSONL)
    assert response.status_code == 422
    [issue] = [i for i in response.json()["issues"] if i["severity"] == "error"]
    assert (issue["row"], issue["column"]) == (2, "status")
    assert issue["reasonZh"]
    assert issue["reasonEn"]
    assert stores.rows("bank")["bank_disbursement"] == before

    accepted = bank.post(
        URL, content="\n".join(lines).encode(), headers=JSONL, params={"acceptValid": "true"}
    )
    assert accepted.status_code == 200
    assert (accepted.json()["inserted"], accepted.json()["rejectedRows"]) == (1, 1)


def test_a_dry_run_answers_200_and_changes_nothing(
    hub: RunningHub, bank: httpx.Client, stores: Stores
) -> None:
    before = stores.rows("bank")
    response = bank.post(
        URL, content=_jsonl(pay_row(WORKERS[2], amount=1)), headers=JSONL, params={"dryRun": "1"}
    )
    assert (response.status_code, response.json()["outcome"], response.json()["updated"]) == (
        200,
        "dry-run",
        1,
    )
    assert stores.rows("bank") == before


def test_a_gb18030_csv_file(hub: RunningHub, bank: httpx.Client) -> None:
    out = io.BytesIO()
    write_csv(out, DISBURSEMENTS.spec, [pay_row(WORKERS[4])], "gb18030")
    response = bank.post(
        URL, content=out.getvalue(), headers={"Content-Type": "text/csv; charset=gb18030"}
    )
    assert response.status_code == 200, response.text


def test_a_file_that_cannot_be_read_is_400(hub: RunningHub, bank: httpx.Client) -> None:
    response = bank.post(
        URL, content="姓名,金额\n张三,1\n".encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400
    assert response.json()["fileRefused"] is True


@pytest.mark.parametrize(
    ("client_id", "purpose", "url", "status", "error"),
    [
        ("bank-ccb-xinmi", "payroll-reconciliation", URL, 403, "insufficient_scope"),
        ("hr-system-xinmi", "data-submission", URL, 403, "insufficient_scope"),
        (PUSHER, "data-submission", "/ingest/bank/salaries", 404, "unknown_table"),
        (PUSHER, "data-submission", "/ingest/tax/returns", 404, "unknown_table"),
        (PUSHER, "statistics", URL, 403, "purpose_not_granted"),
    ],
)
def test_refusals(
    hub: RunningHub, client_id: str, purpose: str, url: str, status: int, error: str
) -> None:
    with _client(hub, client_id, purpose) as client:
        response = client.post(url, content=_jsonl(pay_row()), headers=JSONL)
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_no_token_is_401(hub: RunningHub) -> None:
    response = httpx.post(f"{hub.url}{URL}", content=b"{}", headers=JSONL)
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]


def test_unknown_media_type_is_415_and_an_empty_body_400(bank: httpx.Client) -> None:
    assert (
        bank.post(URL, content=b"x", headers={"Content-Type": "application/pdf"}).status_code == 415
    )
    assert bank.post(URL, content=b"", headers=JSONL).json()["error"] == "empty_body"


def test_a_body_over_the_limit_is_413_declared_or_streamed(bank: httpx.Client) -> None:
    big = b"x" * (65 << 10)
    assert bank.post(URL, content=big, headers=JSONL).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the limit is passed
        for _ in range(100):
            yield b"y" * 4096

    assert bank.post(URL, content=chunks(), headers=JSONL).status_code == 413


def test_pushes_are_rate_limited_like_queries(hub: RunningHub) -> None:
    with _client(hub, "court-system-xinmi") as court:
        first = court.post("/ingest/court/cases", content=b"{}\n", headers=JSONL)
        second = court.post("/ingest/court/cases", content=b"{}\n", headers=JSONL)
    assert first.status_code == 422
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1


def test_the_bad_path_is_never_a_500(bank: httpx.Client, tmp_path: Path) -> None:
    assert bank.post(URL, content=b"\xff\xfe\x00garbage", headers=JSONL).status_code in (400, 422)


AS_OF = "{ dataAsOf { agency tables { table asOf } } }"


def _bank_as_of(hub: RunningHub) -> dict[str, str]:
    answer = hub.client.post("/graphql", json={"query": AS_OF}).json()
    [bank] = [a for a in answer["data"]["dataAsOf"] if a["agency"] == "bank"]
    return {t["table"]: t["asOf"] for t in bank["tables"]}


def test_an_applied_push_counts_at_once_in_the_as_of_days(
    hub: RunningHub, bank: httpx.Client
) -> None:
    """The process keeps each agency's as-of days a few seconds; its own import forgets them."""
    before = _bank_as_of(hub)  # read now, and kept
    month = datetime.date(2027, 3, 1)
    body = _jsonl(*(pay_row(w, month) for w in WORKERS[:2]))
    response = bank.post(URL, content=body, headers=JSONL)
    assert response.json()["outcome"] == "applied", response.text
    assert before.get("disbursements") != "2027-03-31"
    assert _bank_as_of(hub)["disbursements"] == "2027-03-31"
