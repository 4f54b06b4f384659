"""A connector served alone as a federation subgraph (`hub connector serve`), over HTTP
on a real uvicorn, against the seeded demo: keys in the SDL, `_entities` batched, scopes
and jurisdiction enforced through `_entities`, and calls authenticated."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from auth.store import Grant
from conftest import SEED, TEST_PURPOSE, RunningHub, StatementCounter, serving
from grants import register_client
from graph.jurisdiction import Jurisdiction
from hub.subgraph_app import create_subgraph_app
from kernel.composition import Entity
from kernel.scopes import vocabulary
from synthetic.stories import stories

HUB_SERVICE = "test-hub-service"
"""The client the hub would present when it calls a subgraph on a caller's behalf."""
PAYROLL = '... on Worker { payrollCards { bankName } disbursements(from: "2026-10") { amountFen } }'
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { %s } }"
FUNDED_PROJECT = "410183202503171901"
"""Its wage special account is at 中国建设银行 (docs/questions.md, question 5)."""
PROJECT_WITHOUT_ACCOUNT = "410183202508033001"


@dataclass
class Subgraph:
    url: str
    hub: RunningHub
    statements: StatementCounter

    def post(
        self, document: str, variables: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response:
        return httpx.post(
            f"{self.url}/graphql",
            json={"query": document, "variables": variables},
            headers=headers,
            timeout=30,
        )

    def as_client(
        self, client_id: str, purpose: str, document: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.hub.token(client_id)}", "X-Purpose": purpose}
        response = self.post(document, variables, headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def on_behalf_of(
        self, caller: str, purpose: str, document: str, variables: dict[str, Any]
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.hub.exchanged(HUB_SERVICE, caller, 'bank')}",
            "X-Purpose": purpose,
            "X-Purpose-Reference": "dossier 1024",
        }
        return self.post(document, variables, headers)


@pytest.fixture(scope="module")
def bank(hub: RunningHub) -> Iterator[Subgraph]:
    if HUB_SERVICE not in hub.secrets:
        grant = Grant(agency="hub", scopes=vocabulary(), purposes=("federation",))
        hub.secrets[HUB_SERVICE] = hub.auth.add_client(HUB_SERVICE, grant)
    app = create_subgraph_app("bank", hub.settings, delegates=[HUB_SERVICE])
    statements = StatementCounter()
    statements.attach(app.state.connectors)
    with serving(app) as url:
        yield Subgraph(url, hub, statements)


def _workers(hub: RunningHub, first: int) -> list[dict[str, str]]:
    nodes = hub.data(f"{{ workers(first: {first}) {{ nodes {{ idNumber }} }} }}")
    return [{"__typename": "Worker", **node} for node in nodes["workers"]["nodes"]]


def test_service_sdl_names_the_keys_and_only_the_banks_fields(bank: Subgraph) -> None:
    body = bank.as_client("test-all-access", "testing", "{ _service { sdl } }", {})
    sdl = body["data"]["_service"]["sdl"]
    for key in (
        '@key(fields: "idNumber", resolvable: true)',
        '@key(fields: "code", resolvable: true)',
        '@key(fields: "uscc", resolvable: true)',
    ):
        assert key in sdl
    assert '@key(fields: "caseNumber", resolvable: false)' in sdl
    assert '"@requiresScopes"' in sdl  # imported through @link, not defined here
    assert "directive @requiresScopes" not in sdl
    assert 'wageAccount: WageAccount @requiresScopes(scopes: [["wage:read"]])' in sdl
    assert "registrations" not in sdl  # housing's, served by housing's subgraph


def test_refuses_calls_without_a_token(bank: Subgraph) -> None:
    response = bank.post("{ _service { sdl } }", {}, {"X-Purpose": "testing"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    bad = bank.post("{ _service { sdl } }", {}, {"Authorization": "Bearer x.y.z"})
    assert bad.status_code == 401


def test_entities_are_batched_one_statement_per_loader(bank: Subgraph) -> None:
    counts = []
    for first in (5, 50):
        representations = _workers(bank.hub, first)
        bank.statements.reset()
        body = bank.as_client(
            "test-all-access", "testing", ENTITIES % PAYROLL, {"r": representations}
        )
        assert "errors" not in body, body["errors"]
        assert len(body["data"]["_entities"]) == first
        counts.append(dict(bank.statements.counts))
    assert counts[0] == counts[1] == {"bank": 2}  # cards by worker, disbursements by worker


def test_scopes_hold_through_entities(bank: Subgraph) -> None:
    """The police hold no wage:read: asked directly, or through the hub on their behalf."""
    representations = [{"__typename": "Worker", "idNumber": stories(SEED).dispute_worker_id}]
    direct = bank.as_client(
        "police-xinmi", "residence-management", ENTITIES % PAYROLL, {"r": representations}
    )
    delegated = bank.on_behalf_of(
        "police-xinmi", "residence-management", ENTITIES % PAYROLL, {"r": representations}
    )
    assert delegated.status_code == 200, delegated.text
    for body in (direct, delegated.json()):
        assert body["data"]["_entities"][0]["payrollCards"] is None
        errors = {(e["path"][-1], e["extensions"]["code"]) for e in body["errors"]}
        assert errors == {("payrollCards", "FORBIDDEN"), ("disbursements", "FORBIDDEN")}
        assert body["errors"][0]["extensions"]["missingScopes"] == ["wage:read"]


def test_delegation_keeps_the_callers_purposes_and_needs_a_trusted_delegate(
    bank: Subgraph,
) -> None:
    document = "{ _service { sdl } }"
    wrong_purpose = bank.on_behalf_of("police-xinmi", "payroll-reconciliation", document, {})
    assert wrong_purpose.status_code == 403
    assert wrong_purpose.json()["error"] == "purpose_not_granted"
    not_a_delegate = bank.hub.exchanged("test-all-access", "police-xinmi", "bank")
    headers = {"Authorization": f"Bearer {not_a_delegate}", "X-Purpose": "residence-management"}
    refused = bank.post(document, {}, headers)
    assert (refused.status_code, refused.json()["error"]) == (403, "delegation_not_allowed")


@pytest.mark.parametrize("presenter", ["police-xinmi", HUB_SERVICE])
def test_no_token_names_another_caller_in_a_header(bank: Subgraph, presenter: str) -> None:
    """Not a client's, not even the hub's: naming a caller beside one's own token made
    the hub's secret a master key."""
    headers = {
        "Authorization": f"Bearer {bank.hub.token(presenter)}",
        "X-Caller-Client-Id": "hr-bureau-xinmi",
        "X-Purpose": "supervision",
    }
    impersonation = bank.post("{ _service { sdl } }", {}, headers)
    assert impersonation.status_code == 403
    assert impersonation.json()["error"] == "delegation_not_allowed"


def test_an_exchanged_token_is_good_at_its_agency_only(bank: Subgraph) -> None:
    token = bank.hub.exchanged(HUB_SERVICE, "police-xinmi", "bank")
    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "residence-management"}
    assert bank.post("{ __typename }", {}, headers).status_code == 200
    at_the_hub = httpx.post(
        f"{bank.hub.url}/graphql", json={"query": "{ __typename }"}, headers=headers
    )
    assert at_the_hub.status_code == 401
    assert "audience" in at_the_hub.json()["error_description"]


def test_jurisdiction_holds_through_entities(bank: Subgraph) -> None:
    """A bank-bound client sees the projects whose account it keeps; another project is
    null, exactly like an unknown one."""
    representations = [
        {"__typename": "Project", "code": code}
        for code in (FUNDED_PROJECT, PROJECT_WITHOUT_ACCOUNT)
    ]
    query = ENTITIES % "... on Project { code wageAccount { bankName } }"
    for body in (
        bank.as_client("bank-ccb-xinmi", "payroll-reconciliation", query, {"r": representations}),
        bank.on_behalf_of(
            "bank-ccb-xinmi", "payroll-reconciliation", query, {"r": representations}
        ).json(),
    ):
        assert "errors" not in body, body["errors"]
        funded, other = body["data"]["_entities"]
        assert funded == {
            "code": FUNDED_PROJECT,
            "wageAccount": {"bankName": "中国建设银行新密市支行"},
        }
        assert other is None


def test_a_malformed_key_is_bad_user_input(bank: Subgraph) -> None:
    representations = [{"__typename": "Worker", "idNumber": "11010519491231002Y"}]
    body = bank.as_client("test-all-access", "testing", ENTITIES % PAYROLL, {"r": representations})
    assert body["data"]["_entities"] == [None]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_limited_clients_representations_are_decided_together(
    bank: Subgraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bank-limited client's `_entities` call: its representations' visibility is decided
    in one decision (graph.jurisdiction.Jurisdiction._one), not one per representation;
    each answer is the one the representation gets when asked alone, and the statements
    do not grow with the representations."""
    decided: list[tuple[Entity, int]] = []
    real = Jurisdiction.visible

    async def counted(self: Jurisdiction, entity: Entity, keys: list[Any]) -> list[bool]:
        decided.append((entity, len(keys)))
        return await real(self, entity, keys)

    monkeypatch.setattr(Jurisdiction, "visible", counted)
    query = ENTITIES % "... on Worker { idNumber }"
    bound = register_client(
        bank.hub, "subgraph-bank-bound", vocabulary(), {"bank": ("中国建设银行",)}
    )
    client = (bound, TEST_PURPOSE)
    counts, answers = [], []
    for first in (5, 40):
        representations = _workers(bank.hub, first)
        decided.clear()
        bank.statements.reset()
        body = bank.as_client(*client, query, {"r": representations})
        assert "errors" not in body, body["errors"]
        assert decided == [(Entity.WORKER, first)]
        counts.append(dict(bank.statements.counts))
        answers = body["data"]["_entities"]
    assert counts[0] == counts[1]
    assert any(answers)
    assert not all(answers)
    alone = [
        bank.as_client(*client, query, {"r": [representation]})["data"]["_entities"][0]
        for representation in representations
    ]
    assert alone == answers
