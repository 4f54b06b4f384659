"""The operator's side of the audit log, run from the command line against the audit
database directly: verify, checkpoint, export, and archive with retention.

An archive (format 2) is a JSON Lines file: a header line, then one line per record
(its seq and payload). The header holds the tree the records extend (the frontier at the
previous cut, and that cut's cosigned checkpoint) and the cosigned checkpoint at the last
record, so the file verifies on its own: fold the records into the start frontier, and
the roots must be the checkpoints', signed by the log and cosigned by a quorum of
witnesses. The cut is made at the largest checkpoint before the date that a quorum
cosigned and that every witness has reached (so each can still be proven consistency
from where it stands); records leave the live store only after their archive was
written, synced and verified, and the live log then starts at the cut's frontier.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Generator, Mapping, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy import Connection, Engine, delete, func, select, update

from audit.format import log_verifier, split_hashes, witness_verifier
from audit.merkle import Frontier
from audit.note import Ed25519Signer, Note
from audit.store import (
    HEAD_ID,
    StoredTree,
    checkpoint_t,
    cosignature_t,
    entity_t,
    head_t,
    insert_checkpoint,
    record_t,
    witness_t,
)
from audit.verify import (
    Problem,
    RecordRow,
    Report,
    StoredCheckpoint,
    Trust,
    WitnessSaw,
    merge_entities,
    verify_log,
)
from audit.witness_client import WitnessEndpoint, WitnessError, latest_views
from storage.database import Database

ARCHIVE_FORMAT: Final = "wage-hub-audit-archive/2"
STREAM_ROWS: Final = 5_000


class ArchiveRefused(Exception):
    """The live log does not verify, or there is no witnessed checkpoint before the date."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _checkpoints(connection: Connection, since: int) -> dict[int, StoredCheckpoint]:
    lines: dict[int, list[str]] = {}
    for row in connection.execute(
        select(cosignature_t.c.size, cosignature_t.c.line)
        .where(cosignature_t.c.size >= since)
        .order_by(cosignature_t.c.size, cosignature_t.c.witness)
    ):
        lines.setdefault(row.size, []).append(row.line)
    rows = connection.execute(select(checkpoint_t).where(checkpoint_t.c.size >= since)).all()
    return {
        row.size: StoredCheckpoint(
            row.size, row.note, bytes(row.root), tuple(lines.get(row.size, ()))
        )
        for row in rows
    }


def _records(connection: Connection, after: int, until: int) -> Generator[RecordRow]:
    statement = (
        select(record_t)
        .where(record_t.c.seq > after, record_t.c.seq <= until)
        .order_by(record_t.c.seq)
    )
    with connection.execution_options(yield_per=STREAM_ROWS).execute(statement) as result:
        for row in result:
            columns = {name: getattr(row, name) for name in row._fields}
            yield RecordRow(row.seq, row.payload, bytes(row.tree_hashes), columns)


def _entities(connection: Connection, after: int, until: int) -> Generator[tuple[int, str, str]]:
    statement = (
        select(entity_t.c.seq, entity_t.c.kind, entity_t.c.key)
        .where(entity_t.c.seq > after, entity_t.c.seq <= until)
        .order_by(entity_t.c.seq, entity_t.c.kind, entity_t.c.key)
    )
    with connection.execution_options(yield_per=STREAM_ROWS).execute(statement) as result:
        for row in result:
            yield (row.seq, row.kind, row.key)


def _with_cosignatures(checkpoint: StoredCheckpoint) -> str:
    """The checkpoint as one note: the log's signature and the witnesses' lines."""
    return checkpoint.note + "".join(f"{line}\n" for line in checkpoint.cosignatures)


class AuditLog:
    """The audit database seen by the operator, and what it trusts besides (`trust`)."""

    def __init__(self, database: Database, trust: Trust) -> None:
        self.database = database
        self.trust = trust

    def _engine(self) -> Engine:
        return self.database.sync_engine()

    def verify(self, views: Mapping[str, WitnessSaw] | None = None) -> Report:
        """The whole live log; `views`, the witnesses' latest, fetched before this call
        (so that an honest log already holds every record a witness saw); None: offline."""
        engine = self._engine()
        try:
            with engine.connect() as connection, connection.begin():
                head = connection.execute(select(head_t).where(head_t.c.id == HEAD_ID)).one()
                start = Frontier.deserialize(head.anchor_seq, head.anchor_frontier)
                checkpoints = _checkpoints(connection, head.anchor_seq)
                # Bounded by the head read above, so records appended meanwhile are not
                # mistaken for strays; closed explicitly, as the walk may stop mid-stream.
                with (
                    closing(_records(connection, head.anchor_seq, head.seq)) as records,
                    closing(_entities(connection, head.anchor_seq, head.seq)) as entities,
                ):
                    report = verify_log(
                        merge_entities(records, entities),
                        start=start,
                        checkpoints=checkpoints,
                        trust=self.trust,
                        views=views,
                        head=(head.seq, bytes(head.frontier)),
                    )
                if report.problem is None:
                    report.problem = _stray_problem(connection)
                return report
        finally:
            engine.dispose()

    def checkpoint(self, signer: Ed25519Signer) -> Note | None:
        """Signs the head now (before a shutdown, or by cron); None if nothing is unsigned."""
        engine = self._engine()
        try:
            with engine.begin() as connection:
                head = connection.execute(
                    update(head_t)
                    .where(head_t.c.id == HEAD_ID)
                    .values(seq=head_t.c.seq)
                    .returning(head_t.c.seq, head_t.c.frontier, head_t.c.checkpoint_seq)
                ).one()
                if head.seq == head.checkpoint_seq:
                    return None
                frontier = Frontier.deserialize(head.seq, bytes(head.frontier))
                return insert_checkpoint(connection, signer, self.trust.origin, frontier)
        finally:
            engine.dispose()

    def witness_states(self) -> list[Any]:
        """The cosigner's view of each witness (`hub audit witnesses`)."""
        engine = self._engine()
        try:
            with engine.connect() as connection:
                return list(connection.execute(select(witness_t).order_by(witness_t.c.name)))
        finally:
            engine.dispose()

    def export(self, out: IO[str], since: datetime | None, until: datetime | None) -> int:
        """Writes the records in [since, until) as JSON Lines; returns how many."""
        statement = select(record_t.c.seq, record_t.c.tree_hashes, record_t.c.payload)
        if since is not None:
            statement = statement.where(record_t.c.at >= since)
        if until is not None:
            statement = statement.where(record_t.c.at < until)
        written = 0
        engine = self._engine()
        try:
            with engine.connect() as connection:
                result = connection.execution_options(yield_per=STREAM_ROWS).execute(
                    statement.order_by(record_t.c.seq)
                )
                for row in result:
                    leaf = split_hashes(bytes(row.tree_hashes))[0]
                    line = {"seq": row.seq, "leaf": leaf.hex(), "payload": json.loads(row.payload)}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    written += 1
        finally:
            engine.dispose()
        return written

    def _cut(self, connection: Connection, before: datetime, after: int) -> int:
        """The largest checkpoint before the date with a quorum of cosignatures, that every
        witness has reached."""
        quorum = self.trust.quorum
        statement = (
            select(checkpoint_t.c.size)
            .join(record_t, record_t.c.seq == checkpoint_t.c.size)
            .where(record_t.c.at < before, checkpoint_t.c.size > after)
        )
        if quorum:
            names = [w.name for w in self.trust.witnesses]
            cosigned = (
                select(func.count())
                .select_from(cosignature_t)
                .where(
                    cosignature_t.c.size == checkpoint_t.c.size,
                    cosignature_t.c.witness.in_(names),
                )
                .scalar_subquery()
            )
            reached = connection.execute(
                select(func.min(func.coalesce(witness_t.c.size, 0))).where(
                    witness_t.c.name.in_(names)
                )
            ).scalar()
            known = connection.execute(
                select(func.count()).select_from(witness_t).where(witness_t.c.name.in_(names))
            ).scalar_one()
            statement = statement.where(cosigned >= quorum)
            if known < len(names) or reached is None:
                reached = 0
            statement = statement.where(checkpoint_t.c.size <= reached)
        cut = connection.execute(statement.order_by(checkpoint_t.c.size.desc()).limit(1)).scalar()
        if cut is None:
            raise ArchiveRefused(
                f"no checkpoint before {before.isoformat()} is cosigned by {quorum} witness(es)"
                " and reached by every witness: run `hub audit witnesses` to see which lags"
                if quorum
                else f"no signed checkpoint before {before.isoformat()}"
            )
        return int(cut)

    def archive(self, before: datetime, path: Path) -> Report:
        """Moves the records up to the cut before `before` into an archive file at `path`."""
        live = self.verify()
        if live.problem is not None:
            raise ArchiveRefused(f"the live log does not verify: {live.summary()}")
        engine = self._engine()
        try:
            with engine.connect() as connection:
                head = connection.execute(select(head_t).where(head_t.c.id == HEAD_ID)).one()
                start = Frontier.deserialize(head.anchor_seq, bytes(head.anchor_frontier))
                cut = self._cut(connection, before, start.size)
                checkpoints = _checkpoints(connection, start.size)
                end_frontier = Frontier.read(cut, StoredTree(connection, start))
            with path.open("w", encoding="utf-8") as out, engine.connect() as connection:
                begins = checkpoints.get(start.size)
                header = {
                    "format": ARCHIVE_FORMAT,
                    "origin": self.trust.origin,
                    "from_seq": start.size + 1,
                    "to_seq": cut,
                    "start_frontier": [_b64(h) for h in start.hashes],
                    "start_checkpoint": _with_cosignatures(begins) if begins else None,
                    "end_checkpoint": _with_cosignatures(checkpoints[cut]),
                    "log_vkeys": [key.vkey() for key in self.trust.log_keys],
                    "witness_vkeys": [w.vkey() for w in self.trust.witnesses],
                    "quorum": self.trust.quorum,
                }
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                for row in _records(connection, start.size, cut):
                    out.write(json.dumps({"seq": row.seq, "payload": row.payload}) + "\n")
                out.flush()
                os.fsync(out.fileno())
            written = verify_archive(path, self.trust)
            if not written.ok:
                raise ArchiveRefused(f"the archive written does not verify: {written.summary()}")
            with engine.begin() as connection:
                connection.execute(delete(entity_t).where(entity_t.c.seq <= cut))
                connection.execute(delete(record_t).where(record_t.c.seq <= cut))
                connection.execute(delete(cosignature_t).where(cosignature_t.c.size < cut))
                connection.execute(delete(checkpoint_t).where(checkpoint_t.c.size < cut))
                connection.execute(
                    update(head_t)
                    .where(head_t.c.id == HEAD_ID)
                    .values(anchor_seq=cut, anchor_frontier=end_frontier.serialize())
                )
            return written
        finally:
            engine.dispose()


async def witness_views(
    witnesses: Sequence[WitnessEndpoint], origin: str, timeout_seconds: float
) -> dict[str, WitnessSaw]:
    """What each witness last cosigned, as `verify` compares it (ask them before reading
    the database, so that an honest log already holds every record they saw)."""
    views = await latest_views(witnesses, origin, timeout_seconds)
    return {
        name: WitnessSaw(name, error=str(view))
        if isinstance(view, WitnessError)
        else WitnessSaw(name, view.checkpoint.size, view.checkpoint.root_hash)
        if view is not None
        else WitnessSaw(name)
        for name, view in views.items()
    }


def _stray_problem(connection: Connection) -> Problem | None:
    """A record beyond the head, compared in one statement (a writer moves the head in the
    transaction that adds its records, so a committed one beyond it was put there)."""
    stray = connection.execute(
        select(func.min(record_t.c.seq)).where(
            record_t.c.seq > select(head_t.c.seq).where(head_t.c.id == HEAD_ID).scalar_subquery()
        )
    ).scalar()
    if stray is None:
        return None
    return Problem("inserted", stray, f"record {stray} lies beyond the log's head")


def archive_trust(header: Mapping[str, Any], trust: Trust | None) -> Trust:
    """The keys an archive is checked with: the operator's, or, on its own, those its
    header names (which proves it consistent, not who signed it)."""
    if trust is not None:
        return trust
    witnesses = tuple(witness_verifier(vkey) for vkey in header["witness_vkeys"])
    return Trust(
        origin=header["origin"],
        log_keys=tuple(log_verifier(vkey) for vkey in header["log_vkeys"]),
        witnesses=witnesses,
        quorum=min(int(header["quorum"]), len(witnesses)),
    )


def verify_archive(path: Path, trust: Trust | None) -> Report:
    """An archive on its own: its records folded into its start frontier must give the
    roots of its checkpoints, which the log signed and a quorum of witnesses cosigned."""
    with path.open(encoding="utf-8") as lines:
        header = json.loads(next(lines))
        if header.get("format") != ARCHIVE_FORMAT:
            raise ValueError(f"{path} is not an audit archive ({ARCHIVE_FORMAT})")
        checked = archive_trust(header, trust)
        start = Frontier(
            header["from_seq"] - 1,
            tuple(base64.b64decode(h) for h in header["start_frontier"]),
        )
        checkpoints = {
            header["to_seq"]: StoredCheckpoint(header["to_seq"], header["end_checkpoint"])
        }
        if header["start_checkpoint"] is not None:
            checkpoints[start.size] = StoredCheckpoint(start.size, header["start_checkpoint"])
        rows = (RecordRow(record["seq"], record["payload"]) for record in map(json.loads, lines))
        report = verify_log(
            rows,
            start=start,
            checkpoints=checkpoints,
            trust=checked,
            head=(header["to_seq"], None),
        )
    report.incomplete.clear()  # an archive's records are behind the cut: witnessed below
    report.notes.clear()
    end = header["to_seq"]
    if report.problem is None and checked.quorum:
        cosigned = sum(1 for size in report.witnessed.values() if size >= end)
        if cosigned < checked.quorum:
            report.problem = Problem(
                "checkpoint",
                end,
                f"checkpoint {end} carries {cosigned} valid cosignature(s), not {checked.quorum}",
            )
    return report
