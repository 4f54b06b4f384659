"""Who is calling /graphql: an ASGI middleware that verifies the bearer token and the
declared purpose, and puts the `Caller` on the request (`scope["caller"]`) or answers
for itself:

    no Authorization: Bearer     401  WWW-Authenticate: Bearer realm="wage-hub"
    a token the hub refuses      401  WWW-Authenticate: Bearer realm=…, error="invalid_token", …
    no X-Purpose                 400  naming the header and the client's purposes
    X-Purpose-Reference          raw UTF-8, or RFC 8187 `UTF-8''<percent-encoded>`
    a purpose not granted        403  naming the purpose and the granted ones

A GET asking for the GraphiQL page (Accept: text/html) passes without a token: the page
carries no data, and queries never run over GET.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.errors import InvalidToken
from auth.tokens import TokenVerifier, VerifiedToken
from kernel import errors
from kernel.caller import Caller

REALM = "wage-hub"
AUTHENTICATED = "authenticated"
"""Set to True in the ASGI scope once a token or a client secret has been verified: the
audit log records such a request on its own, refused or not (`audit.tally`)."""
PURPOSE_HEADER = "x-purpose"
REFERENCE_HEADER = "x-purpose-reference"
MAX_REFERENCE_LENGTH = 100
# RFC 8187 ext-value: UTF-8 '[language]' value, the value percent-encoded outside attr-char.
EXT_VALUE = re.compile(
    r"(?i:utf-8)'[A-Za-z0-9-]*'((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*)", re.ASCII
)


class Refusal(Exception):
    """A request refused before it reaches GraphQL: status, JSON body, extra headers."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description, **extra}
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """The same answer as a Starlette response, for endpoints that return one."""
        headers = {"cache-control": "no-store", **self.headers}
        return JSONResponse(self.body, self.status, headers=headers)

    async def send(self, send: Send) -> None:
        content = json.dumps(self.body, ensure_ascii=False).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            (b"cache-control", b"no-store"),
            *((name.lower().encode(), value.encode()) for name, value in self.headers.items()),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _headers(scope: Scope) -> dict[str, bytes]:
    """Request headers by lower-case name (the last of repeated ones)."""
    return {name.decode("latin-1"): value for name, value in scope["headers"]}


def _text(raw: bytes, name: str) -> str:
    """A header's value as UTF-8 (agencies write case numbers in Chinese), trimmed."""
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError as error:
        raise Refusal(400, errors.INVALID_REQUEST, f"{name} must be UTF-8") from error
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise Refusal(400, errors.INVALID_REQUEST, f"{name} holds control characters")
    return value


def reference_text(raw: bytes) -> str:
    """X-Purpose-Reference as sent: RFC 8187's `UTF-8''%E6%96%B0...` (what a browser or
    Python's http.client can send, since header values must be ISO-8859-1), or raw UTF-8."""
    extended = EXT_VALUE.fullmatch(raw.strip().decode("latin-1"))
    if extended is None:
        return _text(raw, "X-Purpose-Reference")
    return _text(unquote_to_bytes(extended.group(1)), "X-Purpose-Reference")


def _bearer(headers: Mapping[str, bytes]) -> str:
    scheme, _, token = headers.get("authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(
            401,
            errors.MISSING_AUTHORIZATION,
            "send Authorization: Bearer <token>; POST /oauth/token issues one",
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
        )
    return token.strip()


def _caller(verified: VerifiedToken, headers: Mapping[str, bytes]) -> Caller:
    client = verified.client
    purpose = _text(headers.get(PURPOSE_HEADER, b""), "X-Purpose")
    if not purpose:
        raise Refusal(
            400,
            errors.MISSING_PURPOSE,
            "the X-Purpose header is required: say why you ask (one of your purposes)",
            granted_purposes=list(client.purposes),
        )
    if purpose not in client.purposes:
        raise Refusal(
            403,
            errors.PURPOSE_NOT_GRANTED,
            f"purpose {purpose!r} is not granted to client {client.client_id!r};"
            f" granted: {', '.join(client.purposes)}",
            granted_purposes=list(client.purposes),
        )
    reference = reference_text(headers.get(REFERENCE_HEADER, b""))
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise Refusal(
            400,
            errors.INVALID_REQUEST,
            f"X-Purpose-Reference is at most {MAX_REFERENCE_LENGTH} characters",
        )
    return Caller(
        client_id=client.client_id,
        agency=client.agency,
        scopes=verified.scopes,
        limits=client.limits,
        purpose=purpose,
        purpose_reference=reference or None,
        user=verified.user,
        credential=verified.token or None,
        actors=verified.actors,
    )


def _wants_graphiql(scope: Scope, headers: Mapping[str, bytes]) -> bool:
    return scope["method"] in ("GET", "HEAD") and b"text/html" in headers.get("accept", b"")


class CallerMiddleware:
    def __init__(self, app: ASGIApp, verifier: TokenVerifier) -> None:
        self.app = app
        self.verifier = verifier

    async def caller(self, verified: VerifiedToken, headers: Mapping[str, bytes]) -> Caller:
        """Who the request is for: here the token's own client (see `auth.delegation`
        for a service calling on a client's behalf), or a Refusal."""
        return _caller(verified, headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        if _wants_graphiql(scope, headers):
            await self.app(scope, receive, send)
            return
        try:
            try:
                verified = await self.verifier.verify(_bearer(headers))
                scope[AUTHENTICATED] = True
                scope["presenter"] = verified  # whose token it was (a delegate's, or the caller's)
            except InvalidToken as error:
                raise Refusal(
                    401,
                    errors.INVALID_TOKEN,
                    error.description,
                    headers={
                        "WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token", '
                        f'error_description="{error.description}"'
                    },
                ) from error
            scope["caller"] = await self.caller(verified, headers)
        except Refusal as refusal:
            await refusal.send(send)
            return
        await self.app(scope, receive, send)
