"""The hub as an OAuth2 authorization server: `POST /oauth/token` (client credentials, and
token exchange for services acting for a caller: `auth.exchange`) and
`GET /.well-known/jwks.json`, with authlib's framework-neutral `AuthorizationServer`
adapted to Starlette.

Authlib's server is synchronous, so what it needs is read first, asynchronously: the form,
the client the request claims to be, the newest signing key. A server is built per request
around them, so none of its callbacks touches the database, and it runs in a worker
thread, since checking a secret (scrypt) takes tens of milliseconds.

Transport: authlib refuses plain http unless the request's host is a loopback address or
AUTHLIB_INSECURE_TRANSPORT is set (the Makefile's demo and the tests). Behind a proxy that
terminates TLS, uvicorn's proxy headers make the scheme https. A refused transport is a
400 `insecure_transport`, never a 500.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from authlib.oauth2 import AuthorizationServer, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from authlib.oauth2.rfc6749.grants import BaseGrant, ClientCredentialsGrant, TokenEndpointMixin
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from joserfc import jwt
from joserfc.jwk import OKPKey
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth import exchange, hashing
from auth.bodies import read_body
from auth.errors import InvalidToken
from auth.middleware import AUTHENTICATED, Refusal
from auth.sealing import KeySealingError
from auth.store import SIGNING_ALGORITHM, AuthStore, RegisteredClient
from auth.tokens import ACCESS_TOKEN_TYPE, ACTOR_CLAIM, USER_CLAIM, TokenVerifier, act_claim
from kernel import errors
from kernel.inputs import text_fault
from kernel.scopes import TOKEN_EXCHANGE, vocabulary

log = logging.getLogger(__name__)

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
_MAX_FORM_BYTES = 4096
_CLIENT_AUTH_FAILED = "client authentication failed"


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    audience: str
    ttl_seconds: int


class _Client(ClientMixin):
    """A registered client as authlib sees it: confidential, client credentials only."""

    def __init__(self, registered: RegisteredClient) -> None:
        self.registered = registered

    def get_client_id(self) -> str:
        return self.registered.client_id

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """No scope asked: the whole grant. Otherwise a subset of it, or None (invalid_scope)."""
        granted = self.registered.scopes
        if not scope:
            return " ".join(granted)
        asked = scope.split()
        if not set(asked) <= set(granted):
            return None
        return " ".join(s for s in granted if s in asked)

    def check_client_secret(self, client_secret: str) -> bool:
        return self.registered.check_secret(client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == exchange.GRANT_TYPE:
            return TOKEN_EXCHANGE in self.registered.scopes
        return grant_type == GRANT_TYPE


class _NoClient(_Client):
    """Who an unknown or revoked client id gets: its secret is checked like a registered
    client's (one scrypt derivation) and never matches, so the refusal cannot be told
    from a wrong secret by its timing."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str | None:
        return None

    def check_client_secret(self, client_secret: str) -> bool:
        return hashing.refuse_secret(client_secret)


class _ClientCredentialsGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class _TokenExchangeGrant(BaseGrant, TokenEndpointMixin):
    """RFC 8693 for a client holding `token:exchange` (`auth.exchange`)."""

    GRANT_TYPE = exchange.GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(exchange.GRANT_TYPE):
            raise UnauthorizedClientError(f"token exchange needs the scope {TOKEN_EXCHANGE}")
        self.request.client = client
        server: _Server = self.server
        self.exchanged = exchange.exchange(
            server.subject,
            client.get_client_id(),
            self.request.form,
            audience=server.policy.audience,
            agencies=server.agencies,
        )

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        issued = self.exchanged
        server: _Server = self.server
        token = {
            "access_token": sign_access_token(
                server.key,
                server.policy,
                issued.client_id,
                issued.scope,
                user=issued.user,
                audience=issued.audience,
                expires_at=issued.expires_at,
                actors=issued.actors,
            ),
            "issued_token_type": exchange.ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": max(0, issued.expires_at - int(time.time())),
            "scope": issued.scope,
        }
        log.info(
            "exchanged a token of %s for %s, acting: %s",
            issued.client_id,
            issued.audience,
            " < ".join(issued.actors),
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER


class _Payload(OAuth2Payload):
    def __init__(self, form: dict[str, str]) -> None:
        self._form = form

    @property
    def data(self) -> dict[str, str]:
        return self._form

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {name: [value] for name, value in self._form.items()}


class _Request(OAuth2Request):
    """Raises InsecureTransportError on construction, as every OAuth2Request does."""

    def __init__(self, request: Request, form: dict[str, str]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self.payload = _Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


class _AccessTokens(BearerTokenGenerator):
    """RFC 9068 JWT access tokens: `typ: at+jwt`, the signing key's `kid`, and the claims a
    resource server needs (`iss aud sub client_id scope iat nbf exp jti`)."""

    def __init__(self, key: OKPKey, policy: TokenPolicy) -> None:
        super().__init__(self._access_token, expires_generator=policy.ttl_seconds)
        self._key = key
        self._policy = policy

    def _access_token(self, client: _Client, grant_type: str, user: None, scope: str) -> str:
        return sign_access_token(self._key, self._policy, client.get_client_id(), scope)


def sign_access_token(
    key: OKPKey,
    policy: TokenPolicy,
    client_id: str,
    scope: str,
    *,
    user: str | None = None,
    audience: str | None = None,
    expires_at: int | None = None,
    actors: tuple[str, ...] = (),
) -> str:
    """An access token for the client; `user` names the person it is issued to (the web
    desk's GraphiQL sign-in), recorded in the audit log with every request it makes.
    An exchanged token (`auth.exchange`) has its own audience, expiry and actors."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": policy.issuer,
        "aud": audience or policy.audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "nbf": now,
        "exp": expires_at or now + policy.ttl_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    if user is not None:
        claims[USER_CLAIM] = user
    if actors:
        claims[ACTOR_CLAIM] = act_claim(actors)
    header = {"alg": SIGNING_ALGORITHM, "typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[SIGNING_ALGORITHM])


class _Server(AuthorizationServer):
    def __init__(
        self,
        client: RegisteredClient | None,
        key: OKPKey,
        policy: TokenPolicy,
        subject: exchange.Subject | None = None,
        agencies: tuple[str, ...] = (),
    ):
        super().__init__(scopes_supported=list(vocabulary()))
        self._client = client
        self.key = key
        self.policy = policy
        self.subject = subject
        self.agencies = agencies
        self.authenticated = False
        """Whether the client proved its secret (for the audit log, `AUTHENTICATED`)."""
        self.register_grant(_ClientCredentialsGrant)
        self.register_grant(_TokenExchangeGrant)
        self.register_token_generator("default", _AccessTokens(key, policy))

    def query_client(self, client_id: str) -> _Client:
        client = self._client
        if client is None or client.client_id != client_id or client.revoked:
            return _NoClient(client_id)
        return _Client(client)

    def authenticate_client(self, request: _Request, methods: Any, endpoint: str = "token") -> Any:
        client = super().authenticate_client(request, methods, endpoint)
        self.authenticated = True  # authlib raises rather than return a client it refused
        return client

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        """JWTs are self-contained: nothing to store, one line to log (never the token)."""
        log.info("issued a token to %s for %r", request.client.get_client_id(), token["scope"])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hook for framework signals; the hub listens to none."""

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        return JSONResponse(body, status, headers=dict(headers))

    def handle_error_response(self, request: _Request, error: OAuth2Error) -> Response:
        """Clearer descriptions than authlib's defaults, and invalid_client always a 401 that
        does not tell an unknown client from a wrong secret."""
        if isinstance(error, InvalidClientError):
            error = InvalidClientError(status_code=401, description=_CLIENT_AUTH_FAILED)
        elif isinstance(error, UnsupportedGrantTypeError):
            error.description = (
                f"grant_type is {GRANT_TYPE}, or {exchange.GRANT_TYPE} for a client acting "
                "for a caller"
            )
        elif isinstance(error, InvalidScopeError) and self._client:
            granted = " ".join(self._client.scopes)
            error = InvalidScopeError(f"scope must be a subset of the client's: {granted}")
        return super().handle_error_response(request, error)


def _error(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return JSONResponse(body, status, headers=dict(headers))


async def _form(request: Request, timeout_seconds: float) -> dict[str, str]:
    """The form-encoded body, each parameter once (RFC 6749 §3.2); read within its size
    and time limits (a Refusal: 413, 408)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("the body must be application/x-www-form-urlencoded")
    body = await read_body(
        request.scope, request.receive, max_bytes=_MAX_FORM_BYTES, timeout_seconds=timeout_seconds
    )
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as error:
        raise InvalidRequestError("the body is not UTF-8") from error
    form = dict(pairs)
    if len(form) != len(pairs):
        raise InvalidRequestError("a parameter is repeated")
    if any(text_fault(text) for pair in pairs for text in pair):
        raise InvalidRequestError("a parameter holds a NUL character or a lone surrogate")
    return form


def _claimed_client_id(request: _Request) -> str | None:
    """Who the request says it is: HTTP Basic, else the form. Basic credentials that are
    not UTF-8 are refused here, where authlib would raise a UnicodeDecodeError (a 500)."""
    try:
        basic_id, basic_secret = extract_basic_authorization(request.headers)
    except UnicodeDecodeError as error:
        raise InvalidClientError(status_code=401, description=_CLIENT_AUTH_FAILED) from error
    if any(text_fault(text) for text in (basic_id or "", basic_secret or "")):
        raise InvalidClientError(status_code=401, description=_CLIENT_AUTH_FAILED)
    return basic_id or request.form.get("client_id")


class TokenEndpoint:
    """`POST /oauth/token`: the client-credentials grant and token exchange, form-encoded,
    the client authenticated by HTTP Basic or by `client_id`/`client_secret` in the form.
    `verifier` checks the subject tokens of exchanges, for the `agencies` named."""

    def __init__(
        self,
        store: AuthStore,
        policy: TokenPolicy,
        *,
        body_timeout_seconds: float = 15.0,
        verifier: TokenVerifier | None = None,
        agencies: tuple[str, ...] = (),
    ) -> None:
        self._store = store
        self._policy = policy
        self._body_timeout = body_timeout_seconds
        self._verifier = verifier
        self._agencies = agencies

    async def _subject(self, form: dict[str, str]) -> exchange.Subject | None:
        """An exchange's subject token, verified (None for any other grant)."""
        if form.get("grant_type") != exchange.GRANT_TYPE or self._verifier is None:
            return None
        try:
            return exchange.Subject(await self._verifier.verify(form.get("subject_token", "")))
        except InvalidToken as error:
            return exchange.Subject(None, error.description)

    async def handle(self, request: Request) -> Response:
        try:
            oauth_request = _Request(request, await _form(request, self._body_timeout))
            claimed_id = _claimed_client_id(oauth_request)
        except OAuth2Error as error:
            return _error(error)
        except Refusal as refused:
            return refused.response()
        # Fresh, not cached: a rotated secret or a revocation must bite at once here.
        client = await self._store.client(claimed_id, fresh=True) if claimed_id else None
        # Who asked, for the audit record (the audit middleware reads the ASGI scope).
        request.scope["claimed_client"] = (claimed_id, client.agency if client else None)
        try:
            key = await self._store.current_signing_key()
            reason = "the hub has no signing key yet: run `hub migrate`"
        except KeySealingError as error:  # its key-encryption key is missing or another
            log.error("no token signed: %s", error)
            key, reason = None, "the hub cannot open its signing key; its operator is told"
        if key is None:
            return JSONResponse(
                {"error": errors.TEMPORARILY_UNAVAILABLE, "error_description": reason}, 503
            )
        subject = await self._subject(oauth_request.form)
        server = _Server(client, key, self._policy, subject, self._agencies)
        response: Response = await run_in_threadpool(server.create_token_response, oauth_request)
        if server.authenticated:
            request.scope[AUTHENTICATED] = True
        return response


class JWKSEndpoint:
    """`GET /.well-known/jwks.json`: every unretired public key, so tokens signed by a key
    that has since been rotated out of signing still verify until they expire."""

    def __init__(self, store: AuthStore) -> None:
        self._store = store

    async def handle(self, request: Request) -> Response:
        keys = await self._store.public_keys()
        return JSONResponse({"keys": keys}, headers={"Cache-Control": "public, max-age=60"})
