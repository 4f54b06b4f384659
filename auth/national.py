"""The national platform interface's side of the auth database: who may submit (appid and
sealed appsecret, per agency), which nonces each has used, and the queue of accepted
write calls with their answers.

Why the queue is here: the interface is asynchronous (a call is answered with a
`requestSerialCode` at once and run later), so an accepted call must outlive the process
that accepted it. The auth database is one every hub process already shares, on SQLite
and PostgreSQL alike; a call is claimed for a lease (`claim`), so a process killed while
running one leaves it to be claimed again once the lease lapses, and the imports it runs
are upserts, so running it again completes it.

Sync methods serve the command line and the worker thread; async ones the request path.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from auth.errors import RegistryError
from auth.models import NationalCall, NationalNonce, NationalSubmitter
from auth.sealing import KeySealer, KeySealingError
from storage.database import Database, KeptEngine

submitter_t = NationalSubmitter.__table__  # type: ignore[attr-defined]
nonce_t = NationalNonce.__table__  # type: ignore[attr-defined]
call_t = NationalCall.__table__  # type: ignore[attr-defined]

PENDING: Final = "pending"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
APPID_DIGITS: Final = 16
SECRET_HEX_BYTES: Final = 16
"""32 hex characters: the AES-256 key the uploader encrypts ID and card numbers with."""


class UnknownSubmitter(RegistryError):
    """No submitter with that appid."""


@dataclass(frozen=True)
class Submitter:
    appid: str
    agency: str
    title: str
    created_at: datetime
    revoked_at: datetime | None
    secret: str = field(repr=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class QueuedCall:
    serial: str
    appid: str
    method: str
    data: str
    attempts: int


def _now() -> datetime:
    return datetime.now(UTC)


def _claim_statements(run: bool) -> tuple[Any, Any]:
    """The claim's reads (`NationalRegistry.claim`), built once: the submitters a live
    lease holds, and each submitter's oldest unfinished call, oldest first; with `run`,
    the calls in the `run` parameter count as finished."""
    unfinished = call_t.c.state.in_((PENDING, RUNNING))
    if run:
        unfinished = unfinished & call_t.c.serial.not_in(bindparam("run", expanding=True))
    busy = select(call_t.c.appid).where(
        call_t.c.state == RUNNING,
        call_t.c.lease_until >= bindparam("now"),
        *([call_t.c.serial.not_in(bindparam("run", expanding=True))] if run else []),
    )
    first = (
        select(call_t.c.appid, func.min(call_t.c.received_at).label("first"))
        .where(unfinished)
        .group_by(call_t.c.appid)
        .subquery()
    )
    oldest = (
        select(call_t.c.serial, call_t.c.appid, call_t.c.state, call_t.c.attempts)
        .join(first, (first.c.appid == call_t.c.appid) & (first.c.first == call_t.c.received_at))
        .where(unfinished)
        .order_by(call_t.c.received_at, call_t.c.serial)
        .limit(256)
    )
    return busy, oldest


_CLAIM_STATEMENTS: Final = {run: _claim_statements(run) for run in (False, True)}
_CLAIM: Final = (
    update(call_t)
    .where(
        call_t.c.serial == bindparam("was_serial"),
        call_t.c.state == bindparam("was_state"),
        call_t.c.attempts == bindparam("was_attempts"),
        (call_t.c.state == PENDING) | (call_t.c.lease_until < bindparam("now")),
    )
    .values(state=RUNNING, lease_until=bindparam("lease"), attempts=bindparam("attempt"))
    .returning(call_t.c.serial, call_t.c.appid, call_t.c.method, call_t.c.data)
)
"""The call leased if it is still as read (another process may have claimed it since) and
no live lease holds it: the claim's reads are two statements, so a call another process
claimed between them is read as running, with the attempts it now has, and only its lease
tells that its runner is alive."""


class NationalRegistry:
    """Submitters, nonces and queued calls, in the auth store's database."""

    def __init__(
        self, database: Database, sealer: KeySealer | None, *, cache_seconds: float = 5.0
    ) -> None:
        self.database = database
        self._sealer = sealer
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Submitter | None]] = {}
        self._engine = KeptEngine(database)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._engine.get().begin() as connection:
            yield connection

    def close(self) -> None:
        self._engine.dispose()

    def _sealer_or_fail(self) -> KeySealer:
        if self._sealer is None:
            raise KeySealingError(
                "this process has no key-encryption key (HUB_TOKEN_KEK_FILE) to seal appsecrets"
            )
        return self._sealer

    def _submitter(self, row: Any) -> Submitter:
        return Submitter(
            appid=row.appid,
            agency=row.agency,
            title=row.title,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            secret=self._sealer_or_fail().open_text(row.appid, row.sealed_secret),
        )

    # -- submitters, for the command line ------------------------------------------------

    def add_submitter(self, agency: str, title: str = "") -> tuple[str, str]:
        """A new appid and appsecret for `agency`; the secret is shown once by the caller
        and kept sealed (it is the uploader's AES key, so it is not only hashed)."""
        if not agency.strip():
            raise RegistryError("a submitter needs an agency")
        sealer = self._sealer_or_fail()
        secret = secrets.token_hex(SECRET_HEX_BYTES)
        with self._transaction() as connection:
            while True:
                appid = str(
                    secrets.randbelow(9 * 10 ** (APPID_DIGITS - 1)) + 10 ** (APPID_DIGITS - 1)
                )
                if not connection.execute(
                    select(submitter_t.c.appid).filter_by(appid=appid)
                ).first():
                    break
            connection.execute(
                insert(submitter_t).values(
                    appid=appid,
                    agency=agency,
                    title=title or agency,
                    sealed_secret=sealer.seal_text(appid, secret),
                    created_at=_now(),
                )
            )
        return appid, secret

    def submitters(self) -> list[Submitter]:
        with self._transaction() as connection:
            rows = connection.execute(select(submitter_t).order_by(submitter_t.c.appid)).all()
        return [self._submitter(row) for row in rows]

    def revoke(self, appid: str) -> None:
        """Calls with this appid are refused from now on (within the cache's seconds)."""
        with self._transaction() as connection:
            result = connection.execute(
                update(submitter_t).where(submitter_t.c.appid == appid).values(revoked_at=_now())
            )
            if result.rowcount == 0:
                raise UnknownSubmitter(appid)

    def submitter_now(self, appid: str) -> Submitter | None:
        """The submitter read now (the worker, which decrypts a queued call's fields)."""
        with self._transaction() as connection:
            row = connection.execute(select(submitter_t).filter_by(appid=appid)).first()
        return self._submitter(row) if row else None

    # -- the request path ------------------------------------------------------------------

    async def submitter(self, appid: str) -> Submitter | None:
        """The submitter, revoked or not, from a cache of a few seconds."""
        now = time.monotonic()
        cached = self._cache.get(appid)
        if cached and now - cached[0] < self._cache_seconds:
            return cached[1]
        rows = await self.database.fetch(select(submitter_t).filter_by(appid=appid).limit(1))
        found = self._submitter(rows[0]) if rows else None
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[appid] = (now, found)
        return found

    async def use_nonce(self, appid: str, nonce: str, timestamp: str) -> bool:
        """Records the nonce; False when this appid already used it with this timestamp
        (a replay). Old nonces go in the runner's hourly pass (`forget_nonces`), not here
        on every call."""
        try:
            async with self.database.engine.begin() as connection:
                await connection.execute(
                    insert(nonce_t).values(
                        appid=appid, nonce=nonce, timestamp=timestamp, seen_at=_now()
                    )
                )
        except IntegrityError:
            return False
        return True

    async def enqueue(self, serial: str, appid: str, method: str, data: str) -> None:
        async with self.database.engine.begin() as connection:
            await connection.execute(
                insert(call_t).values(
                    serial=serial,
                    appid=appid,
                    method=method,
                    data=data,
                    state=PENDING,
                    received_at=_now(),
                    attempts=0,
                )
            )

    async def answer(self, serial: str, appid: str) -> tuple[str, dict[str, Any] | None] | None:
        """(state, result) of a call this appid made; None when it made none by that code."""
        rows = await self.database.fetch(
            select(call_t.c.state, call_t.c.result)
            .where(call_t.c.serial == serial, call_t.c.appid == appid)
            .limit(1)
        )
        if not rows:
            return None
        state, result = rows[0].state, rows[0].result
        return str(state), json.loads(result) if result else None

    # -- the worker ------------------------------------------------------------------------

    def claim(self, lease: timedelta, run: Collection[str] = ()) -> QueuedCall | None:
        """The oldest call waiting, or whose runner's lease lapsed (a killed process),
        leased to this runner; None when there is none. A submitter's calls run one at a
        time in the order they were accepted, whichever processes run them (an entry must
        not overtake the roster it needs): a call is claimed only when it is its
        submitter's oldest unfinished one and no live lease holds another of its calls.
        `run`: calls this runner has run to their end (their imports committed) and still
        leases while it holds their answers; they count as finished for it (for other
        processes they are running). Safe between processes: the claim is a conditional
        update."""
        now = _now()
        parameters: dict[str, Any] = {"now": now, "run": list(run)}
        busy_statement, first_statement = _CLAIM_STATEMENTS[bool(run)]
        with self._transaction() as connection:
            busy = set(connection.execute(busy_statement, parameters).scalars())
            rows = connection.execute(first_statement, parameters).all()
            seen: set[str] = set()
            for serial, appid, state, attempts in rows:
                if appid in busy or appid in seen:
                    seen.add(appid)
                    continue
                seen.add(appid)
                claimed = connection.execute(
                    _CLAIM,
                    {"was_serial": serial, "was_state": state, "was_attempts": attempts,
                     "now": now, "lease": now + lease, "attempt": attempts + 1},
                ).first()  # fmt: skip
                if claimed is not None:
                    return QueuedCall(
                        claimed.serial, claimed.appid, claimed.method, claimed.data, attempts + 1
                    )
        return None

    def renew(self, serial: str, lease: timedelta) -> None:
        with self._transaction() as connection:
            connection.execute(
                update(call_t)
                .where(call_t.c.serial == serial, call_t.c.state == RUNNING)
                .values(lease_until=_now() + lease)
            )

    def finish(self, serial: str, state: str, result: dict[str, Any]) -> None:
        """The call's answer; its data (names, encrypted ID and card numbers) is dropped:
        it lives on in the agency's tables, or was refused, and the queue keeps no copy."""
        with self._transaction() as connection:
            connection.execute(
                update(call_t)
                .where(call_t.c.serial == serial)
                .values(
                    state=state,
                    finished_at=_now(),
                    lease_until=None,
                    data="",
                    result=json.dumps(result, ensure_ascii=False),
                )
            )

    def forget_answers(self, older_than: timedelta) -> int:
        """Drops the answers of calls finished longer ago than `older_than` (an uploader
        polls within minutes; the batches and audit records stay); returns how many."""
        with self._transaction() as connection:
            result = connection.execute(
                delete(call_t).where(
                    call_t.c.state.in_((DONE, FAILED)),
                    call_t.c.finished_at < _now() - older_than,
                )
            )
        return int(result.rowcount or 0)

    def forget_nonces(self, older_than: timedelta) -> int:
        """Drops nonces seen longer ago than `older_than` (twice the timestamp tolerance:
        a call that old is refused by its timestamp); returns how many."""
        with self._transaction() as connection:
            result = connection.execute(
                delete(nonce_t).where(nonce_t.c.seen_at < _now() - older_than)
            )
        return int(result.rowcount or 0)

    def call_state(self, serial: str) -> str | None:
        with self._transaction() as connection:
            row = connection.execute(select(call_t.c.state).filter_by(serial=serial)).first()
        return row[0] if row else None
