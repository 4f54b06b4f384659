"""Reading a request body within its limits of size and time, for every endpoint that
reads one (/graphql, /oauth/token, /connector/load, and any to come).

Why a deadline: the server hands the request to the application once its head has
arrived, and the body then comes as fast as the client sends it. A client that sends one
byte a minute would otherwise hold a connection, and a worker's memory, indefinitely; a
thousand such clients hold the hub. The deadline runs from the first read to the last
byte, whatever the pace in between.

    over `max_bytes` (declared or read)       413 request_too_large
    not complete within `timeout_seconds`      408 request_timeout (Connection: close)
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.middleware import Refusal
from kernel import errors


def too_large(limit: int) -> Refusal:
    return Refusal(413, errors.REQUEST_TOO_LARGE, f"the body is over {limit} bytes", limit=limit)


def declared_length(scope: Scope) -> int | None:
    """`Content-Length`, when it is a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def read_body(
    scope: Scope, receive: Receive, *, max_bytes: int, timeout_seconds: float
) -> bytes:
    """The whole body, or a Refusal (413, 408) the caller sends as it is."""
    declared = declared_length(scope)
    if declared is not None and declared > max_bytes:
        raise too_large(max_bytes)
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_seconds):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                body.extend(message.get("body", b""))
                if len(body) > max_bytes:
                    raise too_large(max_bytes)
                if not message.get("more_body", False):
                    break
    except TimeoutError as error:
        raise Refusal(
            408,
            errors.BODY_TIMEOUT,
            f"the body did not arrive within {timeout_seconds:g} s",
            headers={"Connection": "close"},
        ) from error
    return bytes(body)


class BodyLimit:
    """ASGI middleware for an endpoint whose framework reads the body itself (a form
    parser, say): the body is read here within its size and deadline first, then handed
    on whole; a refusal is answered as on every endpoint."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(
                scope, receive, max_bytes=self.max_bytes, timeout_seconds=self.timeout_seconds
            )
        except Refusal as refusal:
            await refusal.send(send)
            return
        await self.app(scope, replayed(body, receive), send)


def replayed(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over a body already read once, then the connection's own
    (which waits for the client to disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
