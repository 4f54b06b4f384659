"""The desk's session cookie, CSRF checks and the origin check every POST passes.

- The cookie holds only a random token (the server keeps the session, `auth.staff`):
  HttpOnly, SameSite=Strict, Path=/, and Secure with the `__Host-` prefix in production
  (or when HUB_DESK_SECURE_COOKIE says so).
- Every form carries the session's CSRF token (synchronizer pattern); the sign-in form,
  before there is a session, a double-submit token (a cookie and a field that must match).
- Every POST must come from the hub's own origin: `Origin` (browsers send it on every
  POST) or, failing that, `Referer`; neither, or another origin, is refused. Pages send
  `Referrer-Policy: same-origin` so the browser keeps sending a real Origin.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "hub-desk"
SECURE_SESSION_COOKIE = "__Host-hub-desk"
SIGNIN_COOKIE = "hub-desk-signin"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool

    @property
    def session_name(self) -> str:
        return SECURE_SESSION_COOKIE if self.secure else SESSION_COOKIE

    @property
    def signin_name(self) -> str:
        return f"__Host-{SIGNIN_COOKIE}" if self.secure else SIGNIN_COOKIE

    def session_token(self, request: Request) -> str | None:
        return request.cookies.get(self.session_name)

    def set_session(self, response: Response, token: str) -> None:
        response.set_cookie(
            self.session_name,
            token,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path="/",
        )

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            self.session_name, path="/", httponly=True, samesite="strict", secure=self.secure
        )

    def signin_token(self, request: Request) -> tuple[str, bool]:
        """The sign-in form's double-submit token: the cookie's, or a new one (True: set
        it on the response with `set_signin_token`)."""
        token = request.cookies.get(self.signin_name)
        if token and len(token) <= 100:
            return token, False
        return secrets.token_urlsafe(32), True

    def set_signin_token(self, response: Response, token: str) -> None:
        response.set_cookie(
            self.signin_name,
            token,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path="/",
            max_age=3600,
        )

    def signin_token_matches(self, request: Request, given: str | None) -> bool:
        cookie = request.cookies.get(self.signin_name)
        return bool(cookie and given) and same(cookie or "", given or "")


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def same_origin(request: Request) -> bool:
    """True when the POST comes from a page of this hub (Origin, else Referer)."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if not referer:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin == own_origin(request)
