"""Verifying bearer tokens: the hub's own, and those of identity providers it trusts.

A token names its issuer (`iss`), which selects the keys and the algorithm allow-list:
the hub's own keys (Ed25519 only) from the auth database, or a trusted issuer's JWKS
(RS256, ES256, Ed25519) fetched over HTTP. The key is chosen by `kid`; an unknown kid
refreshes the key set once, at most once per cool-down, and is then refused. After the
signature, every issuer's token obeys the same rules: `typ: at+jwt` (RFC 9068), `iss`,
`aud`, `exp`, `nbf` and `iat` present and valid with a small leeway, a lifetime of at
most a day, `client_id` and `sub` naming one client. That client must be registered and
not revoked, and a trusted issuer must be one that may vouch for it: only the clients or
the agency configured for that issuer, never the hub's own clients (its connector
client, or any client holding `connector:load`). Its scopes are the token's `scope` claim
narrowed to its current grant.

A token the hub issued by token exchange (`auth.exchange`) names the caller as its
client and the services acting for it in `act`; it is meant for one agency's service
(`aud` `<audience>/<agency>`), which accepts that audience besides its own
(`extra_audiences`), so it is good nowhere else — not at the hub, not at another agency.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import Key, KeySet
from joserfc.jws import extract_compact
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from auth.errors import InvalidToken
from auth.store import SIGNING_ALGORITHM, AuthStore, RegisteredClient
from kernel.inputs import text_fault
from kernel.scopes import CONNECTOR_LOAD

log = logging.getLogger(__name__)

OWN_ALGORITHMS = (SIGNING_ALGORITHM,)
TRUSTED_ALGORITHMS = ("RS256", "ES256", SIGNING_ALGORITHM)
ACCESS_TOKEN_TYPE = "at+jwt"
ACTOR_CLAIM = "act"
"""RFC 8693 §4.1: who acts for the token's subject, `{"sub": …, "act": {…}}` nearest first."""
MAX_ACTORS = 4
"""The longest chain of services acting for one caller (the hub, an agency's service, …)."""
USER_CLAIM = "hub_user"
"""The claim naming the person a desk-issued token acts for (X-Road's user id)."""
_ACCESS_TOKEN_TYPES = frozenset({ACCESS_TOKEN_TYPE, f"application/{ACCESS_TOKEN_TYPE}"})
"""`typ` compares case-insensitively, with or without `application/` (RFC 7515 §4.1.9)."""
LEEWAY_SECONDS = 30
MAX_LIFETIME_SECONDS = 86_400
"""The longest-lived token accepted from any issuer (the hub's own live at most this)."""
VERIFIED_TOKENS = 10_000
"""Tokens remembered as verified, per process (a few MiB at most)."""
# The hub's own keys come from its database: cheap to reread, and a rotation must be seen
# by every worker at once. A trusted issuer's come over HTTP: spare it.
OWN_KEYS_MAX_AGE, OWN_KEYS_COOLDOWN = 60.0, 1.0
TRUSTED_KEYS_MAX_AGE, TRUSTED_KEYS_COOLDOWN = 600.0, 30.0
_JWKS_TIMEOUT_SECONDS = 5.0

_CLAIM_REFUSALS = {
    "iss": "the token's issuer is not the one expected",
    "aud": "the token is meant for another audience",
    "nbf": "the token is not valid yet",
    "iat": "the token was issued in the future",
    "exp": "the token's expiry is malformed",
}


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class TrustedIssuer(BaseModel):
    """An identity provider run by an agency, whose tokens the hub accepts for the clients
    it vouches for: `HUB_TRUSTED_ISSUERS='{"https://idp.example": {"jwks_url": ...,
    "audience": ..., "agency": "public_security"}}'` (or `"clients": ["police-xinmi"]`).

    Why a list per issuer: a provider's key is a credential for every client it may
    name; without the list, whoever holds that key could be any client of the hub."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jwks_url: str
    audience: str
    clients: tuple[str, ...] = ()
    """Client ids the provider may vouch for."""
    agency: str | None = None
    """Or: every client registered with this agency."""

    @model_validator(mode="after")
    def _vouches_for_someone(self) -> TrustedIssuer:
        if not self.clients and not self.agency:
            raise ValueError("say whom the issuer vouches for: `clients`, `agency` or both")
        return self

    def vouches_for(self, client: RegisteredClient) -> bool:
        return client.client_id in self.clients or (
            self.agency is not None and client.agency == self.agency
        )

    @field_validator("jwks_url")
    @classmethod
    def _https_or_loopback(cls, url: str) -> str:
        """Keys fetched in clear text could be swapped on the way: https, except on this host."""
        parts = urlsplit(url)
        if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
            return url
        raise ValueError(f"jwks_url must be https (or http on a loopback address): {url}")


@dataclass(frozen=True)
class VerifiedToken:
    client: RegisteredClient
    scopes: frozenset[str]
    """The token's scopes that the client's grant still holds."""
    user: str | None = None
    """The person the hub issued the token to (`hub_user`, from the web desk's GraphiQL
    sign-in); only the hub's own tokens may name one."""
    actors: tuple[str, ...] = ()
    """The clients acting for this one, nearest first (`act`; only the hub's own tokens
    carry them): an exchanged token's."""
    expires_at: int | None = None
    """`exp`: an exchanged token never outlives the one it was exchanged for."""
    token: str = field(default="", repr=False, compare=False)
    """The token itself, which the hub may exchange on the caller's behalf."""


class KeyCache:
    """One issuer's public keys, by kid: loaded on first use and again when `max_age` old,
    and reloaded for an unknown kid at most once per `cooldown` (a flood of made-up kids
    costs one load per cool-down; a freshly rotated key is picked up at once). A failed
    load keeps the keys there are and is retried after the cool-down."""

    def __init__(
        self,
        load: Callable[[], Awaitable[list[dict[str, Any]]]],
        *,
        max_age: float,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._max_age = max_age
        self._cooldown = cooldown
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._loads = 0  # completed attempts: requests that queued behind one do not repeat it
        self._stale_at = -math.inf
        self._kid_reload_at = -math.inf
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Key | None:
        if self._clock() >= self._stale_at:
            await self._reload(self._loads)
        if kid not in self._keys and self._clock() >= self._kid_reload_at:
            self._kid_reload_at = self._clock() + self._cooldown
            await self._reload(self._loads)
        return self._keys.get(kid)

    async def _reload(self, loads_seen: int) -> None:
        async with self._lock:
            if self._loads != loads_seen:
                return
            self._loads += 1
            try:
                key_set = KeySet.import_key_set({"keys": await self._load()})
            except (httpx.HTTPError, JoseError, ValueError) as error:
                log.warning("could not load signing keys: %s", type(error).__name__)
                self._stale_at = self._clock() + self._cooldown
                return
            self._keys = {str(key.kid): key for key in key_set.keys}
            self._stale_at = self._clock() + self._max_age


async def fetch_jwks(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    response = await http.get(url, timeout=_JWKS_TIMEOUT_SECONDS)
    response.raise_for_status()
    keys = response.json().get("keys")
    if not isinstance(keys, list):
        raise ValueError("a JWKS has a list of keys")
    return keys


@dataclass(frozen=True)
class _Issuer:
    name: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...]
    keys: KeyCache
    trusted: TrustedIssuer | None
    """None for the hub itself, which may name any of its clients."""


class TokenVerifier:
    def __init__(
        self,
        store: AuthStore,
        *,
        issuer: str,
        audience: str,
        trusted: Mapping[str, TrustedIssuer],
        http: httpx.AsyncClient,
        reserved: Collection[str] = (),
        extra_audiences: Collection[str] = (),
        leeway: int = LEEWAY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`reserved`: the hub's own client ids (its connector client), which no trusted
        issuer may name; one configured to is refused here, at start-up.
        `extra_audiences`: audiences of the hub's own tokens accepted besides `audience`
        (an agency's service: tokens exchanged for it)."""
        self._reserved = frozenset(reserved)
        for name, trusted_issuer in trusted.items():
            if named := self._reserved & set(trusted_issuer.clients):
                raise ValueError(
                    f"trusted issuer {name} may not vouch for the hub's own client "
                    f"{', '.join(sorted(named))}"
                )
        self._store = store
        self._leeway = leeway
        own = _Issuer(
            issuer,
            (audience, *extra_audiences),
            OWN_ALGORITHMS,
            KeyCache(
                store.public_keys, max_age=OWN_KEYS_MAX_AGE, cooldown=OWN_KEYS_COOLDOWN, clock=clock
            ),
            None,
        )
        self._issuers = {
            name: _Issuer(
                name,
                (trusted_issuer.audience,),
                TRUSTED_ALGORITHMS,
                KeyCache(
                    partial(fetch_jwks, http, trusted_issuer.jwks_url),
                    max_age=TRUSTED_KEYS_MAX_AGE,
                    cooldown=TRUSTED_KEYS_COOLDOWN,
                    clock=clock,
                ),
                trusted_issuer,
            )
            for name, trusted_issuer in trusted.items()
        }
        self._issuers[issuer] = own
        self._own = own
        self._verified: dict[str, _Verified] = {}

    def remembers(self, token: str) -> bool:
        """Whether this token's signature has verified here before (a dict look-up)."""
        return token in self._verified

    async def verify(self, token: str) -> VerifiedToken:
        """The token's client and scopes, or InvalidToken saying why not.

        A client presents the same token on every call until it expires, so a token whose
        signature verified is remembered (at most VERIFIED_TOKENS of them). A repeat is
        checked again in all but the signature: its key must still be the issuer's, its
        times still valid, its client still there and not revoked."""
        known = self._verified.get(token)
        if known is not None and await known.issuer.keys.key(known.kid) is known.key:
            self._check_claims(known.claims, known.issuer)
            return replace(await self._grant(known.claims, known.issuer), token=token)
        header, unverified = _unverified(token)
        claimed_issuer = unverified.get("iss")
        issuer = self._issuers.get(claimed_issuer) if isinstance(claimed_issuer, str) else None
        if issuer is None:
            raise InvalidToken("the token's issuer is not trusted")
        if header.get("alg") not in issuer.algorithms:
            raise InvalidToken("the token's signing algorithm is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("the token names no signing key (kid)")
        key = await issuer.keys.key(kid)
        if key is None:
            raise InvalidToken("the token's signing key is unknown")
        try:
            claims = jwt.decode(token, key, algorithms=issuer.algorithms).claims
        except BadSignatureError as error:
            raise InvalidToken("the token's signature does not verify") from error
        except JoseError as error:
            raise InvalidToken("the token is malformed") from error
        token_type = header.get("typ")
        if not isinstance(token_type, str) or token_type.lower() not in _ACCESS_TOKEN_TYPES:
            raise InvalidToken(f"the token is not an access token (typ {ACCESS_TOKEN_TYPE})")
        self._check_claims(claims, issuer)
        verified = await self._grant(claims, issuer)
        if len(self._verified) >= VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = _Verified(issuer, kid, key, claims)
        return replace(verified, token=token)

    def _check_claims(self, claims: dict[str, Any], issuer: _Issuer) -> None:
        registry = jwt.JWTClaimsRegistry(
            leeway=self._leeway,
            iss={"essential": True, "value": issuer.name},
            aud={"essential": True, "values": list(issuer.audiences)},
            exp={"essential": True},
            nbf={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as error:
            raise InvalidToken("the token has expired") from error
        except MissingClaimError as error:
            raise InvalidToken(f"the token lacks claims {error.claim}") from error
        except ClaimError as error:
            refusal = _CLAIM_REFUSALS.get(error.claim, "the token has a malformed claim")
            raise InvalidToken(refusal) from error
        if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
            raise InvalidToken(f"the token lives longer than {MAX_LIFETIME_SECONDS} s")

    async def _grant(self, claims: dict[str, Any], issuer: _Issuer) -> VerifiedToken:
        client_id = claims.get("client_id") or claims.get("sub")
        scope = claims.get("scope", "")
        if not isinstance(client_id, str) or not isinstance(scope, str) or text_fault(client_id):
            raise InvalidToken("the token's client_id and scope must be strings")
        if claims.get("sub", client_id) != client_id:
            raise InvalidToken("the token's client_id and sub differ")
        client = await self._store.client(client_id)
        if client is None or client.revoked:
            raise InvalidToken("the token's client is unknown or revoked")
        if issuer.trusted is not None and not self._vouchable(issuer.trusted, client):
            raise InvalidToken("the token's issuer may not vouch for this client")
        scopes = frozenset(scope.split()) & frozenset(client.scopes)
        own = issuer is self._own
        user = claims.get(USER_CLAIM) if own else None
        return VerifiedToken(
            client,
            scopes,
            user if isinstance(user, str) else None,
            actors=actors_of(claims.get(ACTOR_CLAIM)) if own else (),
            expires_at=int(claims["exp"]),
        )

    def _vouchable(self, trusted: TrustedIssuer, client: RegisteredClient) -> bool:
        """Only its own clients, and never the hub's: its connector client, or any client
        holding the hub's credential scope."""
        hubs_own = client.client_id in self._reserved or CONNECTOR_LOAD in client.scopes
        return not hubs_own and trusted.vouches_for(client)


def actors_of(act: Any) -> tuple[str, ...]:
    """The client ids of an `act` chain, nearest first; InvalidToken if malformed."""
    actors: list[str] = []
    while act is not None:
        actor = act.get("sub") if isinstance(act, dict) else None
        if not isinstance(actor, str) or not actor or text_fault(actor):
            raise InvalidToken("the token's act claim is malformed")
        actors.append(actor)
        if len(actors) > MAX_ACTORS:
            raise InvalidToken(f"the token names more than {MAX_ACTORS} actors")
        act = act.get(ACTOR_CLAIM)
    return tuple(actors)


def act_claim(actors: tuple[str, ...]) -> dict[str, Any] | None:
    """`actors_of`'s inverse: the `act` claim naming them, nearest outermost."""
    claim: dict[str, Any] | None = None
    for actor in reversed(actors):
        claim = {"sub": actor, **({ACTOR_CLAIM: claim} if claim else {})}
    return claim


@dataclass(frozen=True)
class _Verified:
    issuer: _Issuer
    kid: str
    key: Key
    claims: dict[str, Any]


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before any check, only to pick the issuer's keys."""
    try:
        compact = extract_compact(token.encode("ascii"))
        claims = json.loads(compact.payload)
    except (JoseError, ValueError) as error:
        raise InvalidToken("the token is not a signed JWT") from error
    if not isinstance(claims, dict):
        raise InvalidToken("the token is not a signed JWT")
    return compact.headers(), claims
