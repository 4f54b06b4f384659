"""The floor: each workload's answer from hand-written SQL over the raw drivers (asyncpg;
on SQLite sqlite3 on the event loop for small reads and aiosqlite for the rest, as the
hub reads), with no ORM, no GraphQL and no HTTP, shaped exactly like the hub's JSON so
the two can be compared. A hub cannot be faster than this; hub ÷ floor is what the hub's
layers cost.

The agencies' databases are separate, as in the hub, so a question spanning agencies is
several statements joined in Python; statements to different databases run concurrently.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]

from bench.dataset import Dataset

POOL_SIZE = 10
"""Connections per database at most: the hub's own limit (HUB_DB_POOL_SIZE 5 + 5)."""
LOOP_STEPS, LOOP_ROWS = 50_000, 500
"""A SQLite read on the event loop is stopped past this many steps of SQLite's machine, or
this many rows, and run on a thread instead: the hub's budget (`storage.reading`)."""

Row = Sequence[Any]


def day(value: Any) -> str | None:
    """A date column as ISO text: SQLite returns text already, asyncpg a `date`."""
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def month(value: Any) -> str:
    """A first-of-month date column as the hub's `YearMonth` ("2026-10")."""
    return str(day(value))[:7]


def month_end(first: str) -> str:
    """The last day of the month starting on `first` (ISO text)."""
    year, number = int(first[:4]), int(first[5:7])
    following = date(year + number // 12, number % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1).isoformat()


class Database:
    """A bounded pool of raw driver connections to one agency's database. SQL is written
    with `?` placeholders; a list argument after `IN ?` expands to the backend's form."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.url = url
        self.statements = 0
        self._idle: asyncio.Queue[Any] = asyncio.Queue()
        self._opened = 0
        self._pg_pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._on_loop: sqlite3.Connection | None = None
        self._large: set[str] = set()
        self._ticks = 0

    async def open(self) -> None:
        if self.backend != "postgres":
            return
        async with self._opening:  # concurrent first statements open one pool
            if self._pg_pool is None:
                self._pg_pool = await asyncpg.create_pool(self.url, min_size=1, max_size=POOL_SIZE)

    async def close(self) -> None:
        """Every connection closed: PostgreSQL's connection slots (max_connections) are
        shared with the hub, which must not find them held by an idle floor."""
        if self._pg_pool is not None:
            await self._pg_pool.close()
            self._pg_pool = None
        while not self._idle.empty():
            await self._idle.get_nowait().close()
        self._opened = 0
        if self._on_loop is not None:
            self._on_loop.close()
            self._on_loop = None

    def _render(self, sql: str, args: Sequence[Any]) -> tuple[str, list[Any]]:
        pieces = sql.split("?")
        if len(pieces) != len(args) + 1:
            raise ValueError(f"{len(args)} arguments for {len(pieces) - 1} placeholders: {sql}")
        text, values = pieces[0], list[Any]()
        for arg, piece in zip(args, pieces[1:], strict=True):
            if isinstance(arg, list | tuple):
                if self.backend == "postgres":
                    values.append(list(arg))
                    text = f"{text.removesuffix('IN ')}= ANY(${len(values)}){piece}"
                else:
                    values.extend(arg)
                    text += f"({', '.join('?' * len(arg)) or 'NULL'}){piece}"
            else:
                if self.backend == "postgres":
                    values.append(date.fromisoformat(arg) if _is_iso_day(arg) else arg)
                    text += f"${len(values)}{piece}"
                else:
                    values.append(arg)
                    text += f"?{piece}"
        return text, values

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        text, values = self._render(sql, args)
        self.statements += 1
        if self.backend == "postgres" and self._pg_pool is None:
            await self.open()
        if self._pg_pool is not None:
            async with self._pg_pool.acquire() as connection:
                return list(await connection.fetch(text, *values))
        if text not in self._large:
            rows = self._fetch_on_loop(text, values)
            if rows is not None:
                return rows
        connection = await self._sqlite_connection()
        try:
            return list(await connection.execute_fetchall(text, values))  # one thread hop
        finally:
            self._idle.put_nowait(connection)

    def _fetch_on_loop(self, text: str, values: list[Any]) -> list[Row] | None:
        """The rows, or None for a read too large for the event loop or a locked file."""
        if self._on_loop is None:
            path = self.url.removeprefix("sqlite:///")
            self._on_loop = sqlite3.connect(
                f"file:{path}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=0,  # as the hub's: the loop never waits for a lock (busy: a thread)
            )
            self._on_loop.set_progress_handler(self._tick, 1_000)
        self._ticks = 0
        try:
            cursor = self._on_loop.execute(text, values)
            try:
                rows = cursor.fetchmany(LOOP_ROWS + 1)
            finally:
                cursor.close()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF not in (5, 6, 9):  # busy, locked, interrupted
                raise
            if error.sqlite_errorcode & 0xFF == 9:
                self._large.add(text)
            return None
        if len(rows) > LOOP_ROWS:
            self._large.add(text)
            return None
        return rows

    def _tick(self) -> bool:
        """Called every 1,000 steps (of a statement's runs, all counted): past the budget
        of this run, True stops it."""
        self._ticks += 1
        return self._ticks * 1_000 > LOOP_STEPS

    async def _sqlite_connection(self) -> aiosqlite.Connection:
        if self._idle.empty() and self._opened < POOL_SIZE:
            self._opened += 1
            path = self.url.removeprefix("sqlite:///")
            connection = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
            await connection.execute("PRAGMA busy_timeout=5000")
            return connection
        return await self._idle.get()


def _is_iso_day(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-"


class Floor:
    """The four questions answered directly; each method returns the hub's `data`."""

    def __init__(self, dataset: Dataset) -> None:
        self.db = {
            target: Database(dataset.backend, dataset.database_url(target))
            for target in ("housing", "hr", "bank", "court")
        }

    async def open(self) -> None:
        await asyncio.gather(*(database.open() for database in self.db.values()))

    async def close(self) -> None:
        await asyncio.gather(*(database.close() for database in self.db.values()))

    @property
    def statements(self) -> int:
        return sum(database.statements for database in self.db.values())

    async def worker(self, id_number: str) -> dict[str, Any]:
        rows = await self.db["housing"].fetch(
            "SELECT w.id_number, w.name, r.trade, r.entry_date, r.exit_date, p.code, p.name"
            " FROM housing_worker w"
            " LEFT JOIN housing_registration r ON r.worker_id_number = w.id_number"
            " LEFT JOIN housing_project p ON p.code = r.project_code"
            " WHERE w.id_number = ? ORDER BY r.entry_date, r.id",
            id_number,
        )
        if not rows:
            return {"worker": None}
        registrations = [
            {
                "trade": r[2],
                "entryDate": day(r[3]),
                "exitDate": day(r[4]),
                "project": {"code": r[5], "name": r[6]},
            }
            for r in rows
            if r[2] is not None
        ]
        return {
            "worker": {"idNumber": rows[0][0], "name": rows[0][1], "registrations": registrations}
        }

    async def dossier(self, case_number: str, since: str, until: str) -> dict[str, Any]:
        court, housing = self.db["court"], self.db["housing"]
        cases, mediations, parties = await asyncio.gather(
            court.fetch(
                "SELECT case_number, status, cause, claim_amount_fen, disputed_from, disputed_to"
                " FROM court_dispute_case WHERE case_number = ?",
                case_number,
            ),
            court.fetch(
                "SELECT committee, outcome, held_on FROM court_mediation"
                " WHERE case_number = ? ORDER BY held_on, id",
                case_number,
            ),
            court.fetch(
                "SELECT role, name, id_number, uscc FROM court_case_party"
                " WHERE case_number = ? ORDER BY id",
                case_number,
            ),
        )
        if not cases:
            return {"disputeCase": None}
        workers = sorted({p[2] for p in parties if p[2]})
        usccs = sorted({p[3] for p in parties if p[3]})
        first, last = f"{since}-01", f"{until}-01"
        (
            names,
            contracts,
            attendance,
            enterprises,
            disbursements,
            blacklist,
            grades,
            earlier,
        ) = await asyncio.gather(
            housing.fetch(
                "SELECT id_number, name FROM housing_worker WHERE id_number IN ?", workers
            ),
            housing.fetch(
                "SELECT worker_id_number, contract_no, daily_wage_fen, project_code, start_date,"
                " end_date, signed_on FROM housing_labour_contract"
                " WHERE worker_id_number IN ? ORDER BY signed_on, contract_no",
                workers,
            ),
            housing.fetch(
                "SELECT worker_id_number, project_code, month, days_present"
                " FROM housing_attendance_month WHERE worker_id_number IN ?"
                " AND month >= ? AND month <= ? ORDER BY month, project_code",
                workers,
                first,
                last,
            ),
            housing.fetch(
                "SELECT uscc, name, credit_score FROM housing_enterprise WHERE uscc IN ?", usccs
            ),
            self.db["bank"].fetch(
                "SELECT worker_id_number, project_code, period, amount_fen, status"
                " FROM bank_disbursement WHERE worker_id_number IN ?"
                " AND period >= ? AND period <= ? ORDER BY paid_on, id",
                workers,
                first,
                last,
            ),
            self.db["hr"].fetch(
                "SELECT enterprise_uscc, decision_no, removed_on FROM hr_blacklist_entry"
                " WHERE enterprise_uscc IN ? ORDER BY listed_on, decision_no",
                usccs,
            ),
            self.db["hr"].fetch(
                "SELECT enterprise_uscc, grade FROM hr_credit_grade WHERE enterprise_uscc IN ?",
                usccs,
            ),
            court.fetch(
                "SELECT p.uscc, c.case_number, c.status, c.filed_on FROM court_case_party p"
                " JOIN court_dispute_case c ON c.case_number = p.case_number"
                " WHERE p.uscc IN ? ORDER BY c.filed_on, p.id",
                usccs,
            ),
        )
        worker_docs = {
            w: _dossier_worker(
                w,
                dict((r[0], r[1]) for r in names).get(w),
                [r for r in contracts if r[0] == w],
                [r for r in attendance if r[0] == w],
                [r for r in disbursements if r[0] == w],
            )
            for w in workers
        }
        enterprise_docs = {
            u: _dossier_enterprise(
                u,
                next((r for r in enterprises if r[0] == u), None),
                [r for r in blacklist if r[0] == u],
                next((r[1] for r in grades if r[0] == u), None),
                [r for r in earlier if r[0] == u],
            )
            for u in usccs
        }
        case = cases[0]
        return {
            "disputeCase": {
                "caseNumber": case[0],
                "status": case[1].upper(),
                "cause": case[2],
                "claimAmountFen": case[3],
                "disputedMonths": _months(day(case[4]) or "", day(case[5]) or ""),
                "mediations": [
                    {"committee": m[0], "outcome": m[1].upper(), "heldOn": day(m[2])}
                    for m in mediations
                ],
                "parties": [
                    {
                        "role": p[0].upper(),
                        "name": p[1],
                        "worker": worker_docs.get(p[2]) if p[2] else None,
                        "enterprise": enterprise_docs.get(p[3]) if p[3] else None,
                    }
                    for p in parties
                ],
            }
        }

    async def project_unpaid(self, code: str, first: str) -> dict[str, Any]:
        housing, last = self.db["housing"], month_end(first)
        projects, registered, attendance, contracts, paid = await asyncio.gather(
            housing.fetch("SELECT name FROM housing_project WHERE code = ?", code),
            housing.fetch(
                "SELECT r.worker_id_number, w.name FROM housing_registration r"
                " JOIN housing_worker w ON w.id_number = r.worker_id_number"
                " WHERE r.project_code = ? AND r.entry_date <= ?"
                " AND (r.exit_date IS NULL OR r.exit_date >= ?) ORDER BY r.worker_id_number",
                code,
                last,
                first,
            ),
            housing.fetch(
                "SELECT a.worker_id_number, a.days_present, w.name FROM housing_attendance_month a"
                " JOIN housing_worker w ON w.id_number = a.worker_id_number"
                " WHERE a.project_code = ? AND a.month = ?",
                code,
                first,
            ),
            _contracts_in_force(housing, [code], first, last),
            _paid(self.db["bank"], [code], first),
        )
        if not projects:
            return {"project": None}
        names = {r[0]: r[1] for r in [*registered, *((a[0], a[2]) for a in attendance)]}
        positions = _positions(
            [r[0] for r in registered],
            {a[0]: a[1] for a in attendance},
            contracts.get(code, {}),
            paid.get(code, {}),
        )
        return {
            "project": {
                "name": projects[0][0],
                "wagePositions": [
                    {
                        "daysPresent": days,
                        "dueFen": due,
                        "paidFen": amount,
                        "worker": {"idNumber": worker, "name": names.get(worker)},
                    }
                    for worker, days, due, amount, status in positions
                    if status == "UNPAID"
                ],
            }
        }

    async def dashboard(self, region: str, first: str, size: int) -> dict[str, Any]:
        housing, bank, last = self.db["housing"], self.db["bank"], month_end(first)
        projects = await housing.fetch(
            "SELECT code, name, rights_notice_board, payment_guarantee FROM housing_project"
            " WHERE region_code >= ? AND region_code < ? AND status = 'under_construction'"
            " ORDER BY code LIMIT ?",
            region,
            region[:-1] + chr(ord(region[-1]) + 1),
            size,
        )
        codes = [p[0] for p in projects]
        contracts_task = asyncio.create_task(_contracts_in_force(housing, codes, first, last))
        paid_task = asyncio.create_task(_paid(bank, codes, first))
        registered, attendance, accounts, allocated, deposits = await asyncio.gather(
            housing.fetch(
                "SELECT project_code, worker_id_number FROM housing_registration"
                " WHERE project_code IN ? AND entry_date <= ?"
                " AND (exit_date IS NULL OR exit_date >= ?) ORDER BY worker_id_number",
                codes,
                last,
                first,
            ),
            housing.fetch(
                "SELECT project_code, worker_id_number, days_present"
                " FROM housing_attendance_month WHERE project_code IN ? AND month = ?",
                codes,
                first,
            ),
            bank.fetch(
                "SELECT project_code, status FROM bank_wage_account WHERE project_code IN ?",
                codes,
            ),
            bank.fetch(
                "SELECT w.project_code, SUM(a.amount_fen) FROM bank_allocation a"
                " JOIN bank_wage_account w ON w.account_no = a.account_no"
                " WHERE w.project_code IN ? AND a.period = ? GROUP BY w.project_code",
                codes,
                first,
            ),
            self.db["hr"].fetch(
                "SELECT project_code, status FROM hr_wage_deposit WHERE project_code IN ?",
                codes,
            ),
        )
        contracts, paid = await contracts_task, await paid_task
        active: dict[str, list[str]] = defaultdict(list)
        for code, worker in registered:
            active[code].append(worker)
        days: dict[str, dict[str, int]] = defaultdict(dict)
        for code, worker, present in attendance:
            days[code][worker] = present
        account = {r[0]: r[1] for r in accounts}
        deposit = {r[0]: r[1] for r in deposits}
        funds = {r[0]: int(r[1]) for r in allocated}
        nodes = []
        for code, name, board, guarantee in projects:
            level, measures = _compliance(
                bool(board),
                bool(guarantee),
                account.get(code),
                deposit.get(code),
                funds.get(code, 0),
                active[code],
                days[code],
                contracts.get(code, {}),
                paid.get(code, {}),
            )
            nodes.append(
                {"level": level, "project": {"code": code, "name": name}, "measures": measures}
            )
        return {"projectWarnings": {"nodes": nodes}}


def _months(first: str, last: str) -> list[str]:
    found, year, number = [], int(first[:4]), int(first[5:7])
    while f"{year:04d}-{number:02d}" <= last[:7]:
        found.append(f"{year:04d}-{number:02d}")
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return found


def _contract_wage(contracts: list[Row], project: str, first: str) -> int | None:
    """The latest-signed contract on the project covering any day of the month (the
    hub's rule), as its daily wage."""
    last = month_end(first)
    covering = [
        c
        for c in contracts
        if c[3] == project and str(day(c[4])) <= last and (c[5] is None or str(day(c[5])) >= first)
    ]
    chosen = max(covering, key=lambda c: str(day(c[6])), default=None)
    return None if chosen is None else int(chosen[2])


def _status(days: int, due: int | None, paid: int) -> str:
    if days == 0 and paid == 0:
        return "NOT_DUE"
    if paid == 0:
        return "UNPAID"
    if due is not None and paid < due:
        return "UNDERPAID"
    return "PAID"


def _dossier_worker(
    id_number: str,
    name: str | None,
    contracts: list[Row],
    attendance: list[Row],
    disbursements: list[Row],
) -> dict[str, Any]:
    present = {(a[1], str(day(a[2]))): int(a[3]) for a in attendance}
    keys = sorted(
        set(present) | {(d[1], str(day(d[2]))) for d in disbursements},
        key=lambda k: (k[1], k[0]),
    )
    positions = []
    for project, first in keys:
        paid = sum(
            int(d[3])
            for d in disbursements
            if d[4] == "paid" and d[1] == project and str(day(d[2])) == first
        )
        wage = _contract_wage(contracts, project, first)
        days = present.get((project, first), 0)
        due = None if wage is None else days * wage
        positions.append(
            {
                "month": first[:7],
                "dueFen": due,
                "paidFen": paid,
                "arrearsFen": None if due is None else max(due - paid, 0),
                "status": _status(days, due, paid),
            }
        )
    return {
        "idNumber": id_number,
        "name": name,
        "contracts": [{"contractNo": c[1], "dailyWageFen": c[2]} for c in contracts],
        "attendance": [{"month": month(a[2]), "daysPresent": a[3]} for a in attendance],
        "disbursements": [
            {"period": month(d[2]), "amountFen": d[3], "status": d[4].upper()}
            for d in disbursements
        ],
        "wagePositions": positions,
    }


def _dossier_enterprise(
    uscc: str, housing: Row | None, blacklist: list[Row], grade: str | None, cases: list[Row]
) -> dict[str, Any]:
    unique = {c[1]: c for c in cases}
    return {
        "uscc": uscc,
        "name": housing[1] if housing else None,
        "blacklisted": any(b[2] is None for b in blacklist),
        "blacklistEntries": [{"decisionNo": b[1], "current": b[2] is None} for b in blacklist],
        "creditGrade": {"grade": grade} if grade else None,
        "marketCreditScore": housing[2] if housing else None,
        "disputeCases": [
            {"caseNumber": c[1], "status": c[2].upper(), "filedOn": day(c[3])}
            for c in unique.values()
        ],
    }


async def _contracts_in_force(
    housing: Database, codes: list[str], first: str, last: str
) -> dict[str, dict[str, tuple[int, str]]]:
    """Per project and worker: (daily wage, signed on) of the latest-signed contract in force."""
    rows = await housing.fetch(
        "SELECT project_code, worker_id_number, daily_wage_fen, signed_on"
        " FROM housing_labour_contract WHERE project_code IN ? AND start_date <= ?"
        " AND (end_date IS NULL OR end_date >= ?)",
        codes,
        last,
        first,
    )
    found: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    for code, worker, wage, signed in rows:
        signed_on = str(day(signed))
        if worker not in found[code] or found[code][worker][1] < signed_on:
            found[code][worker] = (int(wage), signed_on)
    return found


async def _paid(bank: Database, codes: list[str], first: str) -> dict[str, dict[str, int]]:
    """Per project and worker with any disbursement for the month: the amount paid."""
    rows = await bank.fetch(
        "SELECT project_code, worker_id_number,"
        " SUM(CASE WHEN status = 'paid' THEN amount_fen ELSE 0 END) FROM bank_disbursement"
        " WHERE project_code IN ? AND period = ? GROUP BY project_code, worker_id_number"
        " ORDER BY worker_id_number",
        codes,
        first,
    )
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for code, worker, amount in rows:
        found[code][worker] = int(amount)
    return found


def _positions(
    registered: list[str],
    days: dict[str, int],
    contracts: dict[str, tuple[int, str]],
    paid: dict[str, int],
) -> list[tuple[str, int, int | None, int, str]]:
    """(worker, days, due, paid, status) for every worker registered, attending or paid."""
    positions = []
    for worker in dict.fromkeys([*registered, *days, *paid]):
        present, amount = days.get(worker, 0), paid.get(worker, 0)
        due = present * contracts[worker][0] if worker in contracts else None
        positions.append((worker, present, due, amount, _status(present, due, amount)))
    return positions


SEVERITY = {
    "RIGHTS_NOTICE_BOARD": 1,
    "WAGE_SPECIAL_ACCOUNT": 2,
    "REAL_NAME_REGISTRATION": 2,
    "LABOUR_CONTRACTS": 2,
    "WAGE_DEPOSIT": 2,
    "PAYMENT_GUARANTEE": 1,
    "SPECIAL_ACCOUNT_FUNDING": 2,
    "REAL_NAME_ATTENDANCE": 2,
    "WAGES_PAID_MONTHLY": 3,
}
LEVELS = ("NONE", "BLUE", "YELLOW", "RED")
UNSEEN = "cannot be assessed: no wage special account, so the bank sees no payroll"


def _compliance(
    board: bool,
    guarantee: bool,
    account: str | None,
    deposit: str | None,
    allocated: int,
    registered: list[str],
    days: dict[str, int],
    contracts: dict[str, tuple[int, str]],
    paid: dict[str, int],
) -> tuple[str, list[dict[str, Any]]]:
    """The nine measures, with the hub's wording, and the warning level."""
    active = set(registered)
    positions = _positions(registered, days, contracts, paid)
    short = sum(1 for p in positions if p[4] in ("UNPAID", "UNDERPAID"))
    due = sum(p[2] or 0 for p in positions)
    missing = active - set(contracts)
    absent = active - {w for w, d in days.items() if d > 0}
    visible = account is not None
    paid_detail = f"{short} workers unpaid or underpaid" if short else "all paid"
    checks: list[tuple[str, bool | None, str]] = [
        ("RIGHTS_NOTICE_BOARD", board, "posted" if board else "no rights-notice board on site"),
        (
            "WAGE_SPECIAL_ACCOUNT",
            account == "active",
            f"account {account}" if account else "no wage special account",
        ),
        (
            "REAL_NAME_REGISTRATION",
            bool(registered),
            f"{len(active)} workers registered" if registered else "no worker registered",
        ),
        (
            "LABOUR_CONTRACTS",
            not missing,
            f"{len(missing)} of {len(active)} workers without a contract",
        ),
        (
            "WAGE_DEPOSIT",
            deposit in ("paid", "exempt"),
            f"deposit {deposit}" if deposit else "no wage deposit",
        ),
        ("PAYMENT_GUARANTEE", guarantee, "provided" if guarantee else "no payment guarantee"),
        (
            "SPECIAL_ACCOUNT_FUNDING",
            allocated >= due if visible else None,
            f"allocated {allocated} fen for {due} fen due" if visible else UNSEEN,
        ),
        (
            "REAL_NAME_ATTENDANCE",
            not absent,
            f"{len(absent)} of {len(active)} registered workers without attendance",
        ),
        ("WAGES_PAID_MONTHLY", not short if visible else None, paid_detail if visible else UNSEEN),
    ]
    level = max((SEVERITY[m] for m, ok, _ in checks if ok is False), default=0)
    measures = [{"measure": m, "satisfied": ok, "detail": detail} for m, ok, detail in checks]
    return LEVELS[level], measures
