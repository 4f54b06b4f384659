"""The dossier typeset with reportlab (`web.pdf` says why reportlab): its pages, tables and
footers. Imported when the first dossier PDF is made, not with the web desk."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from auth.staff import DeskSession
from web.dossier import Dossier
from web.render import label, yuan

FONT: Final = "STSong-Light"

pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=13)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=11)
_TITLE = ParagraphStyle("title", parent=_BODY, fontSize=16, leading=22, spaceAfter=4)
_HEADING = ParagraphStyle(
    "heading", parent=_BODY, fontSize=11.5, leading=16, spaceBefore=8, spaceAfter=3
)
_GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a8f98")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eceef1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


def _p(text: Any, style: ParagraphStyle = _BODY) -> Paragraph:
    """A paragraph of plain text: every value escaped, so none is read as markup."""
    return Paragraph(escape("—" if text is None else str(text)), style)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float] | None = None
) -> Table:
    body = [
        [_p(cell, _SMALL) for cell in header],
        *([_p(cell, _SMALL) for cell in row] for row in rows),
    ]
    table = Table(body, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(_GRID)
    return table


def _story(d: Dossier, session: DeskSession) -> list[Any]:
    case = d.case
    story: list[Any] = [
        _p(f"调解卷宗 {case['caseNumber']}", _TITLE),
        _p(
            f"{case.get('courtName') or '—'} · 案由 {case.get('cause') or '—'} · "
            f"状态 {label(case.get('status'), 'case_status')} · "
            f"诉请金额 {yuan(case.get('claimAmountFen'))} · "
            f"立案 {case.get('filedOn') or '—'} · 争议月份 {'、'.join(d.months) or '—'}"
        ),
        _p(
            f"调取人 {session.account.display_name}（{session.account.username}）· "
            f"{session.client.title} · 用途 {session.purpose} · 文号 {session.purpose_reference}",
            _SMALL,
        ),
    ]
    if d.withheld:
        story.append(_p(f"部分内容无权查看（需要权限：{'、'.join(d.withheld)}）", _SMALL))
    story += [
        _p("当事人", _HEADING),
        _table(["身份", "名称"], [[label(p["role"], "party_role"), p["name"]] for p in d.parties]),
    ]
    for worker in d.workers:
        story += [_p(f"劳动者 {worker.party_name} · 身份证号 {worker.id_number or '—'}", _HEADING)]
        story += [
            _p("劳动合同", _BODY),
            _table(
                ["合同编号", "签订日期", "期限", "日工资", "发薪日", "项目", "用工单位"],
                [
                    [
                        c["contractNo"],
                        c["signedOn"],
                        f"{c['startDate']} 至 {c.get('endDate') or '—'}",
                        yuan(c.get("dailyWageFen")),
                        f"每月 {c['payDay']} 日",
                        (c.get("project") or {}).get("name"),
                        (c.get("employer") or {}).get("name"),
                    ]
                    for c in worker.contracts
                ],
            ),
            _p("考勤（争议月份）", _BODY),
        ]
        for month in worker.calendars:
            present = "、".join(str(day) for day in sorted(month.present)) or "无"
            story.append(
                _p(
                    f"{month.month}：出勤 {_shown(month.days_present)} 天（{present} 日）",
                    _SMALL,
                )
            )
        story += [
            _p("应发与实发工资", _BODY),
            _table(
                ["月份", "出勤天数", "日工资", "应发", "实发", "欠发", "状态"],
                [
                    [
                        r.month,
                        r.days,
                        yuan(r.daily_wage),
                        yuan(r.due),
                        yuan(r.paid),
                        yuan(r.arrears),
                        label(r.status, "payment"),
                    ]
                    for r in worker.wages
                ],
            ),
            _p("银行代发记录", _BODY),
            _table(
                ["所属月份", "发放日期", "金额", "状态", "工资卡"],
                [
                    [
                        str(x["period"])[:7],
                        x["paidOn"],
                        yuan(x["amountFen"]),
                        label(x["status"], "disbursement"),
                        x.get("cardNo"),
                    ]
                    for x in worker.disbursements
                ],
            ),
        ]
    for enterprise in d.enterprises:
        data = enterprise.data or {}
        grade = (data.get("creditGrade") or {}).get("grade")
        story += [
            _p(f"{enterprise.role} {enterprise.name}（{enterprise.uscc or '—'}）", _HEADING),
            _p(
                f"类型 {label(data.get('kind'), 'enterprise_kind')} · "
                f"黑名单 {'是' if data.get('blacklisted') else '否'} · "
                f"人社信用等级 {grade or '—'} · 住建信用分 {_shown(data.get('marketCreditScore'))}"
            ),
        ]
        entries = data.get("blacklistEntries") or []
        if entries:
            story.append(
                _table(
                    ["决定书文号", "列入日期", "移出日期", "现行", "事由"],
                    [
                        [
                            e["decisionNo"],
                            e["listedOn"],
                            e.get("removedOn"),
                            "是" if e["current"] else "否",
                            e.get("reason"),
                        ]
                        for e in entries
                    ],
                )
            )
        if enterprise.earlier_cases:
            story += [
                _p("此前涉及的案件", _BODY),
                _table(
                    ["案号", "案由", "状态", "立案", "结案"],
                    [
                        [
                            c["caseNumber"],
                            c["cause"],
                            label(c["status"], "case_status"),
                            c["filedOn"],
                            c.get("closedOn"),
                        ]
                        for c in enterprise.earlier_cases
                    ],
                ),
            ]
    story += [
        _p("时间线", _HEADING),
        _table(
            ["日期", "事项", "来源"],
            [[e.on, e.what, e.source] for e in d.timeline],
            [28 * mm, 120 * mm, 22 * mm],
        ),
    ]
    return story


def dossier_pdf(d: Dossier, session: DeskSession, request_id: str | None, subject: str) -> bytes:
    """The PDF's bytes; `request_id` is the audit record's (None when auditing is off),
    `subject` its metadata's subject (what `web.pdf.claimed_record` reads back)."""
    record = request_id or "—（审计已关闭 audit off）"
    buffer = io.BytesIO()

    def footer(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.drawString(
            15 * mm, 10 * mm, f"审计记录 {record}  内容摘要 SHA-256 {d.content_sha256}"
        )
        canvas.drawRightString(
            A4[0] - 15 * mm, 6 * mm, f"第 {document.page} 页 · 核验：hub desk verify-pdf"
        )
        canvas.drawString(
            15 * mm,
            A4[1] - 10 * mm,
            f"调解卷宗 {d.case['caseNumber']} · 仅限 {session.purpose} 用途",
        )
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"调解卷宗 {d.case['caseNumber']}",
        author="wage hub 农民工工资数据共享枢纽",
        subject=subject,
        keywords=[d.content_sha256],
        creator="wage hub web desk",
    )
    document.build(
        [*_story(d, session), Spacer(1, 4 * mm)], onFirstPage=footer, onLaterPages=footer
    )
    return buffer.getvalue()
