"""The locking path moves the head from where this process left it in one statement
(`AuditStore._move_known`), and claims it under its lock only when it does not know it
or another process moved it since: the rows are those the claim writes, and writers
taking turns leave no gap, fork or record twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import Chain, entry, fresh_chain

from audit.store import AuditStore
from hub.wiring import build_audit_store

START = datetime(2026, 11, 1, tzinfo=UTC)
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
def claims(monkeypatch: pytest.MonkeyPatch) -> list[AuditStore]:
    """The store of each batch that claimed the head under its lock."""
    claimed: list[AuditStore] = []
    claim = AuditStore._move_claimed

    def counted(self: AuditStore, *args: Any) -> Any:
        claimed.append(self)
        return claim(self, *args)

    monkeypatch.setattr(AuditStore, "_move_claimed", counted)
    return claimed


def _locking(store: AuditStore) -> AuditStore:
    store._appender = None  # PostgreSQL: the locking path, not the one statement
    return store


def _rows(chain: Chain) -> dict[str, list[Any]]:
    return chain.rows(
        {
            "records": "SELECT seq, payload, tree_hashes FROM audit_record ORDER BY seq",
            "entities": "SELECT * FROM audit_entity ORDER BY seq, kind, key",
            "head": "SELECT seq, frontier, checkpoint_seq FROM audit_head",
            "checkpoints": "SELECT size, root FROM audit_checkpoint ORDER BY size",
        }
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lone_writer_claims_once_and_writes_what_claiming_writes(
    backend: str, tmp_path: Path, claims: list[AuditStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_chain(backend, tmp_path / "known", "hub_head_known") as known:
        _locking(known.audit)
        assert known.append(12) == list(range(1, 13))
        assert claims == [known.audit]  # the first batch: the head not yet known
        report = known.verify(offline=True)
        assert report.ok, report.summary()
        assert report.checkpoints >= 2
        written = _rows(known)
    monkeypatch.setattr(AuditStore, "_move_known", lambda *_: None)
    with fresh_chain(backend, tmp_path / "claimed", "hub_head_claimed") as claimed:
        _locking(claimed.audit)
        assert claimed.append(12) == list(range(1, 13))
        assert _rows(claimed) == written


@pytest.mark.parametrize("backend", BACKENDS)
def test_writers_taking_turns_claim_the_head_the_other_moved(
    backend: str, tmp_path: Path, claims: list[AuditStore]
) -> None:
    """Two processes' stores on one log, each writing after the other: every batch finds
    the head moved since its store last left it, changes nothing with its one statement,
    and is placed after the head as claimed."""
    with fresh_chain(backend, tmp_path, "hub_head_turns") as chain:
        one, other = _locking(chain.audit), _locking(build_audit_store(chain.settings))

        async def turns() -> list[int]:
            try:
                return [
                    await (one if n % 2 else other).append(entry(START + timedelta(minutes=n), n))
                    for n in range(8)
                ]
            finally:
                await other.close()
                await one.close()

        assert asyncio.run(turns()) == list(range(1, 9))
        assert claims[:8] == [other, one] * 4
        records = _rows(chain)["records"]
        assert [row[0] for row in records] == list(range(1, 9))
        report = chain.verify(offline=True)
        assert report.ok, report.summary()
