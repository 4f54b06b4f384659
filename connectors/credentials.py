"""The token the hub presents to agencies' services: its own OAuth2 client-credentials
token, fetched from its issuer and kept until shortly before it expires. Apart from the
client (`connectors.remote`) because it is shared by every remote agency of a process and
has its own failure (the issuer gives no token)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import httpx


class NoToken(Exception):
    """The hub's issuer did not give it a token for connector calls."""


class AccessTokens(Protocol):
    """What the client needs of a token source: the current token, and a way to drop one
    a service refused."""

    async def token(self) -> str: ...
    def forget(self, token: str) -> None: ...


class ClientCredentials:
    """The hub's own access token for connector calls (OAuth2 client credentials), kept
    until shortly before it expires and fetched by one request at a time."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._token, lifetime = await self._fetch()
                self._renew_at = self.clock() + max(lifetime - 60.0, lifetime / 2)
            return self._token

    def forget(self, token: str) -> None:
        """A service refused the token (revoked, rotated key): fetch a new one next time."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> tuple[str, float]:
        try:
            response = await self.http.post(
                self.token_url,
                data={"grant_type": "client_credentials", "scope": self.scope},
                auth=(self.client_id, self.client_secret),
            )
            response.raise_for_status()
            issued = response.json()
            return str(issued["access_token"]), float(issued.get("expires_in", 300))
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise NoToken(
                f"the hub got no token for its calls ({type(error).__name__} from its issuer)"
            ) from error
