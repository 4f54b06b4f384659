"""Every request to /graphql and /oauth/token leaves one record, written before the answer
(over real HTTP, on SQLite and PostgreSQL): who, why, what was read, what was refused, and
which entities were disclosed — ID numbers only as keyed hashes."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from audit.operations import AuditLog
from audit.store import record_t
from conftest import SEED, RunningHub
from hub.wiring import audit_trust, build_audit_store, build_subject_hasher
from synthetic.stories import stories

AUDITOR = "audit-office-henan"
SERVICE_DESK = "service-desk-xinmi"
POLICE = "police-xinmi"

EVENTS = """query($filter: AuditEventFilter, $first: Int) {
  auditEvents(filter: $filter, first: $first) {
    totalCount
    nodes {
      sequence requestId endpoint clientId agency purpose purposeReference outcome codes
      httpStatus operations { name type documentSha256 variables }
      fieldsRead fieldsMasked fieldsDenied entities { kind key } hash
    }
  }
}"""


def _event(hub: RunningHub, request_id: str) -> dict[str, Any]:
    """The record of one request, found by the id its response carried."""
    rows = (
        hub.as_client(AUDITOR)
        .post("/graphql", json={"query": EVENTS, "variables": {"first": 100}})
        .json()["data"]["auditEvents"]["nodes"]
    )
    [found] = [event for event in rows if event["requestId"] == request_id]
    return found


def _tallied(hub: RunningHub, request_id: str) -> dict[str, Any]:
    """The tally record that counts a refusal nobody authenticated (`audit.tally`):
    written when its interval ends, and named by the request id the response carried."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return _event(hub, request_id)
        except ValueError:  # not written yet
            assert time.monotonic() < deadline, f"no tally record {request_id}"
            time.sleep(0.1)


def _ask(
    client: httpx.Client, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.headers["x-request-id"]
    return response


def test_a_disclosure_is_recorded_with_hashed_id_numbers(hub: RunningHub) -> None:
    worker = stories(SEED).workers_without_residence[0]
    police = hub.as_client(POLICE)
    response = _ask(
        police,
        "query Residence($id: IdNumber!) { worker(idNumber: $id) { name residences { status } } }",
        {"id": worker},
    )
    assert response.json()["data"]["worker"] is not None
    event = _event(hub, response.headers["x-request-id"])
    hashed = build_subject_hasher(hub.settings)(worker)
    assert event["clientId"] == POLICE
    assert event["agency"] == "public_security"
    assert event["purpose"] == "residence-management"
    assert event["outcome"] == "OK"
    assert event["operations"][0]["name"] == "Residence"
    assert event["operations"][0]["type"] == "query"
    assert len(event["operations"][0]["documentSha256"]) == 64
    assert event["operations"][0]["variables"] == {"id": hashed}
    assert {"Worker.name", "Worker.residences"} <= set(event["fieldsRead"])
    assert {"kind": "Worker", "key": hashed} in event["entities"]


def test_the_id_number_never_appears_in_clear(hub: RunningHub) -> None:
    worker = stories(SEED).dispute_worker_id
    _ask(
        hub.as_client(POLICE),
        "query($id: IdNumber!) { worker(idNumber: $id) { name } }",
        {"id": worker},
    )
    engine = build_audit_store(hub.settings, hub.auth).database.sync_engine()
    try:
        with engine.connect() as connection:
            payloads = connection.execute(select(record_t.c.payload)).scalars().all()
    finally:
        engine.dispose()
    assert payloads
    assert not [payload for payload in payloads if worker in payload]


def test_a_refused_field_makes_a_partial_record(hub: RunningHub) -> None:
    worker = stories(SEED).workers_without_residence[0]
    response = _ask(
        hub.as_client(POLICE),
        "query($id: IdNumber!) { worker(idNumber: $id) { name disbursements { amountFen } } }",
        {"id": worker},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    event = _event(hub, response.headers["x-request-id"])
    assert event["outcome"] == "PARTIAL"
    assert event["fieldsDenied"] == ["Worker.disbursements"]
    assert "FORBIDDEN" in event["codes"]


@pytest.mark.parametrize(
    ("headers", "body", "status", "outcome", "code"),
    [
        ({}, {"query": "{ __typename }"}, 401, "DENIED", "missing_authorization"),
        (
            {"Authorization": "Bearer forged"},
            {"query": "{ __typename }"},
            401,
            "DENIED",
            "invalid_token",
        ),
    ],
)
def test_refusals_before_graphql_are_recorded(
    hub: RunningHub,
    headers: dict[str, str],
    body: dict[str, Any],
    status: int,
    outcome: str,
    code: str,
) -> None:
    response = httpx.post(f"{hub.url}/graphql", json=body, headers=headers)
    assert response.status_code == status
    event = _tallied(hub, response.headers["x-request-id"])
    assert (event["httpStatus"], event["outcome"], event["codes"]) == (status, outcome, [code])
    assert event["clientId"] is None


def test_a_query_refused_by_a_limit_is_recorded_as_denied(hub: RunningHub) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(16))
    response = _ask(hub.as_client(POLICE), f"{{ {aliases} }}")
    event = _event(hub, response.headers["x-request-id"])
    assert event["outcome"] == "DENIED"
    assert event["codes"] == ["TOO_MANY_ALIASES", "TOO_MANY_ROOT_FIELDS"]


def test_a_malformed_query_is_recorded_as_invalid(hub: RunningHub) -> None:
    response = _ask(hub.as_client(POLICE), "{ worker(idNumber: ")
    event = _event(hub, response.headers["x-request-id"])
    assert (event["outcome"], event["codes"]) == ("INVALID", ["GRAPHQL_PARSE_FAILED"])
    assert event["clientId"] == POLICE


def test_token_requests_are_recorded(hub: RunningHub) -> None:
    response = httpx.post(
        f"{hub.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(POLICE, "wrong secret"),
    )
    assert response.status_code == 401
    event = _tallied(hub, response.headers["x-request-id"])
    assert (event["endpoint"], event["clientId"], event["outcome"]) == (
        "/oauth/token",
        POLICE,
        "DENIED",
    )
    assert event["agency"] == "public_security"


def test_auditors_filter_by_entity_and_purpose(hub: RunningHub) -> None:
    worker = stories(SEED).workers_without_residence[1]
    _ask(
        hub.as_client(POLICE),
        "query($id: IdNumber!) { worker(idNumber: $id) { name } }",
        {"id": worker},
    )
    body = (
        hub.as_client(AUDITOR)
        .post(
            "/graphql",
            json={
                "query": EVENTS,
                "variables": {"filter": {"entityKey": worker, "purpose": "residence-management"}},
            },
        )
        .json()
    )
    events = body["data"]["auditEvents"]
    assert events["totalCount"] >= 1
    assert {event["clientId"] for event in events["nodes"]} == {POLICE}


def test_audit_events_need_the_audit_scope(hub: RunningHub) -> None:
    body = _ask(hub.as_client(POLICE), "{ auditEvents { totalCount } }").json()
    assert body["data"]["auditEvents"] is None
    assert body["errors"][0]["extensions"]["missingScopes"] == ["audit:read"]


def test_a_worker_learns_who_looked_at_their_records(hub: RunningHub) -> None:
    """Question 6, through a service desk acting for the worker."""
    worker = stories(SEED).workers_without_residence[2]
    hub.as_client(POLICE).post(
        "/graphql",
        json={
            "query": "query($id: IdNumber!) { worker(idNumber: $id) { residences { status } } }",
            "variables": {"id": worker},
        },
        headers={"X-Purpose-Reference": "新公(治)查字〔2026〕118号".encode()},
    )
    report = (
        hub.as_client(SERVICE_DESK)
        .post(
            "/graphql",
            json={
                "query": """query($id: IdNumber!) { accessReport(idNumber: $id) {
                subject disclosures { totalCount nodes {
                  agency clientId purpose purposeReference kinds at } } } }""",
                "variables": {"id": worker},
            },
        )
        .json()["data"]["accessReport"]
    )
    assert report["subject"].startswith(worker[:3])
    assert "*" in report["subject"]
    latest = report["disclosures"]["nodes"][0]
    assert latest["agency"] == "public_security"
    assert latest["purpose"] == "residence-management"
    assert latest["purposeReference"] == "新公(治)查字〔2026〕118号"
    assert "居住登记 (worker:residence)" in latest["kinds"]


def test_the_log_verifies_after_the_sessions_traffic(hub: RunningHub) -> None:
    log = AuditLog(build_audit_store(hub.settings).database, audit_trust(hub.settings))
    report = log.verify(views=None)
    assert report.ok, report.summary()
    assert report.records > 10


def test_the_record_names_the_route_not_the_path(hub: RunningHub) -> None:
    """A path is as long as the caller likes and may carry a case number: the record keeps
    the route that answered (on PostgreSQL an over-long endpoint failed every record of
    its transaction, and unrelated requests were answered 503)."""
    case = "（2026）豫0183民初1024号"
    response = httpx.get(f"{hub.url}/desk/case/{case}/{'x' * 300}", follow_redirects=False)
    assert response.status_code != 503
    event = _tallied(hub, response.headers["x-request-id"])
    assert event["endpoint"].startswith("/desk")
    assert len(event["endpoint"]) <= 32
    assert case not in event["endpoint"]
