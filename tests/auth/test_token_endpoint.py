"""POST /oauth/token (client credentials, RFC 6749 errors) and GET /.well-known/jwks.json."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import httpx
import pytest
from joserfc.jwk import OKPKey

from auth.store import Grant
from conftest import RunningHub

GRANT = Grant(
    agency="hr",
    scopes=("worker:identity", "wage:read", "project:read"),
    purposes=("arrears-investigation",),
)
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


@pytest.fixture
def registered(hub: RunningHub) -> tuple[str, str]:
    """A fresh client of its own (id, secret), so tests may revoke and rotate freely."""
    client_id = f"endpoint-{uuid.uuid4().hex[:8]}"
    return client_id, hub.auth.add_client(client_id, GRANT)


def _decode(segment: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "client authentication failed",
    }
    assert response.headers["www-authenticate"].startswith('Basic error="invalid_client"')


def test_http_basic_gets_a_signed_access_token(
    hub: RunningHub, anonymous: httpx.Client, registered: tuple[str, str]
) -> None:
    client_id, secret = registered
    response = anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "worker:identity wage:read project:read"
    header_segment, payload_segment, _ = body["access_token"].split(".")
    header, claims = _decode(header_segment), _decode(payload_segment)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "Ed25519"
    jwks = anonymous.get("/.well-known/jwks.json").json()["keys"]
    assert header["kid"] in {key["kid"] for key in jwks}
    assert claims["iss"] == "http://127.0.0.1:8000"
    assert claims["aud"] == "wage-hub"
    assert claims["sub"] == claims["client_id"] == client_id
    assert claims["scope"] == body["scope"]
    assert claims["nbf"] == claims["iat"]
    assert claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) >= 16


def test_client_secret_post_gets_a_token(
    anonymous: httpx.Client, registered: tuple[str, str]
) -> None:
    client_id, secret = registered
    form = {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": secret}
    response = anonymous.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text


def test_a_wrong_secret_is_invalid_client(
    anonymous: httpx.Client, registered: tuple[str, str]
) -> None:
    client_id, _ = registered
    wrong = anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, "wrong"))
    _assert_invalid_client(wrong)
    form = {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": "wrong"}
    _assert_invalid_client(anonymous.post("/oauth/token", data=form))


def test_an_unknown_client_looks_like_a_wrong_secret(anonymous: httpx.Client) -> None:
    unknown = anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=("nobody", "x"))
    _assert_invalid_client(unknown)
    form = {**CLIENT_CREDENTIALS, "client_id": "nobody", "client_secret": "x"}
    _assert_invalid_client(anonymous.post("/oauth/token", data=form))
    _assert_invalid_client(anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS))
    not_utf8 = {"Authorization": "Basic /w=="}  # base64 of the byte 0xff
    _assert_invalid_client(
        anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, headers=not_utf8)
    )


def test_an_unknown_grant_type_is_refused(
    anonymous: httpx.Client, registered: tuple[str, str]
) -> None:
    response = anonymous.post("/oauth/token", data={"grant_type": "password"}, auth=registered)
    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant_type is client_credentials, or "
        "urn:ietf:params:oauth:grant-type:token-exchange for a client acting for a caller",
    }


def test_a_requested_scope_narrows_the_token(
    anonymous: httpx.Client, registered: tuple[str, str]
) -> None:
    response = anonymous.post(
        "/oauth/token",
        data={**CLIENT_CREDENTIALS, "scope": "project:read worker:identity"},
        auth=registered,
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "worker:identity project:read"
    claims = _decode(response.json()["access_token"].split(".")[1])
    assert claims["scope"] == "worker:identity project:read"


@pytest.mark.parametrize("scope", ["bank:account", "project:read bank:account", "no-such-scope"])
def test_a_scope_outside_the_grant_is_invalid_scope(
    anonymous: httpx.Client, registered: tuple[str, str], scope: str
) -> None:
    response = anonymous.post(
        "/oauth/token", data={**CLIENT_CREDENTIALS, "scope": scope}, auth=registered
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "worker:identity wage:read project:read" in response.json()["error_description"]


def test_a_revoked_client_gets_no_token(
    hub: RunningHub, anonymous: httpx.Client, registered: tuple[str, str]
) -> None:
    assert anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=registered).is_success
    hub.auth.revoke(registered[0])
    _assert_invalid_client(anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=registered))


def test_rotating_the_secret_retires_the_old_one_at_once(
    hub: RunningHub, anonymous: httpx.Client, registered: tuple[str, str]
) -> None:
    client_id, old = registered
    assert anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, old)).is_success
    new = hub.auth.rotate_secret(client_id)
    assert new != old
    _assert_invalid_client(
        anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, old))
    )
    assert anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, new)).is_success


@pytest.mark.parametrize(
    ("content", "headers", "description"),
    [
        (
            json.dumps(CLIENT_CREDENTIALS),
            {"content-type": "application/json"},
            "the body must be application/x-www-form-urlencoded",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            {"content-type": "application/x-www-form-urlencoded"},
            "a parameter is repeated",
        ),
        (
            b"grant_type=\xff",
            {"content-type": "application/x-www-form-urlencoded"},
            "the body is not UTF-8",
        ),
    ],
    ids=["json", "repeated", "not utf-8"],
)
def test_a_malformed_request_is_invalid_request(
    anonymous: httpx.Client,
    registered: tuple[str, str],
    content: str | bytes,
    headers: dict[str, str],
    description: str,
) -> None:
    response = anonymous.post("/oauth/token", content=content, headers=headers, auth=registered)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_plain_http_to_a_public_host_is_insecure_transport_not_a_500(
    anonymous: httpx.Client, registered: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    public = anonymous.post(
        "/oauth/token",
        data=CLIENT_CREDENTIALS,
        auth=registered,
        headers={"host": "hub.example.org"},
    )
    assert public.status_code == 400
    assert public.json()["error"] == "insecure_transport"
    loopback = anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=registered)
    assert loopback.status_code == 200


def test_the_jwks_publishes_public_ed25519_keys_only(anonymous: httpx.Client) -> None:
    response = anonymous.get("/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == (
            "OKP",
            "Ed25519",
            "Ed25519",
            "sig",
        )
        assert OKPKey.import_key(key).thumbprint() == key["kid"]


def test_secrets_never_reach_the_logs(
    hub: RunningHub, anonymous: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client_id = f"logged-{uuid.uuid4().hex[:8]}"
    secret = hub.auth.add_client(client_id, GRANT)
    assert anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, secret))
    form = {**CLIENT_CREDENTIALS, "client_id": client_id, "client_secret": secret}
    assert anonymous.post("/oauth/token", data=form).is_success
    anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, secret + "x"))
    rotated = hub.auth.rotate_secret(client_id)
    anonymous.post("/oauth/token", data=CLIENT_CREDENTIALS, auth=(client_id, rotated))
    assert f"issued a token to {client_id}" in caplog.text  # the log was captured
    for value in (secret, secret + "x", rotated):
        assert value not in caplog.text
