"""What an import leaves in the audit log: who wrote which kinds of data about which
entities. A write record has the shape of a request's record (so the chain, `hub audit
verify`, the auditors' `auditEvents` and the workers' `accessReport` read it unchanged),
with `endpoint` "ingest", the kind of data written as its scope (`ingest:<agency>`, which
an access report shows as e.g. 银行数据报送), and a `write` member naming the table, the
batch, the file's SHA-256 and the row counts. Entity keys are stored as for reads: ID
numbers as keyed hashes (`SubjectHasher.entity_keys`, which the import engine applies as
it stages the rows).

An import about a million workers is about a million entities: they are spread over
records of at most `ENTITIES_PER_RECORD` each (`write.part` counts from 1, the last has
`write.final`), written before the import commits, so no write lands unrecorded.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from audit.record import OK, RECORD_VERSION
from audit.store import Entry

ENDPOINT: Final = "ingest"
ENTITIES_PER_RECORD: Final = 5_000


@dataclass(frozen=True)
class Write:
    """One import as the audit log records it."""

    agency: str
    table: str
    scope: str
    batch_id: int
    sha256: str
    counts: Mapping[str, int]
    client_id: str | None
    purpose: str
    purpose_reference: str | None = None
    channel: str = "cli"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)


def write_entries(write: Write, entities: Iterable[tuple[str, str]]) -> Iterator[Entry]:
    """The records of one import, a bounded number of entities each; `entities` are
    (kind, key as stored), best in key order: each record then covers one stretch of the
    entity index."""
    part = 0
    chunk: list[tuple[str, str]] = []
    for entity in entities:
        chunk.append(entity)
        if len(chunk) >= ENTITIES_PER_RECORD:
            part += 1
            yield _entry(write, chunk, part, final=False)
            chunk = []
    yield _entry(write, chunk, part + 1, final=True)


def _entry(write: Write, entities: list[tuple[str, str]], part: int, *, final: bool) -> Entry:
    stored = sorted(set(entities))
    content: dict[str, Any] = {
        "v": RECORD_VERSION,
        "at": datetime.now(UTC).isoformat(),
        "request_id": write.request_id,
        "endpoint": ENDPOINT,
        "client_id": write.client_id,
        "agency": write.agency,
        "purpose": write.purpose,
        "purpose_reference": write.purpose_reference,
        "operations": [],
        "fields": [],
        "scopes": [write.scope],
        "masked": [],
        "denied": [],
        "entities": stored,  # (kind, key) pairs: JSON arrays, as lists would be
        "outcome": OK,
        "codes": [],
        "status": 200,
        "response_bytes": 0,
        "latency_ms": round((time.perf_counter() - write.started) * 1000, 3),
        "write": {
            "table": write.table,
            "channel": write.channel,
            "batch": write.batch_id,
            "sha256": write.sha256,
            "rows": dict(write.counts),
            "part": part,
            "final": final,
        },
    }
    return Entry(content, stored)
