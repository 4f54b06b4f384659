"""The witness over HTTP, run as its own process with its own key and state, e.g. by
another agency:

    POST /add-checkpoint                  c2sp.org/tlog-witness
    GET  /latest-checkpoint?origin=<o>    the last checkpoint cosigned for the log, freshly
                                          cosigned (for `hub audit verify`; not in the spec)

The witness's work (one SQLite transaction with an fsync, one signature) runs in a
worker thread, so a slow disk holds no other request up; the body is read up to a limit,
as a checkpoint with its proof is a few kilobytes at most.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from audit.witness import Refusal, Witness

MAX_BODY_BYTES: Final = 64 * 1024
BODY_TIMEOUT_SECONDS: Final = 10.0
"""A checkpoint's body arrives within this, or it is refused (408): a client sending a byte
a minute holds no connection. Read here, not by `auth.bodies`: the witness stands alone."""


class _Unread(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Unread(413, f"a request is at most {limit} bytes")
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            async for chunk in request.stream():
                received += len(chunk)
                if received > limit:
                    raise _Unread(413, f"a request is at most {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise _Unread(408, f"the body did not arrive within {BODY_TIMEOUT_SECONDS:g} s") from None
    return b"".join(chunks)


def _refused(refusal: Refusal) -> Response:
    # the content type exactly: clients compare `text/x.tlog.size` as a string
    return Response(refusal.body, refusal.status, {"content-type": refusal.media_type})


def create_witness_app(witness: Witness, *, max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await _read_body(request, max_body_bytes)
        except _Unread as unread:
            return PlainTextResponse(f"{unread.message}\n", unread.status)
        try:
            cosignature = await run_in_threadpool(witness.add_checkpoint, body)
        except Refusal as refusal:
            return _refused(refusal)
        return PlainTextResponse(cosignature)

    async def latest_checkpoint(request: Request) -> Response:
        origin = request.query_params.get("origin", "")
        try:
            note = await run_in_threadpool(witness.latest_checkpoint, origin)
        except Refusal as refusal:
            return _refused(refusal)
        return PlainTextResponse(note)

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/latest-checkpoint", latest_checkpoint, methods=["GET"]),
        ]
    )
