"""Token exchange (RFC 8693) at /oauth/token: only a client holding `token:exchange` may
act for a caller, only with a valid token of the caller's, only for an agency's service;
the token issued names the caller, the actors and that service, lives no longer than the
caller's, and holds no more than the caller's scopes."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from conftest import TEST_CLIENT, RunningHub

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
HUB = "hub"
POLICE = "police-xinmi"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def _exchange(hub: RunningHub, actor: str, **form: str) -> httpx.Response:
    data = {"grant_type": EXCHANGE, "subject_token_type": ACCESS_TOKEN, "audience": "bank", **form}
    return httpx.post(f"{hub.url}/oauth/token", data=data, auth=(actor, hub.secrets[actor]))


def test_the_token_issued_is_the_callers_for_one_agency(hub: RunningHub) -> None:
    subject = hub.token(POLICE)
    response = _exchange(hub, HUB, subject_token=subject)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN
    assert body["token_type"] == "Bearer"
    claims, original = _claims(body["access_token"]), _claims(subject)
    assert claims["sub"] == claims["client_id"] == POLICE
    assert claims["act"] == {"sub": HUB}
    assert claims["aud"] == f"{hub.settings.audience}/bank"
    assert claims["exp"] <= original["exp"]
    assert set(claims["scope"].split()) == set(original["scope"].split())


def test_fewer_scopes_may_be_asked_never_more(hub: RunningHub) -> None:
    subject = hub.token(POLICE)
    narrowed = _exchange(hub, HUB, subject_token=subject, scope="project:read wage:read")
    assert _claims(narrowed.json()["access_token"])["scope"] == "project:read"


def test_a_service_acting_for_a_service_is_named_after_it(hub: RunningHub) -> None:
    """An agency's service re-exchanges the token it was given, for another agency."""
    first = hub.exchanged(HUB, POLICE, "bank")
    second = _exchange(hub, TEST_CLIENT, subject_token=first, audience="housing")
    assert second.status_code == 200, second.text
    claims = _claims(second.json()["access_token"])
    assert claims["sub"] == POLICE
    assert claims["act"] == {"sub": TEST_CLIENT, "act": {"sub": HUB}}
    assert claims["aud"] == f"{hub.settings.audience}/housing"


@pytest.mark.parametrize(
    ("actor", "form", "status", "error"),
    [
        (POLICE, {}, 400, "unauthorized_client"),  # its grant lacks token:exchange
        (HUB, {"subject_token": "x.y.z"}, 400, "invalid_request"),
        (
            HUB,
            {"subject_token_type": "urn:ietf:params:oauth:token-type:jwt"},
            400,
            "invalid_request",
        ),
        (HUB, {"audience": "wage-hub"}, 400, "invalid_target"),
        (HUB, {"actor_token": "x"}, 400, "invalid_request"),
    ],
)
def test_refusals(
    hub: RunningHub, actor: str, form: dict[str, str], status: int, error: str
) -> None:
    response = _exchange(hub, actor, **{"subject_token": hub.token(POLICE), **form})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


def test_an_unauthenticated_exchange_is_refused_before_anything(hub: RunningHub) -> None:
    response = httpx.post(
        f"{hub.url}/oauth/token",
        data={
            "grant_type": EXCHANGE,
            "subject_token": hub.token(POLICE),
            "subject_token_type": ACCESS_TOKEN,
            "audience": "bank",
        },
        auth=(HUB, "wrong"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
