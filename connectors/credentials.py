"""The tokens a process presents to agencies' services: for a caller, the caller's own
token exchanged by this process's client for one meant for that agency (RFC 8693,
`auth.exchange`); for a read of its own (no caller token: warnings), its own OAuth2
client-credentials token. Each is kept until shortly before it expires. The client is
this process's own (`HUB_CONNECTOR_CLIENT_ID`): the hub's, or an agency service's own
least-privilege client (`token:exchange` only), never another's secret. Apart from the
HTTP client (`connectors.remote`) because it is shared by every remote agency of a
process and has its own failure (the issuer gives no token)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import httpx

from connectors.transport import Requester

TOKEN_EXCHANGE_GRANT: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"
EXCHANGED_KEPT: Final = 10_000
"""Exchanged tokens kept per process (callers' tokens × agencies), oldest dropped first."""


class NoToken(Exception):
    """The issuer did not give this process a token for connector calls; `refused` when
    it answered that it will not (a caller's token it no longer accepts, say)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


Mint = Callable[[Requester], Awaitable[tuple[str, float] | None]]
"""The issuer's own token (and its lifetime in seconds) for a caller it authenticated
without one (a web desk session, a webhook subscription's client); None for a caller it
cannot vouch for. Only the hub, which holds its signing key, mints."""


class AccessTokens(Protocol):
    """What the client needs of a token source: the token to present to one agency for
    one requester (None: this process's own read), and a way to drop one a service
    refused."""

    async def token_for(self, requester: Requester | None, agency: str) -> str: ...
    def forget(self, token: str) -> None: ...


class ClientCredentials:
    """This process's client at its issuer: its own access token (OAuth2 client
    credentials), fetched by one request at a time, and callers' tokens exchanged for an
    agency's; each kept until shortly before it expires."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        clock: Callable[[], float] = time.monotonic,
        mint: Mint | None = None,
    ) -> None:
        self.http = http
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self.mint = mint
        self._exchanged: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._minted_tokens: OrderedDict[tuple[str, str, str], tuple[str, float]] = OrderedDict()
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._token, lifetime = await self._fetch(
                    {"grant_type": "client_credentials", "scope": self.scope}
                )
                self._renew_at = self._renewal(lifetime)
            return self._token

    async def token_for(self, requester: Requester | None, agency: str) -> str:
        """The requester's token exchanged for one `agency` accepts, naming this client
        as the actor: the token it presented, or one this process's issuer mints for a
        caller it authenticated otherwise; this process's own token for a read of its
        own (no requester, or one nobody can mint for)."""
        credential = requester.credential if requester is not None else None
        if credential is None and requester is not None and self.mint is not None:
            credential = await self._minted(requester)
        if credential is None:
            return await self.token()
        key = (credential, agency)
        kept = self._exchanged.get(key)
        if kept is not None and self.clock() < kept[1]:
            return kept[0]
        token, lifetime = await self._fetch(
            {
                "grant_type": TOKEN_EXCHANGE_GRANT,
                "subject_token": credential,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "audience": agency,
            }
        )
        self._exchanged[key] = (token, self._renewal(lifetime))
        while len(self._exchanged) > EXCHANGED_KEPT:
            self._exchanged.popitem(last=False)
        return token

    async def _minted(self, requester: Requester) -> str | None:
        """A minted token per client, person and scopes, kept like the others."""
        key = (requester.client_id, requester.user or "", " ".join(sorted(requester.scopes)))
        kept = self._minted_tokens.get(key)
        if kept is not None and self.clock() < kept[1]:
            return kept[0]
        assert self.mint is not None
        minted = await self.mint(requester)
        if minted is None:
            return None
        token, lifetime = minted
        self._minted_tokens[key] = (token, self._renewal(lifetime))
        while len(self._minted_tokens) > EXCHANGED_KEPT:
            self._minted_tokens.popitem(last=False)
        return token

    def _renewal(self, lifetime: float) -> float:
        return self.clock() + max(lifetime - 60.0, lifetime / 2)

    def forget(self, token: str) -> None:
        """A service refused the token (revoked, rotated key): fetch a new one next time."""
        if self._token == token:
            self._token = None
        for key in [k for k, (kept, _) in self._exchanged.items() if kept == token]:
            del self._exchanged[key]

    async def _fetch(self, form: dict[str, str]) -> tuple[str, float]:
        try:
            response = await self.http.post(
                self.token_url, data=form, auth=(self.client_id, self.client_secret)
            )
            response.raise_for_status()
            issued = response.json()
            return str(issued["access_token"]), float(issued.get("expires_in", 300))
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            refused = isinstance(error, httpx.HTTPStatusError) and error.response.is_client_error
            raise NoToken(
                f"the hub got no token for its calls ({type(error).__name__} from its issuer)",
                refused=refused,
            ) from error
