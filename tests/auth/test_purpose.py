"""Every /graphql request says why it asks (X-Purpose), and only a purpose granted to the
client passes; the Caller handed to resolvers carries the grant and the purpose."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from auth.errors import InvalidToken
from auth.middleware import CallerMiddleware, Refusal, reference_text
from auth.store import RegisteredClient
from auth.tokens import VerifiedToken
from conftest import RunningHub
from kernel.caller import Caller

QUERY = {"query": "{ __typename }"}
POLICE = "police-xinmi"


@pytest.fixture
def police_token(hub: RunningHub, anonymous: httpx.Client) -> str:
    response = anonymous.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(POLICE, hub.secrets[POLICE]),
    )
    return str(response.json()["access_token"])


def _post(client: httpx.Client, token: str, **headers: str | bytes) -> httpx.Response:
    return client.post(
        "/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}", **headers}
    )


def test_no_token_is_a_bearer_challenge(anonymous: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Basic cG9saWNlOng="}, {"Authorization": "Bearer"}):
        response = anonymous.post("/graphql", json=QUERY, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="wage-hub"'
        assert response.json()["error"] == "missing_authorization"


def test_a_missing_purpose_is_a_400_naming_the_header(
    anonymous: httpx.Client, police_token: str
) -> None:
    response = _post(anonymous, police_token)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "missing_purpose"
    assert "X-Purpose" in body["error_description"]
    assert body["granted_purposes"] == ["residence-management"]


def test_a_purpose_not_granted_is_a_403_naming_it(
    anonymous: httpx.Client, police_token: str
) -> None:
    response = _post(anonymous, police_token, **{"X-Purpose": "payroll-reconciliation"})
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "purpose_not_granted"
    assert "'payroll-reconciliation'" in body["error_description"]
    assert "residence-management" in body["error_description"]
    assert body["granted_purposes"] == ["residence-management"]


def test_a_granted_purpose_passes_with_a_reference(
    anonymous: httpx.Client, police_token: str
) -> None:
    response = _post(
        anonymous,
        police_token,
        **{
            "X-Purpose": "residence-management",
            "X-Purpose-Reference": "（2026）豫0183民初1024号".encode(),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_reference_over_100_characters_is_refused(
    anonymous: httpx.Client, police_token: str
) -> None:
    response = _post(
        anonymous,
        police_token,
        **{"X-Purpose": "residence-management", "X-Purpose-Reference": "x" * 101},
    )
    assert response.status_code == 400
    assert "at most 100" in response.json()["error_description"]


def test_every_demo_agency_calls_with_its_first_purpose(hub: RunningHub) -> None:
    for client_id in hub.secrets:
        response = hub.as_client(client_id).post("/graphql", json=QUERY)
        assert response.status_code == 200, (client_id, response.text)


# -- the Caller the middleware builds, seen by the app behind it -------------------------

COURT = RegisteredClient(
    client_id="court-xinmi",
    agency="court",
    title="新密市人民法院",
    scopes=("case:read", "wage:read"),
    purposes=("case-evidence",),
    limits=(("courts", ("豫0183",)),),
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    secret_rotated_at=datetime(2026, 1, 1, tzinfo=UTC),
    revoked_at=None,
    secret_hash="",
)


class _Verifier:
    async def verify(self, token: str) -> VerifiedToken:
        if token != "good":
            raise InvalidToken("the token's signature does not verify")
        return VerifiedToken(COURT, frozenset({"case:read"}))


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    caller: Caller | None = scope.get("caller")
    body = {**asdict(caller), "scopes": sorted(caller.scopes)} if caller else None
    await JSONResponse(body)(scope, receive, send)


def _through_middleware(method: str, headers: dict[str, str | bytes]) -> httpx.Response:
    """One request to the echo app behind the middleware, in process."""

    async def send() -> httpx.Response:
        middleware = CallerMiddleware(_echo, _Verifier())  # type: ignore[arg-type]
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            return await client.request(method, "/graphql", headers=headers)

    return asyncio.run(send())


def test_the_caller_carries_the_grant_and_the_purpose() -> None:
    response = _through_middleware(
        "POST",
        {
            "Authorization": "Bearer good",
            "X-Purpose": "case-evidence",
            "X-Purpose-Reference": "（2026）豫0183民初1024号".encode(),
        },
    )
    assert response.json() == {
        "client_id": "court-xinmi",
        "agency": "court",
        "scopes": ["case:read"],
        "limits": [["courts", ["豫0183"]]],
        "purpose": "case-evidence",
        "purpose_reference": "（2026）豫0183民初1024号",
        "user": None,
        "credential": None,  # the test's verifier keeps no token
        "actors": [],
    }


def test_the_graphiql_page_needs_no_token() -> None:
    page = _through_middleware("GET", {"accept": "text/html"})
    assert page.status_code == 200
    assert page.json() is None  # no caller: the page runs no operation
    assert _through_middleware("GET", {}).status_code == 401


@pytest.mark.parametrize(
    "reference",
    [b"\xff\xfe", b"line\x01break"],
    ids=["not utf-8", "control character"],
)
def test_an_unreadable_reference_is_refused(reference: bytes) -> None:
    response = _through_middleware(
        "POST",
        {
            "Authorization": "Bearer good",
            "X-Purpose": "case-evidence",
            "X-Purpose-Reference": reference,
        },
    )
    assert response.status_code == 400


def test_a_refused_token_names_the_reason() -> None:
    response = _through_middleware("POST", {"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="wage-hub", error="invalid_token", '
        'error_description="the token\'s signature does not verify"'
    )


@pytest.mark.parametrize(
    "sent",
    [
        "UTF-8''" + quote("新公(治)查字〔2026〕118号", safe=""),
        "utf-8''" + quote("新公(治)查字〔2026〕118号", safe=""),
        "UTF-8'zh'" + quote("新公(治)查字〔2026〕118号", safe=""),
    ],
)
def test_a_reference_in_rfc_8187_form_is_decoded(sent: str) -> None:
    assert reference_text(sent.encode("ascii")) == "新公(治)查字〔2026〕118号"


def test_a_raw_utf8_reference_still_works_and_bad_encodings_are_refused() -> None:
    assert reference_text("新公(治)查字〔2026〕118号".encode()) == "新公(治)查字〔2026〕118号"
    assert reference_text(b"XM-2026-118") == "XM-2026-118"
    with pytest.raises(Refusal):
        reference_text(b"UTF-8''%FF%FE")
    with pytest.raises(Refusal):
        reference_text(b"UTF-8''a%00b")
