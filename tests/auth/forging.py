"""Helpers for the auth tests: the hub's current signing key (read from its database, to
forge tokens that differ from a good one in one way only), tokens minted for any claims,
and a GraphQL call with a given token."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OKPKey
from sqlalchemy import select

from auth.models import SigningKey
from conftest import RunningHub

QUERY = {"query": "{ __typename }"}


def signing_key(hub: RunningHub) -> OKPKey:
    """The newest unretired key: the one the token endpoint signs with."""
    table = SigningKey.__table__  # type: ignore[attr-defined]
    engine = hub.auth.database.sync_engine()
    try:
        with engine.connect() as connection:
            private = connection.execute(
                select(table.c.private_jwk)
                .where(table.c.retired_at.is_(None))
                .order_by(table.c.created_at.desc())
                .limit(1)
            ).scalar_one()
    finally:
        engine.dispose()
    return OKPKey.import_key(json.loads(private))


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
