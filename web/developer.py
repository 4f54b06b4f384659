"""Developers: GraphiQL (served by the hub from its own files) with a sign-in that fills
in the token and purpose headers. The desk issues the person an access token of their
client, with their session's scopes and the claim `hub_user`, so every request they make
from GraphiQL is audited under their name; GraphiQL's page reads it from sessionStorage
(gone when the tab closes)."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.roles import DEVELOPER
from auth.staff import DeskSession
from web.desk import PREFIX, Desk, guarded, problem
from web.render import page

STORAGE_KEY: Final = "wage-hub.graphiql.credentials"


@guarded(roles=(DEVELOPER.name,))
async def developer_page(request: Request, desk: Desk, session: DeskSession) -> Response:
    return page(request, "developer.html", desk.context(request, session, graphiql=desk.graphiql))


@guarded(roles=(DEVELOPER.name,))
async def open_graphiql(request: Request, desk: Desk, session: DeskSession) -> Response:
    if not desk.graphiql:
        return problem(request, desk, session, 404, "GraphiQL 未开放", "生产环境不提供 GraphiQL。")
    token = await desk.issue_token(session)
    handoff = {
        "key": STORAGE_KEY,
        "credentials": {
            "token": token,
            "purpose": session.purpose,
            "reference": session.purpose_reference or "",
        },
        "next": "/graphql",
    }
    return page(request, "handoff.html", desk.context(request, session, handoff=handoff))


ROUTES: Final = {
    "developer": Route(f"{PREFIX}/developer", developer_page, methods=["GET"]),
    "graphiql": Route(f"{PREFIX}/developer/graphiql", open_graphiql, methods=["POST"]),
}
