"""`hub audit verify`: walk the log, recompute its Merkle tree, and name the first record
that was edited, deleted, inserted or reordered — and, with the witnesses, the history
that was rewritten or cut short even by someone holding the log's signing key.

The walk streams (a million records need no more memory than a thousand) and depends
only on the log's format (`audit.format`, `audit.merkle`, `audit.note`). For each record:
no sequence number is missing; the record holds its own number; its leaf hash covers
its content; the tree hashes stored with it are the ones its append completes; its
indexed columns and entity keys agree with its content. At each checkpoint: the log's
signature (by a key in `Trust.log_keys`), the tree head recomputed from the records,
and each stored cosignature by its witness's key. Then the head row must end where the
records end. With the witnesses' own latest views (online, the default): each must
agree with the recomputed tree at its size, and the log must hold at least that many
records — which no one who controls only the hub's database and keys can arrange, and
which deleting the stored cosignatures does not hide.

Outcome: OK; TAMPERED (a contradiction, naming the record or range, and the witness
whose view contradicts it); INCOMPLETE (nothing contradicts, but a witness could not be
asked, or records stayed unwitnessed by a quorum past the grace period).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from audit.format import open_log_checkpoint, record_leaf
from audit.merkle import Frontier
from audit.note import (
    CosignatureVerifier,
    Ed25519Verifier,
    InvalidSignature,
    NoteError,
    Signature,
)

INDEXED_COLUMNS: Final = ("request_id", "endpoint", "client_id", "agency", "purpose", "outcome")
ORPHAN: Final = ("?", "indexed under a missing record")

OK: Final = "ok"
TAMPERED: Final = "tampered"
INCOMPLETE: Final = "incomplete"
EXIT_CODES: Final = {OK: 0, TAMPERED: 1, INCOMPLETE: 2}


@dataclass(frozen=True)
class Problem:
    kind: str
    """edited, deleted, inserted, reordered, truncated, checkpoint, or witness (a
    witness's view or cosignature contradicts the log)"""
    seq: int | None
    """The first record concerned."""
    detail: str
    last: int | None = None
    """The last record of the range concerned, when it is one."""
    witness: str | None = None
    """The witness whose view contradicts the log."""

    def __str__(self) -> str:
        by = f" (witness {self.witness})" if self.witness else ""
        return f"{self.kind}: {self.detail}{by}"


@dataclass(frozen=True)
class RecordRow:
    seq: int
    payload: str
    tree_hashes: bytes | None = None
    """As stored; None in an archive, which keeps payloads only."""
    columns: Mapping[str, Any] | None = None
    """The indexed copies to compare with the payload (live store)."""
    entities: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    note: str
    """The signed note, as the log signed it (in an archive, with cosignature lines)."""
    root: bytes | None = None
    """The row's copy of the root (live store)."""
    cosignatures: tuple[str, ...] = ()
    """Stored cosignature lines (live store)."""


@dataclass(frozen=True)
class Trust:
    """What the verifier believes without the database: the log's name and keys (every
    key it ever used) and the witnesses'."""

    origin: str
    log_keys: tuple[Ed25519Verifier, ...]
    witnesses: tuple[CosignatureVerifier, ...] = ()
    quorum: int = 0
    grace_seconds: float = 60.0


@dataclass(frozen=True)
class WitnessSaw:
    """A witness's own latest view of the log (its fresh cosignature checked), or why
    none could be had."""

    name: str
    size: int = 0
    root: bytes = b""
    error: str | None = None


@dataclass
class Report:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints: int = 0
    cosignatures: int = 0
    problem: Problem | None = None
    incomplete: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    witnessed: dict[str, int] = field(default_factory=dict)
    """Per witness, the largest tree it vouches for (by a view or a stored cosignature)."""

    @property
    def status(self) -> str:
        if self.problem is not None:
            return TAMPERED
        return INCOMPLETE if self.incomplete else OK

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def summary(self) -> str:
        if self.problem:
            where = (
                f"records {self.problem.seq}–{self.problem.last}"
                if self.problem.last is not None and self.problem.last != self.problem.seq
                else f"record {self.problem.seq}"
            )
            lines = [f"TAMPERED at {where}: {self.problem}"]
        else:
            span = f"{self.first_seq}–{self.last_seq}" if self.records else "none"
            seen = ", ".join(f"{name} at {size}" for name, size in sorted(self.witnessed.items()))
            lines = [
                f"{self.status.upper()}: {self.records} records ({span}), {self.checkpoints}"
                f" checkpoints and {self.cosignatures} cosignatures verified"
                + (f"; witnessed: {seen}" if seen else ""),
                *(f"incomplete: {reason}" for reason in self.incomplete),
            ]
        return "\n".join([*lines, *(f"note: {note}" for note in self.notes)])


def _span(first: int, last: int) -> str:
    return f"record {first}" if first == last else f"records {first}–{last}"


def _record_problem(row: RecordRow, expected: int, content: Any) -> Problem | None:
    if row.seq > expected:
        return Problem(
            "deleted", expected, f"{_span(expected, row.seq - 1)} missing before {row.seq}"
        )
    if not isinstance(content, dict):
        return Problem("edited", row.seq, f"record {row.seq} no longer holds a JSON object")
    held = content.get("seq")
    if held != row.seq:
        if held == row.seq - 1:
            return Problem(
                "inserted",
                row.seq - 1,
                f"record {row.seq - 1} was inserted: the records after it moved up by one",
            )
        return Problem("reordered", row.seq, f"record {row.seq} holds record {held}")
    if row.columns is not None:
        for name in INDEXED_COLUMNS:
            if row.columns.get(name) != content.get(name):
                return Problem(
                    "edited", row.seq, f"record {row.seq}'s {name} column differs from its content"
                )
    if row.entities is not None and row.entities != tuple(
        (kind, key) for kind, key in content.get("entities", [])
    ):
        return Problem(
            "edited", row.seq, f"record {row.seq}'s entity index differs from its content"
        )
    return None


def _tree_problem(row: RecordRow, leaf: bytes, completed: tuple[bytes, ...]) -> Problem | None:
    if row.tree_hashes is None:
        return None
    if row.tree_hashes[:32] != leaf:
        return Problem("edited", row.seq, f"record {row.seq}'s content does not match its leaf")
    if row.tree_hashes != b"".join(completed):
        return Problem(
            "edited",
            row.seq,
            f"record {row.seq}'s stored tree hashes disagree with the records before it",
        )
    return None


class _Walk:
    """The state of one walk: the recomputed tree and what each witness vouched for."""

    def __init__(
        self,
        start: Frontier,
        trust: Trust,
        checkpoints: Mapping[int, StoredCheckpoint],
        views: Mapping[str, WitnessSaw] | None,
    ) -> None:
        self.frontier = start
        self.trust = trust
        self.checkpoints = checkpoints
        self.views = views or {}
        self.report = Report()
        self.last_checkpoint = 0
        self.vouched = {w.name: start.size for w in trust.witnesses}
        """Per witness, the last size its cosignature was found valid at (for ranges)."""
        self.keys = {(w.name, w.key_id): w for w in trust.witnesses}
        self.views_at: dict[int, list[WitnessSaw]] = {}
        for view in self.views.values():
            if view.error is None and view.size > start.size:
                self.views_at.setdefault(view.size, []).append(view)
        self.times: dict[int, datetime] = {}
        """When the records after a checkpoint or a view's size were written."""
        self.boundaries = {start.size, *checkpoints, *self.views_at}

    def at_checkpoint(self, stored: StoredCheckpoint) -> Problem | None:
        size, root = stored.size, self.frontier.root()
        try:
            checkpoint, opened = open_log_checkpoint(stored.note, self.trust.log_keys)
        except InvalidSignature:
            return Problem("checkpoint", size, f"checkpoint {size}'s log signature is forged")
        except NoteError as error:
            return Problem("checkpoint", size, f"checkpoint {size} is not the log's: {error}")
        if checkpoint.origin != self.trust.origin or checkpoint.size != size:
            return Problem(
                "checkpoint",
                size,
                f"checkpoint {size} names {checkpoint.origin} at {checkpoint.size}",
            )
        if stored.root is not None and stored.root != checkpoint.root_hash:
            return Problem("checkpoint", size, f"checkpoint {size}'s row differs from its note")
        first = self.last_checkpoint + 1
        if checkpoint.root_hash != root:
            return Problem(
                "edited",
                first,
                f"{_span(first, size)} differ from what the log signed at checkpoint {size}",
                last=size,
            )
        lines = [*stored.cosignatures, *(s.line().removesuffix("\n") for s in opened.unverified)]
        for line in lines:
            problem = self._cosignature(line, opened.note.text.encode(), size)
            if problem:
                return problem
        self.last_checkpoint = size
        self.report.checkpoints += 1
        return None

    def _cosignature(self, line: str, text: bytes, size: int) -> Problem | None:
        try:
            signature = Signature.parse_line(line)
        except NoteError:
            return Problem(
                "checkpoint", size, f"a cosignature line of checkpoint {size} is mangled"
            )
        verifier = self.keys.get((signature.name, signature.key_id))
        if verifier is None:
            self.report.notes.append(
                f"checkpoint {size} carries a cosignature by {signature.name}, not a trusted"
                " witness: ignored"
            )
            return None
        if not verifier.verify(text, signature.signature):
            first = self.vouched[verifier.name] + 1
            return Problem(
                "witness",
                first,
                f"{verifier.name}'s cosignature on checkpoint {size} does not verify: what the "
                f"log now holds up to {size} is not what that witness cosigned",
                last=size,
                witness=verifier.name,
            )
        self.vouched[verifier.name] = max(self.vouched[verifier.name], size)
        self.report.cosignatures += 1
        return None

    def at_views(self, size: int) -> Problem | None:
        """Each witness whose latest view is of this size must agree with the tree."""
        root = self.frontier.root()
        for view in self.views_at.get(size, []):
            if view.root != root:
                first = self.vouched.get(view.name, 0) + 1
                return Problem(
                    "witness",
                    first,
                    f"{view.name} cosigned a tree of {size} records whose root is not the "
                    f"database's: {_span(first, size)} were changed after it saw them",
                    last=size,
                    witness=view.name,
                )
            self.vouched[view.name] = max(self.vouched.get(view.name, 0), size)
        return None


def verify_log(
    rows: Iterable[RecordRow],
    *,
    start: Frontier,
    checkpoints: Mapping[int, StoredCheckpoint],
    trust: Trust,
    views: Mapping[str, WitnessSaw] | None = None,
    head: tuple[int, bytes | None] | None = None,
    now: datetime | None = None,
) -> Report:
    """`start` is the tree the records extend (empty, or an archive cut's frontier);
    `views` the witnesses' own (None: offline); `head` the live head row (size and
    frontier, or None when only the size is known), checked against the last record."""
    walk = _Walk(start, trust, checkpoints, views)
    report = walk.report
    problem = _before_walk(walk, start)
    expected = start.size + 1
    for row in rows if problem is None else ():
        try:
            content = json.loads(row.payload)
        except ValueError:
            content = None
        problem = _record_problem(row, expected, content)
        if problem is None:
            leaf = record_leaf(row.payload)
            walk.frontier, completed = walk.frontier.append(leaf)
            problem = _tree_problem(row, leaf, completed)
        if problem is None and row.seq in checkpoints:
            problem = walk.at_checkpoint(checkpoints[row.seq])
        if problem is None:
            problem = walk.at_views(row.seq)
        if problem is not None:
            break
        if row.seq - 1 in walk.boundaries:
            walk.times[row.seq] = datetime.fromisoformat(content["at"])
        report.records += 1
        report.first_seq = report.first_seq if report.first_seq is not None else row.seq
        report.last_seq = row.seq
        expected = row.seq + 1
    last = expected - 1
    report.problem = problem or _end_problem(walk, last, head)
    if report.problem is None:
        _completeness(walk, last, now or datetime.now(UTC), online=views is not None)
    return report


def _before_walk(walk: _Walk, start: Frontier) -> Problem | None:
    """After an archive cut the log starts at the cut: its checkpoint must vouch for the
    start frontier, and views at or before the cut are compared with it, or noted."""
    if start.size:
        anchor = walk.checkpoints.get(start.size)
        if anchor is None:
            return Problem(
                "checkpoint", start.size, f"no checkpoint vouches for the cut at {start.size}"
            )
        problem = walk.at_checkpoint(anchor)
        if problem is not None:
            return Problem("checkpoint", start.size, f"the cut at {start.size}: {problem.detail}")
        walk.report.checkpoints -= 1  # counted with the records it vouches for, elsewhere
    for view in walk.views.values():
        if view.error is not None:
            continue
        if view.size == start.size and start.size and view.root != start.root():
            return Problem(
                "witness",
                1,
                f"{view.name} cosigned a tree of {view.size} records whose root is not the "
                "archive cut's",
                last=view.size,
                witness=view.name,
            )
        if view.size < start.size:
            walk.report.notes.append(
                f"{view.name} has seen {view.size} records, fewer than were archived"
                f" ({start.size}): its view is not compared"
            )
    return None


def _end_problem(walk: _Walk, last: int, head: tuple[int, bytes | None] | None) -> Problem | None:
    beyond = sorted(view for view in walk.views_at if view > last)
    if beyond:
        view = walk.views_at[beyond[-1]][0]
        return Problem(
            "truncated",
            last + 1,
            f"{view.name} cosigned a tree of {view.size} records, the log ends at {last}: "
            f"{_span(last + 1, view.size)} were removed",
            last=view.size,
            witness=view.name,
        )
    if head is not None and head[0] != last:
        return Problem(
            "truncated",
            last + 1,
            f"{_span(last + 1, head[0])} after record {last} are missing",
            last=head[0],
        )
    if head is not None and head[1] is not None and head[1] != walk.frontier.serialize():
        return Problem("edited", last, f"the head row disagrees with the tree of {last}")
    unsigned = sorted(size for size in walk.checkpoints if size > last)
    if unsigned:
        return Problem(
            "truncated", last + 1, f"checkpoint {unsigned[-1]} names records that are missing"
        )
    return None


def _completeness(walk: _Walk, last: int, now: datetime, *, online: bool) -> None:
    report, trust = walk.report, walk.trust
    report.witnessed = {name: size for name, size in walk.vouched.items() if size}
    if not trust.witnesses:
        message = (
            "no witnesses are configured (HUB_AUDIT_WITNESSES): nothing outside this "
            "database vouches for the log, so a rewrite with its key or the removal of "
            "records at the end cannot be detected"
        )
        (report.incomplete if online else report.notes).append(message)
        return
    for view in walk.views.values():
        if view.error is not None:
            report.incomplete.append(f"witness {view.name} could not be asked: {view.error}")
    if not online:
        report.notes.append(
            "offline: the witnesses were not asked, so the removal of records at the end "
            "cannot be ruled out"
        )
    sizes = sorted(walk.vouched.values(), reverse=True)
    witnessed = sizes[trust.quorum - 1] if 0 < trust.quorum <= len(sizes) else last
    if witnessed >= last:
        return
    since = walk.times.get(witnessed + 1)
    waited = (now - since).total_seconds() if since else float("inf")
    span = _span(witnessed + 1, last)
    if waited > trust.grace_seconds:
        report.incomplete.append(
            f"{span} not cosigned by {trust.quorum} witness(es) after {waited:.0f} s "
            f"(grace {trust.grace_seconds:.0f} s)"
        )
    else:
        report.notes.append(f"{span} await their cosignatures ({waited:.0f} s old)")


def merge_entities(
    rows: Iterator[RecordRow], entity_rows: Iterator[tuple[int, str, str]]
) -> Iterator[RecordRow]:
    """Attaches each record's indexed entity keys (both streams ordered by seq)."""
    pending = next(entity_rows, None)
    for row in rows:
        found: list[tuple[str, str]] = []
        while pending is not None and pending[0] <= row.seq:
            # keys indexed under a record that does not exist show up as a mismatch here
            found.append((pending[1], pending[2]) if pending[0] == row.seq else ORPHAN)
            pending = next(entity_rows, None)
        yield RecordRow(row.seq, row.payload, row.tree_hashes, row.columns, tuple(sorted(found)))
