"""OAuth 2.0 Token Exchange (RFC 8693) at `/oauth/token`: how a service proves, to an
agency's service, whom it asks for.

    POST /oauth/token   (the acting client authenticates: HTTP Basic or the form)
    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<the caller's access token>
    subject_token_type=urn:ietf:params:oauth:token-type:access_token
    audience=<agency>                 the agency's service it is for (a connector's name)
    scope=<optional: fewer scopes>
    → {"access_token": …, "issued_token_type": "…:access_token", "token_type": "Bearer",
       "expires_in": …, "scope": …}

The token issued names the caller as its client (`sub`, `client_id`), with the caller's
scopes that its grant still holds (narrowed by `scope`), the acting client in `act`
(RFC 8693 §4.1, after any actor the subject token already named), the audience
`<hub audience>/<agency>`, and an expiry no later than the subject token's and at most
`EXCHANGED_TTL_SECONDS` away. Only a client whose grant holds `token:exchange` may ask.
The agency's service then answers the caller, under the caller's grant (its row limits),
and knows who carried the request.

Why this and not the alternatives: naming the caller in a header beside the hub's own
token (what the hub did) makes the hub's secret a master key — whoever holds it is every
client. A caller assertion the hub signs per request would need no round trip, but the
agency would trust the hub's word for the caller, and every service that calls another
would need a signing key. Token exchange binds the new token to a live token of the
caller's, which the caller presented and the hub did not mint: holding the hub's secret
is not enough, stolen tokens expire with the caller's, and the issuer — one place —
decides who may act for whom. The cost, a request to `/oauth/token` per caller token and
agency, is paid once and cached until shortly before the token expires.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error

from auth.tokens import MAX_ACTORS, VerifiedToken

GRANT_TYPE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN: Final = "urn:ietf:params:oauth:token-type:access_token"
EXCHANGED_TTL_SECONDS: Final = 300


class InvalidTarget(OAuth2Error):
    """RFC 8693 §2.2.2: the audience names no agency's service this hub knows."""

    error = "invalid_target"


def agency_audience(audience: str, agency: str) -> str:
    """The audience of a token exchanged for one agency's service."""
    return f"{audience}/{agency}"


@dataclass(frozen=True)
class Subject:
    """The subject token, verified before the grant runs (verification is asynchronous,
    the grant is not): the verified token, or why it is refused."""

    verified: VerifiedToken | None
    refusal: str = ""


@dataclass(frozen=True)
class Exchanged:
    """What the token issued says."""

    client_id: str
    scope: str
    audience: str
    expires_at: int
    actors: tuple[str, ...]
    user: str | None


def exchange(
    subject: Subject | None,
    actor: str,
    form: Mapping[str, str],
    *,
    audience: str,
    agencies: Collection[str],
) -> Exchanged:
    """The token to issue to `actor` for the subject, or the OAuth2 error refusing it."""
    if form.get("subject_token_type") != ACCESS_TOKEN:
        raise InvalidRequestError(f"subject_token_type must be {ACCESS_TOKEN}")
    if "actor_token" in form:
        raise InvalidRequestError("no actor_token: the authenticated client is the actor")
    target = form.get("audience", "")
    if target not in agencies:
        raise InvalidTarget(description=f"audience must name an agency: {', '.join(agencies)}")
    if subject is None or subject.verified is None:
        reason = subject.refusal if subject else "missing"
        raise InvalidRequestError(f"subject_token is not valid: {reason}")
    verified = subject.verified
    actors = (actor, *verified.actors)
    if len(actors) > MAX_ACTORS:
        raise InvalidRequestError(f"at most {MAX_ACTORS} services may act for one caller")
    scopes = set(verified.scopes)
    if asked := form.get("scope"):
        scopes &= set(asked.split())
    now = int(time.time())
    expires_at = min(now + EXCHANGED_TTL_SECONDS, verified.expires_at or now)
    if expires_at <= now:
        raise InvalidRequestError("subject_token is not valid: it has expired")
    return Exchanged(
        client_id=verified.client.client_id,
        scope=" ".join(sorted(scopes)),
        audience=agency_audience(audience, target),
        expires_at=expires_at,
        actors=actors,
        user=verified.user,
    )
