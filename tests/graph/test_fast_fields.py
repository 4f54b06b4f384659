"""The fast path of plain scoped fields (`kernel.access.fast_resolver`) answers exactly
what strawberry's own path answers, and leaves the same audit record: the session's hub
(fast) beside a second hub over the same databases built with `fast_fields=False`, for
every bench workload (worker, dossier, project, dashboard, with keys from the demo data)
and every demo client, its grant's scopes, masks, row limits and refusals included."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, select

from audit.models import AuditRecord
from bench.workloads import DASHBOARD, DOSSIER, PROJECT, WORKER
from conftest import SEED, TEST_CLIENT, TEST_PURPOSE, ClientCredentials, RunningHub, serving
from hub import app as hub_app
from hub.demo import DEMO_GRANTS
from hub.graph import hub_schema
from hub.settings import DatabasePolicy
from hub.wiring import audit_database
from kernel.access import fast_resolver
from storage.database import Database
from synthetic.stories import stories

STORY = stories(SEED)
MONTH = STORY.through_month.strftime("%Y-%m")
KEYS = 3
"""Keys per workload."""
VARYING = ("seq", "at", "request_id", "latency_ms")
"""What differs between any two records of the same request."""
record_t = AuditRecord.__table__  # type: ignore[attr-defined]


def test_plain_fields_take_the_fast_path_and_the_rest_strawberrys() -> None:
    """Attributes (masked ones too) and columns of an entity's row are fast; fields with
    gates or arguments are not. If the fast path stopped applying (another extension on
    every field, say), the comparison below would compare nothing."""
    schema = hub_schema()

    def fast(type_name: str, field_name: str) -> bool:
        definition = schema.get_type_by_name(type_name)
        assert definition is not None
        [field] = [f for f in definition.fields if f.python_name == field_name]  # type: ignore[union-attr]
        return fast_resolver(field) is not None

    assert fast("WagePosition", "due_fen")  # an attribute
    assert fast("Worker", "id_number")  # masked without its scope
    assert fast("Worker", "name")  # a column of the worker's row
    assert fast("DisputeCase", "status")
    assert fast("CaseParty", "role")
    assert not fast("DisputeCase", "parties")  # an argument, and a record gate
    assert not fast("Worker", "registrations")


@contextlib.contextmanager
def _generic(hub: RunningHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A second hub over the same databases, every field through strawberry's path."""
    monkeypatch.setattr(hub_app, "hub_schema", functools.partial(hub_schema, fast_fields=False))
    few = DatabasePolicy(pool_size=1, max_overflow=1)  # a shared PostgreSQL server
    app = hub_app.create_app(hub.settings.model_copy(update={"db": few}))
    monkeypatch.undo()
    with serving(app, hub.settings.limits) as url:
        yield url


def _calls(hub: RunningHub) -> list[tuple[str, dict[str, Any]]]:
    """Each bench workload's document with keys from the demo data."""
    data = hub.data(
        f"""{{ workers(first: {KEYS}) {{ nodes {{ idNumber }} }}
        disputeCases(first: {KEYS}) {{ nodes {{ caseNumber disputedMonths }} }}
        projects(first: {KEYS}) {{ nodes {{ code region {{ code }} }} }} }}"""
    )
    calls: list[tuple[str, dict[str, Any]]] = []
    calls += [(WORKER, {"id": w["idNumber"]}) for w in data["workers"]["nodes"]]
    for case in data["disputeCases"]["nodes"]:
        months = case["disputedMonths"] or [MONTH]
        calls.append((DOSSIER, {"case": case["caseNumber"], "from": months[0], "to": months[-1]}))
    for project in data["projects"]["nodes"]:
        calls.append((PROJECT, {"code": project["code"], "month": MONTH}))
        district = project["region"]["code"][:6]
        calls.append((DASHBOARD, {"month": MONTH, "region": district, "first": 20}))
    return calls


class Records:
    """The audit records of requests, read through one connection kept for the test (an
    engine and a connection per record were a third of this module's CPU)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __call__(self, request_id: str) -> dict[str, Any]:
        [payload] = self.connection.execute(
            select(record_t.c.payload).where(record_t.c.request_id == request_id)
        ).scalars()
        self.connection.rollback()  # the next read sees records written since
        record: dict[str, Any] = json.loads(payload)
        return {name: value for name, value in record.items() if name not in VARYING}


@contextlib.contextmanager
def _records(audit: Database) -> Iterator[Records]:
    engine = audit.sync_engine()
    try:
        with engine.connect() as connection:
            yield Records(connection)
    finally:
        engine.dispose()


def _answer(client: httpx.Client, document: str, variables: dict[str, Any]) -> httpx.Response:
    response = client.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200, response.text
    return response


Pair = tuple[str, httpx.Client, httpx.Client]


@contextlib.contextmanager
def _pairs(hub: RunningHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Pair]]:
    """For every demo client (and the all-access test client): its id, a client of the
    session's hub (fast) and one of the generic hub beside it."""
    clients = [(TEST_CLIENT, TEST_PURPOSE), *((g.client_id, None) for g in DEMO_GRANTS)]
    with _generic(hub, monkeypatch) as url, contextlib.ExitStack() as stack:
        pairs = []
        for client_id, purpose in clients:
            fast = hub.as_client(client_id, purpose)
            generic = httpx.Client(
                base_url=url,
                timeout=30,
                auth=ClientCredentials(client_id, hub.secrets[client_id]),
                headers={"X-Purpose": fast.headers["X-Purpose"]},
            )
            pairs.append((client_id, fast, stack.enter_context(generic)))
        yield pairs


def test_the_fast_path_answers_and_records_what_strawberrys_path_does(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _calls(hub)
    compared = refused = 0
    with _pairs(hub, monkeypatch) as pairs, _records(audit_database(hub.settings)) as records:
        for client_id, fast, generic in pairs:
            for document, variables in calls:
                ours = _answer(fast, document, variables)
                theirs = _answer(generic, document, variables)
                where = (client_id, variables)
                assert ours.content == theirs.content, where
                assert records(ours.headers["x-request-id"]) == records(
                    theirs.headers["x-request-id"]
                ), where
                compared += 1
                refused += "errors" in ours.json()
    assert compared == len(pairs) * len(calls)
    assert 0 < refused < compared  # some clients lack a scope somewhere, most see data


SHAPES = """
query Shapes($id: IdNumber!, $code: String!, $uscc: USCC!, $case: CaseNumber!,
             $other: IdNumber!, $month: YearMonth!, $before: DateTime!,
             $yes: Boolean = true, $no: Boolean = false) {
  worker(idNumber: $id) {
    __typename idNumber a: idNumber name b: name ...WorkerFields
    ... on Worker { c: name idNumber }
    d: name @include(if: $yes)
    e: name @skip(if: $yes)
    f: idNumber @include(if: $no)
    ... @skip(if: $no) { g: name }
    payrollCards { cardNo bankName again: cardNo }
    disbursements { cardNo amountFen project { name } }
    contracts { signedOn project { __typename name status region { code name } } dailyWageFen }
  }
  workers(first: 3, filter: {siteRegionCodePrefix: "410183"}) {
    nodes { idNumber name payrollCards { cardNo } }
  }
  project(code: $code) {
    __typename code ...ProjectFields p: name region { code name }
    ... @include(if: $yes) { status startDate }
    wageAccount { accountNo a: accountNo bankName status }
    builder { name marketCreditScore legalRepresentative }
    generalContractor { ...EnterpriseFields }
    registrations { worker { idNumber i: idNumber name } }
    wagePositions(month: $month) { worker { idNumber } dueFen }
  }
  unknownProject: project(code: "NO-SUCH-PROJECT") { code name status region { code } }
  enterprise(uscc: $uscc) { ...EnterpriseFields kind qualification }
  disputeCase(caseNumber: $case) {
    courtName courtCode kind cause claimAmountFen status filedOn closedOn s: status
    project { name }
  }
  auditEvents(first: 3, filter: {to: $before}) {
    nodes {
      sequence requestId clientId agency outcome codes fieldsRead fieldsMasked
      fieldsDenied entities { kind key } operations { name documentSha256 variables }
    }
  }
  accessReport(idNumber: $other) { subject s: subject }
}
fragment WorkerFields on Worker { name idNumber }
fragment ProjectFields on Project {
  name contractPriceFen plannedEndDate rightsNoticeBoard paymentGuarantee
}
fragment EnterpriseFields on Enterprise { uscc name region { code } marketCreditScore }
"""
"""Every kind of fast field (a row's column, an attribute, a masked one) reached through
aliases, the same field twice, named and inline fragments, @include/@skip, `__typename`,
a missing row, and under a record that a refused non-null field nulls; keys in the demo
clients' region (Xinmi), a project whose wage account the demo bank keeps."""
INTROSPECTION = """{ __typename __schema { queryType { name } }
  __type(name: "Worker") { fields { name } } }"""


def _shape_variables(hub: RunningHub) -> dict[str, Any]:
    data = hub.data(
        """{ projects(first: 50, filter: {regionCodePrefix: "410183"}) { nodes {
          code builder { uscc } wageAccount { bankName } registrations { worker { idNumber } }
        } }
        disputeCases(first: 1) { nodes { caseNumber } }
        workers(first: 20) { nodes { idNumber } } }"""
    )
    project = next(
        p
        for p in data["projects"]["nodes"]
        if p["registrations"]
        and (p["wageAccount"] or {}).get("bankName", "").startswith("中国建设银行")
    )
    return {
        "id": project["registrations"][0]["worker"]["idNumber"],
        "code": project["code"],
        "uscc": project["builder"]["uscc"],
        "case": data["disputeCases"]["nodes"][0]["caseNumber"],
        "other": data["workers"]["nodes"][-1]["idNumber"],
        "month": MONTH,
        "before": "2026-01-01T00:00:00Z",
    }


def _sorted(body: dict[str, Any]) -> dict[str, Any]:
    """The answer with its errors in path order: graphql-core lists an error when it is
    raised, and a refusal the fast path raises at once comes before one that strawberry's
    coroutine raises later (the same errors, in another order)."""
    errors = sorted(body.get("errors", ()), key=lambda e: json.dumps(e.get("path")))
    return {**body, "errors": errors} if errors else body


def test_every_shape_of_a_request_answers_and_records_alike(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusals, masks and audit notes of fast fields do not depend on how a request
    reaches them, for every demo client."""
    variables = _shape_variables(hub)
    masked: set[str] = set()
    refused: set[str] = set()
    with _pairs(hub, monkeypatch) as pairs, _records(audit_database(hub.settings)) as records:
        for client_id, fast, generic in pairs:
            for document, given in ((SHAPES, variables), (INTROSPECTION, {})):
                ours = _answer(fast, document, given)
                theirs = _answer(generic, document, given)
                assert _sorted(ours.json()) == _sorted(theirs.json()), client_id
                record = records(ours.headers["x-request-id"])
                assert record == records(theirs.headers["x-request-id"]), client_id
                masked.update(record["masked"])
                refused.update(record["denied"])
    assert {"Worker.idNumber", "PayrollCard.cardNo", "WageAccount.accountNo"} <= masked, masked
    assert {"Enterprise.marketCreditScore", "LabourContract.dailyWageFen"} <= refused
    answer = _answer(hub.client, SHAPES, variables).json()
    assert "errors" not in answer
    assert answer["data"]["project"]["wageAccount"]
