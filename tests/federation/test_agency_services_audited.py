"""An agency's service (`hub connector serve`) discloses nothing unrecorded: its GraphQL
endpoint (`_entities` included) and `/connector/load` write an audit record to the log
before answering — or do not answer — apply the hub's rate limits, and what they
disclose appears in the worker's access report at the hub."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from audit.store import EventFilter
from auth.store import Grant
from conftest import SEED, TEST_CLIENT, TEST_PURPOSE, RunningHub, serving
from hub.subgraph_app import create_subgraph_app
from hub.wiring import build_audit_store
from kernel.scopes import vocabulary
from synthetic.stories import stories

SERVICE_DESK = "service-desk-xinmi"
DELEGATE = "test-hub-delegate"
RESIDENCES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Worker { residences { status } } } }"


def _worker() -> str:
    return stories(SEED).dispute_worker_id


def _headers(hub: RunningHub, client_id: str, reference: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {hub.token(client_id)}",
        "X-Purpose": TEST_PURPOSE,
        "X-Purpose-Reference": reference,
    }


def _records(hub: RunningHub, reference: str) -> list[dict[str, Any]]:
    """The stored records whose purpose reference is `reference` (stored as sent)."""
    store = build_audit_store(hub.settings, hub.auth)

    async def find() -> list[dict[str, Any]]:
        try:
            rows = await store.events(EventFilter(), None, 500)
            payloads = [json.loads(row.payload) for row in rows]
            return [p for p in payloads if p.get("purpose_reference") == reference]
        finally:
            await store.database.dispose()

    return asyncio.run(find())


def _access_report(hub: RunningHub, worker: str) -> list[dict[str, Any]]:
    body = hub.as_client(SERVICE_DESK).post(
        "/graphql",
        json={
            "query": """query($id: IdNumber!) { accessReport(idNumber: $id, first: 50) {
                disclosures { nodes { clientId purposeReference kinds } } } }""",
            "variables": {"id": worker},
        },
    )
    assert body.status_code == 200, body.text
    nodes: list[dict[str, Any]] = body.json()["data"]["accessReport"]["disclosures"]["nodes"]
    return nodes


@pytest.fixture(scope="module")
def police(hub: RunningHub) -> Iterator[str]:
    with serving(create_subgraph_app("public_security", hub.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def bank(hub: RunningHub) -> Iterator[str]:
    if DELEGATE not in hub.secrets:
        grant = Grant(agency="hub", scopes=vocabulary(), purposes=("federation",))
        hub.secrets[DELEGATE] = hub.auth.add_client(DELEGATE, grant)
    with serving(create_subgraph_app("bank", hub.settings, delegates=[DELEGATE])) as url:
        yield url


def test_entities_at_an_agency_service_are_recorded_and_reported(
    hub: RunningHub, police: str
) -> None:
    reference = f"subgraph-probe-{uuid.uuid4().hex[:8]}"
    worker = _worker()
    response = httpx.post(
        f"{police}/graphql",
        json={
            "query": RESIDENCES,
            "variables": {"r": [{"__typename": "Worker", "idNumber": worker}]},
        },
        headers=_headers(hub, TEST_CLIENT, reference),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["_entities"][0]["residences"] is not None
    [record] = _records(hub, reference)
    assert record["request_id"] == response.headers["x-request-id"]
    assert record["client_id"] == TEST_CLIENT
    assert "Worker.residences" in record["fields"]
    assert any(kind == "Worker" for kind, _ in record["entities"])
    mine = [n for n in _access_report(hub, worker) if n["purposeReference"] == reference]
    assert len(mine) == 1
    assert mine[0]["clientId"] == TEST_CLIENT
    assert any("worker:residence" in kind for kind in mine[0]["kinds"])


def test_connector_loads_are_recorded_for_the_caller_named(hub: RunningHub, bank: str) -> None:
    reference = f"load-probe-{uuid.uuid4().hex[:8]}"
    worker = _worker()
    headers = {
        **_headers(hub, TEST_CLIENT, reference),
        "Authorization": f"Bearer {hub.exchanged(DELEGATE, TEST_CLIENT, 'bank')}",
    }
    call = {"calls": [{"loader": "disbursements_by_worker", "keys": [worker]}]}
    response = httpx.post(f"{bank}/connector/load", json=call, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0], "the worker has disbursements"
    [record] = _records(hub, reference)
    assert record["endpoint"] == "/connector/load"
    assert record["client_id"] == TEST_CLIENT
    assert record["via"] == [DELEGATE]  # who carried the caller's request
    assert any(kind == "Worker" for kind, _ in record["entities"])
    assert any(n["purposeReference"] == reference for n in _access_report(hub, worker))


def test_no_record_no_answer(hub: RunningHub, tmp_path: Path) -> None:
    """The service's audit database does not take the record: 503, and no data."""
    empty = f"sqlite:///{tmp_path / 'none.db'}"
    broken = hub.settings.model_copy(update={"db_urls": {**hub.settings.db_urls, "audit": empty}})
    with serving(create_subgraph_app("public_security", broken)) as url:
        response = httpx.post(
            f"{url}/graphql",
            json={
                "query": RESIDENCES,
                "variables": {"r": [{"__typename": "Worker", "idNumber": _worker()}]},
            },
            headers=_headers(hub, TEST_CLIENT, "fail-closed"),
        )
    assert response.status_code == 503
    assert response.json()["error"] == "audit_unavailable"
    assert _worker() not in response.text


def test_an_agency_service_applies_the_rate_limits(hub: RunningHub) -> None:
    limited = hub.settings.model_copy(update={"rate_limits": {TEST_CLIENT: "1/h burst 2"}})
    with serving(create_subgraph_app("public_security", limited)) as url:
        statuses = [
            httpx.post(
                f"{url}/graphql",
                json={"query": "{ __typename }"},
                headers=_headers(hub, TEST_CLIENT, "rates"),
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 429]
