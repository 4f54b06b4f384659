"""`hub audit verify`: walk the chain and the checkpoints, and name the first record that
was edited, deleted, inserted or reordered.

The walk streams (a million records need no more memory than a thousand). It checks, in
order, for each record: no sequence number is missing (deleted); the record holds its own
number (reordered or renumbered); its hash covers its content (edited); it links to the
record before it (inserted, when it links to the one before that); its indexed columns
and entity keys agree with its content (edited). A checkpoint must match the recomputed
chain at its number and carry a valid signature by a hub key: that catches a chain
rewritten end to end. Finally the head row must end where the records end.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from joserfc.jwk import OKPKey

from audit.chain import Checkpoint, checkpoint_problem, link

INDEXED_COLUMNS: Final = ("request_id", "endpoint", "client_id", "agency", "purpose", "outcome")
ORPHAN: Final = ("?", "indexed under a missing record")
RECENT_HASHES: Final = 10_000
"""How far back a moved record is recognised as moved rather than foreign."""


@dataclass(frozen=True)
class Problem:
    kind: str
    """edited, deleted, inserted, reordered, truncated or checkpoint"""
    seq: int | None
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class ChainRow:
    seq: int
    payload: str
    prev_hash: str
    hash: str
    columns: Mapping[str, Any] | None = None
    """The indexed copies to compare with the payload (live store); None in an archive."""
    entities: tuple[tuple[str, str], ...] | None = None


@dataclass
class Report:
    records: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem:
            return f"FAILED at record {self.problem.seq}: {self.problem}"
        span = f"{self.first_seq}–{self.last_seq}" if self.records else "none"
        return f"OK: {self.records} records ({span}), {self.checkpoints} checkpoints verified"


def _row_problem(
    row: ChainRow, expected: int, prev: str, before_prev: str | None, recent: Mapping[str, int]
) -> Problem | None:
    if row.seq > expected:
        missing = f"{expected}" if row.seq == expected + 1 else f"{expected}–{row.seq - 1}"
        return Problem("deleted", expected, f"record {missing} is missing before {row.seq}")
    try:
        content = json.loads(row.payload)
    except ValueError:
        return Problem("edited", row.seq, f"record {row.seq} no longer holds valid JSON")
    if link(row.prev_hash, row.payload) != row.hash:
        return Problem("edited", row.seq, f"record {row.seq}'s content does not match its hash")
    if row.prev_hash != prev or content.get("seq") != row.seq:
        if before_prev is not None and row.prev_hash == before_prev:
            return Problem(
                "inserted", row.seq - 1, f"record {row.seq - 1} was inserted before {row.seq}"
            )
        if content.get("seq") != row.seq or row.prev_hash in recent:
            return Problem(
                "reordered",
                row.seq,
                f"record {row.seq} holds record {content.get('seq')}, moved from elsewhere",
            )
        return Problem(
            "inserted", row.seq, f"record {row.seq} does not follow record {row.seq - 1}"
        )
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


def _checkpoint_problem(
    checkpoint: Checkpoint, row: ChainRow, keys: Mapping[str, OKPKey]
) -> Problem | None:
    unsigned = checkpoint_problem(checkpoint, keys)
    if unsigned:
        return Problem("checkpoint", row.seq, unsigned)
    if checkpoint.head_hash != row.hash:
        return Problem(
            "edited", row.seq, f"the chain up to signed checkpoint {row.seq} was rewritten"
        )
    return None


def verify_chain(
    rows: Iterable[ChainRow],
    *,
    start_seq: int,
    start_hash: str,
    checkpoints: Mapping[int, Checkpoint],
    keys: Mapping[str, OKPKey],
    head: tuple[int, str] | None = None,
) -> Report:
    """`start_*` is where the chain begins (0 and the genesis hash, or an archive cut);
    `head`, the live head row (seq, hash), is checked against the last record."""
    report = Report()
    expected, prev, before_prev = start_seq + 1, start_hash, None
    recent: OrderedDict[str, int] = OrderedDict()
    for row in rows:
        problem = _row_problem(row, expected, prev, before_prev, recent)
        if problem is None and row.seq in checkpoints:
            problem = _checkpoint_problem(checkpoints[row.seq], row, keys)
            report.checkpoints += problem is None
        if problem is not None:
            report.problem = problem
            return report
        report.records += 1
        report.first_seq = report.first_seq if report.first_seq is not None else row.seq
        report.last_seq, report.last_hash = row.seq, row.hash
        before_prev, prev, expected = prev, row.hash, row.seq + 1
        recent[row.hash] = row.seq
        if len(recent) > RECENT_HASHES:
            recent.popitem(last=False)
    last = report.last_seq if report.last_seq is not None else start_seq
    unsigned = sorted(seq for seq in checkpoints if seq > last)
    if head is not None and head[0] != last:
        report.problem = Problem(
            "truncated", last + 1, f"records {last + 1}–{head[0]} after record {last} are missing"
        )
    elif head is not None and head[1] != (report.last_hash or start_hash):
        report.problem = Problem("edited", last, f"the head row disagrees with record {last}")
    elif unsigned:
        report.problem = Problem(
            "truncated", unsigned[0], f"checkpoint {unsigned[0]} names records that are missing"
        )
    return report


def merge_entities(
    rows: Iterator[ChainRow], entity_rows: Iterator[tuple[int, str, str]]
) -> Iterator[ChainRow]:
    """Attaches each record's indexed entity keys (both streams ordered by seq)."""
    pending = next(entity_rows, None)
    for row in rows:
        found: list[tuple[str, str]] = []
        while pending is not None and pending[0] <= row.seq:
            # keys indexed under a record that does not exist show up as a mismatch here
            found.append((pending[1], pending[2]) if pending[0] == row.seq else ORPHAN)
            pending = next(entity_rows, None)
        yield ChainRow(
            row.seq, row.payload, row.prev_hash, row.hash, row.columns, tuple(sorted(found))
        )
