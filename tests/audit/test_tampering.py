"""Each kind of tampering, done with plain SQL on the audit database as an insider would,
is caught by `verify` and named with the first record it touched — on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from audit_support import Chain, fresh_chain
from sqlalchemy import Connection, text

from audit.chain import canonical, link

RECORDS = 20  # checkpoints every 5: at 5, 10, 15, 20


@pytest.fixture(params=["sqlite", "postgres"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    with fresh_chain(request.param, tmp_path, "hub_tamper") as built:
        assert built.append(RECORDS) == list(range(1, RECORDS + 1))
        yield built


def _tamper(chain: Chain, change: Callable[[Connection], None]) -> None:
    engine = chain.engine()
    try:
        with engine.begin() as connection:
            change(connection)
    finally:
        engine.dispose()


def _payload(connection: Connection, seq: int) -> dict[str, object]:
    raw = connection.execute(text("SELECT payload FROM audit_record WHERE seq = :s"), {"s": seq})
    return dict(json.loads(raw.scalar_one()))


def _set_payload(connection: Connection, seq: int, content: dict[str, object]) -> None:
    connection.execute(
        text("UPDATE audit_record SET payload = :p WHERE seq = :s"),
        {"p": canonical(content), "s": seq},
    )


def _edit_purpose(connection: Connection) -> None:
    _set_payload(connection, 7, {**_payload(connection, 7), "purpose": "curiosity"})


def _edit_client_column(connection: Connection) -> None:
    connection.execute(text("UPDATE audit_record SET client_id = 'someone-else' WHERE seq = 7"))


def _delete_middle(connection: Connection) -> None:
    connection.execute(text("DELETE FROM audit_entity WHERE seq = 7"))
    connection.execute(text("DELETE FROM audit_record WHERE seq = 7"))


def _delete_tail(connection: Connection) -> None:
    connection.execute(text("DELETE FROM audit_entity WHERE seq > 18"))
    connection.execute(text("DELETE FROM audit_record WHERE seq > 18"))


def _swap(connection: Connection) -> None:
    """Records 7 and 8 trade places, each keeping its own content and hashes."""
    rows = {
        row.seq: row
        for row in connection.execute(
            text("SELECT seq, payload, prev_hash, hash FROM audit_record WHERE seq IN (7, 8)")
        )
    }
    for seq, other in ((7, 8), (8, 7)):
        connection.execute(
            text("UPDATE audit_record SET payload = :p, prev_hash = :v, hash = :h WHERE seq = :s"),
            {"p": rows[other].payload, "v": rows[other].prev_hash, "h": rows[other].hash, "s": seq},
        )


def _insert_forged(connection: Connection) -> None:
    """A forged record slipped in after 7, correctly linked to it; the rest renumbered."""
    for seq in range(RECORDS, 7, -1):
        connection.execute(
            text("UPDATE audit_entity SET seq = :n WHERE seq = :s"), {"n": seq + 1, "s": seq}
        )
        connection.execute(
            text("UPDATE audit_record SET seq = :n WHERE seq = :s"), {"n": seq + 1, "s": seq}
        )
    before = connection.execute(text("SELECT * FROM audit_record WHERE seq = 7")).one()
    forged = {**_payload(connection, 7), "seq": 8, "purpose": "forged", "entities": []}
    payload = canonical(forged)
    connection.execute(
        text(
            "INSERT INTO audit_record (seq, at, request_id, endpoint, client_id, agency, purpose,"
            " outcome, payload, prev_hash, hash) VALUES (8, :at, :r, '/graphql', :c, :a, 'forged',"
            " 'ok', :p, :v, :h)"
        ),
        {
            "at": before.at,
            "r": forged["request_id"],
            "c": forged["client_id"],
            "a": forged["agency"],
            "p": payload,
            "v": before.hash,
            "h": link(before.hash, payload),
        },
    )


def _append_beyond_head(connection: Connection) -> None:
    """A well-linked record added at the end by hand (the head row left alone)."""
    last = connection.execute(
        text("SELECT * FROM audit_record WHERE seq = :s"), {"s": RECORDS}
    ).one()
    payload = canonical({**_payload(connection, RECORDS), "seq": RECORDS + 1})
    connection.execute(
        text(
            "INSERT INTO audit_record (seq, at, request_id, endpoint, client_id, agency, purpose,"
            " outcome, payload, prev_hash, hash) SELECT :n, at, request_id, endpoint, client_id,"
            " agency, purpose, outcome, :p, :v, :h FROM audit_record WHERE seq = :s"
        ),
        {
            "n": RECORDS + 1,
            "p": payload,
            "v": last.hash,
            "h": link(last.hash, payload),
            "s": RECORDS,
        },
    )


def _rewrite_everything(connection: Connection) -> None:
    """Record 3 edited and every later hash, and the head, recomputed: only the signed
    checkpoints can tell."""
    rows = connection.execute(text("SELECT seq, payload FROM audit_record ORDER BY seq")).all()
    prev = "0" * 64
    for row in rows:
        payload = row.payload
        if row.seq == 3:
            payload = canonical({**json.loads(payload), "purpose": "rewritten"})
        digest = link(prev, payload)
        connection.execute(
            text("UPDATE audit_record SET payload = :p, prev_hash = :v, hash = :h WHERE seq = :s"),
            {"p": payload, "v": prev, "h": digest, "s": row.seq},
        )
        prev = digest
    connection.execute(text("UPDATE audit_record SET purpose = 'rewritten' WHERE seq = 3"))
    connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})


def _forge_checkpoint(connection: Connection) -> None:
    connection.execute(
        text("UPDATE audit_checkpoint SET head_hash = :h WHERE seq = 10"), {"h": "f" * 64}
    )


def _unindex_worker(connection: Connection) -> None:
    """Hiding a disclosure from the worker's access report."""
    connection.execute(text("DELETE FROM audit_entity WHERE seq = 12 AND kind = 'Worker'"))


TAMPERING = {
    "edited content": (_edit_purpose, "edited", 7),
    "edited column": (_edit_client_column, "edited", 7),
    "deleted record": (_delete_middle, "deleted", 7),
    "deleted tail": (_delete_tail, "truncated", 19),
    "reordered": (_swap, "reordered", 7),
    "inserted": (_insert_forged, "inserted", 8),
    "appended by hand": (_append_beyond_head, "inserted", 21),
    "rewritten chain": (_rewrite_everything, "edited", 5),
    "forged checkpoint": (_forge_checkpoint, "checkpoint", 10),
    "unindexed worker": (_unindex_worker, "edited", 12),
}


def test_an_untouched_chain_verifies(chain: Chain) -> None:
    report = chain.log().verify()
    assert report.ok, report.summary()
    assert (report.records, report.first_seq, report.last_seq, report.checkpoints) == (20, 1, 20, 4)


@pytest.mark.parametrize("name", TAMPERING)
def test_tampering_is_caught_at_the_first_record_touched(chain: Chain, name: str) -> None:
    change, kind, seq = TAMPERING[name]
    _tamper(chain, change)
    report = chain.log().verify()
    assert report.problem is not None, name
    assert (report.problem.kind, report.problem.seq) == (kind, seq), report.summary()
