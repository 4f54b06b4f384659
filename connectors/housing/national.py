"""The national platform interface's write methods the housing bureau takes, as rows of
its importable tables (`ingest.national` runs them through the import engine).

    ProjectSubContractor.Add  → enterprises (the participating corp)
    Project.Add               → projects
    Team.Add                  → teams (answers each team's teamSysNo)
    ProjectWorker.Add         → workers, then project_workers (the project's roster)
    WorkerEntryExit.Add       → registrations: an entry opens one with the roster's
                                employer, team and trade; an exit closes the latest open
    WorkerContract.Add        → contracts
    WorkerAttendance.Add      → attendance: clock-ins (direction 01) add their days to the
                                worker's month, kept with the days already sent

The interface does not carry every column the hub keeps (an enterprise's credit score, a
project's contract price); a call may send them under the names below (the hub's own
extension fields), and a resend of a row the hub holds keeps what it leaves out. A row
that still lacks one is refused by the import with the field named.

`calls(database)` writes the bureau's tables back out as these calls (plaintext: the
uploader encrypts), which is how the synthetic world is sent in by the interface.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select

from connectors.housing import tables
from connectors.housing.models import ProjectWorker, Registration, Team
from ingest import values
from ingest.exporting import stored_rows
from ingest.national import (
    RESIDENT_CARD,
    Conversion,
    NationalMethod,
    Part,
    Problem,
    card_problem,
    connected,
    merged,
    parsed,
    record,
    stored_records,
    text,
    typed_record,
)
from ingest.values import CHINA_STANDARD_TIME
from storage.database import Database

CORP_TYPES: Final = {
    "008": "建设单位",
    "009": "施工总承包",
    "001": "专业分包",
    "006": "劳务分包",
}
"""The national dictionary's participation types the hub's enterprise kinds match; any
other value is read as the kind itself (专业作业, labour_subcontractor, …)."""
PROJECT_STATUS_CODES: Final = {"003": "在建", "004": "竣工", "005": "停工"}
WORK_TYPES: Final = {
    "010": "砌筑工",
    "020": "钢筋工",
    "030": "架子工",
    "040": "混凝土工",
    "050": "模板工",
    "130": "电工",
    "230": "防水工",
    "240": "木工",
    "270": "焊工",
    "900": "管理人员",
    "1000": "其他",
}
"""Work-type codes mapped to the trade the hub stores; any other value is kept as sent."""
ENTRY_WORDS: Final = frozenset({"1", "01", "entry", "in", "进场"})
EXIT_WORDS: Final = frozenset({"0", "00", "2", "02", "exit", "out", "退场"})
CLOCK_IN: Final = "01"
CLOCK_OUT: Final = "02"
DAILY_UNITS: Final = frozenset({"日", "天", "工日", "day", "d", "1"})
ITEMS_PER_CALL: Final = 500

_DATE = values.date()
_MONTH = values.month()
_PERSON = {"worker_id_number": "idCardNumber", "project_code": "projectCode"}
ENTERPRISE_FIELDS: Final = {
    "uscc": "corpCode", "name": "corpName", "kind": "corpType", "region_code": "areaCode",
    "qualification": "qualification", "credit_score": "creditScore",
    "legal_representative": "legalMan",
}  # fmt: skip
PROJECT_FIELDS: Final = {
    "code": "projectCode", "name": "name", "region_code": "areaCode",
    "builder_uscc": "buildCorpCode", "contractor_uscc": "contractorCorpCode",
    "contract_price_fen": "contractPrice", "start_date": "startDate",
    "planned_end_date": "completeDate", "status": "prjStatus",
    "rights_notice_board": "rightsNoticeBoard", "payment_guarantee": "paymentGuarantee",
}  # fmt: skip
TEAM_FIELDS: Final = {
    "project_code": "projectCode", "employer_uscc": "corpCode", "name": "teamName",
    "leader_name": "responsiblePersonName", "leader_phone": "responsiblePersonPhone",
    "leader_id_number": "responsiblePersonIDNumber", "entry_date": "entryTime",
    "exit_date": "exitTime",
}  # fmt: skip
WORKER_FIELDS: Final = {
    "id_number": "idCardNumber", "name": "workerName", "registered_on": "registeredOn"
}  # fmt: skip
ROSTER_FIELDS: Final = {
    **_PERSON, "employer_uscc": "corpCode", "team": "teamName", "trade": "workType",
    "is_team_leader": "isTeamLeader",
}  # fmt: skip
REGISTRATION_FIELDS: Final = {
    **_PERSON, "employer_uscc": "corpCode", "entry_date": "date", "exit_date": "date"
}  # fmt: skip
CONTRACT_FIELDS: Final = {
    **_PERSON, "contract_no": "contractCode", "employer_uscc": "corpCode",
    "signed_on": "signDate", "start_date": "startDate", "end_date": "endDate",
    "daily_wage_fen": "unitPrice", "pay_day": "payDay",
}  # fmt: skip
ATTENDANCE_FIELDS: Final = {**_PERSON, "month": "date", "day_mask": "date"}


def _today() -> str:
    return datetime.now(CHINA_STANDARD_TIME).date().isoformat()


# -- ProjectSubContractor.Add, Project.Add, Team.Add ----------------------------------------


def _enterprise(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    part = Part("enterprises", fields=ENTERPRISE_FIELDS)
    with connected(db) as connection:
        for index, item in enumerate(items):
            uscc = text(item, "corpCode")
            kind = text(item, "corpType")
            sent = {
                "uscc": uscc,
                "name": text(item, "corpName"),
                "kind": CORP_TYPES.get(kind, kind),
                "region_code": text(item, "areaCode"),
                "qualification": text(item, "qualification"),
                "credit_score": text(item, "creditScore"),
                "legal_representative": text(item, "legalMan"),
            }
            stored = stored_records(connection, tables.ENTERPRISES, uscc=uscc)
            row = merged(sent, stored[0] if stored else None)
            if not row.get("region_code") and len(uscc) == 18:
                row["region_code"] = uscc[2:8]  # GB 32100: the registering authority's region
            part.add(index, row)
    return Conversion([part])


def _project(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    part = Part("projects", fields=PROJECT_FIELDS)
    with connected(db) as connection:
        for index, item in enumerate(items):
            code = text(item, "projectCode")
            status = text(item, "prjStatus")
            sent = {
                "code": code,
                "name": text(item, "name") or text(item, "projectName"),
                "region_code": text(item, "areaCode"),
                "builder_uscc": text(item, "buildCorpCode"),
                "contractor_uscc": text(item, "contractorCorpCode"),
                "contract_price_fen": text(item, "contractPrice"),
                "start_date": text(item, "startDate"),
                "planned_end_date": text(item, "completeDate"),
                "status": PROJECT_STATUS_CODES.get(status, status),
                "rights_notice_board": text(item, "rightsNoticeBoard"),
                "payment_guarantee": text(item, "paymentGuarantee"),
            }
            stored = stored_records(connection, tables.PROJECTS, code=code)
            part.add(index, merged(sent, stored[0] if stored else None))
    return Conversion([part])


def _team_numbers(rows: list[dict[str, Any]]) -> Any:
    def answer(db: Database) -> list[dict[str, Any]]:
        team = Team.__table__  # type: ignore[attr-defined]
        found = []
        with connected(db) as connection:
            for row in rows:
                number = connection.execute(
                    select(team.c.id).where(
                        team.c.project_code == row["project_code"],
                        team.c.employer_uscc == row["employer_uscc"],
                        team.c.name == row["name"],
                    )
                ).scalar()
                found.append({"teamSysNo": number})
        return found

    return answer


def _team(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    part = Part("teams", fields=TEAM_FIELDS)
    problems = []
    for index, item in enumerate(items):
        if (problem := card_problem(item, index, "responsiblePersonIDCardType")) is not None:
            problems.append(problem)
        part.add(
            index,
            {
                "project_code": text(item, "projectCode"),
                "employer_uscc": text(item, "corpCode"),
                "name": text(item, "teamName"),
                "leader_name": text(item, "responsiblePersonName"),
                "leader_phone": text(item, "responsiblePersonPhone"),
                "leader_id_number": text(item, "responsiblePersonIDNumber"),
                "entry_date": text(item, "entryTime"),
                "exit_date": text(item, "exitTime"),
            },
        )
    return Conversion([part], problems, _team_numbers(part.rows))


# -- ProjectWorker.Add ------------------------------------------------------------------------


def _team_name(connection: Any, header: Mapping[str, Any]) -> str:
    name = text(header, "teamName")
    number = text(header, "teamSysNo")
    if name or not number.isdigit():
        return name
    team = Team.__table__  # type: ignore[attr-defined]
    found = connection.execute(select(team.c.name).where(team.c.id == int(number))).scalar()
    return str(found or "")


def _project_worker(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    workers, roster = (
        Part("workers", fields=WORKER_FIELDS),
        Part("project_workers", fields=ROSTER_FIELDS),
    )
    problems = []
    project, employer = text(header, "projectCode"), text(header, "corpCode")
    with connected(db) as connection:
        team = _team_name(connection, header)
        if not team:
            problems.append(
                Problem(
                    0, "teamSysNo", "no such team: send Team.Add first or give teamName",
                    "班组不存在：请先上传班组（Team.Add）或填写 teamName",
                )
            )  # fmt: skip
        for index, item in enumerate(items):
            if (problem := card_problem(item, index)) is not None:
                problems.append(problem)
            id_number = text(item, "idCardNumber")
            stored = stored_records(connection, tables.WORKERS, id_number=id_number)
            sent = {
                "id_number": id_number,
                "name": text(item, "workerName"),
                "registered_on": text(item, "registeredOn"),
            }
            worker = merged(sent, stored[0] if stored else None)
            worker.setdefault("registered_on", _today())
            workers.add(index, worker)
            work_type = text(item, "workType")
            roster.add(
                index,
                {
                    "worker_id_number": id_number,
                    "project_code": project,
                    "employer_uscc": employer,
                    "team": team,
                    "trade": WORK_TYPES.get(work_type, work_type),
                    "is_team_leader": text(item, "isTeamLeader"),
                },
            )
    return Conversion([workers, roster], problems)


# -- WorkerEntryExit.Add --------------------------------------------------------------------


def _entry_exit(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    project = text(header, "projectCode")
    part = Part("registrations", fields=REGISTRATION_FIELDS)
    problems: list[Problem] = []
    registration = Registration.__table__  # type: ignore[attr-defined]
    roster_t = ProjectWorker.__table__  # type: ignore[attr-defined]
    # (worker, entry date) → (record, last item that touched it), in first-touched order
    touched: dict[tuple[str, date], tuple[dict[str, Any], int]] = {}
    known: dict[str, dict[date, dict[str, Any]]] = {}
    with connected(db) as connection:

        def registrations(worker: str) -> dict[date, dict[str, Any]]:
            if worker not in known:
                rows = connection.execute(
                    select(registration).where(
                        registration.c.project_code == project,
                        registration.c.worker_id_number == worker,
                    )
                )
                known[worker] = {
                    row.entry_date: record(tables.REGISTRATIONS, row._mapping) for row in rows
                }
            return known[worker]

        for index, item in enumerate(items):
            if (problem := card_problem(item, index)) is not None:
                problems.append(problem)
                continue
            worker = text(item, "idCardNumber")
            day = parsed(_DATE, text(item, "date"))
            kind = text(item, "type").lower()
            if day is None:
                problems.append(
                    Problem(
                        index, "date", "date must be a date (yyyy-MM-dd)",
                        "date 应为日期（yyyy-MM-dd）",
                    )
                )  # fmt: skip
                continue
            held = registrations(worker)
            if kind in ENTRY_WORDS:
                if day not in held:
                    roster = connection.execute(
                        select(roster_t).where(
                            roster_t.c.project_code == project,
                            roster_t.c.worker_id_number == worker,
                        )
                    ).first()
                    if roster is None:
                        problems.append(
                            Problem(
                                index, "idCardNumber",
                                "the worker is not on this project's roster: send"
                                " ProjectWorker.Add first",
                                "该工人不在本项目人员名单中：请先上传项目人员（ProjectWorker.Add）",
                            )
                        )  # fmt: skip
                        continue
                    held[day] = {
                        "worker_id_number": worker,
                        "project_code": project,
                        "employer_uscc": roster.employer_uscc,
                        "team": roster.team,
                        "trade": roster.trade,
                        "entry_date": day.isoformat(),
                        "exit_date": None,
                    }
                touched[(worker, day)] = (held[day], index)
            elif kind in EXIT_WORDS:
                entries = [entry for entry in held if entry <= day]
                if not entries:
                    problems.append(
                        Problem(
                            index, "date", "an exit with no entry on or before it",
                            "退场日期之前没有进场记录",
                        )
                    )  # fmt: skip
                    continue
                latest = max(entries)
                held[latest]["exit_date"] = day.isoformat()
                touched[(worker, latest)] = (held[latest], index)
            else:
                problems.append(
                    Problem(
                        index, "type", f"type {kind!r}: 1 (entry) or 0 (exit)",
                        f"type {kind!r}：应为 1（进场）或 0（退场）",
                    )
                )  # fmt: skip
    for row, index in touched.values():
        part.add(index, row)
    return Conversion([part], problems)


# -- WorkerContract.Add ---------------------------------------------------------------------


def _contract_number(project: str, worker: str, start: str) -> str:
    digest = hashlib.sha256(f"{project}|{worker}|{start}".encode()).hexdigest()
    return "NC" + digest[:20].upper()


def _contract(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    items = [{**header, **item} for item in items]  # the project named once, or in each
    part = Part("contracts", fields=CONTRACT_FIELDS)
    problems = []
    with connected(db) as connection:
        for index, item in enumerate(items):
            if (problem := card_problem(item, index)) is not None:
                problems.append(problem)
            unit = text(item, "unit").lower()
            if unit and unit not in DAILY_UNITS:
                problems.append(
                    Problem(
                        index, "unit", f"unit {unit!r}: the hub keeps daily wages (日)",
                        f"计量单位 {unit!r}：本平台只收按日计的工资（日）",
                    )
                )  # fmt: skip
            project, worker = text(item, "projectCode"), text(item, "idCardNumber")
            start = text(item, "startDate")
            number = text(item, "contractCode") or _contract_number(project, worker, start)
            stored = stored_records(connection, tables.CONTRACTS, contract_no=number)
            sent = {
                "contract_no": number,
                "worker_id_number": worker,
                "project_code": project,
                "employer_uscc": text(item, "corpCode"),
                "signed_on": text(item, "signDate") or start,
                "start_date": start,
                "end_date": text(item, "endDate"),
                "daily_wage_fen": text(item, "unitPrice"),
                "pay_day": text(item, "payDay"),
            }
            part.add(index, merged(sent, stored[0] if stored else None))
    return Conversion([part], problems)


# -- WorkerAttendance.Add -------------------------------------------------------------------


HELD_AT_ONCE: Final = 1_000
"""Workers asked about in one query of the months already held: a call may hold more
(`HUB_NATIONAL_MAX_ITEMS` has no upper bound) than a statement takes parameters."""


def _attendance(
    items: Sequence[Mapping[str, Any]], header: Mapping[str, Any], db: Database
) -> Conversion:
    project = text(header, "projectCode")
    problems: list[Problem] = []
    months: dict[tuple[str, date], tuple[int, int]] = {}  # → (mask, last item)
    for index, item in enumerate(items):
        if (problem := card_problem(item, index)) is not None:
            problems.append(problem)
            continue
        direction = text(item, "direction")
        day = parsed(_DATE, text(item, "date"))
        if direction not in (CLOCK_IN, CLOCK_OUT) or day is None:
            problems.append(
                Problem(
                    index, "direction" if day is not None else "date",
                    "direction is 01 (in) or 02 (out), date yyyy-MM-dd HH:mm:ss",
                    "direction 应为 01（进）或 02（出），date 为 yyyy-MM-dd HH:mm:ss",
                )
            )  # fmt: skip
            continue
        key = (text(item, "idCardNumber"), day.replace(day=1))
        mask, _ = months.get(key, (0, index))
        if direction == CLOCK_IN:
            mask |= 1 << (day.day - 1)
        months[key] = (mask, index)
    part = Part("attendance", fields=ATTENDANCE_FIELDS)
    days_kind = tables.ATTENDANCE_SPEC.columns[3].kind
    attendance = tables.ATTENDANCE.table
    stored: dict[tuple[str, date], int] = {}
    if months:  # the months already held: a query for the call's workers, a thousand at once
        workers = sorted({w for w, _ in months})
        held_months = sorted({m for _, m in months})
        with connected(db) as connection:
            for first in range(0, len(workers), HELD_AT_ONCE):
                found = connection.execute(
                    select(attendance.c.worker_id_number, attendance.c.month, attendance.c.day_mask)
                    .where(attendance.c.project_code == project)
                    .where(attendance.c.worker_id_number.in_(workers[first : first + HELD_AT_ONCE]))
                    .where(attendance.c.month.in_(held_months))
                )
                stored.update(((worker, month), int(mask or 0)) for worker, month, mask in found)
    for (worker, month), (mask, index) in months.items():
        held = stored.get((worker, month), 0)
        if not mask | held:
            continue  # only clock-outs, in a month with no day present yet
        part.add(
            index,
            {
                "worker_id_number": worker,
                "project_code": project,
                "month": _MONTH.text(month),
                "day_mask": days_kind.to_json(mask | held),
                "days_present": None,
            },
        )
    return Conversion([part], problems)


METHODS: Final = (
    NationalMethod("ProjectSubContractor.Add", "housing", None, _enterprise, ("enterprises",)),
    NationalMethod("Project.Add", "housing", None, _project, ("projects",)),
    NationalMethod("Team.Add", "housing", None, _team, ("teams",)),
    NationalMethod(
        "ProjectWorker.Add", "housing", "workerList", _project_worker,
        ("workers", "project_workers"),
    ),
    NationalMethod(
        "WorkerEntryExit.Add", "housing", "workerList", _entry_exit, ("registrations",)
    ),
    NationalMethod(
        "WorkerContract.Add", "housing", "contractList", _contract, ("contracts",), flat=True
    ),
    NationalMethod("WorkerAttendance.Add", "housing", "dataList", _attendance, ("attendance",)),
)  # fmt: skip


# -- the bureau's tables as calls -----------------------------------------------------------

Call = tuple[str, dict[str, Any]]


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), ITEMS_PER_CALL):
        yield rows[start : start + ITEMS_PER_CALL]


def _records(database: Database, target: Any) -> list[dict[str, Any]]:
    return [typed_record(target, row) for row in stored_rows(target, database)]


def _code(table: Mapping[str, str], value: str) -> str:
    return next((code for code, name in table.items() if name == value), value)


def calls(database: Database) -> Iterator[Call]:
    """Every enterprise, project, roster entry, registration, contract and attendance day
    of the bureau as the interface's write calls, in an order that loads (plaintext)."""
    kinds = {"builder": "008", "general_contractor": "009", "specialty_contractor": "001",
             "labour_subcontractor": "006", "professional": "专业作业"}  # fmt: skip
    for row in _records(database, tables.ENTERPRISES):
        yield "ProjectSubContractor.Add", {
            "corpCode": row["uscc"], "corpName": row["name"], "corpType": kinds[row["kind"]],
            "areaCode": row["region_code"], "qualification": row["qualification"],
            "creditScore": row["credit_score"], "legalMan": row["legal_representative"],
        }  # fmt: skip
    statuses = {"under_construction": "003", "completed": "004", "suspended": "005"}
    for row in _records(database, tables.PROJECTS):
        yield "Project.Add", {
            "projectCode": row["code"], "name": row["name"], "areaCode": row["region_code"],
            "buildCorpCode": row["builder_uscc"], "contractorCorpCode": row["contractor_uscc"],
            "contractPrice": row["contract_price_fen"], "startDate": row["start_date"],
            "completeDate": row["planned_end_date"], "prjStatus": statuses[row["status"]],
            "rightsNoticeBoard": row["rights_notice_board"],
            "paymentGuarantee": row["payment_guarantee"],
        }  # fmt: skip
    workers = {row["id_number"]: row for row in _records(database, tables.WORKERS)}
    yield from _registration_calls(_records(database, tables.REGISTRATIONS), workers)
    contracts: dict[str, list[dict[str, Any]]] = {}
    for row in _records(database, tables.CONTRACTS):
        contracts.setdefault(row["project_code"], []).append({
            "corpCode": row["employer_uscc"], "idCardType": RESIDENT_CARD,
            "idCardNumber": row["worker_id_number"], "contractPeriodType": "0",
            "startDate": row["start_date"], "endDate": row["end_date"], "unit": "日",
            "unitPrice": row["daily_wage_fen"], "contractCode": row["contract_no"],
            "signDate": row["signed_on"], "payDay": row["pay_day"],
        })  # fmt: skip
    for project, listed in contracts.items():
        for chunk in _chunks(listed):
            yield "WorkerContract.Add", {"projectCode": project, "contractList": chunk}
    attendance: dict[str, list[dict[str, Any]]] = {}
    for row in _records(database, tables.ATTENDANCE):
        for day in row["day_mask"]:
            attendance.setdefault(row["project_code"], []).append({
                "idCardType": RESIDENT_CARD, "idCardNumber": row["worker_id_number"],
                "direction": CLOCK_IN, "date": f"{row['month']}-{day:02d} 08:00:00",
            })  # fmt: skip
    for project, listed in attendance.items():
        for chunk in _chunks(listed):
            yield "WorkerAttendance.Add", {"projectCode": project, "dataList": chunk}


def _registration_calls(
    registrations: list[dict[str, Any]], workers: Mapping[str, dict[str, Any]]
) -> Iterator[Call]:
    """Teams, rosters and entries/exits, one round per registration a worker has on a
    project (the roster holds one employer, team and trade at a time)."""
    rounds: list[list[dict[str, Any]]] = []
    seen: dict[tuple[str, str], int] = {}
    for row in sorted(registrations, key=lambda r: (r["project_code"], r["worker_id_number"],
                                                    r["entry_date"])):  # fmt: skip
        key = (row["project_code"], row["worker_id_number"])
        position = seen.get(key, 0)
        seen[key] = position + 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(row)
    teams: set[tuple[str, str, str]] = set()
    for batch in rounds:
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for row in batch:
            groups.setdefault((row["project_code"], row["employer_uscc"], row["team"]), []).append(
                row
            )
        for (project, employer, team), rows in groups.items():
            if (project, employer, team) not in teams:
                teams.add((project, employer, team))
                yield "Team.Add", {"projectCode": project, "corpCode": employer, "teamName": team}
            listed = [
                {
                    "workerName": workers[row["worker_id_number"]]["name"],
                    "idCardType": RESIDENT_CARD, "idCardNumber": row["worker_id_number"],
                    "workType": _code(WORK_TYPES, row["trade"]),
                    "registeredOn": workers[row["worker_id_number"]]["registered_on"],
                }
                for row in rows
            ]  # fmt: skip
            for chunk in _chunks(listed):
                yield "ProjectWorker.Add", {
                    "projectCode": project, "corpCode": employer, "teamName": team,
                    "workerList": chunk,
                }  # fmt: skip
        by_project: dict[str, list[dict[str, Any]]] = {}
        for row in batch:
            moves = by_project.setdefault(row["project_code"], [])
            person = {"idCardType": RESIDENT_CARD, "idCardNumber": row["worker_id_number"]}
            moves.append({**person, "date": row["entry_date"], "type": "1"})
            if row["exit_date"]:
                moves.append({**person, "date": row["exit_date"], "type": "0"})
        for project, moves in by_project.items():
            for chunk in _chunks(moves):
                yield "WorkerEntryExit.Add", {"projectCode": project, "workerList": chunk}
