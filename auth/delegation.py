"""A service calling on a client's behalf: how an agency's service knows for whom it is
asked, and by whom.

The caller's authority travels as a token exchanged for it (`auth.exchange`, RFC 8693):
the caller's own client, its scopes, a lifetime no longer than the token the caller
presented, meant for this agency's service only (`aud` `<audience>/<agency>`), with the
services acting for it in `act`. The service that presents it must be one this service
trusts as a delegate (`hub connector serve … --delegate hub`); the caller keeps its own
row limits and purposes, checked against its grant as at the hub. A token without `act`
is its client's own, exactly as at the hub (an agency's client, a gateway forwarding
one's token, or the hub reading under its own grant).

Naming a caller in a header beside one's own token is refused: that made the hub's
secret a master key for every client.

    X-Caller-Client-Id (any value)                       403 delegation_not_allowed
    an exchanged token presented by a service that
    is no delegate here                                  403 delegation_not_allowed
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from starlette.types import ASGIApp

from auth.middleware import CallerMiddleware, Refusal
from auth.tokens import TokenVerifier, VerifiedToken
from kernel import errors
from kernel.caller import Caller

CALLER_HEADER = "x-caller-client-id"
"""What the hub once named its caller with; now refused."""

log = logging.getLogger(__name__)


class DelegatingCallerMiddleware(CallerMiddleware):
    def __init__(self, app: ASGIApp, verifier: TokenVerifier, delegates: Collection[str]) -> None:
        super().__init__(app, verifier)
        self.delegates = frozenset(delegates)

    async def caller(self, verified: VerifiedToken, headers: Mapping[str, bytes]) -> Caller:
        if CALLER_HEADER in headers:
            raise Refusal(
                403,
                errors.DELEGATION_NOT_ALLOWED,
                "X-Caller-Client-Id is not accepted: present a token exchanged for the "
                "caller's at /oauth/token (RFC 8693)",
            )
        if verified.actors and verified.actors[0] not in self.delegates:
            raise Refusal(
                403,
                errors.DELEGATION_NOT_ALLOWED,
                f"client {verified.actors[0]!r} may not act for another client here",
            )
        caller = await super().caller(verified, headers)
        log.info(  # never the purpose reference: the caller's free text (the audit has it)
            "caller %s via %s, purpose %s",
            caller.client_id,
            " < ".join(caller.actors) or "-",
            caller.purpose,
        )
        return caller
