"""The case desk (调解员): search dispute cases by case number (ASCII or full-width
brackets), a party's name or a party's ID number; the dossier; its PDF."""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.roles import CLERK
from auth.staff import DeskSession
from kernel.identifiers import InvalidIdentifier, validate_case_number, validate_id_number
from web import dossier as dossiers
from web.desk import PREFIX, Desk, guarded, parse_month, problem
from web.pdf import DOSSIER_PDF, render_dossier, trail_of
from web.render import page
from web.runner import Answer, document

MAX_QUERY_CHARS: Final = 50
MAX_MONTHS: Final = 24
RESULTS: Final = 50
ID_LIKE: Final = re.compile(r"\d{17}[\dXx]")
CASE_LIKE: Final = re.compile(r"^[（(]\d{4}[）)]")


def case_url(case_number: str, months: list[Any]) -> str:
    url = f"{PREFIX}/cases/{quote(case_number, safe='')}"
    if months:
        url += f"?from={str(months[0])[:7]}&to={str(months[-1])[:7]}"
    return url


@guarded(roles=(CLERK.name,))
async def search(request: Request, desk: Desk, session: DeskSession) -> Response:
    text = request.query_params.get("q", "").strip()[: MAX_QUERY_CHARS + 1]
    context: dict[str, Any] = {"q": text, "rows": None, "message": "", "total": None}
    total: int | None
    if not text:
        return page(request, "cases.html", desk.context(request, session, **context))
    if len(text) > MAX_QUERY_CHARS:
        context["message"] = f"检索词最多 {MAX_QUERY_CHARS} 个字符。"
        return page(request, "cases.html", desk.context(request, session, **context), status=400)
    answer, kind = await _search(request, desk, text)
    if isinstance(answer, str):
        context["message"] = answer
        return page(request, "cases.html", desk.context(request, session, **context), status=400)
    data = answer.data or {}
    if kind == "case":
        rows = [data["disputeCase"]] if data.get("disputeCase") else []
        total = len(rows)
    else:
        found = data.get("disputeCases") or {}
        rows, total = found.get("nodes") or [], found.get("totalCount")
    withheld = answer.withheld("disputeCases", "disputeCase")
    if withheld:
        context["message"] = f"无权按此条件检索（需要权限 {'、'.join(withheld)}）。"
    elif answer.failures():
        context["message"] = "；".join(p.message for p in answer.failures())
    context.update(
        rows=[
            {**row, "url": case_url(row["caseNumber"], row.get("disputedMonths") or [])}
            for row in rows
        ],
        total=total,
        kind=kind,
    )
    return page(request, "cases.html", desk.context(request, session, **context))


async def _search(request: Request, desk: Desk, text: str) -> tuple[Answer | str, str]:
    """Runs the search the text asks for: (answer, kind), or (what is wrong, kind)."""
    if ID_LIKE.fullmatch(text):
        try:
            id_number = validate_id_number(text.upper())
        except InvalidIdentifier as error:
            return f"身份证号有误：{error}", "id"
        variables = {"filter": {"partyIdNumber": id_number}, "first": RESULTS}
        return await desk.run(
            request.scope, document("case_search"), variables, "DeskCaseSearch"
        ), "id"
    if CASE_LIKE.match(text) or text.endswith("号"):
        try:
            number = validate_case_number(text)
        except InvalidIdentifier as error:
            return f"案号有误：{error}", "case"
        return await desk.run(
            request.scope, document("case_search"), {"case": number}, "DeskCaseByNumber"
        ), "case"
    variables = {"filter": {"partyName": text}, "first": RESULTS}
    return await desk.run(
        request.scope, document("case_search"), variables, "DeskCaseSearch"
    ), "name"


async def _dossier(
    request: Request, desk: Desk, session: DeskSession
) -> tuple[dossiers.Dossier | None, Response | None]:
    """The dossier the URL names, or the page that says why there is none."""
    try:
        number = validate_case_number(request.path_params["case"])
    except InvalidIdentifier as error:
        return None, problem(request, desk, session, 400, "案号有误", str(error))
    months = await _months(request, desk, number)
    if isinstance(months, str):
        return None, problem(request, desk, session, 400, "月份有误", months)
    if months is None:
        return None, _not_found(request, desk, session, number)
    variables = {"case": number, "from": months[0], "to": months[1]}
    answer = await desk.run(request.scope, document("dossier"), variables, "DeskDossier")
    built = dossiers.build(answer)
    if built is None:
        return None, _not_found(request, desk, session, number)
    return built, None


def _not_found(request: Request, desk: Desk, session: DeskSession, number: str) -> Response:
    return problem(
        request,
        desk,
        session,
        404,
        "未找到案件",
        f"{number}：没有此案件，或不在本机构的管辖范围内。",
    )


async def _months(request: Request, desk: Desk, number: str) -> tuple[str, str] | str | None:
    """The months the dossier covers: `from` and `to` of the URL, else the case's disputed
    months (one more query); a message when they are malformed; None for no such case."""
    given = request.query_params.get("from"), request.query_params.get("to")
    if all(given):
        first, last = (parse_month(value or "") for value in given)
        if isinstance(first, str) or isinstance(last, str):
            return first if isinstance(first, str) else str(last)
        span = (last.year - first.year) * 12 + last.month - first.month + 1
        if not 1 <= span <= MAX_MONTHS:
            return f"月份范围应为 1 至 {MAX_MONTHS} 个月"
        return f"{first:%Y-%m}", f"{last:%Y-%m}"
    answer = await desk.run(
        request.scope, document("case_search"), {"case": number}, "DeskCaseByNumber"
    )
    case = (answer.data or {}).get("disputeCase")
    if not case:
        return None
    months = case.get("disputedMonths") or [case["filedOn"]]
    return str(months[0])[:7], str(months[-1])[:7]


@guarded(roles=(CLERK.name,))
async def dossier_page(request: Request, desk: Desk, session: DeskSession) -> Response:
    built, refusal = await _dossier(request, desk, session)
    if built is None:
        assert refusal is not None
        return refusal
    trail = trail_of(request)
    return page(
        request,
        "dossier.html",
        desk.context(
            request,
            session,
            d=built,
            weekdays=dossiers.WEEKDAYS,
            request_id=trail.request_id if trail else None,
            pdf_url=f"{request.url.path}/{DOSSIER_PDF}?{request.url.query}",
        ),
    )


@guarded(roles=(CLERK.name,))
async def dossier_pdf(request: Request, desk: Desk, session: DeskSession) -> Response:
    built, refusal = await _dossier(request, desk, session)
    if built is None:
        assert refusal is not None
        return refusal
    return render_dossier(request, built, session)


ROUTES: Final = {
    "cases": Route(f"{PREFIX}/cases", search, methods=["GET"]),
    "dossier": Route(f"{PREFIX}/cases/{{case}}", dossier_page, methods=["GET"]),
    "dossier_pdf": Route(f"{PREFIX}/cases/{{case}}/{DOSSIER_PDF}", dossier_pdf, methods=["GET"]),
}
