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

from typing import Final

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from audit.witness import Refusal, Witness
from auth.bodies import read_body
from auth.middleware import Refusal as BodyRefused

MAX_BODY_BYTES: Final = 64 * 1024
BODY_TIMEOUT_SECONDS: Final = 10.0
"""A checkpoint's body arrives within this, or the connection is closed (`auth.bodies`)."""


def _refused(refusal: Refusal) -> Response:
    # the content type exactly: clients compare `text/x.tlog.size` as a string
    return Response(refusal.body, refusal.status, {"content-type": refusal.media_type})


def create_witness_app(witness: Witness, *, max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        try:
            body = await read_body(
                request.scope,
                request.receive,
                max_bytes=max_body_bytes,
                timeout_seconds=BODY_TIMEOUT_SECONDS,
            )
        except BodyRefused as refused:
            return PlainTextResponse(f"{refused.body['error_description']}\n", refused.status)
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
