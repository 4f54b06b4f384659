"""Rendering the desk's pages: Jinja2 with autoescape on for every template (a value is
always text, never markup: a worker named `<script>` is shown as those characters), the
security headers of `web.headers`, and the Chinese labels of the graph's enum values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from alerts.kinds import Kind
from web.headers import content_security_policy, page_headers
from web.vendor import STATIC_URL, WEB_DIR, manifest

DESK_POLICY: Final = content_security_policy()
LABELS: Final[dict[str, dict[str, str]]] = {
    "case_status": {
        "FILED": "已立案",
        "MEDIATING": "调解中",
        "MEDIATED": "调解结案",
        "JUDGED": "已判决",
        "CLOSED": "已结案",
    },
    "party_role": {"PLAINTIFF": "申请人", "DEFENDANT": "被申请人", "THIRD_PARTY": "第三人"},
    "payment": {
        "PAID": "足额发放",
        "UNDERPAID": "未足额发放",
        "UNPAID": "未发放",
        "NOT_DUE": "未到发放期",
    },
    "disbursement": {"PAID": "已发放", "FAILED": "发放失败", "RETURNED": "被退回"},
    "level": {"RED": "红色预警", "YELLOW": "黄色预警", "BLUE": "蓝色预警", "NONE": "无预警"},
    "mediation": {"AGREED": "达成协议", "FAILED": "调解不成", "PENDING": "调解中"},
    "case_kind": {"LITIGATION": "诉讼", "PRE_LITIGATION_MEDIATION": "诉前调解"},
    "enterprise_kind": {
        "BUILDER": "建设单位",
        "GENERAL_CONTRACTOR": "施工总承包",
        "SPECIALTY_CONTRACTOR": "专业承包",
        "LABOUR_SUBCONTRACTOR": "劳务分包",
        "PROFESSIONAL_WORK": "专业作业",
    },
    "project_status": {
        "UNDER_CONSTRUCTION": "在建",
        "COMPLETED": "竣工",
        "SUSPENDED": "停工",
        "PLANNED": "未开工",
    },
    "account_status": {"ACTIVE": "正常", "FROZEN": "冻结", "CLOSED": "已销户"},
    "warning_kind": {kind.value: kind.label for kind in Kind},
    "work_order_status": {"OPEN": "待签收", "ACKNOWLEDGED": "办理中", "RESOLVED": "已办结"},
}


def label(value: Any, kind: str) -> str:
    """The Chinese label of an enum value, or the value itself."""
    if value is None:
        return "—"
    return LABELS.get(kind, {}).get(str(value), str(value))


def yuan(fen: int | None) -> str:
    """Fen as yuan with thousands separators (integer arithmetic: no float)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def month(value: str | date | None) -> str:
    if value is None:
        return "—"
    text = value.isoformat() if isinstance(value, date) else str(value)
    return text[:7]


BEIJING: Final = ZoneInfo("Asia/Shanghai")


def beijing(value: str | datetime | None) -> str:
    """A UTC timestamp as Beijing time (the desk's readers are in China), to the second."""
    if value is None:
        return "—"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def json_block(value: Any) -> Markup:
    """JSON for a `<script type="application/json">` block: `<`, `>` and `&` escaped as
    \\u003c etc., so no value can close the element (the browser never runs it: the CSP
    allows only files, and a JSON block is data)."""
    text = json.dumps(value, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        label=label, yuan=yuan, month=month, json_block=json_block, beijing=beijing
    )
    vendored = manifest()
    environment.globals.update(
        static=STATIC_URL,
        echarts=vendored.url("echarts", "dist/echarts.min.js"),
    )
    return environment


TEMPLATES: Final = Jinja2Templates(env=_environment())


def page(
    request: Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> HTMLResponse:
    """A desk page with the desk's headers (strict CSP, no framing, no caching)."""
    headers = page_headers(DESK_POLICY)
    headers["Referrer-Policy"] = "same-origin"
    response = TEMPLATES.TemplateResponse(
        request, f"desk/{template}", dict(context), status_code=status, headers=headers
    )
    return response
