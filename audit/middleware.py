"""Fail closed: the response is held until its audit record is committed — and, in strict
mode (`HUB_AUDIT_WITNESS_BEFORE_ANSWER`), until a quorum of witnesses has cosigned it if
it discloses data. If not, the caller gets a 503 `audit_unavailable` and none of the data.

Wraps each audited endpoint, outside everything else, so refusals by the caller check,
the rate limit and the body limits are recorded too; a refusal of a request nobody
authenticated is counted in its source's tally instead (`audit.tally`). Who asked comes
from the ASGI scope: `caller` (set by `auth.middleware` for /graphql) or `claimed_client`
(set by the token endpoint). Each response carries `X-Request-Id`, the record's request id.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit.record import AuditTrail, SubjectHasher, outcome_of, outcome_of_status
from audit.store import AuditStore, Entry
from audit.tally import RefusalTally, tallied
from auth.tokens import VerifiedToken
from kernel import errors
from kernel.caller import Caller
from kernel.tracing import tracer

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = b"x-request-id"
UNAVAILABLE = json.dumps(
    {
        "error": errors.AUDIT_UNAVAILABLE,
        "error_description": "the audit record could not be written, so nothing is disclosed;"
        " retry later",
    }
).encode()


def _codes_in(body: bytes) -> set[str]:
    """Error codes a response carries, for requests the GraphQL layer did not classify
    (HTTP refusals, a timeout): `error` of a refusal, `extensions.code` of GraphQL errors."""
    try:
        answer = json.loads(body)
    except ValueError:
        return set()
    answers = answer if isinstance(answer, list) else [answer]
    codes: set[str] = set()
    for item in answers:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("error"), str):
            codes.add(item["error"])
        errors = item.get("errors")
        for error in errors if isinstance(errors, list) else ():  # an import report counts them
            code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
            if isinstance(code, str):
                codes.add(code)
    return codes


def _who(scope: Scope) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """Client, agency, person, purpose and reference: of the caller; of whoever presented
    a valid token and was then refused (no purpose, say); or of whoever a sign-in or the
    token endpoint says is trying (`claimed_client` when registered, `claimed_user`)."""
    caller = scope.get("caller")
    if isinstance(caller, Caller):
        return (
            caller.client_id,
            caller.agency,
            caller.user,
            caller.purpose,
            caller.purpose_reference,
        )
    presenter = scope.get("presenter")
    if isinstance(presenter, VerifiedToken):
        return presenter.client.client_id, presenter.client.agency, presenter.user, None, None
    client_id, agency = scope.get("claimed_client", (None, None))
    registered = client_id if agency is not None else None
    return registered, agency, scope.get("claimed_user"), None, None


ENDPOINT_LENGTH = 32
"""The record's endpoint column."""


def endpoint_of(scope: Scope) -> str:
    """The route that answered (`/desk/case/{number}`), not the path asked for: a path may
    carry a case number or worse, and is as long as the caller likes."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    endpoint = template if isinstance(template, str) else scope["path"]
    return endpoint[:ENDPOINT_LENGTH]


def _unregistered_claim(scope: Scope) -> str | None:
    """A client id the token endpoint was given that names no client: the caller's own
    text (it could be anything, an ID number too), so recorded only as its keyed hash."""
    if isinstance(scope.get("caller"), Caller) or "presenter" in scope:
        return None
    client_id, agency = scope.get("claimed_client", (None, None))
    return client_id if client_id is not None and agency is None else None


class AuditMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        store: AuditStore,
        hasher: SubjectHasher,
        tally: RefusalTally | None = None,
    ) -> None:
        """`tally`: where refusals of requests nobody authenticated are counted instead
        of recorded one by one (`audit.tally`)."""
        self.app = app
        self.store = store
        self.hasher = hasher
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to record, nothing to hold
            await self.app(scope, receive, send)
            return
        request_id = scope.get("request_id")
        if isinstance(request_id, str):  # the edge's (`hub.edge`): one id a request
            trail = AuditTrail(endpoint=endpoint_of(scope), request_id=request_id)
        else:
            trail = AuditTrail(endpoint=endpoint_of(scope))
        scope["audit"] = trail
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        self.store.underway += 1  # its record is to come: a group may wait for it
        try:
            try:
                await self.app(scope, receive, hold)
            finally:
                self.store.underway -= 1
        except Exception:
            await self._record(scope, trail, 500, b"")
            raise
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        status = start["status"] if start else 500
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        request_id = trail.request_id
        if self.tally is not None and tallied(scope, status):
            trail.codes.update(_codes_in(body))
            request_id = self.tally.add(
                scope, status, trail.codes, lambda: self._content(scope, trail, status, body)
            )
        elif not await self._record(scope, trail, status, body):
            await _send_unavailable(send, trail.request_id)
            return
        for message in held:
            if message is start:
                message = {
                    **message,
                    "headers": [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())],
                }
            await send(message)

    def _content(
        self, scope: Scope, trail: AuditTrail, status: int, body: bytes
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        trail.endpoint = endpoint_of(scope)
        if not trail.graphql_done or status != 200:
            trail.codes.update(_codes_in(body))
        disclosed = trail.disclosures.any
        outcome = outcome_of(trail.codes, disclosed) if status == 200 else outcome_of_status(status)
        client_id, agency, user, purpose, reference = _who(scope)
        caller = scope.get("caller")
        content, entities = trail.payload(
            hasher=self.hasher,
            client_id=client_id,
            agency=agency,
            user=user,
            actors=caller.actors if isinstance(caller, Caller) else (),
            purpose=purpose,
            purpose_reference=reference,
            outcome=outcome,
            status=status,
            response_bytes=len(body),
        )
        if (claimed := _unregistered_claim(scope)) is not None:
            content["claimed_client"] = self.hasher(claimed)
        return content, entities

    async def _record(self, scope: Scope, trail: AuditTrail, status: int, body: bytes) -> bool:
        content, entities = self._content(scope, trail, status, body)
        disclosed = trail.disclosures.any
        try:
            with tracer.start_as_current_span("audit.commit"):
                seq = await self.store.append(Entry(content, entities), request=True)
        except Exception as error:  # whatever went wrong, nothing leaves without a record
            log.error("request %s withheld: audit record not written (%r)", trail.request_id, error)
            return False
        if disclosed and self.store.policy.witness_before_answer:
            try:
                witnessed = await self.store.witnessed(seq)
            except Exception as error:
                log.error("request %s withheld: witnessing failed (%r)", trail.request_id, error)
                return False
            if not witnessed:
                log.warning("request %s withheld: its record is not witnessed", trail.request_id)
                return False
        return True


async def _send_unavailable(send: Send, request_id: str) -> None:
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(UNAVAILABLE)).encode()),
        (b"cache-control", b"no-store"),
        (b"retry-after", b"5"),
        (REQUEST_ID_HEADER, request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": UNAVAILABLE})
