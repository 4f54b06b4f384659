"""What changed: the observations of one evaluation (`graph.events`) against the
last-known state, as new events and the state to keep. Pure: the store runs it inside the
transaction that holds the evaluation lock, so two evaluations never decide on the same
state, and running it twice on the same data changes nothing.

- PROJECT_WARNING: a project's level differs from the last one seen (a first sighting
  raises when it is not NONE); state: the level, per project.
- WORKER_UNPAID: a worker attended and was paid nothing in a month; again when it is two
  months in a row; state: per worker, project and month (dropped when paid after all).
- RESIDENCE_GAP: a worker on a site in a district has no valid temporary residence
  registration; state: per worker and district, dropped once registered.
- BLACKLISTED_ON_PROJECT: a listed enterprise (or one whose legal representative is a
  listed responsible person) is on a project that started while it was listed; state: per
  enterprise, project and decision.
- COMPLAINT_ON_RED_PROJECT: a complaint or case filed in or after the month against a
  project red in it; state: per complaint or case.

Level and residence judge the present: an evaluation of a month older than the latest
evaluated one leaves them alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from alerts.kinds import Kind
from graph.events import Observations

NONE_LEVEL = "NONE"

LEVEL = "level"
UNPAID = "unpaid"
GAP = "gap"
BLACKLIST = "blacklist"
FILING = "filing"


@dataclass(frozen=True)
class State:
    kind: str
    subject: str
    value: str
    month: date | None = None
    version: int = 1
    project: str | None = None
    """The project it is about (the store reads a project's rows back by it)."""


@dataclass(frozen=True)
class NewEvent:
    key: str
    kind: Kind
    region_code: str
    details: dict[str, Any]
    project_code: str | None = None
    enterprise_uscc: str | None = None
    month: date | None = None
    level: str | None = None
    previous: str | None = None


@dataclass
class Changes:
    events: list[NewEvent] = field(default_factory=list)
    upserts: list[State] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)

    def raise_event(
        self,
        state: State,
        kind: Kind,
        region_code: str,
        details: dict[str, Any],
        *,
        again: str | None = None,
        project_code: str | None = None,
        enterprise_uscc: str | None = None,
        level: str | None = None,
        previous: str | None = None,
    ) -> None:
        """Keeps `state` and raises its event, in the state's month. The event's key is the
        state's kind and subject (plus `again`: what makes a repeat a new event), so an
        evaluation run twice inserts it once."""
        self.upserts.append(state)
        key = f"{state.kind}:{state.subject}" + (f":{again}" if again is not None else "")
        self.events.append(
            NewEvent(
                key=key,
                kind=kind,
                region_code=region_code,
                details=details,
                project_code=project_code,
                enterprise_uscc=enterprise_uscc,
                month=state.month,
                level=level,
                previous=previous,
            )
        )


StateMap = Mapping[tuple[str, str], State]


def changes(found: Observations, state: StateMap, *, present: bool) -> Changes:
    """`present`: the month is the latest evaluated (or later), so levels and residence
    gaps, which describe now, may change."""
    out = Changes()
    if present:
        _levels(found, state, out)
        _gaps(found, state, out)
    if found.payroll_known:
        _unpaid(found, state, out)
    _blacklisted(found, state, out)
    _filings(found, state, out)
    return out


def _month(month: date) -> str:
    return month.strftime("%Y-%m")


def _levels(found: Observations, state: StateMap, out: Changes) -> None:
    month = found.month
    for project in found.projects:
        before = state.get((LEVEL, project.code))
        if before is not None and before.value == project.level:
            if before.month != month:
                out.upserts.append(
                    State(LEVEL, project.code, project.level, month, before.version, project.code)
                )
            continue
        if before is None and project.level == NONE_LEVEL:
            out.upserts.append(State(LEVEL, project.code, project.level, month, 1, project.code))
            continue
        version = before.version + 1 if before is not None else 1
        previous = before.value if before is not None else None
        out.raise_event(
            State(LEVEL, project.code, project.level, month, version, project.code),
            Kind.PROJECT_WARNING,
            project.region_code,
            {
                "code": project.code,
                "month": _month(month),
                "failed": list(project.failed),
                "noDataFrom": list(project.no_data_from),
            },
            again=str(version),
            project_code=project.code,
            level=project.level,
            previous=previous,
        )


def _unpaid(found: Observations, state: StateMap, out: Changes) -> None:
    month = found.month
    seen = set()
    for unpaid in found.unpaid:
        subject = f"{unpaid.worker}|{unpaid.project_code}|{_month(month)}"
        seen.add(subject)
        before = state.get((UNPAID, subject))
        months = str(unpaid.months)
        if before is not None and before.value >= months:
            continue
        out.raise_event(
            State(UNPAID, subject, months, month, project=unpaid.project_code),
            Kind.WORKER_UNPAID,
            unpaid.region_code,
            {
                "idNumber": unpaid.worker,
                "code": unpaid.project_code,
                "month": _month(month),
                "months": unpaid.months,
                "daysPresent": unpaid.days_present,
            },
            again=months,
            project_code=unpaid.project_code,
        )
    for kind, subject in state:
        if kind == UNPAID and subject.endswith(f"|{_month(month)}") and subject not in seen:
            out.deletes.append((kind, subject))  # paid since (back pay, a late payroll)


def _gaps(found: Observations, state: StateMap, out: Changes) -> None:
    seen = set()
    districts = {gap.district for gap in found.gaps} | found.districts
    for gap in found.gaps:
        subject = f"{gap.worker}|{gap.district}"
        seen.add(subject)
        if (GAP, subject) in state:
            continue
        out.raise_event(
            State(GAP, subject, "open", found.month),
            Kind.RESIDENCE_GAP,
            gap.district,
            {"idNumber": gap.worker, "district": gap.district, "on": found.day.isoformat()},
            again=found.day.isoformat(),
        )
    for kind, subject in state:
        if kind == GAP and subject not in seen and subject.rsplit("|", 1)[-1] in districts:
            out.deletes.append((kind, subject))  # registered since: a new gap raises again


def _blacklisted(found: Observations, state: StateMap, out: Changes) -> None:
    for hit in found.blacklisted:
        subject = f"{hit.uscc}|{hit.project_code}|{hit.decision_no}"
        if (BLACKLIST, subject) in state:
            continue
        out.raise_event(
            State(BLACKLIST, subject, hit.via, found.month, project=hit.project_code),
            Kind.BLACKLISTED_ON_PROJECT,
            hit.region_code,
            {
                "uscc": hit.uscc,
                "code": hit.project_code,
                "decisionNo": hit.decision_no,
                "via": hit.via,
            },
            project_code=hit.project_code,
            enterprise_uscc=hit.uscc,
        )


def _filings(found: Observations, state: StateMap, out: Changes) -> None:
    for filing in found.filings:
        subject = f"{filing.source}|{filing.number}"
        if (FILING, subject) in state:
            continue
        out.raise_event(
            State(FILING, subject, filing.project_code, found.month, project=filing.project_code),
            Kind.COMPLAINT_ON_RED_PROJECT,
            filing.region_code,
            {
                "code": filing.project_code,
                "month": _month(found.month),
                "source": filing.source,
                "number": filing.number,
                "filedOn": filing.filed_on.isoformat(),
            },
            project_code=filing.project_code,
            level="RED",
        )
