"""A caller who sees ID numbers masked cannot recover one by asking which guesses exist.

A bank sees `341***********9011`; the check-valid numbers behind that mask are a few
thousand. Every place a caller can name a worker by ID number — the `worker` root,
`_entities` on any subgraph, a filter, the access report, the audit log's entity filter —
needs `worker:identity`, and answers a caller without it the same whether the number
exists or not. `_entities` takes at most a page of representations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from conftest import SEED, RunningHub, serving
from grants import register_client
from hub.subgraph_app import create_subgraph_app
from kernel.identifiers import id_number_birth_date, make_id_number
from kernel.scopes import AUDIT_READ, AUDIT_SUBJECT, WORKER_IDENTITY, vocabulary
from synthetic.stories import stories

BANK = "bank-ccb-xinmi"
UNBOUND = "test-all-but-identity"
"""Every scope but worker:identity, and no row limit: the widest masked view."""
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Worker { %s } } }"


def _unknown_like(known: str) -> str:
    """A check-valid ID number next to a real one, as an enumerating caller would try."""
    return make_id_number(known[:6], id_number_birth_date(known), (int(known[14:17]) + 2) % 1000)


@pytest.fixture(scope="module")
def known() -> str:
    return stories(SEED).dispute_worker_id


@pytest.fixture(scope="module")
def subgraphs(hub: RunningHub) -> Iterator[dict[str, str]]:
    """The agencies and the hub's own fields, each served alone."""
    register_client(hub, UNBOUND, [s for s in vocabulary() if s != WORKER_IDENTITY])
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(serving(create_subgraph_app(name, hub.settings)))
            for name in ("housing", "bank", "hub")
        }


def _post(
    hub: RunningHub, url: str, client_id: str, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    registered = hub.auth.get_client(client_id)
    assert registered
    response = httpx.post(
        f"{url}/graphql",
        json={"query": document, "variables": variables},
        headers={
            "Authorization": f"Bearer {hub.token(client_id)}",
            "X-Purpose": registered.purposes[0],
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _same_answer(answers: list[dict[str, Any]]) -> None:
    """Known and unknown look alike: the same data, the same error codes and messages."""

    def shape(body: dict[str, Any]) -> Any:
        return body.get("data"), [
            (e["extensions"]["code"], e["message"], e.get("path")) for e in body.get("errors", [])
        ]

    first, *others = map(shape, answers)
    for other in others:
        assert other == first


@pytest.mark.parametrize("client_id", [BANK, UNBOUND])
def test_the_worker_root_does_not_confirm_a_guess(
    hub: RunningHub, subgraphs: dict[str, str], known: str, client_id: str
) -> None:
    document = (
        "query($id: IdNumber!) { worker(idNumber: $id) { idNumber registrations { trade } } }"
    )
    answers = [
        _post(hub, hub.url, client_id, document, {"id": guess})
        for guess in (known, _unknown_like(known))
    ]
    _same_answer(answers)
    [error] = answers[0]["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["missingScopes"] == [WORKER_IDENTITY]


def test_a_filter_does_not_confirm_a_guess(
    hub: RunningHub, subgraphs: dict[str, str], known: str
) -> None:
    """A caller holding case:read but not worker:identity, filtering cases by party."""
    document = "query($id: IdNumber!) { disputeCases(filter: {partyIdNumber: $id}) { totalCount } }"
    answers = [
        _post(hub, hub.url, UNBOUND, document, {"id": guess})
        for guess in (known, _unknown_like(known))
    ]
    _same_answer(answers)
    assert answers[0]["errors"][0]["extensions"]["missingScopes"] == [WORKER_IDENTITY]


@pytest.mark.parametrize("subgraph", ["housing", "bank", "hub"])
@pytest.mark.parametrize("client_id", [BANK, UNBOUND])
def test_entities_do_not_confirm_a_guess(
    hub: RunningHub, subgraphs: dict[str, str], known: str, subgraph: str, client_id: str
) -> None:
    selection = {
        "housing": "registrations { trade }",
        "bank": "payrollCards { bankName }",
        "hub": 'wagePositions(from: "2026-01") { paidFen }',
    }[subgraph]
    answers = [
        _post(
            hub,
            subgraphs[subgraph],
            client_id,
            ENTITIES % selection,
            {"r": [{"__typename": "Worker", "idNumber": guess}]},
        )
        for guess in (known, _unknown_like(known))
    ]
    _same_answer(answers)
    assert answers[0]["data"]["_entities"] == [None]
    assert {e["extensions"]["code"] for e in answers[0]["errors"]} == {"FORBIDDEN"}


def test_representations_are_bounded(hub: RunningHub, subgraphs: dict[str, str]) -> None:
    """A page's worth at most (HUB_PAGES_MAXIMUM): 300 guesses a request was the attack."""
    maximum = hub.settings.pages.maximum
    projects = hub.data("{ projects(first: 1) { nodes { code } } }")["projects"]["nodes"]
    many = [{"__typename": "Project", "code": projects[0]["code"]}] * (maximum + 1)
    document = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
    refused = _post(hub, subgraphs["housing"], "test-all-access", document, {"r": many})
    assert refused["data"] is None
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert str(maximum) in error["message"]
    allowed = _post(hub, subgraphs["housing"], "test-all-access", document, {"r": many[:maximum]})
    assert "errors" not in allowed
    assert len(allowed["data"]["_entities"]) == maximum


def test_a_masked_caller_still_reaches_workers_by_navigating(hub: RunningHub) -> None:
    """What the bank needs — its projects' workers — it reaches from the project."""
    story = stories(SEED)
    body = hub.as_client(BANK).post(
        "/graphql",
        json={
            "query": "query($p: String!) { project(code: $p) { registrations { worker { idNumber } } } }",
            "variables": {"p": story.arrears_project_code},
        },
    )
    numbers = [r["worker"]["idNumber"] for r in body.json()["data"]["project"]["registrations"]]
    assert numbers
    assert all(n[3:14] == "*" * 11 for n in numbers)


def test_with_worker_identity_look_ups_work(hub: RunningHub, known: str) -> None:
    body = hub.as_client("police-xinmi").post(
        "/graphql",
        json={
            "query": "query($a: IdNumber!, $b: IdNumber!) { a: worker(idNumber: $a) { idNumber } "
            "b: worker(idNumber: $b) { idNumber } }",
            "variables": {"a": known, "b": _unknown_like(known)},
        },
    )
    assert body.json() == {"data": {"a": {"idNumber": known}, "b": None}}


@pytest.mark.parametrize(
    ("scope", "document"),
    [
        (
            AUDIT_SUBJECT,
            "query($id: IdNumber!) { accessReport(idNumber: $id) { disclosures { totalCount } } }",
        ),
        (
            AUDIT_READ,
            "query($id: String!) { auditEvents(filter: {entityKey: $id}) { totalCount } }",
        ),
    ],
)
def test_the_audit_log_does_not_confirm_a_guess(
    hub: RunningHub, known: str, scope: str, document: str
) -> None:
    client_id = register_client(hub, f"test-{scope.replace(':', '-')}-masked", [scope])
    answers = [
        hub.as_client(client_id)
        .post("/graphql", json={"query": document, "variables": {"id": guess}})
        .json()
        for guess in (known, _unknown_like(known))
    ]
    _same_answer(answers)
    assert answers[0]["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_guess_is_a_real_candidate(hub: RunningHub, known: str) -> None:
    """The unknown number hides behind the same mask's region and birth date, and no
    agency knows it."""
    guess = _unknown_like(known)
    assert guess[:14] == known[:14]
    assert guess != known
    document = "query($id: IdNumber!) { worker(idNumber: $id) { idNumber } }"
    assert hub.data(document, {"id": guess}) == {"worker": None}
    assert hub.data(document, {"id": known}) == {"worker": {"idNumber": known}}
