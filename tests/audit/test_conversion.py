"""An audit log written as a hash chain (the first revision) is converted in place into
the Merkle tree: every record kept, its links checked on the way, and the converted log
verifies once the writer has signed it. A chain that does not verify is not converted:
tampering is not laundered into a fresh tree."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_support import Chain, chain_settings, entry
from sqlalchemy import text

from audit.format import canonical
from hub.wiring import build_audit_store
from storage import migrate

HASH_CHAIN_REVISION = "378a29cba9e2"


def _old_log(backend: str, tmp_path: Path, records: int) -> Chain:
    """A log at the hash-chain revision, filled as the old writer filled it."""
    settings = chain_settings(backend, tmp_path, "hub_convert")
    store = build_audit_store(settings)
    migrate.upgrade([store], HASH_CHAIN_REVISION)
    engine = store.database.sync_engine()
    prev = "0" * 64
    try:
        with engine.begin() as connection:
            for seq in range(1, records + 1):
                made = entry(datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=seq), seq)
                payload = canonical({**made.content, "seq": seq})
                digest = hashlib.sha256(f"{prev}\n{payload}".encode()).hexdigest()
                connection.execute(
                    text(
                        "INSERT INTO audit_record (seq, at, request_id, endpoint, client_id,"
                        " agency, purpose, outcome, payload, prev_hash, hash) VALUES (:seq, :at,"
                        " :request_id, :endpoint, :client_id, :agency, :purpose, :outcome,"
                        " :payload, :prev, :hash)"
                    ),
                    {
                        **{k: made.content[k] for k in ("request_id", "endpoint", "client_id")},
                        **{k: made.content[k] for k in ("agency", "purpose", "outcome")},
                        "seq": seq,
                        "at": datetime.fromisoformat(made.content["at"]),
                        "payload": payload,
                        "prev": prev,
                        "hash": digest,
                    },
                )
                for kind, key in made.entities:
                    connection.execute(
                        text("INSERT INTO audit_entity (kind, key, seq) VALUES (:k, :v, :s)"),
                        {"k": kind, "v": key, "s": seq},
                    )
                prev = digest
            connection.execute(
                text("UPDATE audit_head SET seq = :n, hash = :h"), {"n": records, "h": prev}
            )
    finally:
        engine.dispose()
    return Chain(store, settings)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_hash_chain_becomes_a_tree_that_verifies(backend: str, tmp_path: Path) -> None:
    chain = _old_log(backend, tmp_path, 7)
    migrate.upgrade([chain.audit])
    chain.append(1)  # the writer signs the converted tree with its first batch
    report = chain.log().verify(views=None)
    assert report.ok, report.summary()
    assert (report.records, report.last_seq, report.checkpoints) == (8, 8, 1)


def test_a_broken_chain_is_not_converted(tmp_path: Path) -> None:
    chain = _old_log("sqlite", tmp_path, 5)
    engine = chain.engine()
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE audit_record SET payload = payload || ' ' WHERE seq = 3")
            )
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError, match="audit record 3 does not verify in the old chain"):
        migrate.upgrade([chain.audit])
