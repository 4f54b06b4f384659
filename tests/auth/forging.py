"""Helpers for the auth tests: the hub's current signing key (read from its database, to
forge tokens that differ from a good one in one way only), tokens minted for any claims,
and a GraphQL call with a given token."""

from __future__ import annotations

import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OKPKey

from conftest import RunningHub

QUERY = {"query": "{ __typename }"}


def signing_key(hub: RunningHub) -> OKPKey:
    """The newest unretired key: the one the token endpoint signs with (unsealed with the
    hub's key-encryption key)."""
    return hub.auth.newest_signing_key()


def claims_for(client_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "http://127.0.0.1:8000",
        "aud": "wage-hub",
        "sub": client_id,
        "client_id": client_id,
        "scope": "project:read",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "test",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def mint(key: OKPKey, claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode(
        {"alg": "Ed25519", "typ": "at+jwt", "kid": key.kid, **header},
        claims,
        key,
        algorithms=["Ed25519"],
    )


def call(client: httpx.Client, token: str, purpose: str = "testing") -> httpx.Response:
    return client.post(
        "/graphql",
        json=QUERY,
        headers={"Authorization": f"Bearer {token}", "X-Purpose": purpose},
    )
