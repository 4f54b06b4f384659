"""Each kind of tampering, done with plain SQL on the audit database as an insider would
(without the log's key: see test_witnessed_attacks.py for an insider who has it), is
caught by `verify` — even offline — and named with the first record it touched, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_support import (
    Chain,
    copied_chain,
    fresh_chain,
    payload,
    retree,
    set_payload,
    tamper,
)
from sqlalchemy import Connection, text

from audit.format import canonical, record_leaf

RECORDS = 20  # checkpoints every 5: at 5, 10, 15, 20


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def untouched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chain]:
    """The log of RECORDS records, made once a backend; each test tampers with a copy."""
    tmp = tmp_path_factory.mktemp(request.param)
    with fresh_chain(request.param, tmp, "hub_tamper_untouched") as built:
        assert built.append(RECORDS) == list(range(1, RECORDS + 1))
        yield built


@pytest.fixture
def chain(untouched: Chain, tmp_path: Path) -> Iterator[Chain]:
    with copied_chain(untouched, tmp_path, "hub_tamper") as copy:
        yield copy


def _edit_purpose(connection: Connection) -> None:
    set_payload(connection, 7, {**payload(connection, 7), "purpose": "curiosity"})


def _edit_purpose_and_leaf(connection: Connection) -> None:
    """The record, its column and its own leaf hash changed, the tree above left alone."""
    _edit_purpose(connection)
    connection.execute(text("UPDATE audit_record SET purpose = 'curiosity' WHERE seq = 7"))
    new = connection.execute(text("SELECT payload, tree_hashes FROM audit_record WHERE seq = 7"))
    row = new.one()
    connection.execute(
        text("UPDATE audit_record SET tree_hashes = :h WHERE seq = 7"),
        {"h": record_leaf(row.payload) + bytes(row.tree_hashes)[32:]},
    )


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
            text("SELECT seq, payload, tree_hashes FROM audit_record WHERE seq IN (7, 8)")
        )
    }
    for seq, other in ((7, 8), (8, 7)):
        connection.execute(
            text("UPDATE audit_record SET payload = :p, tree_hashes = :h WHERE seq = :s"),
            {"p": rows[other].payload, "h": rows[other].tree_hashes, "s": seq},
        )


def _insert_forged(connection: Connection) -> None:
    """A forged record slipped in after 7, the rest renumbered, the whole tree recomputed
    (only the signed checkpoints can tell, and the records' own numbers)."""
    for seq in range(RECORDS, 7, -1):
        connection.execute(
            text("UPDATE audit_entity SET seq = :n WHERE seq = :s"), {"n": seq + 1, "s": seq}
        )
        connection.execute(
            text("UPDATE audit_record SET seq = :n WHERE seq = :s"), {"n": seq + 1, "s": seq}
        )
    forged = {**payload(connection, 7), "seq": 8, "purpose": "forged", "entities": []}
    connection.execute(
        text(
            "INSERT INTO audit_record (seq, at, request_id, endpoint, client_id, agency, purpose,"
            " outcome, payload, tree_hashes) SELECT 8, at, :r, endpoint, client_id, agency,"
            " 'forged', outcome, :p, tree_hashes FROM audit_record WHERE seq = 7"
        ),
        {"r": forged["request_id"], "p": canonical(forged)},
    )
    retree(connection)


def _append_beyond_head(connection: Connection) -> None:
    """A record added at the end by hand, with its right tree hashes (the head row left
    alone)."""
    last = payload(connection, RECORDS)
    connection.execute(
        text(
            "INSERT INTO audit_record (seq, at, request_id, endpoint, client_id, agency, purpose,"
            " outcome, payload, tree_hashes) SELECT :n, at, request_id, endpoint, client_id,"
            " agency, purpose, outcome, :p, tree_hashes FROM audit_record WHERE seq = :s"
        ),
        {"n": RECORDS + 1, "p": canonical({**last, "seq": RECORDS + 1}), "s": RECORDS},
    )


def _rewrite_everything(connection: Connection) -> None:
    """Record 3 edited, the tree and the head recomputed: only the signed checkpoints
    can tell."""
    set_payload(connection, 3, {**payload(connection, 3), "purpose": "rewritten"})
    connection.execute(text("UPDATE audit_record SET purpose = 'rewritten' WHERE seq = 3"))
    retree(connection)


def _forge_checkpoint(connection: Connection) -> None:
    connection.execute(
        text("UPDATE audit_checkpoint SET root = :h WHERE size = 10"), {"h": b"\xff" * 32}
    )


def _forge_checkpoint_note(connection: Connection) -> None:
    """A checkpoint note whose root is changed: its signature no longer holds."""
    note = connection.execute(text("SELECT note FROM audit_checkpoint WHERE size = 10"))
    text_, _, signature = note.scalar_one().partition("\n\n")
    origin, size, _root = text_.split("\n")[:3]
    forged = f"{origin}\n{size}\n{'A' * 43}=\n\n{signature}"
    connection.execute(text("UPDATE audit_checkpoint SET note = :n WHERE size = 10"), {"n": forged})


def _unindex_worker(connection: Connection) -> None:
    """Hiding a disclosure from the worker's access report."""
    connection.execute(text("DELETE FROM audit_entity WHERE seq = 12 AND kind = 'Worker'"))


TAMPERING = {
    "edited content": (_edit_purpose, "edited", 7),
    "edited content and leaf": (_edit_purpose_and_leaf, "edited", 8),
    "edited column": (_edit_client_column, "edited", 7),
    "deleted record": (_delete_middle, "deleted", 7),
    "deleted tail": (_delete_tail, "truncated", 19),
    "reordered": (_swap, "reordered", 7),
    "inserted": (_insert_forged, "inserted", 8),
    "appended by hand": (_append_beyond_head, "inserted", 21),
    "rewritten tree": (_rewrite_everything, "edited", 1),
    "forged checkpoint": (_forge_checkpoint, "checkpoint", 10),
    "forged checkpoint note": (_forge_checkpoint_note, "checkpoint", 10),
    "unindexed worker": (_unindex_worker, "edited", 12),
}


def test_an_untouched_log_verifies(chain: Chain) -> None:
    report = chain.log().verify(views=None)
    assert report.ok, report.summary()
    assert (report.records, report.first_seq, report.last_seq, report.checkpoints) == (20, 1, 20, 4)


@pytest.mark.parametrize("name", TAMPERING)
def test_tampering_is_caught_at_the_first_record_touched(chain: Chain, name: str) -> None:
    change, kind, seq = TAMPERING[name]
    tamper(chain, change)
    report = chain.log().verify(views=None)
    assert report.problem is not None, name
    assert (report.problem.kind, report.problem.seq) == (kind, seq), report.summary()
    assert report.exit_code == 1
