"""The audit database: appending records (group commit, one log across processes) and
reading them back for auditors and data subjects.

Appending: requests hand their record to one writer task per process and wait for it. The
writer takes whatever has queued up (while the process is busy with other requests under
way, after waiting up to `group_wait_seconds` for their records too), opens a
transaction, and claims the next sequence numbers by updating the single head row first —
the row lock (PostgreSQL) or the write lock (SQLite) serialises every writer of every
process, so the log has no gaps or forks — then extends the head's Merkle frontier with
the records' leaves, inserts them with the tree hashes each completed, moves the head,
and signs a checkpoint (a C2SP signed note) when the last is `checkpoint_seconds` old or
`checkpoint_every` records behind. A writer that knows where it left the head moves it
from there in that first statement instead, which changes nothing if another process
moved it since (then it claims). A request is answered only after that commit. When
quiet, the writer signs what the last checkpoint missed; a cosigner (`audit.cosigner`)
takes each new checkpoint to the witnesses. On PostgreSQL a batch is written in one
statement instead, from the head as this process last saw or read it (`audit.appending`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine, Select, bindparam, func, insert, select, update

from audit.appending import (
    FAST_ENTITIES,
    Appended,
    Entry,
    Head,
    PostgresAppender,
    append_batch,
    checkpoint_row,
)
from audit.format import sign_tree_head
from audit.merkle import HASH_SIZE, Frontier, Node, stored_at
from audit.models import (
    AuditCheckpoint,
    AuditCosignature,
    AuditEntity,
    AuditHead,
    AuditRecord,
    AuditTable,
    AuditWitness,
)
from audit.note import Ed25519Signer, Note
from audit.settings import AuditSettings
from kernel.metrics import AUDIT_COMMIT, AUDIT_QUEUE, AUDIT_RECORDS
from storage.database import Database
from storage.keys import KeyFileError, ensure_distinct
from storage.reading import Compiled, CompiledCache, sqlite_locked

record_t = AuditRecord.__table__  # type: ignore[attr-defined]
entity_t = AuditEntity.__table__  # type: ignore[attr-defined]
checkpoint_t = AuditCheckpoint.__table__  # type: ignore[attr-defined]
cosignature_t = AuditCosignature.__table__  # type: ignore[attr-defined]
witness_t = AuditWitness.__table__  # type: ignore[attr-defined]
head_t = AuditHead.__table__  # type: ignore[attr-defined]

HEAD_ID: Final = 1
MAX_BATCH: Final = 500
WITNESS_POLL_SECONDS: Final = 0.02
BUSY_PASS_SECONDS: Final = 0.0001
"""A turn of the event loop that took less had nothing else to run: the records a group
could wait for are not being made (their requests wait for a database or a client)."""
SHARED_SECONDS: Final = 1.0
"""After another process was found to have moved the head, how long this one reads the
head before each write instead of first trying to write from where it left it (where
several processes write all the time, most such tries would find the head moved)."""
HEAD_TRIES: Final = 4
"""One-statement writes a batch tries, each after the head as last read, before it claims
the head under its lock in the locking path instead."""
THREAD_EVERY: Final = 64
"""SQLite: one batch in this many is written on the worker thread even when the event
loop could write it, so the thread's connection checkpoints the write-ahead log (the
loop's own never does: a checkpoint syncs the file to disk)."""

# The writer's statements, built once: building and keying them per batch was a fifth of
# a record's cost (bench: audit on vs off).
_CLAIM = (
    update(head_t)
    .where(head_t.c.id == HEAD_ID)
    .values(seq=head_t.c.seq + bindparam("claimed"))
    .returning(head_t.c.seq, head_t.c.frontier, head_t.c.checkpoint_seq, head_t.c.checkpoint_at)
)
_UNSIGNED = select((head_t.c.seq - head_t.c.checkpoint_seq).label("unsigned")).where(
    head_t.c.id == HEAD_ID
)
_INSERT_RECORDS = insert(record_t)
_INSERT_CHECKPOINT = insert(checkpoint_t)
_MOVE_HEAD = (
    update(head_t).where(head_t.c.id == HEAD_ID).values(frontier=bindparam("moved_frontier"))
)
_MOVE_HEAD_SIGNED = _MOVE_HEAD.values(
    checkpoint_seq=bindparam("moved_checkpoint_seq"),
    checkpoint_at=bindparam("moved_checkpoint_at"),
)
# The head moved in one statement from where this process left it, if it is still there
# (as the one-statement append on PostgreSQL does): no claim to read it back first.
_MOVE_KNOWN = (
    update(head_t)
    .where(
        head_t.c.id == HEAD_ID,
        head_t.c.seq == bindparam("was_seq"),
        head_t.c.frontier == bindparam("was_frontier"),
        head_t.c.checkpoint_seq == bindparam("was_checkpoint_seq"),
    )
    .values(seq=bindparam("moved_seq"), frontier=bindparam("moved_frontier"))
)
_MOVE_KNOWN_SIGNED = _MOVE_KNOWN.values(
    checkpoint_seq=bindparam("moved_checkpoint_seq"),
    checkpoint_at=bindparam("moved_checkpoint_at"),
)

log = logging.getLogger(__name__)

DEFAULT_POLICY: Final = AuditSettings()
TokenKeys = Callable[[], Awaitable[Iterable[Mapping[str, Any]]]]
"""Every token-signing public key (JWKs, retired ones too), to keep the checkpoint key apart."""


class Cosigning(Protocol):
    """What the store runs beside its writer to have checkpoints cosigned
    (`audit.cosigner.Cosigner`)."""

    async def run_forever(self, signed: asyncio.Event, stop: asyncio.Event) -> None: ...

    async def run_once(self) -> object: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class EventFilter:
    client_id: str | None = None
    agency: str | None = None
    purpose: str | None = None
    outcome: str | None = None
    entity: tuple[str, str] | None = None
    """(kind, stored key): an ID number already hashed."""
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, statement: Select[Any]) -> Select[Any]:
        conditions = [
            column == value
            for column, value in (
                (record_t.c.client_id, self.client_id),
                (record_t.c.agency, self.agency),
                (record_t.c.purpose, self.purpose),
                (record_t.c.outcome, self.outcome),
            )
            if value is not None
        ]
        if self.since is not None:
            conditions.append(record_t.c.at >= self.since)
        if self.until is not None:
            conditions.append(record_t.c.at < self.until)
        if self.entity is not None:
            kind, key = self.entity
            conditions.append(
                record_t.c.seq.in_(
                    select(entity_t.c.seq).where(entity_t.c.kind == kind, entity_t.c.key == key)
                )
            )
        return statement.where(*conditions)


class AuditStore:
    name = "audit"
    metadata = AuditTable.metadata
    version_table = "alembic_version_audit"
    migrations = Path(__file__).resolve().parent / "migrations"

    def __init__(
        self,
        database: Database,
        signer: Ed25519Signer,
        policy: AuditSettings = DEFAULT_POLICY,
        cosigner: Cosigning | None = None,
        token_keys: TokenKeys | None = None,
    ) -> None:
        if signer.name != policy.origin:
            raise ValueError(
                f"the checkpoint key is named {signer.name!r}, the log {policy.origin!r}:"
                " a log's key carries its origin"
            )
        self.database = database
        self.policy = policy
        self.signer = signer
        self.cosigner = cosigner
        self._token_keys = token_keys
        self._queue: asyncio.Queue[tuple[Entry, asyncio.Future[int]]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._cosigning: asyncio.Task[None] | None = None
        self._signed: asyncio.Event | None = None
        self._stop_cosigning: asyncio.Event | None = None
        self._writer_sql: _WriterStatements | None = None
        self._loop_writer: sqlite3.Connection | None = None
        self._loop_batches = 0
        """Batches the event loop wrote since the worker thread last wrote one."""
        self._writing: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._head: Head | None = None
        """Where this process last left the head (`audit.appending`)."""
        self._shared_until = 0.0
        """Until then the locking path only: another process was writing too."""
        self.underway = 0
        """Requests whose record is still to come (`audit.middleware`)."""
        self._waiting: asyncio.Timeout | None = None
        """While the writer waits for records (its key checked, nothing queued), the
        timer of its wait: a record may then be written by its own request (`append`),
        which sets the timer again, as the writer's own writes do."""
        self._all_in: asyncio.Future[None] | None = None
        """While a group waits: done once no request is under way any more."""
        self._appender = (
            None
            if database.is_sqlite
            else PostgresAppender(
                database.url.set(drivername="postgresql").render_as_string(hide_password=False),
                policy.write_timeout_seconds,
            )
        )

    def __repr__(self) -> str:
        return f"<AuditStore {self.database!r}>"

    # -- appending ---------------------------------------------------------------------------

    async def append(self, entry: Entry, *, request: bool = False) -> int:
        """Returns the record's sequence number once it is committed; raises if it could
        not be written (the caller then must not answer with data). `request`: a request's
        record, which was counted in `underway` while it was made (`audit.middleware`):
        when no other request is under way and the writer is idle, nothing could join it,
        so the request writes it itself (other callers append in bursts, which the
        writer takes as one group)."""
        if self._writer is None or self._writer.done():
            self._queue = asyncio.Queue()
            self._signed = asyncio.Event()
            self._writer = asyncio.create_task(self._write_forever(self._queue))
            if self.cosigner is not None:
                self._stop_cosigning = asyncio.Event()
                self._cosigning = asyncio.create_task(
                    self.cosigner.run_forever(self._signed, self._stop_cosigning)
                )
        assert self._queue is not None
        if (
            request
            and self._waiting is not None
            and not self.underway
            and self._queue.empty()
            and not self._write_lock().locked()
        ):
            return await self._append_alone(entry)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, done))
        if not self.underway and self._all_in is not None and not self._all_in.done():
            self._all_in.set_result(None)  # the group waits for no one else
        AUDIT_QUEUE.set(self._queue.qsize())
        return await done

    async def _append_alone(self, entry: Entry) -> int:
        """A record no other could join (no request under way, none queued, no write
        under way), written by its own request instead of handed to the writer and
        waited for: the same write, without the queue, two task switches and the
        writer's timer set again (a sixth of the audit's CPU a worker look-up)."""
        first = await self._write_counted([(entry, None)])  # the request hears of a failure
        waiting = self._waiting
        if waiting is not None and not waiting.expired():  # quiet from now on, as after a batch
            waiting.reschedule(asyncio.get_running_loop().time() + self.policy.checkpoint_seconds)
        return first

    async def witnessed(self, seq: int) -> bool:
        """Strict mode: waits until a quorum of witnesses has cosigned a checkpoint covering
        record `seq` — signing one now if the last does not, and waking the cosigner — or
        until the witness deadline passes (False). Polls the database, so a cosignature
        obtained by another hub process counts too."""
        names = self.policy.witness_names()
        quorum = self.policy.quorum()
        if not quorum:
            return True
        deadline = asyncio.get_running_loop().time() + self.policy.witness_timeout_seconds
        statement = select(func.count(func.distinct(cosignature_t.c.witness))).where(
            cosignature_t.c.size >= seq, cosignature_t.c.witness.in_(names)
        )
        await self._write([], force=True)  # a checkpoint covering it, unless there is one
        if self._signed is not None:
            self._signed.set()
        while True:
            if int(await self.database.scalar(statement) or 0) >= quorum:
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(WITNESS_POLL_SECONDS)

    async def close(self) -> None:
        """Stops the writer after what has queued is written, signs what is unsigned and
        offers it to the witnesses once (shutdown)."""
        if self._queue is not None and self._writer is not None:
            await self._queue.join()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            try:
                await self._write([], force=True)
            except Exception as error:
                log.warning("final audit checkpoint failed: %r", error)
        if self._cosigning is not None and self._stop_cosigning and self._signed:
            self._stop_cosigning.set()  # one last round for what was just signed
            self._signed.set()
            try:
                async with asyncio.timeout(2 * self.policy.witness_timeout_seconds + 5):
                    await self._cosigning
            except TimeoutError:
                log.warning("final cosigning round did not finish in time")
            self._cosigning = None
        if self.cosigner is not None:
            await self.cosigner.close()
        self._writer = self._queue = self._signed = self._stop_cosigning = None
        if self._writer_sql is not None:
            self._writer_sql.engine.dispose()
            self._writer_sql = None
        if self._loop_writer is not None:
            self._loop_writer.close()
            self._loop_writer = None
        if self._appender is not None:
            await self._appender.close()
        self._head = None
        await self.database.dispose()

    async def _check_distinct(self) -> None:
        """Refuses to sign with a token-signing key: whoever steals that one (it signs
        every access token, on every hub host) must not also rewrite the audit log."""
        if self._token_keys is None:
            return
        try:
            jwks = list(await self._token_keys())
        except Exception as error:  # checked again by the next process start
            log.warning("token keys unavailable, checkpoint key not compared: %r", error)
            return
        ensure_distinct(self.signer.private_key.public_key(), jwks)

    async def _write_forever(self, queue: asyncio.Queue[tuple[Entry, asyncio.Future[int]]]) -> None:
        try:
            await self._check_distinct()
        except KeyFileError as error:
            log.error("audit log refuses to write: %s", error)
            while True:  # fail closed: every request hears why
                _, done = await queue.get()
                if not done.done():
                    done.set_exception(AuditUnavailable(str(error)))
                queue.task_done()
        while True:
            batch: list[tuple[Entry, asyncio.Future[int]]] = []
            if queue.empty():  # else no timer: records came while the last batch was written
                try:  # not wait_for: on 3.11 it can swallow the cancellation of a shutdown
                    async with asyncio.timeout(self.policy.checkpoint_seconds) as waiting:
                        self._waiting = waiting
                        try:
                            batch.append(await queue.get())
                        finally:
                            self._waiting = None
                except TimeoutError:  # quiet for a while: sign what the last checkpoint missed
                    try:
                        await self._write([])
                    except Exception as error:  # the next batch signs it instead: not fatal
                        log.warning("idle audit checkpoint failed: %r", error)
                    continue
            _take(queue, batch)
            if self.underway and self.policy.group_wait_seconds:
                await self._gather(queue, batch)
            AUDIT_QUEUE.set(queue.qsize())
            try:
                first = await self._write_counted(batch)
            except AuditUnavailable as error:  # every waiting request must hear of it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(AuditUnavailable(str(error)))
            else:
                for offset, (_, done) in enumerate(batch):
                    if not done.done():
                        done.set_result(first + offset)
            finally:
                for _ in batch:
                    queue.task_done()

    async def _gather(
        self, queue: asyncio.Queue[tuple[Entry, asyncio.Future[int]]], batch: list[Any]
    ) -> None:
        """While other requests are under way and the event loop is busy with them, the
        batch waits for their records, `group_wait_seconds` at most: one commit for
        several. A turn of the loop first tells whether it is busy; if not, the batch goes
        at once (waiting would hold its requests and save nothing)."""
        started = time.perf_counter()
        await asyncio.sleep(0)
        _take(queue, batch)
        if not self.underway or time.perf_counter() - started < BUSY_PASS_SECONDS:
            return
        loop = asyncio.get_running_loop()
        self._all_in = all_in = loop.create_future()
        timer = loop.call_later(self.policy.group_wait_seconds, _settle, all_in)
        try:
            await all_in
        finally:
            timer.cancel()
            self._all_in = None
        _take(queue, batch)

    async def _write_counted(
        self, batch: Sequence[tuple[Entry, asyncio.Future[int] | None]]
    ) -> int:
        """`_write` of records, timed and counted; a failure logged and raised as
        `AuditUnavailable` (fail closed: no request is answered without its record)."""
        started = time.perf_counter()
        try:
            first = await self._write(batch)
        except Exception as error:
            log.error("audit write failed for %d records: %r", len(batch), error)
            raise AuditUnavailable(str(error)) from error
        AUDIT_COMMIT.observe(time.perf_counter() - started)
        AUDIT_RECORDS.inc(len(batch))
        return first

    async def _write(
        self, batch: Sequence[tuple[Entry, asyncio.Future[int] | None]], *, force: bool = False
    ) -> int:
        """The batch appended, one write at a time in this process; returns the first
        record's seq. An empty batch signs the unsigned tail, when it is due (or
        `force`d)."""
        entries = [entry for entry, _ in batch]
        async with self._write_lock():
            appended = await self._append_known(entries, force)
            if appended is None:
                appended = await self._append_locked(entries, force)
            if appended is None:
                return 0
            self._head = appended.head
        if appended.checkpoint is not None and self._signed is not None:
            self._signed.set()
        return appended.first

    def _write_lock(self) -> asyncio.Lock:
        """One for the running loop (a store may outlive one: the tests', the CLI's)."""
        loop = asyncio.get_running_loop()
        if self._writing is None or self._writing[0] is not loop:
            self._writing = (loop, asyncio.Lock())
        return self._writing[1]

    async def _append_known(self, batch: list[Entry], force: bool) -> Appended | None:
        """PostgreSQL: the batch in one statement on the event loop, written only if the
        head is still where this process last saw it (`audit.appending`). Where the head
        is unknown or another process moved it lately, it is read first; a batch that
        finds it moved all the same is placed again after the head as it now is, up to
        `HEAD_TRIES` times. None if it was not written that way (then the locking path)."""
        if self._appender is None or not _fits_one_statement(batch):
            return None
        was = self._head if time.monotonic() >= self._shared_until else None
        try:
            for _ in range(HEAD_TRIES):
                if was is None:
                    was = await self._appender.head()
                appended = self._placed(was, batch, force)
                if await self._appender.write(was, appended):
                    return appended
                # another process wrote since: for a while, read the head before writing
                self._shared_until = time.monotonic() + SHARED_SECONDS
                was = None
        except BaseException:
            self._head = None
            raise
        self._head = None
        return None

    def _placed(self, was: Head, batch: list[Entry], force: bool) -> Appended:
        """The batch after `was`, as both paths write it (`audit.appending.append_batch`)."""
        return append_batch(
            was, batch, force=force, policy=self.policy, signer=self.signer, now=datetime.now(UTC)
        )

    async def _append_locked(self, batch: list[Entry], force: bool) -> Appended | None:
        """One transaction on the plain driver (sqlite3, psycopg): through the async
        drivers each statement would cost a thread hop (3.4 ms a record on SQLite), and
        through SQLAlchemy's execution 0.53 ms (SQLite) and 1.27 ms (PostgreSQL) a record,
        most of a small request's cost. On SQLite on the event loop itself when the write
        lock is free (`_write_on_loop`) and the batch is small (`FAST_ENTITIES`, as on
        PostgreSQL: an import's records go to the thread), else in a worker thread that
        waits for the lock. None: nothing was due."""
        if self._writer_sql is None:
            self._writer_sql = _WriterStatements(self.database.sync_engine(kept=True))
        if (
            self.database.is_sqlite
            and self._loop_batches < THREAD_EVERY
            and sum(len(entry.entities) for entry in batch) <= FAST_ENTITIES
        ):
            appended = self._write_on_loop(self._writer_sql, batch, force)
            if not isinstance(appended, _Locked):
                self._loop_batches += 1
                return appended
        self._loop_batches = 0
        return await asyncio.to_thread(self._write_in_thread, self._writer_sql, batch, force)

    def _write_on_loop(
        self, sql: _WriterStatements, batch: list[Entry], force: bool
    ) -> Appended | _Locked | None:
        """The batch written on the event loop, on a sqlite3 connection of the store's own
        that never waits for a lock (`busy_timeout` 0; another process writing: `_LOCKED`,
        for the thread to wait instead) and never syncs to disk: WAL with synchronous
        NORMAL commits without an fsync, and its automatic checkpoints (which sync) are
        off, left to the thread's connection (`THREAD_EVERY`). A small batch's commit is
        then tens of µs of writes to the OS's cache, less than the hop to a thread."""
        connection = self._loop_writer
        if connection is None:
            connection = self._loop_writer = _loop_writer(self.database)
        try:
            connection.execute("BEGIN IMMEDIATE")
            appended = self._write_batch(_Transaction(sql, connection.cursor()), batch, force)
            connection.execute("COMMIT")
        except sqlite3.OperationalError as error:
            connection.rollback()  # nothing begun (BEGIN refused): nothing to roll back
            if sqlite_locked(error):
                # the write lock, or one needed later (without WAL, COMMIT's, while anyone
                # reads): nothing was committed, so the thread writes the batch, waiting
                return _LOCKED
            raise
        except BaseException:
            connection.rollback()
            raise
        return appended

    def _write_in_thread(
        self, sql: _WriterStatements, batch: list[Entry], force: bool
    ) -> Appended | None:
        with sql.transaction() as run:
            return self._write_batch(run, batch, force)

    def _write_batch(self, run: _Transaction, batch: list[Entry], force: bool) -> Appended | None:
        if not batch and not run.returning(_UNSIGNED, {})[0]:
            return None  # nothing to sign: no write
        appended = self._move_known(run, batch, force)
        if appended is None:
            appended = self._move_claimed(run, batch, force)
        run.many(_INSERT_RECORDS, appended.records())
        run.entities(appended.entities())
        if appended.checkpoint is not None:
            run.many(_INSERT_CHECKPOINT, [appended.checkpoint])
        return appended

    def _move_known(self, run: _Transaction, batch: list[Entry], force: bool) -> Appended | None:
        """The batch placed after the head as this process left it, and the head moved
        past it in one statement if it is still there; None (nothing changed) if this
        process does not know the head, or another moved it since. Where one process
        writes, each batch then costs one statement on the head, not a claim read back
        and a move (a tenth of the audit writer's CPU a one-record batch, SQLite)."""
        was = self._head
        if was is None:
            return None
        appended = self._placed(was, batch, force)
        head = appended.head
        moved = {
            "was_seq": was.seq,
            "was_frontier": was.frontier,
            "was_checkpoint_seq": was.checkpoint_seq,
            "moved_seq": head.seq,
            "moved_frontier": head.frontier,
        }
        statement = _MOVE_KNOWN
        if appended.checkpoint is not None:
            moved["moved_checkpoint_seq"] = head.checkpoint_seq
            moved["moved_checkpoint_at"] = head.checkpoint_at
            statement = _MOVE_KNOWN_SIGNED
        return appended if run.changed(statement, moved) else None

    def _move_claimed(self, run: _Transaction, batch: list[Entry], force: bool) -> Appended:
        """The batch placed after the head as claimed under its lock, and the head moved."""
        claimed = run.returning(_CLAIM, {"claimed": len(batch)})
        was = Head(
            claimed.seq - len(batch),
            claimed.frontier,
            claimed.checkpoint_seq,
            claimed.checkpoint_at,
        )
        appended = self._placed(was, batch, force)
        head = appended.head
        if appended.checkpoint is not None:
            run.many(
                _MOVE_HEAD_SIGNED,
                [
                    {
                        "moved_frontier": head.frontier,
                        "moved_checkpoint_seq": head.checkpoint_seq,
                        "moved_checkpoint_at": head.checkpoint_at,
                    }
                ],
            )
        else:
            run.many(_MOVE_HEAD, [{"moved_frontier": head.frontier}])
        return appended

    # -- reading -----------------------------------------------------------------------------

    async def events(self, where: EventFilter, before: int | None, limit: int) -> Sequence[Any]:
        """Newest first, `limit` records with seq below `before`."""
        statement = where.apply(select(record_t.c.seq, record_t.c.payload, record_t.c.tree_hashes))
        if before is not None:
            statement = statement.where(record_t.c.seq < before)
        return await self.database.fetch(statement.order_by(record_t.c.seq.desc()).limit(limit))

    async def count(self, where: EventFilter) -> int:
        return int(
            await self.database.scalar(where.apply(select(func.count()).select_from(record_t)))
        )

    async def check_health(self) -> None:
        """Raise unless the audit database answers and is migrated (its head row exists)."""
        if await self.database.scalar(select(head_t.c.seq).where(head_t.c.id == HEAD_ID)) is None:
            raise AuditUnavailable("the audit head row is missing: run `hub migrate`")


def _settle(waiting: asyncio.Future[None]) -> None:
    if not waiting.done():
        waiting.set_result(None)


def _take(queue: asyncio.Queue[Any], batch: list[Any]) -> None:
    """What has queued, onto the batch, up to `MAX_BATCH`."""
    while not queue.empty() and len(batch) < MAX_BATCH:
        batch.append(queue.get_nowait())


class _Locked:
    """Another connection holds SQLite's write lock."""


_LOCKED: Final = _Locked()


def _loop_writer(database: Database) -> sqlite3.Connection:
    """A sqlite3 connection for writes on the event loop (`AuditStore._write_on_loop`)."""
    connection = sqlite3.connect(
        database.url.database or ":memory:", isolation_level=None, check_same_thread=False
    )
    for pragma in ("busy_timeout=0", "synchronous=NORMAL", "wal_autocheckpoint=0"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


class AuditUnavailable(Exception):
    """The record could not be written; nothing may be disclosed."""


def _fits_one_statement(batch: list[Entry]) -> bool:
    """Records to write, with few enough entities to send as one statement's arrays."""
    return bool(batch) and sum(len(entry.entities) for entry in batch) <= FAST_ENTITIES


class _WriterStatements:
    """The writer's statements compiled once for its database, run on the plain driver of
    a pooled connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._compiled = CompiledCache(engine.dialect)
        self.copies = engine.dialect.name == "postgresql"

    def insert_entities(self, cursor: Any, rows: list[tuple[str, str, int]]) -> None:
        """The entity index rows as they are (plain text and integers, nothing to bind
        per row): COPY on PostgreSQL, one prepared INSERT on SQLite. An import indexes a
        million of them; binding each as a dict took half the audit's time."""
        if not rows:
            return
        if self.copies:
            with cursor.copy(f'COPY {entity_t.name} (kind, "key", seq) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # 32 MiB of pages (SQLite's default is 2): the keyed hashes land all over the
            # index, and half a million of them cost a fifth more CPU with the default
            # (64 MiB, kept by the writer's connection, put an import's peak over 500 MiB).
            cursor.execute("PRAGMA cache_size=-32768")
            cursor.executemany(
                f'INSERT INTO {entity_t.name} (kind, "key", seq) VALUES (?, ?, ?)', rows
            )

    def compiled(self, statement: Any) -> Compiled:
        return self._compiled.get(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        pooled = self.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            assert driver is not None
            yield _Transaction(self, driver.cursor())
            driver.commit()
        except BaseException:
            pooled.rollback()
            raise
        finally:
            pooled.close()


class _Transaction:
    def __init__(self, statements: _WriterStatements, cursor: Any) -> None:
        self._statements = statements
        self._cursor = cursor

    def returning(self, statement: Any, parameters: dict[str, Any]) -> Any:
        """The one row the statement returns (waits for the server)."""
        compiled = self._statements.compiled(statement)
        sql, arguments = compiled.bind(parameters)
        self._cursor.execute(sql, arguments)
        [row] = compiled.rows([self._cursor.fetchone()])
        return row

    def changed(self, statement: Any, parameters: dict[str, Any]) -> int:
        """How many rows the statement changed."""
        sql, arguments = self._statements.compiled(statement).bind(parameters)
        self._cursor.execute(sql, arguments)
        return int(self._cursor.rowcount)

    def entities(self, rows: list[tuple[str, str, int]]) -> None:
        self._statements.insert_entities(self._cursor, rows)

    def many(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        """The statement once per row."""
        if not rows:
            return
        sql, arguments = self._statements.compiled(statement).bind_many(rows)
        self._cursor.executemany(sql, arguments)


def insert_checkpoint(
    connection: Connection, signer: Ed25519Signer, origin: str, frontier: Frontier
) -> Note:
    """Signs the tree head and stores the checkpoint (the operator's, in its own
    transaction, holding the head row)."""
    now = datetime.now(UTC)
    note = sign_tree_head(signer, origin, frontier)
    connection.execute(insert(checkpoint_t).values(**checkpoint_row(frontier, note, now)))
    connection.execute(
        update(head_t)
        .where(head_t.c.id == HEAD_ID)
        .values(checkpoint_seq=frontier.size, checkpoint_at=now)
    )
    return note


class StoredTree:
    """The log's Merkle nodes as stored: each in the row of the record whose append
    completed it, and, below an archive cut, in the anchor frontier (`audit.merkle`)."""

    def __init__(self, connection: Connection, anchor: Frontier) -> None:
        self._connection = connection
        self._anchor = dict(zip(anchor.nodes(), anchor.hashes, strict=True))
        self._cut = anchor.size

    @classmethod
    def of(cls, connection: Connection) -> StoredTree:
        row = connection.execute(
            select(head_t.c.anchor_seq, head_t.c.anchor_frontier).where(head_t.c.id == HEAD_ID)
        ).one()
        return cls(connection, Frontier.deserialize(row.anchor_seq, row.anchor_frontier))

    def read_nodes(self, nodes: Collection[Node]) -> Mapping[Node, bytes]:
        found: dict[Node, bytes] = {}
        wanted: dict[int, list[tuple[Node, int]]] = {}
        for node in nodes:
            if node in self._anchor:
                found[node] = self._anchor[node]
                continue
            leaf, position = stored_at(node)
            if leaf >= self._cut:
                wanted.setdefault(leaf + 1, []).append((node, position))
        if wanted:
            rows = self._connection.execute(
                select(record_t.c.seq, record_t.c.tree_hashes).where(
                    record_t.c.seq.in_(sorted(wanted))
                )
            )
            for row in rows:
                blob = bytes(row.tree_hashes)
                for node, position in wanted[row.seq]:
                    digest = blob[position * HASH_SIZE : (position + 1) * HASH_SIZE]
                    if len(digest) == HASH_SIZE:
                        found[node] = digest
        return found
