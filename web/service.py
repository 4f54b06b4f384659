"""The service desk (窗口): a worker's access report — which agencies looked at their
records, when, for what purpose and which kinds of data — printable to hand to the worker.
It names agencies and their clients, never the person who looked (the audit log keeps
that for auditors)."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.roles import SERVICE_DESK
from auth.staff import DeskSession
from kernel.identifiers import InvalidIdentifier, validate_id_number
from web.desk import PREFIX, Desk, guarded
from web.render import page
from web.runner import document

DISCLOSURES: Final = 100


@guarded(roles=(SERVICE_DESK.name,))
async def access_report(request: Request, desk: Desk, session: DeskSession) -> Response:
    given = request.query_params.get("id", "").strip()[:40]
    context = {"id": given, "report": None, "message": ""}
    if given:
        try:
            id_number = validate_id_number(given.upper())
        except InvalidIdentifier as error:
            context["message"] = f"身份证号有误：{error}"
            return page(
                request, "service.html", desk.context(request, session, **context), status=400
            )
        answer = await desk.run(
            request.scope,
            document("access_report"),
            {"id": id_number, "first": DISCLOSURES},
            "DeskAccessReport",
        )
        report = (answer.data or {}).get("accessReport")
        for node in ((report or {}).get("disclosures") or {}).get("nodes") or []:
            client = (
                await desk.staff.auth.client(node["clientId"]) if node.get("clientId") else None
            )
            node["title"] = client.title if client else None
        context["report"] = report
        withheld = answer.withheld("accessReport")
        if withheld:
            context["message"] = f"无权查询（需要权限 {'、'.join(withheld)}）。"
        elif answer.failures():
            context["message"] = "；".join(p.message for p in answer.failures())
    return page(request, "service.html", desk.context(request, session, **context))


ROUTES: Final = {"service": Route(f"{PREFIX}/service", access_report, methods=["GET"])}
