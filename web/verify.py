"""Is this PDF one the hub produced, unchanged? The file's SHA-256 is looked up among the
documents audit records name (indexed as entities of kind `PDF`); the record found must
still link into the hash chain (`hub audit verify` checks the whole chain). A file the
hub did not produce, or one changed by a single byte, has a hash no record names; the
request id in its metadata then says which record it claims to come from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from audit.chain import link
from audit.models import AuditEntity, AuditRecord
from audit.record import DOCUMENT_ENTITY
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
    """The record still links into the chain (its hash is its content's)."""
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
                select(record_t.c.seq, record_t.c.payload, record_t.c.prev_hash, record_t.c.hash)
                .where(
                    record_t.c.seq.in_(
                        select(entity_t.c.seq).where(
                            entity_t.c.kind == DOCUMENT_ENTITY, entity_t.c.key == digest
                        )
                    )
                )
                .limit(1)
            ).first()
    finally:
        engine.dispose()
    record = {**json.loads(row.payload), "seq": row.seq} if row else None
    chained = bool(row and link(row.prev_hash, row.payload) == row.hash)
    return PdfCheck(digest, record, chained, claimed_record(content))
