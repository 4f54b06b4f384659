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
from limits_support import INTROSPECTOR, PLAIN, LimitedHub, limited_hub

from conftest import TEST_PURPOSE, production_secrets, serving
from hub.subgraph_app import create_subgraph_app

INTROSPECTION = "{ __schema { queryType { name } } }"
FRAGMENTED_INTROSPECTION = (
    'query { ...Probe } fragment Probe on Query { __type(name: "Worker") { name } }'
)


SERVICE_SDL = "{ _service { sdl } }"


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


@pytest.fixture(scope="module")
def production_subgraph(production: LimitedHub) -> Iterator[str]:
    """The bank's subgraph beside the production hub, trusting the hub's tokens."""
    with serving(create_subgraph_app("bank", production.settings)) as url:
        yield url


def _token(production: LimitedHub, client_id: str) -> str:
    basic = (client_id, production.secrets[client_id])
    response = httpx.post(
        f"{production.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=basic
    )
    return str(response.json()["access_token"])


def test_a_subgraphs_sdl_is_introspection(production: LimitedHub, production_subgraph: str) -> None:
    """`_service { sdl }` prints the whole schema: in production it needs the scope too."""
    answers = {}
    for client_id in (PLAIN, INTROSPECTOR):
        headers = {
            "Authorization": f"Bearer {_token(production, client_id)}",
            "X-Purpose": TEST_PURPOSE,
        }
        answers[client_id] = httpx.post(
            f"{production_subgraph}/graphql", json={"query": SERVICE_SDL}, headers=headers
        ).json()
    refused = answers[PLAIN]
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"] == {
        "code": "INTROSPECTION_DISABLED",
        "limit": "schema:introspect",
    }
    assert "type Worker" in answers[INTROSPECTOR]["data"]["_service"]["sdl"]


def test_an_agency_service_needs_no_key_to_the_hubs_signing_keys(
    production: LimitedHub,
) -> None:
    """It verifies tokens (public keys, clients) and never signs: in production it starts
    without HUB_TOKEN_KEK_FILE, and cannot open the signing keys."""
    token = production.settings.token.model_copy(update={"kek_file": None})
    settings = production.settings.model_copy(update={"token": token})
    app = create_subgraph_app("bank", settings)
    assert app.state.auth_store.sealer is None
    with serving(app) as url:
        headers = {
            "Authorization": f"Bearer {_token(production, PLAIN)}",
            "X-Purpose": TEST_PURPOSE,
        }
        body = httpx.post(f"{url}/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert body.json() == {"data": {"__typename": "Query"}}
