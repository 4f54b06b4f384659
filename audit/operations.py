"""The operator's side of the audit log, run from the command line against the audit
database directly: verify, checkpoint, export, and archive with retention.

An archive is a JSON Lines file: a header line naming the records it holds, the hash the
first one links to, the signed checkpoint at the last one and the public key that signed
it, then one line per record. It verifies on its own (`hub audit verify --archive`);
records leave the live store only after their archive was written, synced and verified,
and the live chain then starts at the cut (the anchor), vouched for by that checkpoint.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Mapping
from contextlib import closing
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final

from joserfc.jwk import OKPKey
from sqlalchemy import Connection, Engine, delete, func, select, update

from audit.chain import Checkpoint, checkpoint_problem
from audit.store import HEAD_ID, checkpoint_t, entity_t, head_t, insert_checkpoint, record_t
from audit.verify import ChainRow, Problem, Report, merge_entities, verify_chain
from storage.database import Database

ARCHIVE_FORMAT: Final = "wage-hub-audit-archive/1"
STREAM_ROWS: Final = 5_000


class ArchiveRefused(Exception):
    """The live chain does not verify, or there is nothing before the date."""


def _checkpoints(connection: Connection, since: int) -> dict[int, Checkpoint]:
    rows = connection.execute(select(checkpoint_t).where(checkpoint_t.c.seq >= since)).all()
    return {row.seq: Checkpoint(**row._mapping) for row in rows}


def _records(connection: Connection, after: int, until: int | None = None) -> Generator[ChainRow]:
    statement = select(record_t).where(record_t.c.seq > after).order_by(record_t.c.seq)
    if until is not None:
        statement = statement.where(record_t.c.seq <= until)
    with connection.execution_options(yield_per=STREAM_ROWS).execute(statement) as result:
        for row in result:
            columns = {name: getattr(row, name) for name in row._fields}
            yield ChainRow(row.seq, row.payload, row.prev_hash, row.hash, columns)


def _entities(connection: Connection, after: int, until: int) -> Generator[tuple[int, str, str]]:
    statement = (
        select(entity_t.c.seq, entity_t.c.kind, entity_t.c.key)
        .where(entity_t.c.seq > after, entity_t.c.seq <= until)
        .order_by(entity_t.c.seq, entity_t.c.kind, entity_t.c.key)
    )
    with connection.execution_options(yield_per=STREAM_ROWS).execute(statement) as result:
        for row in result:
            yield (row.seq, row.kind, row.key)


class AuditLog:
    """The audit database seen by the operator; `keys` are every signing key the hub has
    had (retired ones too: old checkpoints stay verifiable)."""

    def __init__(self, database: Database, keys: Mapping[str, OKPKey]) -> None:
        self.database = database
        self.keys = keys

    def _engine(self) -> Engine:
        return self.database.sync_engine()

    def verify(self) -> Report:
        engine = self._engine()
        try:
            with engine.connect() as connection, connection.begin():
                head = connection.execute(select(head_t).where(head_t.c.id == HEAD_ID)).one()
                checkpoints = _checkpoints(connection, head.anchor_seq)
                if head.anchor_seq:
                    problem = _anchor_problem(
                        checkpoints, head.anchor_seq, head.anchor_hash, self.keys
                    )
                    if problem:
                        return Report(problem=problem)
                # Bounded by the head read above, so records appended meanwhile are not
                # mistaken for strays; closed explicitly, as the walk may stop mid-stream.
                with (
                    closing(_records(connection, head.anchor_seq, head.seq)) as records,
                    closing(_entities(connection, head.anchor_seq, head.seq)) as entities,
                ):
                    report = verify_chain(
                        merge_entities(records, entities),
                        start_seq=head.anchor_seq,
                        start_hash=head.anchor_hash,
                        checkpoints=checkpoints,
                        keys=self.keys,
                        head=(head.seq, head.hash),
                    )
                if report.ok:
                    report.problem = _stray_problem(connection)
                return report
        finally:
            engine.dispose()

    def checkpoint(self, key: OKPKey) -> Checkpoint | None:
        """Signs the head now (before a shutdown, or by cron); None if nothing is unsigned."""
        engine = self._engine()
        try:
            with engine.begin() as connection:
                head = connection.execute(
                    update(head_t)
                    .where(head_t.c.id == HEAD_ID)
                    .values(seq=head_t.c.seq)
                    .returning(head_t.c.seq, head_t.c.hash, head_t.c.checkpoint_seq)
                ).one()
                if head.seq == head.checkpoint_seq:
                    return None
                checkpoint = insert_checkpoint(
                    connection, key, head.seq, head.hash, datetime.now(UTC)
                )
                connection.execute(
                    update(head_t)
                    .where(head_t.c.id == HEAD_ID)
                    .values(checkpoint_seq=head.seq, checkpoint_at=checkpoint.signed_at)
                )
                return checkpoint
        finally:
            engine.dispose()

    def export(self, out: IO[str], since: datetime | None, until: datetime | None) -> int:
        """Writes the records in [since, until) as JSON Lines; returns how many."""
        statement = select(
            record_t.c.seq, record_t.c.prev_hash, record_t.c.hash, record_t.c.payload
        )
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
                    out.write(_line(row.seq, row.prev_hash, row.hash, json.loads(row.payload)))
                    written += 1
        finally:
            engine.dispose()
        return written

    def archive(self, before: datetime, path: Path, key: OKPKey) -> Report:
        """Moves the records older than `before` into an archive file at `path`."""
        engine = self._engine()
        try:
            with engine.connect() as connection:
                cut = connection.execute(
                    select(func.max(record_t.c.seq)).where(record_t.c.at < before)
                ).scalar()
                head = connection.execute(select(head_t).where(head_t.c.id == HEAD_ID)).one()
            if cut is None:
                raise ArchiveRefused(f"no records before {before.isoformat()}")
            live = self.verify()
            if not live.ok:
                raise ArchiveRefused(f"the live chain does not verify: {live.summary()}")
            with engine.begin() as connection:
                checkpoint = _checkpoints(connection, cut).get(cut) or insert_checkpoint(
                    connection, key, cut, _hash_at(connection, cut), datetime.now(UTC)
                )
            with path.open("w", encoding="utf-8") as out, engine.connect() as connection:
                header = {
                    "format": ARCHIVE_FORMAT,
                    "from_seq": head.anchor_seq + 1,
                    "to_seq": cut,
                    "start_hash": head.anchor_hash,
                    "checkpoint": _checkpoint_json(checkpoint),
                    "public_key": self.keys[checkpoint.kid].as_dict(private=False),
                }
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                for row in _records(connection, head.anchor_seq, cut):
                    out.write(_line(row.seq, row.prev_hash, row.hash, row.payload))
                out.flush()
                os.fsync(out.fileno())
            written = verify_archive(path, self.keys)
            if not written.ok:
                raise ArchiveRefused(f"the archive written does not verify: {written.summary()}")
            with engine.begin() as connection:
                connection.execute(delete(entity_t).where(entity_t.c.seq <= cut))
                connection.execute(delete(record_t).where(record_t.c.seq <= cut))
                connection.execute(delete(checkpoint_t).where(checkpoint_t.c.seq < cut))
                connection.execute(
                    update(head_t)
                    .where(head_t.c.id == HEAD_ID)
                    .values(anchor_seq=cut, anchor_hash=checkpoint.head_hash)
                )
            return written
        finally:
            engine.dispose()


def _anchor_problem(
    checkpoints: Mapping[int, Checkpoint], seq: int, digest: str, keys: Mapping[str, OKPKey]
) -> Problem | None:
    """After an archive the chain starts at the cut: a signed checkpoint must vouch for it."""
    anchor = checkpoints.get(seq)
    if anchor is None or anchor.head_hash != digest:
        return Problem("checkpoint", seq, f"no signed checkpoint vouches for the cut at {seq}")
    unsigned = checkpoint_problem(anchor, keys)
    return Problem("checkpoint", seq, unsigned) if unsigned else None


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
    return Problem("inserted", stray, f"record {stray} lies beyond the chain head")


def _hash_at(connection: Connection, seq: int) -> str:
    return str(
        connection.execute(select(record_t.c.hash).where(record_t.c.seq == seq)).scalar_one()
    )


def _checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {**asdict(checkpoint), "signed_at": checkpoint.signed_at.isoformat()}


def _line(seq: int, prev_hash: str, digest: str, payload: Any) -> str:
    record = {"seq": seq, "prev_hash": prev_hash, "hash": digest, "payload": payload}
    return json.dumps(record, ensure_ascii=False) + "\n"


def verify_archive(path: Path, hub_keys: Mapping[str, OKPKey] | None) -> Report:
    """An archive on its own: its chain, and its checkpoint signed by the key it carries —
    which must be one of the hub's keys when those are given."""
    with path.open(encoding="utf-8") as lines:
        header = json.loads(next(lines))
        if header.get("format") != ARCHIVE_FORMAT:
            raise ValueError(f"{path} is not an audit archive ({ARCHIVE_FORMAT})")
        raw = header["checkpoint"]
        checkpoint = Checkpoint(
            raw["seq"],
            raw["head_hash"],
            datetime.fromisoformat(raw["signed_at"]),
            raw["kid"],
            raw["signature"],
        )
        key = OKPKey.import_key(header["public_key"])
        keys = {checkpoint.kid: key} if key.thumbprint() == checkpoint.kid else {}
        if hub_keys is not None and checkpoint.kid not in hub_keys:
            keys = {}
        rows = (
            ChainRow(record["seq"], record["payload"], record["prev_hash"], record["hash"])
            for record in map(json.loads, lines)
        )
        report = verify_chain(
            rows,
            start_seq=header["from_seq"] - 1,
            start_hash=header["start_hash"],
            checkpoints={checkpoint.seq: checkpoint},
            keys=keys,
            head=(header["to_seq"], checkpoint.head_hash),
        )
    return report
