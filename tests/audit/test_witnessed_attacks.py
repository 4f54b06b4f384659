"""The three attacks of the red-team exercise by an insider who holds the audit database AND the log's
checkpoint key, against a log whose checkpoints a witness — its own process, key and
state, reached over HTTP — has cosigned. Each used to verify OK; each now fails
`hub audit verify`, which names the witness that contradicts the log. On SQLite and
PostgreSQL.

    1  edit a record, recompute the tree, re-sign every checkpoint with the stolen key
    2  delete the records after the last checkpoint (the insider removes it too) and
       move the head back
    3  edit a record after the last checkpoint (likewise) and recompute the tree

What the insider cannot do is change what the witness remembers: the size and root it
last cosigned, which it gives to anyone who asks and will not contradict.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_support import (
    Chain,
    copied_chain,
    fresh_chain,
    payload,
    resign_checkpoints,
    retree,
    set_payload,
    tamper,
)
from sqlalchemy import Connection, text

from hub.cli import main as hub_main

RECORDS = 20  # checkpoints every 5, each cosigned: the witness has seen 20


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def untouched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Chain]:
    """The cosigned log, made once a backend; each test attacks a copy (and its witness's)."""
    tmp = tmp_path_factory.mktemp(request.param)
    with fresh_chain(request.param, tmp, "hub_attack_untouched", witnesses=1) as built:
        built.append(RECORDS, cosign_every=5)
        yield built


@pytest.fixture
def chain(untouched: Chain, tmp_path: Path) -> Iterator[Chain]:
    with copied_chain(untouched, tmp_path, "hub_attack") as copy:
        yield copy


def _witness(chain: Chain) -> str:
    return chain.witnesses[0].name


def _edit(connection: Connection, seq: int) -> None:
    set_payload(connection, seq, {**payload(connection, seq), "purpose": "curiosity"})
    connection.execute(
        text("UPDATE audit_record SET purpose = 'curiosity' WHERE seq = :s"), {"s": seq}
    )


def _forget_checkpoints_after(connection: Connection, size: int) -> None:
    """What the insider removes so that the records after `size` look unsigned."""
    connection.execute(text("DELETE FROM audit_cosignature WHERE size > :s"), {"s": size})
    connection.execute(text("DELETE FROM audit_checkpoint WHERE size > :s"), {"s": size})
    connection.execute(text("UPDATE audit_head SET checkpoint_seq = :s"), {"s": size})


def _delete_tail(connection: Connection) -> None:
    _forget_checkpoints_after(connection, 15)
    connection.execute(text("DELETE FROM audit_entity WHERE seq > 15"))
    connection.execute(text("DELETE FROM audit_record WHERE seq > 15"))
    retree(connection)


def test_the_untouched_log_verifies_with_its_witness(chain: Chain) -> None:
    report = chain.verify()
    assert report.ok, report.summary()
    assert report.witnessed == {_witness(chain): RECORDS}
    assert (report.checkpoints, report.cosignatures) == (4, 4)


def test_1_a_rewrite_resigned_with_the_stolen_key(chain: Chain) -> None:
    def attack(connection: Connection) -> None:
        _edit(connection, 7)
        retree(connection)
        resign_checkpoints(connection, chain)

    tamper(chain, attack)
    report = chain.verify()
    assert report.problem is not None, report.summary()
    assert report.problem.witness == _witness(chain)
    assert (report.problem.seq, report.problem.last) == (6, 10)  # cosigned at 5, then at 10
    assert report.exit_code == 1

    # The stored cosignatures deleted as well: the witness's own view still contradicts.
    tamper(chain, lambda c: c.execute(text("DELETE FROM audit_cosignature")))
    report = chain.verify()
    assert report.problem is not None, report.summary()
    assert report.problem.kind == "witness"
    assert report.problem.witness == _witness(chain)
    assert report.problem.seq is not None
    assert report.problem.last is not None
    assert report.problem.seq <= 7 <= report.problem.last
    # And the witness refuses to cosign the rewritten history as it grows.
    chain.append(3)
    assert chain.cosign()[_witness(chain)].startswith("failed: witness")
    assert chain.witnesses[0].witness.refused(chain.settings.audit.origin)


def test_2_the_tail_deleted_and_the_head_moved_back(chain: Chain) -> None:
    tamper(chain, _delete_tail)
    assert chain.verify(offline=True).ok  # the database alone cannot tell
    report = chain.verify()
    assert report.problem is not None, report.summary()
    assert (report.problem.kind, report.problem.seq, report.problem.last) == ("truncated", 16, 20)
    assert report.problem.witness == _witness(chain)
    assert "witness-0.agency.test/audit" in report.summary()


def test_3_a_record_after_the_last_checkpoint_edited_and_the_tree_recomputed(
    chain: Chain,
) -> None:
    def attack(connection: Connection) -> None:
        _forget_checkpoints_after(connection, 15)
        _edit(connection, 18)
        retree(connection)

    tamper(chain, attack)
    assert chain.verify(offline=True).problem is None  # the database alone shows no edit
    report = chain.verify()
    assert report.problem is not None, report.summary()
    assert (report.problem.kind, report.problem.seq, report.problem.last) == ("witness", 16, 20)
    assert report.problem.witness == _witness(chain)


def test_the_command_line_names_the_witness(
    chain: Chain, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = chain.settings
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HUB_AUDIT_DB_URL", settings.audit_db_url)
    monkeypatch.setenv("HUB_AUDIT_ORIGIN", settings.audit.origin)
    monkeypatch.setenv("HUB_AUDIT_WITNESSES", f"[{chain.witnesses[0].setting.model_dump_json()}]")
    assert hub_main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("OK: 20 records (1–20)")

    tamper(chain, _delete_tail)
    assert hub_main(["audit", "verify", "--offline"]) == 0
    assert "cannot be ruled out" in capsys.readouterr().out
    assert hub_main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("TAMPERED at records 16–20: truncated")
    assert "(witness witness-0.agency.test/audit)" in out
