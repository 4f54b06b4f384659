"""GraphQL over HTTP, rule by rule (the GraphQL Foundation's specification; `hub.graphql_http`
says what the hub chose where the specification lets it choose)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conftest import SEED, RunningHub
from questions import five_questions
from synthetic.stories import stories

GQL = "application/graphql-response+json"
JSON = "application/json"
PROJECT = "query($code: String!) { project(code: $code) { code name } }"


def _post(
    hub: RunningHub,
    body: Any = None,
    accept: str | None = GQL,
    content: bytes | None = None,
    content_type: str | None = JSON,
    client: httpx.Client | None = None,
) -> httpx.Response:
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    if content_type is not None:
        headers["Content-Type"] = content_type
    raw = content if content is not None else json.dumps(body, ensure_ascii=False).encode()
    return (client or hub.client).post("/graphql", content=raw, headers=headers)


def _project_code() -> str:
    return str(five_questions(stories(SEED))["q2 unpaid workers"][1]["code"])


# -- media types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (GQL, GQL),
        (JSON, JSON),
        (None, JSON),  # no Accept: application/json
        ("*/*", JSON),
        ("application/*", JSON),
        (f"{JSON};q=0.5, {GQL}", GQL),  # q-values decide
        (f"{GQL};q=0.1, {JSON}", JSON),
        (f"{GQL}, {JSON};q=0.9", GQL),  # what the spec tells clients to send
        (f"text/html, {GQL}", GQL),
    ],
)
def test_the_answer_is_in_the_media_type_accepted(
    hub: RunningHub, accept: str | None, media: str
) -> None:
    response = _post(hub, {"query": PROJECT, "variables": {"code": _project_code()}}, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media}; charset=utf-8"
    assert response.json()["data"]["project"]["code"] == _project_code()


def test_utf_8_both_ways_even_when_the_request_names_no_charset(hub: RunningHub) -> None:
    case = stories(SEED).dispute_case_number
    body = json.dumps(
        {
            "query": "query($c: CaseNumber!) { disputeCase(caseNumber: $c) { caseNumber } }",
            "variables": {"c": case},
        },
        ensure_ascii=False,
    ).encode("utf-8")
    for content_type in (JSON, f"{JSON}; charset=utf-8"):
        response = _post(hub, content=body, content_type=content_type)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].endswith("charset=utf-8")
        answer = json.loads(response.content.decode("utf-8"))
        assert answer["data"]["disputeCase"]["caseNumber"] == case


def test_an_accept_header_naming_neither_media_type_is_406(hub: RunningHub) -> None:
    response = _post(hub, {"query": "{ __typename }"}, accept="text/html")
    assert response.status_code == 406
    assert GQL in response.json()["error_description"]


# -- status codes and the data entry ----------------------------------------------------------

REFUSED_BEFORE_EXECUTION = {
    "document parsing failure": ({"query": "{ project(code: "}, "GRAPHQL_PARSE_FAILED"),
    "document validation failure": ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
    "variable coercion failure": (
        {
            "query": "query($m: YearMonth!) { warningSummary(month: $m) { total } }",
            "variables": {"m": "October"},
        },
        "BAD_USER_INPUT",
    ),
    "missing required variable": ({"query": PROJECT, "variables": {}}, "BAD_USER_INPUT"),
    "variable of the wrong type": ({"query": PROJECT, "variables": {"code": 7}}, "BAD_USER_INPUT"),
    "a limit": ({"query": "{ " + " ".join(f"a{i}: __typename" for i in range(60)) + " }"}, None),
}


@pytest.mark.parametrize("case", list(REFUSED_BEFORE_EXECUTION))
def test_a_request_refused_before_execution_is_400_without_data(hub: RunningHub, case: str) -> None:
    body, code = REFUSED_BEFORE_EXECUTION[case]
    response = _post(hub, body, GQL)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == f"{GQL}; charset=utf-8"
    answer = response.json()
    assert "data" not in answer
    assert answer["errors"]
    if code is not None:
        assert answer["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize("case", list(REFUSED_BEFORE_EXECUTION))
def test_older_clients_keep_200_with_errors(hub: RunningHub, case: str) -> None:
    body, _ = REFUSED_BEFORE_EXECUTION[case]
    response = _post(hub, body, JSON)
    assert response.status_code == 200, response.text
    assert response.json()["errors"]


def test_an_executed_request_with_field_errors_is_200_with_data(hub: RunningHub) -> None:
    """A field the client's scopes do not cover resolves to null with FORBIDDEN: the
    operation executed, so the answer has its data."""
    police = hub.as_client("police-xinmi")
    response = _post(
        hub,
        {
            "query": "query($code: String!) { project(code: $code) { code wageAccount { accountNo } } }",
            "variables": {"code": _project_code()},
        },
        GQL,
        client=police,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["data"]["project"]["code"] == _project_code()
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_operation_name_picks_one_of_several(hub: RunningHub) -> None:
    document = "query A { __typename } query B { b: __typename }"
    response = _post(hub, {"query": document, "operationName": "B"}, GQL)
    assert response.status_code == 200
    assert response.json()["data"] == {"b": "Query"}
    unknown = _post(hub, {"query": document, "operationName": "C"}, GQL)
    assert unknown.status_code == 400
    assert "data" not in unknown.json()


# -- requests that are not well-formed: 400 whatever is accepted --------------------------------

MALFORMED = {
    "body not JSON": (b'{"query": "{ __typename', JSON),
    "no body": (b"", JSON),
    "no query": (b'{"variables": {}}', JSON),
    "query a number": (b'{"query": 7}', JSON),
    "query an object": (b'{"query": {"a": 1}}', JSON),
    "query an array": (b'{"query": ["{ __typename }"]}', JSON),
    "query a boolean": (b'{"query": true}', JSON),
    "variables a string": (b'{"query": "{ __typename }", "variables": "{}"}', JSON),
    "variables a number": (b'{"query": "{ __typename }", "variables": 1}', JSON),
    "variables an array": (b'{"query": "{ __typename }", "variables": []}', JSON),
    "extensions a string": (b'{"query": "{ __typename }", "extensions": "x"}', JSON),
    "extensions an array": (b'{"query": "{ __typename }", "extensions": []}', JSON),
    "operationName a number": (b'{"query": "{ __typename }", "operationName": 1}', JSON),
    "operationName an object": (b'{"query": "{ __typename }", "operationName": {}}', JSON),
}


@pytest.mark.parametrize("accept", [GQL, JSON])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_is_400_without_data(hub: RunningHub, case: str, accept: str) -> None:
    content, content_type = MALFORMED[case]
    response = _post(hub, accept=accept, content=content, content_type=content_type)
    assert response.status_code == 400, response.text
    assert "data" not in response.json()


def test_a_post_without_a_json_content_type_is_4xx(hub: RunningHub) -> None:
    for content_type in (None, "text/plain", "application/graphql"):
        response = _post(hub, {"query": "{ __typename }"}, content_type=content_type)
        assert 400 <= response.status_code < 500, (content_type, response.status_code)
        assert "data" not in response.json()


# -- GET: refused, deliberately ------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"query": "{ __typename }"},
        {
            "query": "query($code: String!) { project(code: $code) { code } }",
            "variables": '{"code": "x"}',
        },
        {"query": "mutation { __typename }"},
    ],
)
def test_operations_over_get_are_405(hub: RunningHub, params: dict[str, str]) -> None:
    response = hub.client.get("/graphql", params=params, headers={"Accept": GQL})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "data" not in response.json()
