"""A service calling on a client's behalf: how a subgraph knows for whom the hub asks.

The hub presents its own access token (client credentials, issued by the hub like any
other) and names the client it is answering in headers:

    X-Caller-Client-Id   the original caller's client id
    X-Purpose            that caller's declared purpose, checked against its grant
    X-Purpose-Reference  optional, as at the hub
    X-Caller-Scopes      optional, space-separated: the caller's token scopes (narrows)

Only a client the subgraph was told to trust as a delegate may name another client.
The caller it names keeps its own limits (regions, courts, bank) and purposes, and gets
only the scopes both the presenter's token and its own grant hold: delegation never
widens what either client may see. Without X-Caller-Client-Id, the token's own client is
the caller, exactly as at the hub (an agency's client, or a gateway forwarding one's
token).

    a client that is no delegate names a caller   403 delegation_not_allowed
    the caller named is unknown or revoked         403 unknown_caller
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from starlette.types import ASGIApp

from auth.middleware import CallerMiddleware, Refusal, _caller, _text
from auth.store import AuthStore
from auth.tokens import TokenVerifier, VerifiedToken
from kernel import errors
from kernel.caller import Caller

CALLER_HEADER = "x-caller-client-id"
CALLER_SCOPES_HEADER = "x-caller-scopes"

log = logging.getLogger(__name__)


class DelegatingCallerMiddleware(CallerMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        store: AuthStore,
        delegates: Collection[str],
    ) -> None:
        super().__init__(app, verifier)
        self.store = store
        self.delegates = frozenset(delegates)

    async def caller(self, verified: VerifiedToken, headers: Mapping[str, bytes]) -> Caller:
        named = _text(headers.get(CALLER_HEADER, b""), "X-Caller-Client-Id")
        if not named:
            caller = await super().caller(verified, headers)
        else:
            caller = await self._delegated(named, verified, headers)
        log.info(  # never the purpose reference: the caller's free text (the audit has it)
            "caller %s via %s, purpose %s",
            caller.client_id,
            verified.client.client_id if named else "-",
            caller.purpose,
        )
        return caller

    async def _delegated(
        self, named: str, verified: VerifiedToken, headers: Mapping[str, bytes]
    ) -> Caller:
        presenter = verified.client.client_id
        if presenter not in self.delegates:
            raise Refusal(
                403,
                errors.DELEGATION_NOT_ALLOWED,
                f"client {presenter!r} may not call on another client's behalf",
            )
        client = await self.store.client(named)
        if client is None or client.revoked:
            raise Refusal(403, errors.UNKNOWN_CALLER, "X-Caller-Client-Id names no active client")
        scopes = verified.scopes & frozenset(client.scopes)
        if CALLER_SCOPES_HEADER in headers:
            declared = _text(headers[CALLER_SCOPES_HEADER], "X-Caller-Scopes")
            scopes &= frozenset(declared.split())
        return _caller(VerifiedToken(client, scopes), headers)
