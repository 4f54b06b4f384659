"""`HUB_ENV=production`: no GraphiQL, introspection only with `schema:introspect`, no
"did you mean" suggestions, internal errors masked under a reference the operator finds
in the log."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from limits_support import INTROSPECTOR, LimitedHub, limited_hub

from conftest import production_secrets

INTROSPECTION = "{ __schema { queryType { name } } }"
FRAGMENTED_INTROSPECTION = (
    'query { ...Probe } fragment Probe on Query { __type(name: "Worker") { name } }'
)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitedHub]:
    data_dir = tmp_path_factory.mktemp("production")
    with limited_hub(data_dir, env="production", **production_secrets(data_dir)) as running:
        yield running


@pytest.mark.parametrize("document", [INTROSPECTION, FRAGMENTED_INTROSPECTION])
def test_introspection_is_refused_without_the_scope(production: LimitedHub, document: str) -> None:
    body = production.client().post("/graphql", json={"query": document}).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {
        "code": "INTROSPECTION_DISABLED",
        "limit": "schema:introspect",
    }


def test_introspection_is_answered_with_the_scope(production: LimitedHub) -> None:
    body = production.client(INTROSPECTOR).post("/graphql", json={"query": INTROSPECTION}).json()
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_typename_stays_allowed(production: LimitedHub) -> None:
    body = production.client().post("/graphql", json={"query": "{ __typename }"}).json()
    assert body == {"data": {"__typename": "Query"}}


def test_no_suggestions(production: LimitedHub) -> None:
    body = production.client().post("/graphql", json={"query": "{ worke { name } }"}).json()
    error = body["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == "Cannot query field 'worke' on type 'Query'."


def test_graphiql_is_off(production: LimitedHub) -> None:
    response = httpx.get(f"{production.url}/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()


def test_internal_errors_are_masked_with_a_reference_in_the_log(
    production: LimitedHub, caplog: pytest.LogCaptureFixture
) -> None:
    database = Path(production.settings.database_url("housing").removeprefix("sqlite:///"))
    with sqlite3.connect(database) as connection:
        connection.execute("ALTER TABLE housing_project RENAME TO housing_project_gone")
    try:
        with caplog.at_level(logging.ERROR, logger="hub.errors"):
            body = (
                production.client()
                .post("/graphql", json={"query": '{ project(code: "x") { code } }'})
                .json()
            )
    finally:
        with sqlite3.connect(database) as connection:
            connection.execute("ALTER TABLE housing_project_gone RENAME TO housing_project")
    error = body["errors"][0]
    reference = error["extensions"]["reference"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "reference": reference}
    assert error["message"] == f"Internal error; quote reference {reference} to the operator"
    assert "housing_project" not in str(body)
    assert "sqlite" not in str(body).lower()
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info, "the operator finds the traceback by its reference"
