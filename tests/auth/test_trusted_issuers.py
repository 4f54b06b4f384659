"""A trusted identity provider vouches only for the clients (or the agency) configured for
it, never for the hub's own clients, and its tokens obey the claim rules the hub's own
tokens obey (`typ: at+jwt`, `iss`, `aud`, `exp`, `nbf`, `iat`, a bounded lifetime)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from forging import call
from pydantic import ValidationError

from auth.store import Grant
from auth.tokens import TokenVerifier, TrustedIssuer
from conftest import IDP_AGENCY, IdentityProvider, RunningHub
from hub.settings import HubSettings


def _member(hub: RunningHub, agency: str = IDP_AGENCY) -> str:
    """A fresh client of `agency` (the provider's by default)."""
    client_id = f"idp-member-{uuid.uuid4().hex[:8]}"
    hub.auth.add_client(client_id, Grant(agency, ("project:read",), ("testing",)))
    return client_id


def test_a_member_of_its_agency_is_vouched_for(
    hub: RunningHub, anonymous: httpx.Client, identity_provider: IdentityProvider
) -> None:
    token = identity_provider.token(client_id=_member(hub), scope="project:read")
    assert call(anonymous, token).status_code == 200


@pytest.mark.parametrize(
    "client_id",
    ["hub", "police-xinmi", "test-all-access"],
    ids=["the hub's own client", "another agency's client", "a client of no provider"],
)
def test_it_cannot_vouch_for_a_client_outside_its_agency(
    hub: RunningHub,
    anonymous: httpx.Client,
    identity_provider: IdentityProvider,
    client_id: str,
) -> None:
    purpose = {"hub": "connector-calls", "police-xinmi": "residence-management"}
    token = identity_provider.token(client_id=client_id, scope="project:read connector:load")
    response = call(anonymous, token, purpose.get(client_id, "testing"))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"
    assert "may not vouch" in response.json()["error_description"]


def test_it_never_vouches_for_a_client_holding_the_hubs_credential(
    hub: RunningHub, anonymous: httpx.Client, identity_provider: IdentityProvider
) -> None:
    """Even a client of its own agency: `connector:load` is the hub's credential."""
    client_id = f"idp-loader-{uuid.uuid4().hex[:8]}"
    hub.auth.add_client(
        client_id, Grant(IDP_AGENCY, ("project:read", "connector:load"), ("testing",))
    )
    token = identity_provider.token(client_id=client_id, scope="project:read")
    response = call(anonymous, token)
    assert response.status_code == 401
    assert "may not vouch" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("header", "claims", "reason"),
    [
        ({"typ": "JWT"}, {}, "not an access token"),
        ({"typ": None}, {}, "not an access token"),
        ({}, {"nbf": None}, "lacks claims nbf"),
        ({}, {"iat": None}, "lacks claims iat"),
        ({}, {"exp": None}, "lacks claims exp"),
        ({}, {"exp": int(time.time()) + 10 * 86_400}, "lives longer"),
        ({}, {"sub": "someone-else"}, "client_id and sub differ"),
    ],
    ids=["typ JWT", "no typ", "no nbf", "no iat", "no exp", "ten days", "sub differs"],
)
def test_its_tokens_obey_the_hubs_claim_rules(
    hub: RunningHub,
    anonymous: httpx.Client,
    identity_provider: IdentityProvider,
    header: dict[str, str | None],
    claims: dict[str, object],
    reason: str,
) -> None:
    client_id = _member(hub)
    token = identity_provider.token(**{"client_id": client_id, **claims}, **header)
    response = call(anonymous, token)
    assert response.status_code == 401, response.text
    assert reason in response.json()["error_description"]


def test_an_issuer_must_say_whom_it_vouches_for() -> None:
    with pytest.raises(ValidationError, match="vouches for"):
        TrustedIssuer(jwks_url="https://idp.example/jwks", audience="wage-hub")


def test_an_issuer_configured_for_the_hubs_own_client_stops_the_start(
    identity_provider: IdentityProvider,
) -> None:
    issuer = TrustedIssuer(
        jwks_url=f"{identity_provider.url}/jwks", audience="wage-hub", clients=("hub",)
    )
    settings = HubSettings(trusted_issuers={identity_provider.issuer: issuer})
    with pytest.raises(ValueError, match="hub's own client"):
        TokenVerifier(
            None,  # type: ignore[arg-type]  # refused before the store is used
            issuer=settings.issuer,
            audience=settings.audience,
            trusted=settings.trusted_issuers,
            http=None,  # type: ignore[arg-type]
            reserved={settings.connector.client_id},
        )
