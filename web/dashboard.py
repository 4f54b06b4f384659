"""The regional dashboard (监管): warnings by colour one region level down, with drill-down
province → city → district → project, a twelve-month trend, the flagged projects most
severe first with the measures they fail, and a project's page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.roles import SUPERVISOR
from auth.staff import DeskSession
from kernel.regions import region_name
from web.desk import PREFIX, Desk, guarded, parse_month, problem
from web.render import page
from web.runner import document

TREND_MONTHS: Final = 12
PROJECTS: Final = 50
LEVELS: Final = {0: "PROVINCE", 2: "CITY", 4: "DISTRICT", 6: "DISTRICT"}


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _month(request: Request) -> date | str:
    """The month asked for, or the last complete month (UTC); a message when malformed."""
    given = request.query_params.get("month")
    if not given:
        return add_months(datetime.now(UTC).date().replace(day=1), -1)
    return parse_month(given)


def _region(request: Request, session: DeskSession) -> str | None:
    """The region prefix asked for (digits, 2, 4 or 6 of them), else the client's first."""
    given = request.query_params.get("region", "")
    if given and given.isascii() and given.isdigit() and len(given) in (2, 4, 6):
        return given
    regions = dict(session.client.limits).get("regions") or ()
    return regions[0] if regions and len(regions[0]) in (2, 4, 6) else None


def _crumbs(prefix: str | None) -> list[tuple[str, str]]:
    if not prefix:
        return []
    return [
        (prefix[:n], region_name(prefix[:n].ljust(6, "0")) or prefix[:n])
        for n in (2, 4, 6)
        if n <= len(prefix)
    ]


@guarded(roles=(SUPERVISOR.name,))
async def dashboard(request: Request, desk: Desk, session: DeskSession) -> Response:
    month = _month(request)
    if isinstance(month, str):
        return problem(request, desk, session, 400, "月份有误", month)
    if (
        request.query_params.get("region")
        and _region(request, session) != request.query_params["region"]
    ):
        return problem(
            request,
            desk,
            session,
            400,
            "地区代码有误",
            "地区代码应为 2、4 或 6 位数字（GB/T 2260）。",
        )
    prefix = _region(request, session)
    level = LEVELS[len(prefix or "")]
    variables = {
        "month": f"{month:%Y-%m}",
        "from": f"{add_months(month, 1 - TREND_MONTHS):%Y-%m}",
        "prefix": prefix,
        "level": level,
        "first": PROJECTS,
    }
    answer = await desk.run(request.scope, document("dashboard"), variables, "DeskDashboard")
    data: dict[str, Any] = answer.data or {}
    trend = data.get("warningTrend") or []
    flagged = (data.get("projectWarnings") or {}).get("nodes") or []
    for node in flagged:
        node["failed"] = [m for m in node["measures"] if m["satisfied"] is False]
    chart = {
        "months": [str(m["month"])[:7] for m in trend],
        "series": [
            {"name": "红色", "key": "red", "data": [m["red"] for m in trend]},
            {"name": "黄色", "key": "yellow", "data": [m["yellow"] for m in trend]},
            {"name": "蓝色", "key": "blue", "data": [m["blue"] for m in trend]},
        ],
    }
    return page(
        request,
        "dashboard.html",
        desk.context(
            request,
            session,
            month=f"{month:%Y-%m}",
            prefix=prefix,
            crumbs=_crumbs(prefix),
            drill=len(prefix or "") < 6,
            rollup=data.get("warningRollup") or [],
            trend=trend,
            chart=chart,
            flagged=flagged,
            total=(data.get("projectWarnings") or {}).get("totalCount"),
            orders=(data.get("warnings") or {}).get("nodes") or [],
            orders_total=(data.get("warnings") or {}).get("totalCount"),
            withheld=answer.withheld("warningRollup", "warningTrend", "projectWarnings"),
            problems=[p.message for p in answer.failures()],
        ),
    )


@guarded(roles=(SUPERVISOR.name,))
async def project_page(request: Request, desk: Desk, session: DeskSession) -> Response:
    month = _month(request)
    if isinstance(month, str):
        return problem(request, desk, session, 400, "月份有误", month)
    code = request.path_params["code"]
    if not (0 < len(code) <= 32 and code.isascii() and code.isalnum()):
        return problem(
            request, desk, session, 400, "项目编号有误", "项目编号应为字母和数字，至多 32 位。"
        )
    variables = {"code": code, "month": f"{month:%Y-%m}", "from": f"{add_months(month, -5):%Y-%m}"}
    answer = await desk.run(request.scope, document("project"), variables, "DeskProject")
    project = (answer.data or {}).get("project")
    if not project:
        return problem(
            request,
            desk,
            session,
            404,
            "未找到项目",
            f"{code}：没有此项目，或不在本机构的管辖范围内。",
        )
    return page(
        request,
        "project.html",
        desk.context(
            request,
            session,
            p=project,
            month=f"{month:%Y-%m}",
            withheld=answer.withheld(
                "registrations",
                "wagePositions",
                "wageAccount",
                "accountStatement",
                "idNumber",
                "name",
                "accountNo",
            ),
            problems=[p.message for p in answer.failures()],
        ),
    )


ROUTES: Final = {
    "dashboard": Route(f"{PREFIX}/dashboard", dashboard, methods=["GET"]),
    "project": Route(f"{PREFIX}/projects/{{code}}", project_page, methods=["GET"]),
}
