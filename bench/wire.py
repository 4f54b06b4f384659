"""The bench's HTTP client: HTTP/1.1 with keep-alive, each request's bytes built once.

The load client shares the machine's two cores with what it measures. httpx spent 1.5-2.6
ms of CPU a request at 8 clients (building the request, h11, decoding the JSON answer) —
more than the hand-written floor's whole answer, and, in the two-worker runs, CPU taken
from the hub's second worker. Here a request is one `write` of prepared bytes and an
answer one read of its head and body: 0.11-0.19 ms a request (docs/benchmarks.md), so the
times measure the servers.

An answer is "good" when its status is 200 and, for GraphQL, its body has no top-level
`errors` key: in JSON an unescaped `"errors":` can only be a key (a quote inside a string is
escaped), and the hub's schema has no field of that name (tested), so a byte search decides it
without decoding the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

ERRORS_KEY: Final = b'"errors":'
HEAD_END: Final = b"\r\n\r\n"


class WireError(Exception):
    """An answer this client cannot read (no content length, a closed connection)."""


def encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class Wire:
    """Up to `connections` kept-alive connections to one host; `post` borrows one per
    request, so as many requests as connections are in flight at once."""

    def __init__(self, url: str, connections: int, headers: Mapping[str, str] | None = None):
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._headers = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue()
        )
        for _ in range(connections):
            self._idle.put_nowait(None)  # opened on first use
        self._open: list[asyncio.StreamWriter] = []
        self._prepared: dict[tuple[str, bytes], bytes] = {}

    async def __aenter__(self) -> Wire:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        for writer in self._open:
            writer.close()
        for writer in self._open:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self._open.clear()

    def prepared(self, path: str, body: bytes) -> bytes:
        """The request's bytes, built once per (path, body)."""
        key = (path, body)
        found = self._prepared.get(key)
        if found is None:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._headers}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            found = self._prepared[key] = head.encode() + body
        return found

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of one POST; a connection that fails is dropped, not reused."""
        request = self.prepared(path, body)
        connection = await self._idle.get()
        try:
            if connection is None:
                connection = await asyncio.open_connection(self.host, self.port)
                self._open.append(connection[1])
            reader, writer = connection
            writer.write(request)
            answer = await _read_answer(reader)
        except BaseException:
            if connection is not None:
                connection[1].close()
            self._idle.put_nowait(None)
            raise
        self._idle.put_nowait(connection)
        return answer


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    try:
        head = await reader.readuntil(HEAD_END)
    except asyncio.IncompleteReadError as error:
        raise WireError("connection closed before an answer") from error
    status = int(head[9:12])
    length = -1
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        return status, await _read_chunks(reader)
    if length < 0:
        raise WireError("an answer without Content-Length cannot end on a kept connection")
    return status, await reader.readexactly(length)


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from our servers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def graphql_ok(status: int, body: bytes) -> bool:
    return status == 200 and ERRORS_KEY not in body
