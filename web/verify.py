"""Is this PDF one the hub produced, unchanged? The file's SHA-256 is looked up among the
documents audit records name (indexed as entities of kind `PDF`); the record found must
still be a leaf of the log's Merkle tree — its leaf hash its content's, and, once a
checkpoint covers it, an inclusion proof from the stored tree to that checkpoint's root
(`hub audit verify` checks the signatures and the witnesses). A file the hub did not
produce, or one changed by a single byte, has a hash no record names; the request id in
its metadata then says which record it claims to come from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from audit.format import record_leaf
from audit.merkle import prove_inclusion, verify_inclusion
from audit.models import AuditEntity, AuditRecord
from audit.record import DOCUMENT_ENTITY
from audit.store import StoredTree, checkpoint_t
from storage.database import Database
from web.pdf import claimed_record

record_t = AuditRecord.__table__  # type: ignore[attr-defined]
entity_t = AuditEntity.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PdfCheck:
    sha256: str
    record: dict[str, Any] | None
    """The audit record that produced the file (its payload, with `seq`), if any."""
    chained: bool
    """The record is still in the log's tree (its leaf is its content's, and it is
    included in the newest checkpoint's tree when one covers it)."""
    claimed_request_id: str | None
    """The request id the file's metadata names."""

    @property
    def genuine(self) -> bool:
        return self.record is not None and self.chained


def check_pdf(database: Database, content: bytes) -> PdfCheck:
    digest = hashlib.sha256(content).hexdigest()
    engine = database.sync_engine()
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(record_t.c.seq, record_t.c.payload, record_t.c.tree_hashes)
                .where(
                    record_t.c.seq.in_(
                        select(entity_t.c.seq).where(
                            entity_t.c.kind == DOCUMENT_ENTITY, entity_t.c.key == digest
                        )
                    )
                )
                .limit(1)
            ).first()
            chained = row is not None and _in_tree(connection, row)
    finally:
        engine.dispose()
    record = {**json.loads(row.payload), "seq": row.seq} if row else None
    return PdfCheck(digest, record, chained, claimed_record(content))


def _in_tree(connection: Connection, row: Any) -> bool:
    leaf = record_leaf(row.payload)
    if bytes(row.tree_hashes[:32]) != leaf:
        return False
    newest = connection.execute(
        select(checkpoint_t.c.size, checkpoint_t.c.root)
        .order_by(checkpoint_t.c.size.desc())
        .limit(1)
    ).first()
    if newest is None or newest.size < row.seq:
        return True  # not checkpointed yet (a second at most): the leaf is all there is
    try:
        proof = prove_inclusion(row.seq - 1, newest.size, StoredTree.of(connection))
    except ValueError:
        return False
    return verify_inclusion(row.seq - 1, newest.size, leaf, proof, bytes(newest.root))
