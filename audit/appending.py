"""A batch of records appended to the head it extends: the rows to write and the head
after them, computed the same way whichever path writes them (`audit.store`).

Two paths write a batch. The locking one, on every backend, claims the next sequence
numbers by updating the head row first (the row lock, or SQLite's write lock, serialises
every writer of every process), then writes. On PostgreSQL a batch is instead written by
`PostgresAppender` in one statement on the event loop, which moves the head only if it is
still where this process last saw it and inserts the rows only if it moved — so the log
still has no gaps or forks — and reports whether it did. One round trip and no thread a
batch: through the locking path's five statements in a worker thread, each waiting its
turn for the GIL, the log cost a loaded hub 0.68 ms of CPU a request, now 0.37 (bench:
worker look-ups at 8 clients, PostgreSQL small).

Where several processes write all the time (`hub serve --workers 2`), a batch mostly finds
the head moved by another. The process then reads the head before each write for a while
(`audit.store.SHARED_SECONDS`) and places a batch that still loses the race again after
the head as it now is: two round trips, and the head row locked only for the length of
one statement. Before, such batches went to the locking path, whose row lock stayed held
while its thread waited for the GIL, and the other process waited on the lock meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from audit.format import canonical, record_leaf, sign_tree_head
from audit.merkle import Frontier
from audit.models import AuditCheckpoint, AuditEntity, AuditHead, AuditRecord
from audit.note import Ed25519Signer, Note
from audit.settings import AuditSettings
from audit.verify import INDEXED_COLUMNS
from kernel.deferred import deferred
from storage.reading import abandon_asyncpg

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]
else:
    asyncpg = deferred("asyncpg")  # with the first batch a process writes this way

FAST_ENTITIES: Final = 1_000
"""At most this many entities in a batch written in one statement on the event loop: an
import's batches (thousands of entities a record) go through the locking path's COPY in
a thread, where they do not hold up the requests being served."""


@dataclass(frozen=True)
class Entry:
    """A record waiting for its place in the chain."""

    content: dict[str, Any]
    entities: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Head:
    """The head row's appending state: how many records, the Merkle frontier over them,
    and the last checkpoint."""

    seq: int
    frontier: bytes
    checkpoint_seq: int
    checkpoint_at: datetime
    tree: Frontier | None = field(default=None, compare=False, repr=False)
    """`frontier` unpacked, when this process computed it: the next batch extends it
    without unpacking the row's bytes again."""

    def unpacked(self) -> Frontier:
        return self.tree if self.tree is not None else Frontier.deserialize(self.seq, self.frontier)


@dataclass(frozen=True)
class Appended:
    """A batch as written: its records' payloads and tree hashes, the checkpoint it signs
    (if due) and the head after."""

    first: int
    batch: Sequence[Entry]
    payloads: list[str]
    tree_hashes: list[bytes]
    checkpoint: dict[str, Any] | None
    head: Head

    def records(self) -> list[dict[str, Any]]:
        """The record rows, their indexed columns from each record's content."""
        return [
            {
                "seq": self.first + offset,
                "at": datetime.fromisoformat(entry.content["at"]),
                **{name: entry.content[name] for name in INDEXED_COLUMNS},
                "payload": payload,
                "tree_hashes": tree_hashes,
            }
            for offset, (entry, payload, tree_hashes) in enumerate(
                zip(self.batch, self.payloads, self.tree_hashes, strict=True)
            )
        ]

    def entities(self) -> list[tuple[str, str, int]]:
        """The entity index rows: (kind, key as stored, seq)."""
        return [
            (kind, key, self.first + offset)
            for offset, entry in enumerate(self.batch)
            for kind, key in entry.entities
        ]


def checkpoint_row(frontier: Frontier, note: Note, at: datetime) -> dict[str, Any]:
    return {
        "size": frontier.size,
        "root": frontier.root(),
        "note": note.serialize().decode(),
        "signed_at": at,
    }


def append_batch(
    was: Head,
    batch: Sequence[Entry],
    *,
    force: bool,
    policy: AuditSettings,
    signer: Ed25519Signer,
    now: datetime,
) -> Appended:
    """The batch placed after `was`: each payload holds its own seq, each record row the
    Merkle hashes its leaf completed; a checkpoint is signed when the last is
    `checkpoint_seconds` old or `checkpoint_every` records behind (or `force`d)."""
    first = was.seq + 1
    payloads = [
        canonical({**entry.content, "seq": first + offset}) for offset, entry in enumerate(batch)
    ]
    frontier, completed = was.unpacked().extend(record_leaf(payload) for payload in payloads)
    unsigned = frontier.size - was.checkpoint_seq
    waited = (now - was.checkpoint_at).total_seconds()
    due = unsigned > 0 and (
        force or unsigned >= policy.checkpoint_every or waited >= policy.checkpoint_seconds
    )
    checkpoint = None
    checkpoint_seq, checkpoint_at = was.checkpoint_seq, was.checkpoint_at
    if due:
        checkpoint = checkpoint_row(frontier, sign_tree_head(signer, policy.origin, frontier), now)
        checkpoint_seq, checkpoint_at = frontier.size, now
    head = Head(frontier.size, frontier.serialize(), checkpoint_seq, checkpoint_at, frontier)
    tree_hashes = [b"".join(hashes) for hashes in completed]
    return Appended(first, batch, payloads, tree_hashes, checkpoint, head)


_RECORD_COLUMNS: Final = (
    ("seq", "bigint"),
    ("at", "timestamptz"),
    *((name, "text") for name in INDEXED_COLUMNS),
    ("payload", "text"),
    ("tree_hashes", "bytea"),
)


def _one_statement(signs: bool) -> str:
    """The batch as one statement: the head moves only from where this process left it
    ($3 to $5), and the rows go in only if it moved; returns 1 if it did, else 0."""
    arrays = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(_RECORD_COLUMNS, 6))
    columns = ", ".join(name for name, _ in _RECORD_COLUMNS)
    moved_checkpoint = ", checkpoint_seq = $1, checkpoint_at = $19" if signs else ""
    checkpoint = (
        f", checkpoint AS (INSERT INTO {AuditCheckpoint.__tablename__} (size, root, note,"
        " signed_at) SELECT $1, $20::bytea, $21::text, $19 WHERE EXISTS (SELECT FROM moved))"
        if signs
        else ""
    )
    return (
        f"WITH moved AS (UPDATE {AuditHead.__tablename__} SET seq = $1, frontier = $2"
        f"{moved_checkpoint} WHERE id = 1 AND seq = $3 AND frontier = $4"
        " AND checkpoint_seq = $5 RETURNING 1),"
        f" records AS (INSERT INTO {AuditRecord.__tablename__} ({columns})"
        f" SELECT * FROM unnest({arrays}) WHERE EXISTS (SELECT FROM moved)),"
        f' entities AS (INSERT INTO {AuditEntity.__tablename__} (kind, "key", seq)'
        " SELECT * FROM unnest($16::text[], $17::text[], $18::bigint[])"
        f" WHERE EXISTS (SELECT FROM moved)){checkpoint}"
        " SELECT count(*) FROM moved"
    )


_APPEND: Final = _one_statement(signs=False)
_APPEND_SIGNED: Final = _one_statement(signs=True)


_HEAD: Final = (
    "SELECT seq, frontier, checkpoint_seq, checkpoint_at"
    f" FROM {AuditHead.__tablename__} WHERE id = 1"
)


def _statement(was: Head, appended: Appended) -> tuple[str, list[Any]]:
    """The one statement writing `appended` after `was` (`_one_statement`), and its
    arguments."""
    arguments: list[Any] = [
        appended.head.seq,
        appended.head.frontier,
        was.seq,
        was.frontier,
        was.checkpoint_seq,
    ]
    batch, first = appended.batch, appended.first
    arguments += [  # in `_RECORD_COLUMNS`' order
        list(range(first, first + len(batch))),
        [datetime.fromisoformat(entry.content["at"]) for entry in batch],
        *([entry.content[name] for entry in batch] for name in INDEXED_COLUMNS),
        appended.payloads,
        appended.tree_hashes,
    ]
    entities = appended.entities()
    arguments += [[row[n] for row in entities] for n in range(3)]
    statement = _APPEND
    if (checkpoint := appended.checkpoint) is not None:
        arguments += [checkpoint["signed_at"], checkpoint["root"], checkpoint["note"]]
        statement = _APPEND_SIGNED
    return statement, arguments


class PostgresAppender:
    """Writes a batch in one statement over its own connection, on the event loop."""

    def __init__(self, dsn: str, timeout_seconds: float) -> None:
        self._dsn = dsn
        self._timeout = timeout_seconds
        self._connection: asyncpg.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def write(self, was: Head, appended: Appended) -> bool:
        """Whether the batch was written (committed): False when the head was not at
        `was` any more, and then nothing was. Raises if it is unknown whether it was."""
        statement, arguments = _statement(was, appended)
        try:
            connection = await self._connect()
            moved = await connection.fetchval(statement, *arguments, timeout=self._timeout)
        except BaseException:
            self.abandon()  # the statement may or may not have committed: start afresh
            raise
        return bool(moved)

    async def head(self) -> Head:
        """The head as last committed (no lock: the write checks it is still there)."""
        try:
            connection = await self._connect()
            row = await connection.fetchrow(_HEAD, timeout=self._timeout)
        except BaseException:
            self.abandon()
            raise
        return Head(*row)

    async def _connect(self) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is not None and (self._loop is not loop or connection.is_closed()):
            self.abandon()
        if self._connection is None:
            self._connection = await asyncpg.connect(self._dsn, timeout=self._timeout)
            self._loop = loop
        return self._connection

    def abandon(self) -> None:
        connection, self._connection, self._loop = self._connection, None, None
        if connection is not None:
            abandon_asyncpg(connection)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            if self._loop is asyncio.get_running_loop():
                await connection.close(timeout=5)
            else:
                abandon_asyncpg(connection)
        self._loop = None
