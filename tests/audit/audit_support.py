"""A real audit store on a fresh database (SQLite file or PostgreSQL database), with the
auth store beside it for the signing key, filled through the real writer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from audit.operations import AuditLog
from audit.record import SubjectHasher
from audit.settings import AuditSettings
from audit.store import AuditStore, Entry
from auth.store import AuthStore
from conftest import backend_settings
from hub.wiring import build_audit_store, build_auth_store
from storage import migrate

HASHER = SubjectHasher(b"audit-tests-key-0123456789abcdef")
WORKER = "410183199003150011"


@dataclass
class Chain:
    audit: AuditStore
    auth: AuthStore

    def log(self) -> AuditLog:
        return AuditLog(self.audit.database, self.auth.verification_keys())

    def engine(self) -> Engine:
        return self.audit.database.sync_engine()

    def append(self, count: int, *, start: datetime | None = None) -> list[int]:
        """`count` records, a minute apart from `start`, each disclosing one worker and one
        project, one after another (so checkpoints fall every `every` records)."""
        start = start or datetime(2026, 11, 1, tzinfo=UTC)

        async def run() -> list[int]:
            try:
                return [
                    await self.audit.append(entry(start + timedelta(minutes=i), i))
                    for i in range(count)
                ]
            finally:
                await self.audit.close()
                await self.auth.database.dispose()

        return asyncio.run(run())


def entry(at: datetime, number: int) -> Entry:
    entities = sorted({("Worker", HASHER(WORKER)), ("Project", f"P{number:04d}")})
    content = {
        "v": 1,
        "at": at.isoformat(),
        "request_id": f"{number:032x}",
        "endpoint": "/graphql",
        "client_id": "police-xinmi",
        "agency": "public_security",
        "purpose": "residence-management",
        "purpose_reference": None,
        "operations": [],
        "fields": ["Worker.residences"],
        "scopes": ["worker:residence"],
        "masked": [],
        "denied": [],
        "entities": [list(e) for e in entities],
        "outcome": "ok",
        "codes": [],
        "status": 200,
        "response_bytes": 100,
        "latency_ms": 1.0,
    }
    return Entry(content, entities)


@contextmanager
def fresh_chain(backend: str, tmp: Path, prefix: str, every: int = 5) -> Iterator[Chain]:
    settings = backend_settings(backend, tmp, prefix)
    auth = build_auth_store(settings)
    audit = build_audit_store(settings, auth)
    audit.policy = AuditSettings(checkpoint_every=every, checkpoint_seconds=3600)
    migrate.upgrade([auth, audit])
    auth.ensure_signing_key()
    yield Chain(audit, auth)
