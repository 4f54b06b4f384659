"""Bad input gets a GraphQL error naming the problem, with a code to match on; unknown
keys are null; nothing answers 500 or leaks a stack trace."""

from __future__ import annotations

import pytest

from conftest import RunningHub
from kernel.identifiers import make_id_number, make_uscc

VALID_UNKNOWN_ID = make_id_number("110105", __import__("datetime").date(1949, 12, 31), 2)


def _only_error(body: dict) -> dict:
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert "Traceback" not in error["message"]
    return error


@pytest.mark.parametrize(
    ("document", "variables", "expected"),
    [
        (
            "query($id: IdNumber!) { worker(idNumber: $id) { name } }",
            {"id": "11010519491231002Y"},
            "check character should be 'X'",
        ),
        ('{ worker(idNumber: "11010519491231002Y") { name } }', None, "check character"),
        ('{ worker(idNumber: "1101051949") { name } }', None, "18"),
        ('{ enterprise(uscc: "91410183MA00000000") { name } }', None, "check"),
        ('{ disputeCase(caseNumber: "2024-1234") { status } }', None, "（2024）豫0183民初1234号"),
        ("{ workers(first: 1000) { totalCount } }", None, "maximum page size of 100"),
        ("{ workers(first: -1) { totalCount } }", None, "negative"),
        ('{ workers(after: "bm90LWEtY3Vyc29y") { totalCount } }', None, "cursor"),
        ('{ projects(filter: {regionCodePrefix: "41x"}) { totalCount } }', None, "1 to 6 digits"),
        ('{ projectWarnings(month: "2026-13") { totalCount } }', None, "YYYY-MM"),
        (
            '{ projects(first: 1) { nodes { accountStatement(from: "2020-01", to: "2026-10") {'
            " month } } } }",
            None,
            "1 to 36 months",
        ),
    ],
)
def test_bad_input_is_a_clear_bad_user_input(
    hub: RunningHub, document: str, variables: dict | None, expected: str
) -> None:
    body = hub.query(document, variables)
    error = _only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert expected in error["message"]


def test_unknown_keys_are_null_not_errors(hub: RunningHub) -> None:
    body = hub.query(
        """query($id: IdNumber!, $uscc: USCC!) {
            worker(idNumber: $id) { name }
            enterprise(uscc: $uscc) { name }
            project(code: "NO-SUCH-PROJECT") { name }
            disputeCase(caseNumber: "（2019）豫0183民初99999号") { status }
        }""",
        {"id": VALID_UNKNOWN_ID, "uscc": make_uscc("410183", 9_999_999)},
    )
    assert "errors" not in body
    assert body["data"] == {
        "worker": None,
        "enterprise": None,
        "project": None,
        "disputeCase": None,
    }


def test_malformed_query_is_a_parse_error(hub: RunningHub) -> None:
    error = _only_error(hub.query("{ worker(idNumber: ) { name "))
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "Syntax Error" in error["message"]


def test_unknown_field_is_a_validation_error(hub: RunningHub) -> None:
    error = _only_error(hub.query("{ workers { nodes { salary } } }"))
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "salary" in error["message"]


def test_non_json_body_is_refused_without_500(hub: RunningHub) -> None:
    response = hub.client.post(
        "/graphql", content=b"\xff\x00 not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
