"""The hub with its connectors remote (`HUB_CONNECTOR_<AGENCY>_URL`): each agency served
by `create_subgraph_app` on its own port, the hub reaching it over HTTP with its own
client-credentials token. Answers, batching, scopes and audit records must be those of
the in-process hub; a failing agency must cost only its own fields."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from desk_support import person, sign_in
from pydantic import SecretStr
from starlette.applications import Starlette

from audit.store import EventFilter
from auth.store import Grant
from conftest import (
    SEED,
    TEST_CLIENT,
    TEST_PURPOSE,
    ClientCredentials,
    RunningHub,
    _free_port,
    serving,
)
from connectors.base import discover
from connectors.housing.loaders import ProjectFilter
from connectors.remote import RemoteTransport
from connectors.wire import encode
from hub.app import create_app
from hub.settings import HubSettings
from hub.subgraph_app import create_subgraph_app
from hub.wiring import build_audit_store, build_cursors
from kernel.scopes import TOKEN_EXCHANGE
from questions import DOSSIER, NESTED, five_questions
from synthetic.stories import Stories, stories

HUB_CLIENT = "hub"
DESK_CASE = "（2026）豫0183民初1024号"
AGENCIES = [connector.name for connector in discover()]


@pytest.fixture(scope="module")
def story() -> Stories:
    return stories(SEED)


@dataclass
class RemoteHub:
    """A second hub on the same stores, every connector of it remote."""

    url: str
    app: Starlette
    client: httpx.Client
    calls: Counter[str]
    """Connector calls (HTTP requests to /connector/load) per agency."""

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": document, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()


LOADED_MACHINE_TIMEOUT = 20.0
"""The connectors' deadline here: the agencies are served in this test process, whose
answers at a load of 12-16 on 2 cores took longer than the default 2 s (CONNECTOR_TIMEOUT
in a test about answers, not deadlines); a test about a deadline sets its own."""


def remote_settings(hub: RunningHub, urls: dict[str, str], **overrides: Any) -> HubSettings:
    connector = hub.settings.connector.model_copy(
        update={
            "timeout_seconds": LOADED_MACHINE_TIMEOUT,
            "urls": urls,
            "client_secret": SecretStr(hub.secrets[HUB_CLIENT]),
            "token_url": f"{hub.url}/oauth/token",
            **overrides,
        }
    )
    return hub.settings.model_copy(update={"connector": connector})


@contextmanager
def running_remote_hub(
    hub: RunningHub, urls: dict[str, str], **overrides: Any
) -> Iterator[RemoteHub]:
    app = create_app(remote_settings(hub, urls, **overrides))
    calls: Counter[str] = Counter()
    agency_at = {urlsplit(url).netloc: name for name, url in urls.items()}

    async def count(request: httpx.Request) -> None:
        if request.url.path == "/connector/load":
            calls[agency_at[request.url.netloc.decode()]] += 1

    [http] = {
        connector.transport.http
        for connector in app.state.connectors
        if isinstance(connector.transport, RemoteTransport)
    }
    http.event_hooks["request"].append(count)
    with (
        serving(app) as url,
        httpx.Client(
            base_url=url,
            timeout=30,
            auth=ClientCredentials(TEST_CLIENT, hub.secrets[TEST_CLIENT]),
            headers={"X-Purpose": TEST_PURPOSE},
        ) as client,
    ):
        yield RemoteHub(url, app, client, calls)


@pytest.fixture(scope="module")
def services(hub: RunningHub) -> Iterator[dict[str, str]]:
    """Each agency served on its own port, trusting the hub's client as a delegate."""
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(
                serving(create_subgraph_app(name, hub.settings, delegates=[HUB_CLIENT]))
            )
            + "/graphql"
            for name in AGENCIES
        }


@pytest.fixture(scope="module")
def remote(hub: RunningHub, services: dict[str, str]) -> Iterator[RemoteHub]:
    with running_remote_hub(hub, services) as running:
        yield running


def test_the_remote_hub_answers_the_questions_as_the_in_process_hub(
    hub: RunningHub, remote: RemoteHub, story: Stories
) -> None:
    remote.calls.clear()
    for name, (document, variables) in five_questions(story).items():
        expected = hub.query(document, variables)
        assert "errors" not in expected, name
        assert remote.query(document, variables) == expected, name
    assert set(remote.calls) == set(AGENCIES)  # every agency was really asked over HTTP


def _calls_for(remote: RemoteHub, first: int) -> dict[str, int]:
    start = build_cursors(remote.app.state.settings).seal(
        stories(SEED).dispute_worker_id[:-1], "Query.workers"
    )
    for connector in remote.app.state.connectors:  # each count with its as-of reading: one
        connector.as_of_kept.forget()  # kept from before might lapse between the two
    remote.calls.clear()
    body = remote.query(NESTED, {"first": first, "after": start})
    assert "errors" not in body, body["errors"]
    assert len(body["data"]["workers"]["nodes"]) == first
    return dict(remote.calls)


def test_connector_calls_do_not_grow_with_the_workers_shown(remote: RemoteHub) -> None:
    """One HTTP request per agency per batching wave: the same for 5 workers as for 50."""
    five = _calls_for(remote, 5)
    fifty = _calls_for(remote, 50)
    assert set(five) == set(AGENCIES)
    assert five == fifty
    assert sum(five.values()) <= 20


def _audited(hub: RunningHub, request_id: str) -> dict[str, Any]:
    """The stored record of one request, minus what differs between any two requests."""
    store = build_audit_store(hub.settings, hub.auth)

    async def find() -> dict[str, Any]:
        try:
            for row in await store.events(EventFilter(), None, 200):
                payload: dict[str, Any] = json.loads(row.payload)
                if payload["request_id"] == request_id:
                    return payload
            raise AssertionError(f"no audit record for {request_id}")
        finally:
            await store.database.dispose()

    record = asyncio.run(find())
    for varying in ("at", "request_id", "latency_ms", "seq", "response_bytes"):
        record.pop(varying, None)
    return record


@pytest.mark.parametrize(
    ("client_id", "question", "narrowed"),
    [
        ("bank-ccb-xinmi", "q5 account statement", False),
        ("police-xinmi", "q5 account statement", True),
        ("mediation-xinmi", "q1 dossier", False),
        ("dashboard-zhengzhou", "q1 dossier", True),
    ],
)
def test_scopes_masking_jurisdiction_and_audit_are_the_same_remote(
    hub: RunningHub,
    remote: RemoteHub,
    story: Stories,
    client_id: str,
    question: str,
    narrowed: bool,
) -> None:
    """Agencies with narrow grants see masked, denied and out-of-jurisdiction data
    exactly as at the in-process hub, and the audit log records the same disclosure."""
    document, variables = five_questions(story)[question]
    registered = hub.auth.get_client(client_id)
    assert registered
    headers = {
        "X-Purpose": registered.purposes[0],
        "X-Purpose-Reference": "（2026）豫0183民初1号".encode(),
    }
    answers = []
    for url in (hub.url, remote.url):
        with httpx.Client(
            base_url=url,
            timeout=30,
            auth=ClientCredentials(client_id, hub.secrets[client_id]),
            headers=headers,
        ) as client:
            response = client.post("/graphql", json={"query": document, "variables": variables})
            assert response.status_code == 200, response.text
            answers.append((response.json(), _audited(hub, response.headers["x-request-id"])))
    (local_body, local_record), (remote_body, remote_record) = answers
    assert remote_body == local_body
    assert remote_record == local_record
    assert bool(local_record["masked"] or local_record["denied"]) is narrowed
    assert local_record["fields"] or local_record["denied"]


def test_the_load_endpoint_refuses_what_it_must(hub: RunningHub, services: dict[str, str]) -> None:
    load = services["bank"].removesuffix("/graphql") + "/connector/load"
    for_the_bank = {
        "Authorization": f"Bearer {hub.exchanged(HUB_CLIENT, 'bank-ccb-xinmi', 'bank')}",
        "X-Purpose": "payroll-reconciliation",
    }
    one_call = {"calls": [{"loader": "account_by_project", "keys": ["410183202503171901"]}]}

    assert httpx.post(load, json=one_call).status_code == 401
    not_the_hub = {
        "Authorization": f"Bearer {hub.token('bank-ccb-xinmi')}",
        "X-Purpose": "payroll-reconciliation",
    }
    refused = httpx.post(load, json=one_call, headers=not_the_hub)
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    for presenter in ("bank-ccb-xinmi", HUB_CLIENT):  # nobody names a caller in a header
        naming = httpx.post(
            load,
            json=one_call,
            headers={
                "Authorization": f"Bearer {hub.token(presenter)}",
                "X-Caller-Client-Id": "court-xinmi",
                "X-Purpose": "payroll-reconciliation",
            },
        )
        assert naming.status_code == 403
        assert naming.json()["error"] == "delegation_not_allowed"

    answered = httpx.post(load, json=one_call, headers=for_the_bank)
    assert answered.status_code == 200, answered.text
    [rows] = answered.json()["results"]
    assert rows
    assert rows[0]["$row"]["project_code"] == "410183202503171901"

    for body in (
        b"{not json",
        b'{"calls": []}',
        b'{"calls": [{"loader": "no_such_loader", "keys": ["x"]}]}',
        b'{"calls": [{"query": "no_such_query", "args": []}]}',
        b'{"calls": [{"loader": "account_by_project", "keys": [{"$sql": "drop"}]}]}',
        b'{"calls": [{"loader": "account_by_project", "keys": [["nested"]]}]}',
        b'{"calls": [{"loader": ["not", "a", "name"], "keys": []}]}',
        json.dumps({"calls": [{"loader": "account_by_project", "keys": ["k"] * 10_001}]}).encode(),
        json.dumps({"calls": [{"loader": "account_by_project", "keys": ["k"]}] * 201}).encode(),
    ):
        bad = httpx.post(load, content=body, headers=for_the_bank)
        assert bad.status_code == 400, body
        assert bad.json()["error"] == "invalid_request"


def test_the_agency_caps_a_list_querys_limit(hub: RunningHub, services: dict[str, str]) -> None:
    """The agency does not trust the caller with the size of a page: 1 to 1,000 rows."""
    load = services["housing"].removesuffix("/graphql") + "/connector/load"
    as_hub = {"Authorization": f"Bearer {hub.token(HUB_CLIENT)}", "X-Purpose": "connector-calls"}

    def page(limit: object) -> httpx.Response:
        call = {"query": "projects_page", "args": [encode(ProjectFilter()), None, limit]}
        return httpx.post(load, json={"calls": [call]}, headers=as_hub)

    answered = page(3)
    assert answered.status_code == 200, answered.text
    assert len(answered.json()["results"][0]) == 3
    assert page(1_000).status_code == 200
    for limit in (0, 1_001, 10**9, "10", True, None):
        refused = page(limit)
        assert refused.status_code == 400, limit
        assert "limit is a whole number from 1 to 1000" in refused.json()["error_description"]


def test_a_connector_that_is_down_costs_only_its_own_fields(
    hub: RunningHub, services: dict[str, str], story: Stories
) -> None:
    """The bank's service is gone: the dossier still comes, with the bank's fields null
    and errors naming the bank; /readyz says which connector fails; the audit record
    says the answer was partial."""
    dead = f"http://127.0.0.1:{_free_port()}/graphql"
    with running_remote_hub(hub, {**services, "bank": dead}, retries=1) as remote:
        document, variables = five_questions(story)["q5 account statement"]
        response = remote.client.post("/graphql", json={"query": document, "variables": variables})
        body = response.json()
        assert body["data"]["project"]["wageAccount"] is None
        assert body["data"]["project"]["accountStatement"] is None
        codes = {
            (e["extensions"]["code"], e["extensions"].get("connector")) for e in body["errors"]
        }
        assert codes == {("CONNECTOR_UNAVAILABLE", "bank")}
        assert {tuple(e["path"]) for e in body["errors"]} == {
            ("project", "wageAccount"),
            ("project", "accountStatement"),
        }
        dossier = remote.query(DOSSIER, five_questions(story)["q1 dossier"][1])
        assert dossier["data"]["disputeCase"]["caseNumber"] == story.dispute_case_number
        assert _audited(hub, response.headers["x-request-id"])["outcome"] == "partial"

        ready = httpx.get(f"{remote.url}/readyz")
        assert ready.status_code == 503
        report = ready.json()["connectors"]
        assert report["bank"] != "ok"
        assert {name: report[name] for name in AGENCIES if name != "bank"} == {
            name: "ok" for name in AGENCIES if name != "bank"
        }


def test_jurisdiction_fails_closed_when_the_agency_deciding_it_is_down(
    hub: RunningHub, services: dict[str, str], story: Stories
) -> None:
    """Housing is up and knows the worker, but a mediation committee may see only workers
    party to its court's cases: with the courts' service down, the worker is withheld
    with the court's error, not shown unchecked."""
    dead = f"http://127.0.0.1:{_free_port()}/graphql"
    with running_remote_hub(hub, {**services, "court": dead}, retries=0) as remote:
        client_id = "mediation-xinmi"
        with httpx.Client(
            base_url=remote.url,
            timeout=30,
            auth=ClientCredentials(client_id, hub.secrets[client_id]),
            headers={"X-Purpose": "dispute-mediation"},
        ) as client:
            body = client.post(
                "/graphql",
                json={
                    "query": "query($id: IdNumber!) { worker(idNumber: $id) { idNumber name } }",
                    "variables": {"id": story.dispute_worker_id},
                },
            ).json()
    assert body["data"]["worker"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "CONNECTOR_UNAVAILABLE", "connector": "court"}
    assert hub.as_client(client_id).post(
        "/graphql",
        json={
            "query": "query($id: IdNumber!) { worker(idNumber: $id) { idNumber } }",
            "variables": {"id": story.dispute_worker_id},
        },
    ).json()["data"]["worker"] == {"idNumber": story.dispute_worker_id}


def test_one_clients_oversized_wave_neither_fails_nor_opens_the_circuit(
    remote: RemoteHub,
) -> None:
    """Three aliased list queries with a large variable: one wave's calls to housing are
    larger together than housing takes in one request. They are split to fit, so the
    query is answered, and however often it is sent the circuit stays closed."""
    document = """query($t: String!) {
      a: workers(filter: {trade: $t}) { totalCount }
      b: workers(filter: {trade: $t}, first: 2) { totalCount }
      c: workers(filter: {trade: $t}, first: 3) { totalCount }
    }"""
    trade = "木" * 30_000  # 90 KB of UTF-8
    for _ in range(6):
        body = remote.query(document, {"t": trade})
        assert "errors" not in body, body["errors"][0]
        assert body["data"]["a"]["totalCount"] == 0
    [housing] = [c for c in remote.app.state.connectors if c.name == "housing"]
    assert isinstance(housing.transport, RemoteTransport)
    assert housing.transport.breaker.state == "closed"


def _load(url: str, token: str, purpose: str, loader: str, keys: list[str]) -> list[Any]:
    response = httpx.post(
        url.removesuffix("/graphql") + "/connector/load",
        json={"calls": [{"loader": loader, "keys": keys}]},
        headers={"Authorization": f"Bearer {token}", "X-Purpose": purpose},
    )
    assert response.status_code == 200, response.text
    [rows] = response.json()["results"]
    return [row["$row"] for row in rows]


def test_the_agency_reapplies_the_callers_limits_and_masking(
    hub: RunningHub, services: dict[str, str]
) -> None:
    """The rows an agency serves for a caller are the caller's: a bank-bound caller gets
    no other bank's account, a caller without `bank:account` gets card numbers masked —
    whoever carries the request, the hub included."""
    nodes = hub.data("{ projects(first: 100) { nodes { code wageAccount { bankName } } } }")
    accounts = {
        p["code"]: p["wageAccount"]["bankName"]
        for p in nodes["projects"]["nodes"]
        if p["wageAccount"]
    }
    ccb = next(code for code, bank in accounts.items() if bank.startswith("中国建设银行"))
    other = next(code for code, bank in accounts.items() if not bank.startswith("中国建设银行"))
    token = hub.exchanged(HUB_CLIENT, "bank-ccb-xinmi", "bank")
    rows = _load(
        services["bank"], token, "payroll-reconciliation", "account_by_project", [ccb, other]
    )
    assert [row["project_code"] for row in rows] == [ccb]

    [worker] = hub.data(
        '{ workers(first: 1, filter: {siteRegionCodePrefix: "410183"}) { nodes { idNumber } } }'
    )["workers"]["nodes"]
    police = hub.exchanged(HUB_CLIENT, "police-xinmi", "bank")
    everyone = hub.exchanged(HUB_CLIENT, TEST_CLIENT, "bank")
    masked = _load(
        services["bank"], police, "residence-management", "cards_by_worker", [worker["idNumber"]]
    )
    clear = _load(services["bank"], everyone, TEST_PURPOSE, "cards_by_worker", [worker["idNumber"]])
    assert clear
    assert len(masked) == len(clear)
    assert all("*" not in row["card_no"] for row in clear)
    assert all("*" in row["card_no"] for row in masked)
    assert all(row["worker_id_number"] == worker["idNumber"] for row in masked)  # keys stay
    own = _load(
        services["bank"],
        hub.token(HUB_CLIENT),
        "connector-calls",
        "cards_by_worker",
        [worker["idNumber"]],
    )
    assert all("*" in row["card_no"] for row in own)  # the hub's own grant: no bank:account


SERVICE_CLIENT = "svc-bank"
"""The bank service's own client: it may exchange its callers' tokens, nothing more."""


def test_an_agency_service_reaches_another_with_its_own_least_privilege_client(
    hub: RunningHub,
) -> None:
    """The bank's service, with housing remote, decides a region-bound caller's projects
    from housing's records: it exchanges the caller's token with its own client (scope
    `token:exchange` only, no secret of the hub's), and that client alone reads nothing."""
    if SERVICE_CLIENT not in hub.secrets:
        grant = Grant(agency="bank", scopes=(TOKEN_EXCHANGE,), purposes=("connector-calls",))
        hub.secrets[SERVICE_CLIENT] = hub.auth.add_client(SERVICE_CLIENT, grant)
    housing_app = create_subgraph_app(
        "housing", hub.settings, delegates=[HUB_CLIENT, SERVICE_CLIENT]
    )
    with serving(housing_app) as housing:
        connector = hub.settings.connector.model_copy(
            update={
                "urls": {"housing": f"{housing}/graphql"},
                "client_id": SERVICE_CLIENT,
                "client_secret": SecretStr(hub.secrets[SERVICE_CLIENT]),
                "token_url": f"{hub.url}/oauth/token",
            }
        )
        bank_settings = hub.settings.model_copy(update={"connector": connector})
        with serving(create_subgraph_app("bank", bank_settings, delegates=[HUB_CLIENT])) as bank:
            nodes = hub.data("{ projects(first: 100) { nodes { code region { code } } } }")
            codes = {p["code"]: p["region"]["code"] for p in nodes["projects"]["nodes"]}
            inside = next(code for code, region in codes.items() if region.startswith("410183"))
            outside = next(
                code for code, region in codes.items() if not region.startswith("410183")
            )
            headers = {
                "Authorization": f"Bearer {hub.token('police-xinmi')}",
                "X-Purpose": "residence-management",
            }
            body = httpx.post(
                f"{bank}/graphql",
                json={
                    "query": "query($r: [_Any!]!) { _entities(representations: $r) "
                    "{ ... on Project { code } } }",
                    "variables": {
                        "r": [{"__typename": "Project", "code": c} for c in (inside, outside)]
                    },
                },
                headers=headers,
                timeout=30,
            ).json()
            assert body["data"]["_entities"] == [{"code": inside}, None], body
        own = httpx.post(
            f"{housing}/connector/load",
            json={"calls": [{"loader": "project", "keys": [inside]}]},
            headers={
                "Authorization": f"Bearer {hub.token(SERVICE_CLIENT)}",
                "X-Purpose": "connector-calls",
            },
        )
        assert own.status_code == 403
        assert own.json()["error"] == "insufficient_scope"


def test_a_desk_session_reaches_a_remote_agency_as_itself(
    hub: RunningHub, remote: RemoteHub
) -> None:
    """A person at the web desk has no bearer token of their own: the desk issues one to
    the session, and the hub exchanges it, so the agency answers — and records — the
    session's client and person, never the hub's own grant."""
    username = person(hub, "clerk-remote", "mediation-xinmi", "clerk", "王调解")
    with httpx.Client(base_url=remote.url, timeout=30, headers={"Origin": remote.url}) as browser:
        signed = sign_in(browser, username, purpose="dispute-mediation")
        assert signed.status_code == 303, signed.text
        page = browser.get(f"/desk/cases/{DESK_CASE}")
        assert page.status_code == 200, page.text
    store = build_audit_store(hub.settings, hub.auth)

    async def loads() -> list[dict[str, Any]]:
        try:
            rows = await store.events(EventFilter(), None, 300)
            payloads = [json.loads(row.payload) for row in rows]
            return [p for p in payloads if p["endpoint"] == "/connector/load"]
        finally:
            await store.database.dispose()

    mine = [p for p in asyncio.run(loads()) if p.get("user") == username]
    assert mine, "the agencies recorded the desk's person"
    assert {p["client_id"] for p in mine} == {"mediation-xinmi"}
    assert all(p["via"] == [HUB_CLIENT] for p in mine)
