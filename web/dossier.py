"""The dossier of a dispute case as the desk shows and prints it, built from the answer
to `documents/dossier.graphql`: parties, the workers' contracts, an attendance calendar
per disputed month, wages due vs paid, the bank's disbursements, the employers' blacklist
entries, credit and earlier cases, and a timeline of all of it.

Values are shown as the graph returned them: a number the person's scopes mask is masked
here too, and a field they may not read is `None` with the scope it needs in `withheld`.
The content hash (SHA-256 of the canonical JSON of the answer's data) is printed on every
page of the PDF and kept in the audit record, so a printed copy can be checked against
the record even without the file.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from web.render import label, yuan
from web.runner import Answer

WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")


@dataclass(frozen=True)
class Event:
    on: str
    """ISO date (or YYYY-MM for a month)."""
    what: str
    source: str
    """The agency whose record it is."""


@dataclass(frozen=True)
class CalendarMonth:
    month: str
    weeks: list[list[int | None]]
    """Monday-first weeks of day numbers (None outside the month)."""
    present: set[int]
    days_present: int | None


@dataclass(frozen=True)
class WageRow:
    month: str
    days: int | None
    daily_wage: int | None
    due: int | None
    paid: int | None
    arrears: int | None
    status: str | None


@dataclass
class WorkerView:
    name: str
    id_number: str | None
    party_name: str
    contracts: list[dict[str, Any]] = field(default_factory=list)
    calendars: list[CalendarMonth] = field(default_factory=list)
    wages: list[WageRow] = field(default_factory=list)
    disbursements: list[dict[str, Any]] = field(default_factory=list)

    def chart(self) -> dict[str, Any]:
        """The wages chart's data (fen as integers; the script shows yuan)."""
        return {
            "months": [row.month for row in self.wages],
            "due": [row.due for row in self.wages],
            "paid": [row.paid for row in self.wages],
            "labels": {"due": "应发工资", "paid": "实发工资"},
        }


@dataclass
class EnterpriseView:
    role: str
    name: str
    uscc: str | None
    data: dict[str, Any] | None
    earlier_cases: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Dossier:
    case: dict[str, Any]
    workers: list[WorkerView]
    enterprises: list[EnterpriseView]
    parties: list[dict[str, Any]]
    timeline: list[Event]
    withheld: tuple[str, ...]
    problems: list[str]
    content_sha256: str
    months: list[str]


def content_sha256(data: Any) -> str:
    """SHA-256 of the answer's data as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _calendar(month: str, attendance: list[dict[str, Any]]) -> CalendarMonth:
    year, number = int(month[:4]), int(month[5:7])
    rows = [a for a in attendance if str(a.get("month", ""))[:7] == month]
    present = {date.fromisoformat(day).day for a in rows for day in a.get("days") or []}
    days = sum(a["daysPresent"] for a in rows) if rows else None
    weeks = [
        [day or None for day in week]
        for week in calendar.Calendar().monthdayscalendar(year, number)
    ]
    return CalendarMonth(month, weeks, present, days)


def _worker(party: dict[str, Any], months: list[str], events: list[Event]) -> WorkerView:
    worker = party.get("worker") or {}
    view = WorkerView(
        name=worker.get("name") or party["name"],
        id_number=worker.get("idNumber"),
        party_name=party["name"],
    )
    view.contracts = worker.get("contracts") or []
    for contract in view.contracts:
        events.append(
            Event(
                contract["signedOn"],
                f"{party['name']} 签订电子劳动合同 {contract['contractNo']}",
                "住建",
            )
        )
    attendance = worker.get("attendance") or []
    view.calendars = [_calendar(month, attendance) for month in months]
    for month_view in view.calendars:
        if month_view.days_present is not None:
            events.append(
                Event(
                    month_view.month, f"{party['name']} 出勤 {month_view.days_present} 天", "住建"
                )
            )
    view.wages = [
        WageRow(
            month=str(row["month"])[:7],
            days=row.get("daysPresent"),
            daily_wage=row.get("dailyWageFen"),
            due=row.get("dueFen"),
            paid=row.get("paidFen"),
            arrears=row.get("arrearsFen"),
            status=row.get("status"),
        )
        for row in worker.get("wagePositions") or []
    ]
    view.disbursements = worker.get("disbursements") or []
    for paid in view.disbursements:
        events.append(
            Event(
                paid["paidOn"],
                f"银行代发 {str(paid['period'])[:7]} 工资 {yuan(paid['amountFen'])}"
                f"（{label(paid['status'], 'disbursement')}）",
                "银行",
            )
        )
    return view


def _enterprise(party: dict[str, Any], case_number: str, events: list[Event]) -> EnterpriseView:
    data = party.get("enterprise")
    view = EnterpriseView(label(party["role"], "party_role"), party["name"], None, data)
    if not data:
        return view
    view.uscc = data.get("uscc")
    for entry in data.get("blacklistEntries") or []:
        events.append(
            Event(
                entry["listedOn"],
                f"{party['name']} 列入拖欠工资黑名单 {entry['decisionNo']}",
                "人社",
            )
        )
    view.earlier_cases = [
        c for c in data.get("disputeCases") or [] if c["caseNumber"] != case_number
    ]
    for earlier in view.earlier_cases:
        events.append(
            Event(
                earlier["filedOn"], f"{party['name']} 涉及案件 {earlier['caseNumber']} 立案", "法院"
            )
        )
    return view


def build(answer: Answer) -> Dossier | None:
    """The dossier, or None when the case is unknown (or outside the person's courts)."""
    case = (answer.data or {}).get("disputeCase")
    if not case:
        return None
    months = [str(m)[:7] for m in case.get("disputedMonths") or []]
    events: list[Event] = [
        Event(case["filedOn"], f"{case['caseNumber']} 立案（{case['cause']}）", "法院")
    ]
    for mediation in case.get("mediations") or []:
        events.append(
            Event(
                mediation["heldOn"],
                f"{mediation['committee']} 调解：{label(mediation['outcome'], 'mediation')}",
                "调解",
            )
        )
    if case.get("judgment"):
        events.append(Event(case["judgment"]["judgedOn"], "判决", "法院"))
    parties = case.get("parties") or []
    workers = [
        _worker(p, months, events)
        for p in parties
        if p.get("worker") is not None or p["role"] == "PLAINTIFF"
    ]
    enterprises = [
        _enterprise(p, case["caseNumber"], events)
        for p in parties
        if p.get("enterprise") is not None
    ]
    events.sort(key=lambda event: (event.on, event.source))
    return Dossier(
        case=case,
        workers=workers,
        enterprises=enterprises,
        parties=parties,
        timeline=events,
        withheld=answer.withheld(
            "idNumber",
            "name",
            "contracts",
            "attendance",
            "disbursements",
            "wagePositions",
            "dailyWageFen",
            "cardNo",
            "blacklistEntries",
            "creditGrade",
            "disputeCases",
            "blacklisted",
            "marketCreditScore",
        ),
        problems=[p.message for p in answer.failures()],
        content_sha256=content_sha256(answer.data),
        months=months,
    )


__all__ = ["WEEKDAYS", "Dossier", "build", "content_sha256"]
