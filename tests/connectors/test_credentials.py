"""The hub's own token for connector calls (`connectors.credentials`), from an issuer on
`httpx.MockTransport` and an injected clock: kept while valid, renewed before it
expires, fetched once however many calls wait for it, dropped when a service refuses it."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.credentials import ClientCredentials, NoToken
from kernel.scopes import CONNECTOR_LOAD


class Issuer:
    def __init__(self, lifetime: int = 300) -> None:
        self.lifetime = lifetime
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await asyncio.sleep(0)  # let concurrent callers pile up behind the first
        token = f"token-{len(self.requests)}"
        return httpx.Response(200, json={"access_token": token, "expires_in": self.lifetime})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _tokens(issuer: Issuer, clock: Clock) -> ClientCredentials:
    http = httpx.AsyncClient(transport=httpx.MockTransport(issuer))
    return ClientCredentials(http, "http://hub/oauth/token", "hub", "s3cret", CONNECTOR_LOAD, clock)


def test_the_token_is_fetched_once_and_kept_until_shortly_before_it_expires() -> None:
    issuer, clock = Issuer(lifetime=300), Clock()
    tokens = _tokens(issuer, clock)

    async def run() -> list[str]:
        seen = await asyncio.gather(*(tokens.token() for _ in range(5)))
        clock.now = 239.0
        seen.append(await tokens.token())
        clock.now = 240.0  # a minute before it expires
        seen.append(await tokens.token())
        await tokens.http.aclose()
        return seen

    assert asyncio.run(run()) == ["token-1"] * 6 + ["token-2"]
    [first, _] = issuer.requests
    assert parse_qs(first.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": [CONNECTOR_LOAD],
    }
    assert first.headers["authorization"].startswith("Basic ")


def test_a_refused_token_is_forgotten_and_another_fetched() -> None:
    issuer, clock = Issuer(), Clock()
    tokens = _tokens(issuer, clock)

    async def run() -> list[str]:
        first = await tokens.token()
        tokens.forget("some-older-token")  # not the one held: kept
        kept = await tokens.token()
        tokens.forget(first)
        renewed = await tokens.token()
        await tokens.http.aclose()
        return [first, kept, renewed]

    assert asyncio.run(run()) == ["token-1", "token-1", "token-2"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, json={"error": "invalid_client"}),
        httpx.Response(200, json={"token_type": "Bearer"}),
        httpx.Response(200, text="not json"),
    ],
)
def test_no_usable_token_is_no_token(answer: httpx.Response) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer))
    tokens = ClientCredentials(http, "http://hub/oauth/token", "hub", "s3cret", CONNECTOR_LOAD)

    async def run() -> None:
        try:
            await tokens.token()
        finally:
            await http.aclose()

    with pytest.raises(NoToken, match="from its issuer"):
        asyncio.run(run())
