"""Bearer tokens on /graphql: every way a token can be wrong is a 401 invalid_token naming
the reason; good tokens, tokens of a rotated-out key and a trusted issuer's are accepted."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from forging import call, claims_for, mint, signing_key
from joserfc.jwk import OKPKey

from auth import tokens
from auth.errors import InvalidToken
from auth.store import AuthStore, Grant
from auth.tokens import OWN_KEYS_COOLDOWN, OWN_KEYS_MAX_AGE, KeyCache, TokenVerifier
from conftest import IDP_AGENCY, TEST_CLIENT, IdentityProvider, RunningHub
from storage.database import Database


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def _good(hub: RunningHub, key: OKPKey) -> str:
    return mint(key, claims_for(TEST_CLIENT))


def _forged_signature(hub: RunningHub, key: OKPKey) -> str:
    impostor = OKPKey.generate_key("Ed25519", private=True)
    return mint(impostor, claims_for(TEST_CLIENT), kid=key.kid)


def _alg_none(hub: RunningHub, key: OKPKey) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": key.kid}
    return f"{_segment(header)}.{_segment(claims_for(TEST_CLIENT))}."


def _hs256_with_the_public_key(hub: RunningHub, key: OKPKey) -> str:
    """The classic confusion: HMAC keyed with the (public) verification key."""
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = f"{_segment(header)}.{_segment(claims_for(TEST_CLIENT))}"
    public = json.dumps(key.as_dict(private=False)).encode()
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _expired(hub: RunningHub, key: OKPKey) -> str:
    now = int(time.time())
    return mint(key, claims_for(TEST_CLIENT, iat=now - 1000, nbf=now - 1000, exp=now - 120))


def _not_yet_valid(hub: RunningHub, key: OKPKey) -> str:
    now = int(time.time())
    return mint(key, claims_for(TEST_CLIENT, nbf=now + 120, exp=now + 600))


def _wrong_audience(hub: RunningHub, key: OKPKey) -> str:
    return mint(key, claims_for(TEST_CLIENT, aud="another-hub"))


def _wrong_issuer(hub: RunningHub, key: OKPKey) -> str:
    return mint(key, claims_for(TEST_CLIENT, iss="https://impostor.example"))


def _unknown_kid(hub: RunningHub, key: OKPKey) -> str:
    stranger = OKPKey.generate_key("Ed25519", private=True, auto_kid=True)
    return mint(stranger, claims_for(TEST_CLIENT))


def _revoked_client(hub: RunningHub, key: OKPKey) -> str:
    client_id = f"revoked-{uuid.uuid4().hex[:8]}"
    hub.auth.add_client(client_id, Grant("test", ("project:read",), ("testing",)))
    hub.auth.revoke(client_id)
    return mint(key, claims_for(client_id))


def _unregistered_client(hub: RunningHub, key: OKPKey) -> str:
    return mint(key, claims_for("nobody-registered-this"))


def _tampered_scope(hub: RunningHub, key: OKPKey) -> str:
    """A genuine token of a narrow client, its scope claim widened after signing."""
    token = httpx.post(
        f"{hub.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("dashboard-zhengzhou", hub.secrets["dashboard-zhengzhou"]),
    )
    header, payload, signature = token.json()["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] += " worker:identity bank:account"
    return f"{header}.{_segment(claims)}.{signature}"


def _missing_expiry(hub: RunningHub, key: OKPKey) -> str:
    return mint(key, claims_for(TEST_CLIENT, exp=None))


def _missing_not_before(hub: RunningHub, key: OKPKey) -> str:
    return mint(key, claims_for(TEST_CLIENT, nbf=None))


def _not_an_access_token(hub: RunningHub, key: OKPKey) -> str:
    return mint(key, claims_for(TEST_CLIENT), typ="JWT")


def _not_a_jwt(hub: RunningHub, key: OKPKey) -> str:
    return "not-a-token"


REFUSED: list[tuple[Callable[[RunningHub, OKPKey], str], str]] = [
    (_forged_signature, "signature does not verify"),
    (_alg_none, "signing algorithm is not accepted"),
    (_hs256_with_the_public_key, "signing algorithm is not accepted"),
    (_expired, "has expired"),
    (_not_yet_valid, "not valid yet"),
    (_wrong_audience, "another audience"),
    (_wrong_issuer, "issuer is not trusted"),
    (_unknown_kid, "signing key is unknown"),
    (_revoked_client, "unknown or revoked"),
    (_unregistered_client, "unknown or revoked"),
    (_tampered_scope, "signature does not verify"),
    (_missing_expiry, "lacks claims exp"),
    (_missing_not_before, "lacks claims nbf"),
    (_not_an_access_token, "not an access token"),
    (_not_a_jwt, "not a signed JWT"),
]


@pytest.mark.parametrize(
    ("make", "reason"), REFUSED, ids=[make.__name__.strip("_") for make, _ in REFUSED]
)
def test_a_bad_token_is_refused_with_invalid_token(
    hub: RunningHub,
    anonymous: httpx.Client,
    make: Callable[[RunningHub, OKPKey], str],
    reason: str,
) -> None:
    response = call(anonymous, make(hub, signing_key(hub)))
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="wage-hub", error="invalid_token", ')
    assert f'error_description="{response.json()["error_description"]}"' in challenge
    assert response.json()["error"] == "invalid_token"
    assert reason in response.json()["error_description"]


def test_a_good_token_is_accepted(hub: RunningHub, anonymous: httpx.Client) -> None:
    response = call(anonymous, _good(hub, signing_key(hub)))
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


def test_tokens_of_the_previous_key_stay_valid_after_a_rotation(
    hub: RunningHub, anonymous: httpx.Client
) -> None:
    before = anonymous.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(TEST_CLIENT, hub.secrets[TEST_CLIENT]),
    )
    old_token = before.json()["access_token"]
    new_kid = hub.auth.add_signing_key()  # what `hub keys rotate` does
    after = anonymous.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(TEST_CLIENT, hub.secrets[TEST_CLIENT]),
    )
    new_token = after.json()["access_token"]
    assert json.loads(base64.urlsafe_b64decode(new_token.split(".")[0] + "=="))["kid"] == new_kid

    time.sleep(OWN_KEYS_COOLDOWN)  # another test's unknown kid may have just reloaded the keys
    assert call(anonymous, new_token).status_code == 200
    assert call(anonymous, old_token).status_code == 200
    published = {key["kid"] for key in anonymous.get("/.well-known/jwks.json").json()["keys"]}
    assert new_kid in published
    assert len(published) >= 2


def _register(hub: RunningHub, scopes: tuple[str, ...]) -> str:
    """A client of the agency the test identity provider vouches for."""
    client_id = f"idp-client-{uuid.uuid4().hex[:8]}"
    hub.auth.add_client(client_id, Grant(IDP_AGENCY, scopes, ("testing",)))
    return client_id


def test_a_trusted_issuers_token_is_accepted(
    hub: RunningHub, anonymous: httpx.Client, identity_provider: IdentityProvider
) -> None:
    client_id = _register(hub, ("project:read",))
    token = identity_provider.token(client_id=client_id, scope="project:read")
    assert call(anonymous, token).status_code == 200
    by_subject = identity_provider.token(sub=client_id, scope="project:read")
    assert call(anonymous, by_subject).status_code == 200


@pytest.mark.parametrize(
    ("claims", "header", "reason"),
    [
        ({"client_id": "not-registered"}, {}, "unknown or revoked"),
        ({"aud": "someone-else"}, {}, "another audience"),
        ({"exp": int(time.time()) - 3600}, {}, "has expired"),
        ({}, {"kid": "rotated-away"}, "signing key is unknown"),
    ],
    ids=["unregistered client", "wrong audience", "expired", "unknown kid"],
)
def test_a_trusted_issuers_bad_token_is_refused(
    hub: RunningHub,
    anonymous: httpx.Client,
    identity_provider: IdentityProvider,
    claims: dict[str, Any],
    header: dict[str, str],
    reason: str,
) -> None:
    client_id = _register(hub, ("project:read",))
    token = identity_provider.token(**{"client_id": client_id, **claims}, **header)
    response = call(anonymous, token)
    assert response.status_code == 401
    assert reason in response.json()["error_description"]


def test_an_unknown_kid_refetches_a_trusted_jwks_once_per_cooldown(
    hub: RunningHub, anonymous: httpx.Client, identity_provider: IdentityProvider
) -> None:
    client_id = _register(hub, ("project:read",))
    assert call(anonymous, identity_provider.token(client_id=client_id)).status_code == 200
    fetches = identity_provider.jwks_fetches
    for _ in range(3):
        token = identity_provider.token(client_id=client_id, kid=uuid.uuid4().hex)
        assert call(anonymous, token).status_code == 401
    assert identity_provider.jwks_fetches - fetches <= 1  # at most one, inside the cool-down


def test_a_trusted_issuers_scopes_are_narrowed_to_the_grant(
    hub: RunningHub, identity_provider: IdentityProvider
) -> None:
    client_id = _register(hub, ("project:read", "wage:read"))
    token = identity_provider.token(
        client_id=client_id, scope="project:read worker:identity bank:account"
    )

    async def verify() -> frozenset[str]:
        store = AuthStore(Database(hub.auth.database.url.render_as_string(hide_password=False)))
        async with httpx.AsyncClient() as http:
            verifier = TokenVerifier(
                store,
                issuer="http://127.0.0.1:8000",
                audience="wage-hub",
                trusted={identity_provider.issuer: identity_provider.trusted},
                http=http,
            )
            try:
                return (await verifier.verify(token)).scopes
            finally:
                await store.database.dispose()

    assert asyncio.run(verify()) == {"project:read"}


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_key_cache_reloads_on_age_and_on_an_unknown_kid_once_per_cooldown() -> None:
    key = OKPKey.generate_key("Ed25519", private=False, auto_kid=True)
    jwk = key.as_dict(private=False)
    loads: list[float] = []
    clock = _Clock()
    failing = False

    async def load() -> list[dict[str, Any]]:
        loads.append(clock.now)
        if failing:
            raise httpx.ConnectError("down")
        return [jwk]

    cache = KeyCache(load, max_age=60, cooldown=5, clock=clock)

    async def scenario() -> None:
        nonlocal failing
        assert await cache.key(str(key.kid)) is not None
        assert await cache.key(str(key.kid)) is not None
        assert len(loads) == 1  # loaded once, on first use
        assert await cache.key("unknown") is None
        assert await cache.key("unknown") is None
        assert len(loads) == 2  # one reload for the unknown kid, then the cool-down
        clock.now = 6
        assert await cache.key("unknown") is None
        assert len(loads) == 3  # the cool-down is over
        clock.now = 70
        failing = True
        assert await cache.key(str(key.kid)) is not None  # a failed reload keeps the keys
        assert await cache.key(str(key.kid)) is not None
        assert len(loads) == 4  # and is retried only after the cool-down

    asyncio.run(scenario())


def test_a_remembered_token_is_checked_again_in_all_but_its_signature(
    hub: RunningHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token verified once is not verified again cryptographically, but it still expires
    on time, its client's revocation still counts, and it stops working once its key is
    no longer the issuer's."""
    decoded: list[str] = []
    real_decode = tokens.jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting_decode)
    client_id = _register(hub, ("project:read",))
    kid = hub.auth.add_signing_key()
    private = hub.auth.newest_signing_key()
    hub.auth.add_signing_key()  # so that `kid` can be retired below
    now = int(time.time())
    short = mint(private, claims_for(client_id, exp=now + 2))
    lasting = mint(private, claims_for(client_id))
    revoked_id = _register(hub, ("project:read",))
    revoked = mint(private, claims_for(revoked_id))
    clock = _Clock()

    async def scenario() -> list[str]:
        store = AuthStore(
            Database(hub.auth.database.url.render_as_string(hide_password=False)),
            client_ttl_seconds=0,
        )
        outcomes = []
        async with httpx.AsyncClient() as http:
            verifier = TokenVerifier(
                store,
                issuer="http://127.0.0.1:8000",
                audience="wage-hub",
                trusted={},
                http=http,
                leeway=0,
                clock=clock,
            )

            async def outcome(token: str) -> str:
                try:
                    await verifier.verify(token)
                except InvalidToken as refusal:
                    return str(refusal)
                return "accepted"

            try:
                outcomes += [await outcome(lasting), await outcome(lasting)]
                outcomes.append(str(len(decoded)))
                outcomes.append(await outcome(short))
                await asyncio.sleep(2.5)
                outcomes.append(await outcome(short))  # expired while remembered
                outcomes.append(await outcome(revoked))
                hub.auth.revoke(revoked_id)
                outcomes.append(await outcome(revoked))  # revoked while remembered
                hub.auth.retire_key(kid)
                clock.now = OWN_KEYS_MAX_AGE + 1  # the issuer's keys are reloaded
                outcomes.append(await outcome(lasting))
            finally:
                await store.database.dispose()
        return outcomes

    results = asyncio.run(scenario())
    assert results[:4] == ["accepted", "accepted", "1", "accepted"]
    assert "expired" in results[4]
    assert results[5] == "accepted"
    assert "unknown or revoked" in results[6]
    assert "signing key is unknown" in results[7]
