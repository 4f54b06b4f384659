"""A table of hostile requests, one per class of limit, each refused with its own code
before any connector is called; and a normal query from another agency keeps being
answered while they run."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import RunningHub

KNOWN_WORKER = "341226196603139011"


def _deep() -> str:
    """Depth 11 through introspection types (no list explosion, so only depth trips)."""
    return (
        "{ __schema { types { fields { type " + "{ ofType " * 6 + "{ name }" + " }" * 6 + " } } } }"
    )


def _aliased_protected_field() -> str:
    """Alias overloading: one protected field asked for sixteen times in one request."""
    aliases = " ".join(f"a{i}: disbursements {{ amountFen }}" for i in range(16))
    return f'{{ worker(idNumber: "{KNOWN_WORKER}") {{ {aliases} }} }}'


def _fragment_bomb(levels: int = 40) -> str:
    """2^40 spreads of one field if expanded naively."""
    fragments = " ".join(
        f"fragment F{i} on Project {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return (
        f'query Bomb {{ project(code: "x") {{ ...F0 }} }} {fragments}'
        f" fragment F{levels} on Project {{ code }}"
    )


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


COSTLY = (
    "{ workers(first: 100) { nodes { registrations { project { registrations {"
    " worker { registrations { project { code } } } } } } } } }"
)


@dataclass(frozen=True)
class Attack:
    name: str
    body: bytes
    status: int
    code: str
    content_type: str = "application/json"

    @classmethod
    def query(cls, name: str, document: str, code: str, **variables: Any) -> Attack:
        body = json.dumps({"query": document, "variables": variables}).encode()
        return cls(name, body, 200, code)


ATTACKS = [
    Attack.query("depth", _deep(), "QUERY_TOO_DEEP"),
    Attack.query("aliases on a protected field", _aliased_protected_field(), "TOO_MANY_ALIASES"),
    Attack.query(
        "root fields", "{ " + 'project(code: "x") { code } ' * 11 + "}", "TOO_MANY_ROOT_FIELDS"
    ),
    Attack.query("tokens", "{ " + "x " * 2_100 + "}", "TOO_MANY_TOKENS"),
    Attack.query("document bytes", "# " + "a" * 21_000 + "\n{ __typename }", "DOCUMENT_TOO_LARGE"),
    Attack.query(
        "directives",
        '{ project(code: "x") { ' + "code @include(if: true) " * 11 + "} }",
        "TOO_MANY_DIRECTIVES",
    ),
    Attack.query("cost", COSTLY, "QUERY_TOO_COSTLY"),
    Attack.query("fragment bomb", _fragment_bomb(), "QUERY_TOO_COSTLY"),
    Attack.query(
        "circular fragments",
        "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "GRAPHQL_VALIDATION_FAILED",
    ),
    Attack.query(
        "nested lists in variables",
        "query Q($v: [String!]) { __typename }",
        "VARIABLES_TOO_DEEP",
        v=_nested(20),
    ),
    Attack.query(
        "oversized variables",
        "query Q($v: [String!]) { __typename }",
        "VARIABLES_TOO_LARGE",
        v=["x"] * 2_000,
    ),
    Attack("JSON nested past the parser", b"[" * 100_000 + b"]" * 100_000, 400, "invalid_json"),
    Attack(
        "batch",
        b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
        400,
        "batching_disabled",
    ),
    Attack(
        "body bytes",
        b'{"query": "' + b" " * 300_000 + b'{ __typename }"}',
        413,
        "request_too_large",
    ),
    Attack("content type", b"{ __typename }", 415, "unsupported_media_type", "application/graphql"),
    Attack("not JSON", b"\xff\x00 not json", 400, "invalid_json"),
]


def _send(client: httpx.Client, attack: Attack) -> httpx.Response:
    return client.post(
        "/graphql", content=attack.body, headers={"content-type": attack.content_type}
    )


def _code(response: httpx.Response) -> str:
    body = response.json()
    if response.status_code == 200:
        return str(body["errors"][0]["extensions"]["code"])
    return str(body["error"])


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_refused_with_its_code(hub: RunningHub, attack: Attack) -> None:
    hub.statements.reset()
    response = _send(hub.client, attack)
    assert response.status_code == attack.status, response.text
    body = response.json()
    if attack.status == 200:
        assert body["data"] is None
        codes = [error["extensions"]["code"] for error in body["errors"]]
        assert codes[0] == attack.code, body
        if attack.code != "GRAPHQL_VALIDATION_FAILED":
            assert "limit" in body["errors"][0]["extensions"]
    else:
        assert body["error"] == attack.code
    assert sum(hub.statements.counts.values()) == 0, "a connector was called"


def test_limit_value_is_reported(hub: RunningHub) -> None:
    error = hub.query(_deep())["errors"][0]
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP", "limit": 10}
    assert error["message"] == "operation depth 11 is over the limit of 10"


def test_question_one_is_within_every_limit(hub: RunningHub) -> None:
    """The heaviest of the six questions (cost ~7,600) passes the defaults."""
    document = (
        '{ disputeCase(caseNumber: "（2026）豫0183民初1024号") { parties(role: PLAINTIFF) {'
        ' worker { contracts { contractNo } attendance(from: "2026-07", to: "2026-09") { month }'
        ' wagePositions(from: "2026-07", to: "2026-09") { arrearsFen } } } } }'
    )
    assert hub.data(document)["disputeCase"]["parties"]


def test_normal_queries_succeed_while_attacks_run(hub: RunningHub) -> None:
    police = hub.as_client("police-xinmi")
    normal = '{ worker(idNumber: "341226196603139011") { name } }'
    attacker = httpx.Client(
        base_url=hub.url, timeout=30, auth=hub.client.auth, headers=hub.client.headers
    )

    def attack(round_: int) -> list[str]:
        return [_code(_send(attacker, a)) for a in ATTACKS]

    def ask(_: int) -> dict[str, Any]:
        response = police.post("/graphql", json={"query": normal})
        assert response.status_code == 200
        return response.json()

    with attacker, ThreadPoolExecutor(max_workers=6) as pool:
        attacks = pool.map(attack, range(4))
        answers = list(pool.map(ask, range(20)))
        refused = list(attacks)
    assert all(answer == {"data": {"worker": {"name": "张建国"}}} for answer in answers)
    assert all(codes == [a.code for a in ATTACKS] for codes in refused)
