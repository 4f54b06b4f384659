"""Inputs that used to be 500s: lone surrogates, months out of range, NUL characters on
PostgreSQL, an unknown operation name, a GET query, malformed `/connector/load` bodies.
Each is a 400 with a JSON body or a GraphQL `BAD_USER_INPUT`, and carries a request id."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conftest import RunningHub, serving
from hub.subgraph_app import create_subgraph_app

PROJECT = "410183202503171901"
WORKER = "341226196603139011"
JSON = {"content-type": "application/json"}


def _raw(client: httpx.Client, body: str) -> httpx.Response:
    """The body exactly as written (JSON escapes and all: `\\ud800` stays an escape)."""
    return client.post("/graphql", content=body.encode(), headers=JSON)


def _refused_as_json(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert response.headers.get("x-request-id"), response.headers
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str), body
    assert body.get("error_description"), body
    return body


def _bad_user_input(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers.get("x-request-id")
    codes = {error["extensions"]["code"] for error in response.json()["errors"]}
    assert codes == {"BAD_USER_INPUT"}, response.json()


@pytest.mark.parametrize(
    "body",
    [
        '{"query": "{ __typename \\ud800 }"}',
        '{"query": "{ __typename }", "operationName": "\\udfff"}',
        '{"query": "query($a: String) { __typename }", "variables": {"a": "x\\ud800"}}',
        '{"query": "{ __typename }", "extensions": {"\\ud800": 1}}',
    ],
    ids=["query", "operationName", "variables", "extensions"],
)
def test_a_lone_surrogate_is_a_400(hub: RunningHub, body: str) -> None:
    refused = _refused_as_json(_raw(hub.client, body), 400)
    assert refused["error"] == "invalid_request"
    assert "surrogate" in refused["error_description"]


MONTH_FIELDS = [
    f'{{ project(code: "{PROJECT}") {{ accountStatement(from: $m, to: $m) {{ month }} }} }}',
    f'{{ project(code: "{PROJECT}") {{ wagePositions(month: $m) {{ dueFen }} }} }}',
    f'{{ worker(idNumber: "{WORKER}") {{ wagePositions(from: $m, to: $m) {{ dueFen }} }} }}',
    f'{{ project(code: "{PROJECT}") {{ compliance(month: $m) {{ level }} }} }}',
    "{ projectWarnings(month: $m) { totalCount } }",
    "{ warningSummary(month: $m) { red } }",
]


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "10000-01"])
@pytest.mark.parametrize(
    "field", MONTH_FIELDS, ids=["statement", "positions", "worker", "compliance", "warnings", "sum"]
)
@pytest.mark.parametrize("way", ["literal", "variable"])
def test_a_month_out_of_range_is_bad_user_input(
    hub: RunningHub, month: str, field: str, way: str
) -> None:
    if way == "literal":
        payload = {"query": field.replace("$m", json.dumps(month))}
    else:
        payload = {"query": f"query($m: YearMonth!) {field}", "variables": {"m": month}}
    _bad_user_input(hub.client.post("/graphql", json=payload))


NUL = "a\u0000b"
NUL_CURSOR = base64.urlsafe_b64encode(b"k:\x00").decode()


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ('{ enterprises(filter: {nameContains: "a\\u0000b"}) { totalCount } }', {}),
        (
            "query($n: String) { enterprises(filter: {nameContains: $n}) { totalCount } }",
            {"n": NUL},
        ),
        ('{ project(code: "\\u0000") { name } }', {}),
        (f'{{ projects(after: "{NUL_CURSOR}") {{ nodes {{ code }} }} }}', {}),
        ("query($c: String) { workers(after: $c) { nodes { name } } }", {"c": NUL_CURSOR}),
        (
            f'{{ worker(idNumber: "{WORKER}") {{ identityVerified(name: "\\u0000") }} }}',
            {},
        ),
    ],
    ids=["literal", "variable", "key", "cursor", "cursor variable", "name"],
)
def test_a_nul_character_is_refused(
    hub: RunningHub, document: str, variables: dict[str, str]
) -> None:
    payload = {"query": document, "variables": variables}
    response = hub.client.post("/graphql", content=json.dumps(payload), headers=JSON)
    if response.status_code == 400:
        assert "NUL" in _refused_as_json(response, 400)["error_description"]
    else:
        _bad_user_input(response)


def test_an_unknown_operation_name_is_a_json_400(hub: RunningHub) -> None:
    payload = {"query": "query A { __typename }", "operationName": "B"}
    refused = _refused_as_json(hub.client.post("/graphql", json=payload), 400)
    assert "B" in refused["error_description"]


def test_a_query_over_get_is_a_json_405(hub: RunningHub) -> None:
    for accept in ("application/json", "*/*", "application/graphql-response+json"):
        response = hub.client.get(
            "/graphql", params={"query": "{ __typename }"}, headers={"accept": accept}
        )
        refused = _refused_as_json(response, 405)
        assert refused["error"] == "method_not_allowed"
        assert response.headers["allow"] == "POST"


@pytest.fixture(scope="module")
def housing_load(hub: RunningHub) -> Iterator[tuple[str, dict[str, str]]]:
    """Housing served alone, and the headers the hub's connector calls carry."""
    with serving(create_subgraph_app("housing", hub.settings, delegates=["hub"])) as url:
        headers = {
            "Authorization": f"Bearer {hub.exchanged('hub', 'housing-bureau-xinmi', 'housing')}",
            "X-Purpose": "supervision",
            **JSON,
        }
        yield f"{url}/connector/load", headers


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _loader_call(*keys: Any) -> str:
    return json.dumps({"calls": [{"loader": "worker", "keys": list(keys)}]})


def _page_call(record: object, after: object = None, limit: object = 3) -> str:
    return json.dumps({"calls": [{"query": "projects_page", "args": [record, after, limit]}]})


MALFORMED_LOADS = {
    "deep JSON": '{"calls": ' + _nested(50_000) + "}",
    "deep tags": '{"calls": [{"loader": "worker", "keys": ['
    + '{"$tuple": [' * 900
    + '"x"'
    + "]}" * 900
    + "]}]}",
    "huge integer key": '{"calls": [{"loader": "worker", "keys": [' + "9" * 40 + "]}]}",
    "huge integer limit": '{"calls": [{"query": "projects_page", "args": [{"$record": {}}, null, '
    + "9" * 5000
    + "]}]}",
    "infinite float": '{"calls": [{"loader": "worker", "keys": [1e999]}]}',
    "NaN": '{"calls": [{"loader": "worker", "keys": [NaN]}]}',
    "NUL key": _loader_call("a\u0000"),
    "surrogate key": '{"calls": [{"loader": "worker", "keys": ["\\ud800"]}]}',
    "integer for a text key": _loader_call(5),
    "date for a text key": _loader_call({"$date": "2026-01-01"}),
    "text for a tuple key": json.dumps(
        {"calls": [{"loader": "attendance_by_project_month", "keys": ["x"]}]}
    ),
    "tuple key of the wrong types": json.dumps(
        {"calls": [{"loader": "attendance_by_project_month", "keys": [{"$tuple": [1, "x"]}]}]}
    ),
    "number in a record": _page_call({"$record": {"region_prefix": 5}}),
    "text for a tuple field": _page_call({"$record": {"statuses": "UNDER_CONSTRUCTION"}}),
    "text for a date field": _page_call({"$record": {"started_from": "2026-01-01"}}),
    "date for a text field": _page_call({"$record": {"region_prefix": {"$date": "2026-01-01"}}}),
    "unknown record field": _page_call({"$record": {"no_such_field": "x"}}),
    "text for a record": _page_call("x"),
    "number for a cursor": _page_call({"$record": {}}, after=5),
}


@pytest.mark.parametrize("body", MALFORMED_LOADS.values(), ids=MALFORMED_LOADS.keys())
def test_a_malformed_connector_load_is_a_400(
    housing_load: tuple[str, dict[str, str]], body: str
) -> None:
    url, headers = housing_load
    response = httpx.post(url, content=body.encode(), headers=headers, timeout=30)
    refused = _refused_as_json(response, 400)
    assert refused["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("form", "basic"),
    [
        ({"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "x"}, None),
        ({"grant_type": "client_credentials\x00"}, ("hub", "x")),
        ({"grant_type": "client_credentials"}, ("a\x00b", "x")),
    ],
    ids=["form client_id", "form grant_type", "basic client_id"],
)
def test_a_nul_at_the_token_endpoint_is_refused(
    anonymous: httpx.Client, form: dict[str, str], basic: tuple[str, str] | None
) -> None:
    response = anonymous.post("/oauth/token", data=form, auth=basic)
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] in ("invalid_request", "invalid_client")
    assert response.headers.get("x-request-id")


def test_a_long_unknown_client_id_does_not_poison_the_audit_log(
    hub: RunningHub, anonymous: httpx.Client
) -> None:
    """The client id a token request claims is the caller's text: recorded as its keyed
    hash when no such client exists, so it never overflows the record's client column
    (on PostgreSQL that failed the record, and every record written with it)."""
    for _ in range(3):
        refused = anonymous.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "x" * 300, "client_secret": "y"},
        )
        assert refused.status_code == 401, refused.text
    time.sleep(0.5)  # the tally's interval in the test hub: its record is written
    for _ in range(3):
        answered = hub.client.post("/graphql", json={"query": "{ __typename }"})
        assert answered.status_code == 200, answered.text
        time.sleep(0.3)
