"""No personal data in clear where it does not belong: requests carrying an ID number and
a name in query strings, paths, headers, purpose references, client ids and variables,
sent to the hub and to an agency service served as `hub serve` serves them (INFO
logging), leave no log line holding them; the audit record keeps the reference with the
ID number replaced by its keyed hash, and no record holds the ID number in clear (not
even as the client id a refused token request claimed)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from audit.record import KEYED
from audit.store import EventFilter, record_t
from conftest import TEST_CLIENT, TEST_PURPOSE, RunningHub, serving
from hub.app import create_app
from hub.subgraph_app import create_subgraph_app
from hub.wiring import build_audit_store

ID_NUMBER = "341226196603139011"
"""张建国's, of the demo world (docs/questions.md, question 1)."""
NAME = "张建国"
MARKER = "qs-marker-7f3a"
SECRETS = (ID_NUMBER, NAME, MARKER, "341226 19660313 9011")
REFERENCE = f"{NAME} 身份证 341226 19660313 9011 (2026)豫0183民初1024号"


class Captured(logging.Handler):
    """Every record any logger emits at INFO or above, as `hub serve` configures them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _client_logs(line: str) -> bool:
    """The test's own HTTP client logs what it sends; the servers are what is examined."""
    return line.startswith(("httpx ", "httpcore"))


def _payloads(hub: RunningHub) -> dict[str, str]:
    """Every audit record as stored, by request id."""
    engine = build_audit_store(hub.settings, hub.auth).database.sync_engine()
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(record_t.c.payload)).scalars().all()
    finally:
        engine.dispose()
    return {json.loads(payload)["request_id"]: payload for payload in rows}


def _audited(hub: RunningHub, request_id: str) -> dict[str, Any]:
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

    return asyncio.run(find())


def test_no_log_line_and_no_reference_holds_personal_data(
    hub: RunningHub, captured: Captured
) -> None:
    token = hub.token(TEST_CLIENT)
    hub_token = hub.token("hub")
    exchanged = hub.exchanged("hub", "housing-bureau-xinmi", "housing")
    ours = {"Authorization": f"Bearer {token}", "X-Purpose": TEST_PURPOSE}
    personal = {  # header values travel as UTF-8, as agencies send Chinese references
        "X-Purpose-Reference": REFERENCE.encode(),
        "User-Agent": f"{NAME} {ID_NUMBER}".encode(),
        "X-Forwarded-For": ID_NUMBER.encode(),
    }
    query = "query($id: IdNumber!) { worker(idNumber: $id) { name } }"
    app = create_app(hub.settings)
    agency = create_subgraph_app("housing", hub.settings, delegates=["hub"])
    with (
        serving(app, hub.settings.limits, log_level="info") as url,
        serving(agency, hub.settings.limits, log_level="info") as agency_url,
        httpx.Client(timeout=30) as client,
    ):
        answered = client.post(
            f"{url}/graphql?who={ID_NUMBER}&marker={MARKER}",
            json={"query": query, "variables": {"id": ID_NUMBER}},
            headers={**ours, **personal},
        )
        assert answered.json()["data"]["worker"]["name"] == NAME
        refused = [
            client.get(f"{url}/graphql", params={"query": f'{{ worker(idNumber: "{ID_NUMBER}") {{ name }} }}'}, headers=ours),
            client.post(f"{url}/graphql/{ID_NUMBER}", json={"query": "{ __typename }"}, headers=ours),
            client.post(f"{url}/graphql", json={"query": "{ __typename }"}, headers={**ours, "X-Purpose": f"{NAME}{ID_NUMBER}".encode()}),
            client.post(f"{url}/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {ID_NUMBER}.{MARKER}.x"}),
            client.post(f"{url}/graphql", json={"query": f'{{ worker(idNumber: "{ID_NUMBER}x") {{ name }} }}'}, headers=ours),
            client.post(f"{url}/oauth/token?{MARKER}", data={"grant_type": "client_credentials", "client_id": ID_NUMBER, "client_secret": NAME}),
            client.post(f"{agency_url}/graphql?{MARKER}", json={"query": "{ _service { sdl } }"}, headers={"Authorization": f"Bearer {hub_token}", "X-Caller-Client-Id": ID_NUMBER, "X-Purpose": "supervision"}),
        ]  # fmt: skip
        assert all(
            response.status_code >= 400 or "errors" in response.json() for response in refused
        )
        for path in ("/graphql", "/connector/load"):
            delegated = client.post(
                f"{agency_url}{path}?{MARKER}",
                json={"query": "{ _service { sdl } }"}
                if path == "/graphql"
                else {"calls": [{"loader": "worker", "keys": [ID_NUMBER]}]},
                headers={
                    "Authorization": f"Bearer {exchanged}",
                    "X-Purpose": "supervision",
                    **personal,
                },
            )
            assert delegated.status_code == 200, delegated.text

    lines = [line for line in captured.lines if not _client_logs(line)]
    assert any(line.startswith("hub.access ") for line in lines)  # the access log is there
    leaks = [line for line in lines if any(secret in line for secret in SECRETS)]
    assert not leaks, leaks

    token_refusal = refused[5].headers["x-request-id"]  # a tally, written within a second
    deadline = time.monotonic() + 10
    while token_refusal not in (payloads := _payloads(hub)):
        assert time.monotonic() < deadline, "the token endpoint's refusal was not recorded"
        time.sleep(0.1)
    assert not [p for p in payloads.values() if ID_NUMBER in p or "341226 19660313" in p]

    record = _audited(hub, answered.headers["x-request-id"])
    stored = record["purpose_reference"]
    assert ID_NUMBER not in stored.replace(" ", "")
    assert f"{KEYED}" in stored
    assert stored.startswith(NAME)  # only ID-number-shaped text is hashed
    assert stored.endswith("(2026)豫0183民初1024号")
