"""The web desk's frame: sign-in, sign-out, the purpose, the guard every page passes, and
the routes (`desk_routes`). The pages themselves are in `web.cases`, `web.dashboard`,
`web.service` and `web.developer`.

A page runs only for a live session (else the browser is sent to sign in: no page
answers without one), puts the person's `Caller` on the request — the role's scopes within
their client's grant, the client's row limits, the session's purpose and reference, the
person's user name — so the audit record of the request names the client and the person,
and asks for a purpose before it looks anything up. Every POST passes the origin check and
the CSRF token (`web.session`). Bad input is a page saying what is wrong, never a 500.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from urllib.parse import quote

from python_multipart.exceptions import MultipartParseError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from auth.staff import USERNAME, DeskSession, StaffStore
from kernel.caller import Caller
from kernel.errors import BadUserInput
from kernel.scalars import parse_year_month
from web.render import page
from web.runner import GraphRunner
from web.session import CSRF_FIELD, CookiePolicy, same_origin

log = logging.getLogger(__name__)

PREFIX: Final = "/desk"
MAX_FORM_FIELDS: Final = 20
MAX_FIELD_CHARS: Final = 300
MAX_FORM_BYTES: Final = 16_384
"""A desk form's body at most (20 fields of 300 characters, URL-encoded, fit): a larger
one is refused before the form parser, which would hold any body in memory, reads it."""
MAX_REFERENCE_CHARS: Final = 100
CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
GENERIC_REFUSAL: Final = (
    "用户名或密码不正确，或账户已停用、已锁定（连续多次输错密码后锁定一段时间）。"
)
NAV: Final = (
    ("cases", "案件调查", "Case desk"),
    ("dashboard", "预警看板", "Dashboard"),
    ("service", "查询记录", "Access report"),
    ("developer", "开发者", "GraphiQL"),
)

Handler = Callable[[Request, "Desk", DeskSession], Awaitable[Response]]
TokenIssuer = Callable[[DeskSession], Awaitable[str]]


@dataclass
class Desk:
    staff: StaffStore
    run: GraphRunner
    cookies: CookiePolicy
    issue_token: TokenIssuer
    graphiql: bool
    """Whether GraphiQL is served (not in production)."""

    def context(
        self, request: Request, session: DeskSession | None, **values: Any
    ) -> dict[str, Any]:
        """What every page's frame shows: the person, the purpose, the forms' CSRF token."""
        return {
            "session": session,
            "csrf": session.csrf_token if session else "",
            "nav": NAV,
            "here": request.url.path,
            **values,
        }


def caller_of(session: DeskSession) -> Caller:
    client = session.client
    return Caller(
        client_id=client.client_id,
        agency=client.agency,
        scopes=session.scopes,
        limits=client.limits,
        purpose=session.purpose or "",
        purpose_reference=session.purpose_reference,
        user=session.account.username,
    )


def problem(
    request: Request,
    desk: Desk,
    session: DeskSession | None,
    status: int,
    title: str,
    detail: str,
) -> Response:
    return page(
        request,
        "problem.html",
        desk.context(request, session, title=title, detail=detail, status=status),
        status=status,
    )


async def read_form(request: Request) -> FormData | None:
    """The POSTed form, or None when it is not a small form (too many or too long fields,
    a file, a broken body)."""
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except (MultiPartException, MultipartParseError, HTTPException, ValueError):
        return None
    for _, value in form.multi_items():
        if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
            return None
    return form


def field_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return CONTROL.sub("", value).strip() if isinstance(value, str) else ""


def parse_month(text: str) -> date | str:
    """A YYYY-MM month from a query parameter, or what is wrong with it."""
    try:
        return parse_year_month(text)
    except (BadUserInput, ValueError) as error:
        return f"月份有误：{error}"


def safe_next(target: str | None, fallback: str) -> str:
    """Only a path of the desk itself: never another host (`//evil`, `https:`)."""
    if (
        target
        and target.startswith(f"{PREFIX}/")
        and "\\" not in target
        and not CONTROL.search(target)
    ):
        return target
    return fallback


def home_of(session: DeskSession) -> str:
    return f"{PREFIX}/{session.role.home}"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def guarded(
    *, roles: tuple[str, ...] = (), purpose: bool = True
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A page for a live session (of one of `roles`, if given) that has chosen a purpose
    (if `purpose`); every POST also passes the origin and CSRF checks."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            desk: Desk = request.app.state.desk
            session = await desk.staff.session(desk.cookies.session_token(request))
            if session is None:
                response: Response
                if request.method == "GET":
                    wanted = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    response = see_other(f"{PREFIX}/signin?next={quote(wanted, safe='')}")
                else:
                    response = problem(
                        request, desk, None, 401, "请先登录", "会话无效或已过期，请重新登录。"
                    )
                desk.cookies.clear_session(response)
                return response
            request.scope["caller"] = caller_of(session)
            if request.method == "POST":
                refusal = await _post_refusal(request, desk, session)
                if refusal is not None:
                    return refusal
            if roles and session.role.name not in roles:
                return problem(
                    request,
                    desk,
                    session,
                    403,
                    "无权使用此页面",
                    f"此页面供{'、'.join(roles)}使用；您的角色是 {session.role.label}。",
                )
            if purpose and session.purpose is None:
                wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return see_other(f"{PREFIX}/purpose?next={quote(wanted, safe='')}")
            return await handler(request, desk, session)

        return endpoint

    return decorate


async def _post_refusal(request: Request, desk: Desk, session: DeskSession) -> Response | None:
    if not same_origin(request):
        return problem(
            request, desk, session, 403, "请求被拒绝", "跨站提交被拒绝（来源不是本平台的页面）。"
        )
    form = await read_form(request)
    if form is None or not session.check_csrf(form.get(CSRF_FIELD) if form else None):  # type: ignore[arg-type]
        return problem(
            request,
            desk,
            session,
            403,
            "请求被拒绝",
            "表单已失效（缺少或错误的 CSRF 令牌），请返回重试。",
        )
    request.state.form = form
    return None


# -- sign-in, sign-out, purpose ---------------------------------------------------------------


async def signin_page(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    session = await desk.staff.session(desk.cookies.session_token(request))
    if session is not None:
        return see_other(safe_next(request.query_params.get("next"), home_of(session)))
    return _signin_form(request, desk, "", 200)


def _signin_form(
    request: Request, desk: Desk, message: str, status: int, username: str = ""
) -> Response:
    token, new = desk.cookies.signin_token(request)
    response = page(
        request,
        "signin.html",
        desk.context(
            request,
            None,
            message=message,
            username=username,
            next=safe_next(request.query_params.get("next"), ""),
            signin_csrf=token,
        ),
        status=status,
    )
    if new:
        desk.cookies.set_signin_token(response, token)
    return response


async def signin(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    form = await read_form(request)
    if not same_origin(request):
        return problem(
            request, desk, None, 403, "请求被拒绝", "跨站提交被拒绝（来源不是本平台的页面）。"
        )
    if form is None or not desk.cookies.signin_token_matches(request, form.get(CSRF_FIELD)):  # type: ignore[arg-type]
        return problem(
            request,
            desk,
            None,
            403,
            "请求被拒绝",
            "登录表单已失效（缺少或错误的 CSRF 令牌），请刷新后重试。",
        )
    username = field_text(form, "username").lower()
    password = form.get("password")
    if USERNAME.fullmatch(username):
        request.scope["claimed_user"] = username
    signed = (
        await desk.staff.sign_in(username, password)
        if username and isinstance(password, str) and password
        else None
    )
    if signed is None:
        return _signin_form(request, desk, GENERIC_REFUSAL, 401, username)
    session = signed.session
    request.scope["caller"] = caller_of(session)
    target = safe_next(field_text(form, "next"), home_of(session))
    if session.purpose is None:
        target = f"{PREFIX}/purpose?next={quote(target, safe='')}"
    response = see_other(target)
    desk.cookies.set_session(response, signed.token)
    return response


@guarded(purpose=False)
async def signout(request: Request, desk: Desk, session: DeskSession) -> Response:
    await desk.staff.sign_out(session)
    response = see_other(f"{PREFIX}/signin")
    desk.cookies.clear_session(response)
    return response


@guarded(purpose=False)
async def purpose_page(request: Request, desk: Desk, session: DeskSession) -> Response:
    return _purpose_form(
        request, desk, session, "", 200, session.purpose or "", session.purpose_reference or ""
    )


def _purpose_form(
    request: Request,
    desk: Desk,
    session: DeskSession,
    message: str,
    status: int,
    chosen: str,
    reference: str,
) -> Response:
    return page(
        request,
        "purpose.html",
        desk.context(
            request,
            session,
            message=message,
            purposes=session.client.purposes,
            chosen=chosen,
            reference=reference,
            next=safe_next(request.query_params.get("next"), home_of(session)),
        ),
        status=status,
    )


@guarded(purpose=False)
async def choose_purpose(request: Request, desk: Desk, session: DeskSession) -> Response:
    form: FormData = request.state.form
    chosen = field_text(form, "purpose")
    reference = field_text(form, "reference")
    if chosen not in session.client.purposes:
        return _purpose_form(
            request, desk, session, "请从本机构获准的用途中选择一项。", 400, "", reference
        )
    if not reference or len(reference) > MAX_REFERENCE_CHARS:
        return _purpose_form(
            request,
            desk,
            session,
            f"请填写案号或文号（1 至 {MAX_REFERENCE_CHARS} 个字符）。",
            400,
            chosen,
            reference[:MAX_REFERENCE_CHARS],
        )
    await desk.staff.set_purpose(session, chosen, reference)
    return see_other(safe_next(field_text(form, "next"), home_of(session)))


@guarded(purpose=False)
async def home(request: Request, desk: Desk, session: DeskSession) -> Response:
    return see_other(home_of(session))


def desk_routes(pages: Mapping[str, Route] | None = None) -> list[BaseRoute]:
    """The desk's routes under /desk; `pages` adds the page modules' routes."""
    return [
        Route(f"{PREFIX}", home, methods=["GET"]),
        Route(f"{PREFIX}/signin", signin_page, methods=["GET"]),
        Route(f"{PREFIX}/signin", signin, methods=["POST"]),
        Route(f"{PREFIX}/signout", signout, methods=["POST"]),
        Route(f"{PREFIX}/purpose", purpose_page, methods=["GET"]),
        Route(f"{PREFIX}/purpose", choose_purpose, methods=["POST"]),
        *(pages or {}).values(),
    ]
