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

from starlette.types import Receive, Scope

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
