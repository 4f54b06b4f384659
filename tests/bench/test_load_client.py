"""The bench's lean HTTP client against a real server over a socket: answers with a length
and chunked, kept-alive connections reused, and the GraphQL error check by bytes."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bench.wire import Wire, WireError, encode_json, graphql_ok


async def _serve(answers: list[bytes], seen: list[bytes], connections: list[int]):
    """A server that answers each request on a connection with the next of `answers`."""
    remaining = iter(answers)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            seen.append(head + await reader.readexactly(length))
            answer = next(remaining, None)
            if answer is None:
                break
            writer.write(answer)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _sized(body: bytes, status: str = "200 OK") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def test_answers_by_length_and_by_chunks_on_one_kept_connection() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    answers = [_sized(b'{"data":{"a":1}}'), chunked, _sized(b"no", "404 Not Found")]
    seen: list[bytes] = []
    connections: list[int] = []

    async def scenario() -> list[tuple[int, bytes]]:
        server = await _serve(answers, seen, connections)
        port = server.sockets[0].getsockname()[1]
        try:
            async with Wire(f"http://127.0.0.1:{port}", 1, {"X-Purpose": "testing"}) as wire:
                return [await wire.post("/graphql", encode_json({"q": n})) for n in range(3)]
        finally:
            server.close()
            await server.wait_closed()

    got = asyncio.run(scenario())
    assert got == [(200, b'{"data":{"a":1}}'), (200, b"hello world"), (404, b"no")]
    assert len(connections) == 1  # kept alive
    assert seen[0].startswith(b"POST /graphql HTTP/1.1\r\n")
    assert b"X-Purpose: testing\r\n" in seen[0]
    assert seen[2].endswith(b'{"q":2}')


def test_a_connection_closed_before_an_answer_is_an_error_and_is_not_reused() -> None:
    seen: list[bytes] = []
    connections: list[int] = []

    async def scenario() -> tuple[int, bytes]:
        server = await _serve([], seen, connections)  # closes without answering
        port = server.sockets[0].getsockname()[1]
        try:
            async with Wire(f"http://127.0.0.1:{port}", 1) as wire:
                with pytest.raises(WireError):
                    await wire.post("/graphql", b"{}")
                with pytest.raises(WireError):  # a new connection, closed again
                    await wire.post("/graphql", b"{}")
                return len(connections), b""
        finally:
            server.close()
            await server.wait_closed()

    opened, _ = asyncio.run(scenario())
    assert opened == 2


@pytest.mark.parametrize(
    ("status", "body", "good"),
    [
        (200, b'{"data":{"worker":null}}', True),
        (200, b'{"data":null,"errors":[{"message":"x"}]}', False),
        (200, b'{"data":{"name":"\\"errors\\":"}}', True),  # inside a string: escaped
        (500, b'{"data":{}}', False),
    ],
)
def test_graphql_errors_are_found_by_their_key(status: int, body: bytes, good: bool) -> None:
    assert graphql_ok(status, body) is good


def test_no_field_of_the_schema_is_named_errors() -> None:
    """What lets `graphql_ok` find errors by their key: no answer's data holds that key."""
    schema = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()
    assert re.search(r"^\s+errors\s*[(:]", schema, re.MULTILINE) is None
    assert re.search(r"^\s+\w+\s*[(:]", schema, re.MULTILINE)  # the pattern finds fields
