"""A witness for the audit log (c2sp.org/tlog-witness): it countersigns a checkpoint only
if the log proves the new tree extends the last one it countersigned, so it never signs
two views of history that disagree. It holds its own Ed25519 key and its own state — one
row per log origin with the size and root hash it last cosigned — and shares neither with
the hub; it trusts only the log public keys it is configured with.

`add-checkpoint` request body, and the checks in the order the spec gives them:

    old <size>\\n            the size of the last tree this witness cosigned for the log
    <base64 hash>\\n ...     the consistency proof from that tree to the new one (≤ 63)
    \\n
    <signed checkpoint>

    400 malformed, or old > new size        404 origin not configured
    403 no valid signature by a log key      409 old ≠ the stored size (body: stored size)
    422 the proof does not verify, a different root at the same size, a non-empty
        proof from 0, or an empty tree whose root is not the empty hash

The stored size is checked and moved in one `BEGIN IMMEDIATE` transaction (SQLite's write
lock, across threads and processes) with `synchronous=FULL`, so two requests from the
same old size cannot both succeed, and nothing is answered before it is on disk. Signed
checkpoints that fail a consistency check are kept (table `refused`): evidence that the
log's key signed two views.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from audit.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from audit.note import (
    Checkpoint,
    CosignatureSigner,
    Ed25519Verifier,
    InvalidSignature,
    MalformedKey,
    Note,
    NoteError,
    UnverifiedNote,
    b64decode,
    b64encode,
    open_note,
)
from storage.keys import private_file

MAX_PROOF_LINES: Final = 63
MAX_TREE_SIZE: Final = 2**63 - 1
SIZE_MEDIA_TYPE: Final = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    checkpoint TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    at INTEGER NOT NULL,
    old INTEGER NOT NULL,
    size INTEGER NOT NULL,
    reason TEXT NOT NULL,
    checkpoint TEXT NOT NULL
);
"""

log = logging.getLogger(__name__)


class Refusal(Exception):
    """A request the witness will not cosign: an HTTP status and a text body.

    Refusal
    ├── Malformed        400
    ├── Forbidden        403 (no valid signature by a log key)
    ├── UnknownLog       404 (or nothing cosigned yet, for `latest_checkpoint`)
    ├── Conflict         409 (old is not the stored size; the body is that size)
    └── Inconsistent     422 (the new tree does not extend the cosigned one)
    """

    status = 400
    media_type = "text/plain; charset=utf-8"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.body = reason + "\n"


class Malformed(Refusal):
    status = 400


class Forbidden(Refusal):
    status = 403


class UnknownLog(Refusal):
    status = 404


class Conflict(Refusal):
    status = 409
    media_type = SIZE_MEDIA_TYPE

    def __init__(self, size: int) -> None:
        super().__init__(f"this witness last cosigned a tree of {size}")
        self.size = size
        self.body = f"{size}\n"


class Inconsistent(Refusal):
    status = 422


@dataclass(frozen=True)
class WitnessedLog:
    """A log this witness vouches for: its origin line and the keys that sign for it."""

    origin: str
    keys: tuple[Ed25519Verifier, ...]


@dataclass(frozen=True)
class AddCheckpoint:
    old: int
    proof: tuple[bytes, ...]
    note: Note


def encode_request(old: int, proof: Iterable[bytes], signed_checkpoint: bytes) -> bytes:
    """The `add-checkpoint` body a log sends (the inverse of `parse_request`)."""
    lines = "".join(f"{b64encode(digest)}\n" for digest in proof)
    return f"old {old}\n{lines}\n".encode() + signed_checkpoint


def parse_request(body: bytes) -> AddCheckpoint:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the request is not UTF-8") from None
    head, blank, rest = text.partition("\n\n")
    if not blank:
        raise Malformed("no blank line between the proof and the checkpoint")
    first, *proof_lines = head.split("\n")
    match = _OLD.fullmatch(first)
    if match is None:
        raise Malformed("the first line is `old <size>`, a decimal with no leading zero")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise Malformed(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
    try:
        proof = tuple(b64decode(line) for line in proof_lines)
        note = Note.parse(rest.encode())
    except NoteError as error:
        raise Malformed(str(error)) from None
    if any(len(digest) != HASH_SIZE for digest in proof):
        raise Malformed("each proof line is one base64 SHA-256 hash")
    return AddCheckpoint(int(match.group(1)), proof, note)


class Witness:
    """The witness's logic, on its own SQLite file; thread- and process-safe."""

    def __init__(
        self,
        state: Path,
        signer: CosignatureSigner,
        logs: Iterable[WitnessedLog],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.logs = {witnessed.origin: witnessed for witnessed in logs}
        for witnessed in self.logs.values():
            slots = [(key.name, key.key_id) for key in witnessed.keys]
            if not slots or len(set(slots)) != len(slots):
                raise MalformedKey(f"log {witnessed.origin}: give one or more distinct keys")
        self.state = state
        self._clock = clock
        private_file(state, "witness state")
        connection = self._connect()
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
        finally:
            connection.close()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.state, timeout=30.0, isolation_level=None)
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def latest(self, origin: str) -> tuple[int, bytes]:
        """The size and root hash last cosigned for the log (0 and the empty hash before
        the first)."""
        connection = self._connect()
        try:
            return self._stored(connection, origin)
        finally:
            connection.close()

    @staticmethod
    def _stored(connection: sqlite3.Connection, origin: str) -> tuple[int, bytes]:
        row = connection.execute(
            "SELECT size, root_hash FROM log WHERE origin = ?", (origin,)
        ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else (0, EMPTY_ROOT)

    def add_checkpoint(self, body: bytes) -> str:
        """Checks the request, records the new tree and returns the cosignature line."""
        request = parse_request(body)
        origin = request.note.text.split("\n", 1)[0]
        witnessed = self.logs.get(origin)
        if witnessed is None:
            raise UnknownLog(f"this witness does not witness the log {origin!r}")
        try:
            checkpoint = Checkpoint.parse(request.note.text)
        except NoteError as error:
            raise Malformed(str(error)) from None
        try:
            open_note(request.note, witnessed.keys)
        except UnverifiedNote:
            raise Forbidden(f"no signature by a key of {origin}") from None
        except InvalidSignature as error:
            raise Forbidden(str(error)) from None
        if request.old > checkpoint.size:
            raise Malformed(f"old {request.old} is larger than the new size {checkpoint.size}")
        if checkpoint.size > MAX_TREE_SIZE:
            raise Malformed(f"a tree of {checkpoint.size} is beyond what this witness keeps")
        if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_ROOT:
            raise Inconsistent("an empty tree's root is the hash of the empty string")
        self._record(request, checkpoint)
        body_text = request.note.text.encode()
        return self.signer.sign(body_text, int(self._clock())).line()

    def _record(self, request: AddCheckpoint, checkpoint: Checkpoint) -> None:
        """Compares with the stored tree and moves it, atomically and durably."""
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            size, root = self._stored(connection, checkpoint.origin)
            if request.old != size:
                raise Conflict(size)
            if request.old == 0 and request.proof:
                reason = "the proof from an empty tree is empty"
            elif not verify_consistency(
                size, checkpoint.size, root, checkpoint.root_hash, request.proof
            ):
                reason = (
                    f"a different root for the tree of {size} this witness cosigned"
                    if checkpoint.size == size
                    else f"the proof does not show {checkpoint.size} extends the cosigned {size}"
                )
            else:
                reason = ""
            if reason:
                self._keep_evidence(connection, request, checkpoint, reason)
                raise Inconsistent(reason)
            connection.execute(
                "INSERT INTO log (origin, size, root_hash, checkpoint, cosigned_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size ="
                " excluded.size, root_hash = excluded.root_hash, checkpoint ="
                " excluded.checkpoint, cosigned_at = excluded.cosigned_at",
                (
                    checkpoint.origin,
                    checkpoint.size,
                    checkpoint.root_hash,
                    request.note.serialize().decode(),
                    int(self._clock()),
                ),
            )
            connection.execute("COMMIT")
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            connection.close()

    def _keep_evidence(
        self,
        connection: sqlite3.Connection,
        request: AddCheckpoint,
        checkpoint: Checkpoint,
        reason: str,
    ) -> None:
        log.warning(
            "refused a signed checkpoint of %s at %d (cosigned: %d): %s",
            checkpoint.origin,
            checkpoint.size,
            request.old,
            reason,
        )
        connection.execute(
            "INSERT INTO refused (origin, at, old, size, reason, checkpoint)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                checkpoint.origin,
                int(self._clock()),
                request.old,
                checkpoint.size,
                reason,
                request.note.serialize().decode(),
            ),
        )
        connection.execute("COMMIT")

    def latest_checkpoint(self, origin: str) -> bytes:
        """The last checkpoint cosigned for the log, as the log signed it, with a fresh
        cosignature: "as of now, this is the largest tree I have seen consistent". Not
        part of c2sp.org/tlog-witness (its monitor API is still open): what lets
        `hub audit verify` compare the log with the witness without trusting the log's
        own copy of the cosignatures."""
        if origin not in self.logs:
            raise UnknownLog(f"this witness does not witness the log {origin!r}")
        connection = self._connect()
        try:
            row = connection.execute(
                "SELECT checkpoint FROM log WHERE origin = ?", (origin,)
            ).fetchone()
        finally:
            connection.close()
        if row is None:
            raise UnknownLog(f"this witness has cosigned nothing of {origin!r} yet")
        note = Note.parse(str(row[0]).encode())
        fresh = self.signer.sign(note.text.encode(), int(self._clock()))
        others = [s for s in note.signatures if (s.name, s.key_id) != (fresh.name, fresh.key_id)]
        return Note(note.text, (*others, fresh)).serialize()

    def refused(self, origin: str) -> list[tuple[int, int, str, str]]:
        """The signed checkpoints refused for the log: (old, size, reason, checkpoint)."""
        connection = self._connect()
        try:
            rows = connection.execute(
                "SELECT old, size, reason, checkpoint FROM refused WHERE origin = ? ORDER BY id",
                (origin,),
            ).fetchall()
        finally:
            connection.close()
        return [(int(a), int(b), str(c), str(d)) for a, b, c, d in rows]
