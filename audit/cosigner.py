"""Takes the log's newest checkpoint to each witness with a consistency proof from the
tree the witness last cosigned, and keeps the cosignatures it gets back.

It runs beside the writer in every hub process, woken when a checkpoint is signed (and
once a second otherwise), and never on the request path: a witness that is down only
delays the cosignatures, the log keeps writing. Per witness, one process at a time
talks to it, by a lease in its `audit_witness` row (taken and released in short
transactions, so no database lock or transaction is held across an HTTP call; if two
processes ever overlap, the witness's own check — 409 for a stale size — keeps them
right).

    cosigned          stored in audit_cosignature; the witness's size moves
    409 (behind)      it has another size: prove from there, at once
    409 (ahead)       it cosigned a larger tree than the log's newest checkpoint: ALARM
                      (records were removed or the head rolled back)
    other refusal     ALARM (it will not vouch for this history: a fork, a key mismatch)
    unavailable       retried with exponential backoff, up to a minute apart
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from sqlalchemy import Connection, Engine, select, update

from audit.merkle import Frontier, prove_consistency
from audit.note import Note, Signature, cosignature_time
from audit.store import HEAD_ID, StoredTree, checkpoint_t, cosignature_t, head_t, witness_t
from audit.witness_client import (
    WitnessBehind,
    WitnessEndpoint,
    WitnessError,
    WitnessRefused,
    WitnessUnavailable,
    request_cosignature,
)
from storage.database import Database, KeptEngine, dialect_insert

log = logging.getLogger(__name__)

INTERVAL_SECONDS: Final = 1.0
MAX_BACKOFF_SECONDS: Final = 60.0
ATTEMPTS: Final = 3
"""A 409 names the witness's size; proving from it may meet another process's progress."""

UP_TO_DATE: Final = "up to date"
BUSY: Final = "another process is talking to it"
WAITING: Final = "waiting to retry"


@dataclass(frozen=True)
class _Task:
    old: int
    proof: list[bytes]
    note: Note
    size: int


class Alarm(WitnessError):
    """The witness's view and the log's contradict each other: someone must look."""


def _upsert_ignore(connection: Connection, table: Any, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING, in the dialect's words."""
    insert = dialect_insert(connection.dialect.name, table)
    connection.execute(insert.values(**values).on_conflict_do_nothing())


class Cosigner:
    def __init__(
        self,
        database: Database,
        witnesses: Sequence[WitnessEndpoint],
        *,
        timeout_seconds: float = 5.0,
        interval_seconds: float = INTERVAL_SECONDS,
    ) -> None:
        self.database = database
        self.witnesses = tuple(witnesses)
        self.timeout_seconds = timeout_seconds
        self.interval_seconds = interval_seconds
        self.owner = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lease = timedelta(seconds=max(30.0, 3 * timeout_seconds))
        self._engine = KeptEngine(database)
        self._http: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"<Cosigner {[w.name for w in self.witnesses]}>"

    async def run_forever(self, signed: asyncio.Event, stop: asyncio.Event) -> None:
        """Rounds at once when a checkpoint is signed, else each interval; after `stop` is
        set, one last round (it ends rounds, rather than cancel one mid-request)."""
        while not stop.is_set():
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
            # arrives as the event is set, and the task would never stop
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_seconds):
                    await signed.wait()
            signed.clear()
            try:
                await self.run_once()
            except Exception as error:  # the next round tries again; the log keeps writing
                log.warning("audit cosigning round failed: %r", error)

    async def run_once(self, *, now: bool = False) -> dict[str, str]:
        """One round: each witness offered the newest checkpoint; what came of it. `now`
        skips the backoff of witnesses that failed (an operator's retry)."""
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout_seconds, follow_redirects=False)
        outcomes = await asyncio.gather(*(self._cosign(w, now) for w in self.witnesses))
        return {w.name: outcome for w, outcome in zip(self.witnesses, outcomes, strict=True)}

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._engine.dispose()

    def _sql(self) -> Engine:
        return self._engine.get()

    async def _cosign(self, witness: WitnessEndpoint, now: bool) -> str:
        assert self._http is not None
        for _ in range(ATTEMPTS):
            task = await asyncio.to_thread(self._claim, witness, now)
            if isinstance(task, Alarm):
                return await self._failed(witness, task)
            if isinstance(task, str):
                return task
            try:
                cosignature = await request_cosignature(
                    self._http, witness, task.old, task.proof, task.note
                )
            except WitnessBehind as behind:
                if behind.size > task.size:
                    return await self._failed(
                        witness,
                        Alarm(
                            f"witness {witness.name} has cosigned a tree of {behind.size}"
                            f" records, the log's newest checkpoint has {task.size}: records"
                            " were removed or the head was rolled back"
                        ),
                    )
                await asyncio.to_thread(self._set_size, witness, behind.size)
                continue
            except (WitnessRefused, WitnessUnavailable) as error:
                return await self._failed(witness, error)
            await asyncio.to_thread(self._cosigned, witness, task, cosignature)
            return f"cosigned {task.size}"
        return await self._failed(witness, WitnessUnavailable(f"{witness.name}: no progress"))

    async def _failed(self, witness: WitnessEndpoint, error: WitnessError) -> str:
        if isinstance(error, WitnessUnavailable):
            log.warning("audit witness %s unavailable: %s", witness.name, error)
        else:
            log.error("AUDIT ALARM: %s", error)
        await asyncio.to_thread(self._record_failure, witness, error)
        return f"failed: {error}"

    # -- in a worker thread, each its own short transaction ----------------------------------

    def _claim(self, witness: WitnessEndpoint, skip_backoff: bool) -> _Task | Alarm | str:
        """Takes the witness's lease and reads what to send it, or says why not."""
        now = datetime.now(UTC)
        with self._sql().begin() as connection:
            _upsert_ignore(
                connection, witness_t, {"name": witness.name, "url": witness.url, "failures": 0}
            )
            mine = witness_t.c.name == witness.name
            free = (
                witness_t.c.lease_owner.is_(None)
                | (witness_t.c.lease_until < now)
                | (witness_t.c.lease_owner == self.owner)
            )
            taken = connection.execute(
                update(witness_t)
                .where(mine, free)
                .values(lease_owner=self.owner, lease_until=now + self._lease)
            ).rowcount
            if not taken:
                return BUSY
            state = connection.execute(select(witness_t).where(mine)).one()
            if state.retry_at is not None and state.retry_at > now and not skip_backoff:
                self._release(connection, witness)
                return WAITING
            newest = connection.execute(
                select(checkpoint_t.c.size, checkpoint_t.c.note)
                .order_by(checkpoint_t.c.size.desc())
                .limit(1)
            ).first()
            old = state.size or 0
            if newest is None or (state.size is not None and old == newest.size):
                self._release(connection, witness)
                return UP_TO_DATE
            head = connection.execute(
                select(head_t.c.anchor_seq, head_t.c.anchor_frontier).where(head_t.c.id == HEAD_ID)
            ).one()
            anchor = Frontier.deserialize(head.anchor_seq, head.anchor_frontier)
            if old > newest.size:
                return Alarm(
                    f"witness {witness.name} has cosigned a tree of {old} records, the log's"
                    f" newest checkpoint has {newest.size}: records were removed or the head"
                    " was rolled back"
                )
            if 0 < old < anchor.size:
                return Alarm(
                    f"witness {witness.name} last cosigned a tree of {old} records, before"
                    f" the archive cut at {anchor.size}: no proof can reach it any more"
                )
            proof = prove_consistency(old, newest.size, StoredTree(connection, anchor))
            connection.execute(update(witness_t).where(mine).values(last_attempt_at=now))
            return _Task(old, proof, Note.parse(newest.note.encode()), int(newest.size))

    def _release(self, connection: Connection, witness: WitnessEndpoint) -> None:
        connection.execute(
            update(witness_t)
            .where(witness_t.c.name == witness.name, witness_t.c.lease_owner == self.owner)
            .values(lease_owner=None, lease_until=None)
        )

    def _set_size(self, witness: WitnessEndpoint, size: int) -> None:
        with self._sql().begin() as connection:
            connection.execute(
                update(witness_t).where(witness_t.c.name == witness.name).values(size=size)
            )

    def _cosigned(self, witness: WitnessEndpoint, task: _Task, cosignature: Signature) -> None:
        with self._sql().begin() as connection:
            _upsert_ignore(
                connection,
                cosignature_t,
                {
                    "size": task.size,
                    "witness": witness.name,
                    "key_id": f"{cosignature.key_id:08x}",
                    "cosigned_at": datetime.fromtimestamp(cosignature_time(cosignature), UTC),
                    "line": cosignature.line().removesuffix("\n"),
                },
            )
            connection.execute(
                update(witness_t)
                .where(witness_t.c.name == witness.name)
                .values(size=task.size, failures=0, last_error=None, retry_at=None)
            )
            self._release(connection, witness)

    def _record_failure(self, witness: WitnessEndpoint, error: WitnessError) -> None:
        with self._sql().begin() as connection:
            failures = connection.execute(
                select(witness_t.c.failures).where(witness_t.c.name == witness.name)
            ).scalar_one()
            wait = min(MAX_BACKOFF_SECONDS, self.interval_seconds * 2 ** min(failures, 16))
            connection.execute(
                update(witness_t)
                .where(witness_t.c.name == witness.name)
                .values(
                    failures=failures + 1,
                    last_error=str(error)[:1000],
                    retry_at=datetime.now(UTC) + timedelta(seconds=wait),
                )
            )
            self._release(connection, witness)
