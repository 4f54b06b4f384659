"""The witness: it cosigns a log's growth, and refuses — with the status the spec gives —
anything else: a forked or rewritten history signed with the log's own key, a smaller
tree, a stale size, a bad proof, an unknown log, a forged signature, malformed bytes. Two
requests racing from one size never both win. Its state is its own file and survives a
restart."""

from __future__ import annotations

import ast
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from witness_support import NOW, WITNESS_NAME, Log, new_log, new_witness

from audit.merkle import EMPTY_ROOT
from audit.note import Checkpoint, Ed25519Signer, Note, open_note, sign_checkpoint
from audit.witness import (
    Conflict,
    Forbidden,
    Inconsistent,
    Malformed,
    UnknownLog,
    Witness,
    WitnessedLog,
    encode_request,
)


def _cosigned(witness: Witness, log: Log, size: int, line: str) -> int:
    """Checks the cosignature line over the checkpoint; returns its time."""
    note = log.checkpoint(size)
    signature = Note.parse((note.text + "\n" + line).encode()).signatures[0]
    opened = open_note(Note(note.text, (signature,)), [witness.signer.verifier()])
    assert opened.verified == (signature,)
    assert signature.name == WITNESS_NAME
    return int.from_bytes(signature.signature[:8], "big")


def test_it_cosigns_a_growing_log_and_remembers(tmp_path: Path) -> None:
    log = new_log().grow(5)
    witness = new_witness(tmp_path, log)
    line = witness.add_checkpoint(log.request(0))
    assert _cosigned(witness, log, 5, line) == NOW
    log.grow(9)
    _cosigned(witness, log, 9, witness.add_checkpoint(log.request(5)))
    _cosigned(witness, log, 9, witness.add_checkpoint(log.request(9)))  # the same again
    restarted = new_witness(tmp_path, log)
    assert restarted.latest(log.origin) == (9, log.tree.root(9))
    log.grow(300)
    _cosigned(restarted, log, 300, restarted.add_checkpoint(log.request(9)))


def test_it_tells_what_it_last_cosigned(tmp_path: Path) -> None:
    log = new_log().grow(5)
    witness = new_witness(tmp_path, log)
    with pytest.raises(UnknownLog, match="cosigned nothing"):
        witness.latest_checkpoint(log.origin)
    witness.add_checkpoint(log.request(0))
    note = Note.parse(witness.latest_checkpoint(log.origin))
    opened = open_note(note, [log.signer.verifier(), witness.signer.verifier()])
    assert Checkpoint.parse(opened.text) == Checkpoint(log.origin, 5, log.tree.root(5))
    assert len(opened.verified) == 2
    with pytest.raises(UnknownLog, match="does not witness"):
        witness.latest_checkpoint("elsewhere.example/log")


def test_its_files_are_its_own_and_private(tmp_path: Path) -> None:
    log = new_log()
    new_witness(tmp_path / "witness", log)
    for name in ("witness.key", "state.sqlite"):
        assert stat.S_IMODE((tmp_path / "witness" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "witness").stat().st_mode) == 0o700


# -- what it refuses to countersign --------------------------------------------------------


def test_a_rewritten_history_is_refused_even_signed_by_the_log(tmp_path: Path) -> None:
    """Someone holding the log's key edits record 3 and re-signs: the witness, which
    cosigned the original tree of 8, refuses every checkpoint of the rewritten one."""
    log = new_log().grow(8)
    witness = new_witness(tmp_path, log)
    witness.add_checkpoint(log.request(0))
    rewritten = log.fork(3).grow(12, "edited")
    for old, size in ((8, 12), (8, 8)):
        with pytest.raises(Inconsistent):
            witness.add_checkpoint(rewritten.request(old, size))
    proof_from_honest = log.grow(12).request(8)  # a valid proof, for the honest tree
    forged = proof_from_honest[: proof_from_honest.index(b"\n\n") + 2]
    with pytest.raises(Inconsistent, match="does not show 12 extends the cosigned 8"):
        witness.add_checkpoint(forged + rewritten.checkpoint(12).serialize())
    assert witness.latest(log.origin) == (8, log.tree.root(8))
    refused = witness.refused(log.origin)
    assert [(old, size) for old, size, _, _ in refused] == [(8, 12), (8, 8), (8, 12)]
    assert "a different root for the tree of 8" in refused[1][2]
    assert refused[0][3] == rewritten.checkpoint(12).serialize().decode()  # the evidence


def test_a_truncated_log_is_refused(tmp_path: Path) -> None:
    """Records deleted and the head moved back: a smaller tree never gets a cosignature."""
    log = new_log().grow(10)
    witness = new_witness(tmp_path, log)
    witness.add_checkpoint(log.request(0))
    with pytest.raises(Malformed, match="old 10 is larger than the new size 7"):
        witness.add_checkpoint(log.request(10, 7))
    with pytest.raises(Conflict) as stale:
        witness.add_checkpoint(log.request(7, 7))
    assert (stale.value.status, stale.value.body) == (409, "10\n")
    with pytest.raises(Conflict):
        witness.add_checkpoint(log.request(0, 7))


def test_a_stale_old_size_gets_the_current_one(tmp_path: Path) -> None:
    log = new_log().grow(4)
    witness = new_witness(tmp_path, log)
    with pytest.raises(Conflict) as behind:
        witness.add_checkpoint(log.request(2))
    assert behind.value.size == 0
    witness.add_checkpoint(log.request(0))
    log.grow(6)
    with pytest.raises(Conflict) as ahead:
        witness.add_checkpoint(log.request(0))
    assert (ahead.value.size, ahead.value.media_type) == (4, "text/x.tlog.size")


def test_a_bad_proof_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    log = new_log().grow(5)
    witness = new_witness(tmp_path, log)
    witness.add_checkpoint(log.request(0))
    log.grow(11)
    good = log.request(5)
    lines = good.split(b"\n")
    lines[1] = lines[2]  # a proof hash replaced by another
    with pytest.raises(Inconsistent):
        witness.add_checkpoint(b"\n".join(lines))
    cut = good.index(b"\n") + 1
    with pytest.raises(Inconsistent):  # no proof at all
        witness.add_checkpoint(good[:cut] + good[good.index(b"\n\n") + 1 :])
    assert witness.latest(log.origin) == (5, log.tree.root(5))


def test_the_empty_tree_rules(tmp_path: Path) -> None:
    log = new_log().grow(3)
    witness = new_witness(tmp_path, log)
    not_empty = sign_checkpoint(Checkpoint(log.origin, 0, bytes(32)), log.signer)
    with pytest.raises(Inconsistent, match="empty tree"):
        witness.add_checkpoint(encode_request(0, [], not_empty.serialize()))
    with pytest.raises(Inconsistent, match="from an empty tree is empty"):
        witness.add_checkpoint(encode_request(0, [bytes(32)], log.checkpoint().serialize()))
    empty = sign_checkpoint(Checkpoint(log.origin, 0, EMPTY_ROOT), log.signer)
    witness.add_checkpoint(encode_request(0, [], empty.serialize()))
    assert witness.latest(log.origin) == (0, EMPTY_ROOT)


def test_only_the_logs_configured_keys_count(tmp_path: Path) -> None:
    log = new_log().grow(3)
    witness = new_witness(tmp_path, log)
    impostor = Log(Ed25519Signer(log.origin, Ed25519PrivateKey.generate())).grow(3)
    with pytest.raises(Forbidden, match="no signature by a key of"):
        witness.add_checkpoint(impostor.request(0))
    note = log.checkpoint()
    forged_signature = impostor.checkpoint().signatures[0]
    same_slot = type(forged_signature)(
        forged_signature.name, note.signatures[0].key_id, forged_signature.signature
    )
    with pytest.raises(Forbidden, match="does not verify"):
        witness.add_checkpoint(encode_request(0, [], Note(note.text, (same_slot,)).serialize()))
    edited = note.serialize().replace(b"\n3\n", b"\n4\n")
    with pytest.raises(Forbidden):
        witness.add_checkpoint(encode_request(0, [], edited))
    stranger = Log(log.signer, origin="elsewhere.example/log").grow(3)
    with pytest.raises(UnknownLog):
        witness.add_checkpoint(stranger.request(0))
    assert witness.latest(log.origin) == (0, EMPTY_ROOT)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 0\n",
        b"old 00\n\nx\n",
        b"old -1\n\nx\n",
        b"new 0\n\nx\n",
        b"old 0\nnot base64!\n\nx\n",
        b"old 0\nAAAA\n\nx\n",
        b"\xffold 0\n\nx\n",
        b"old 0\n" + b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" * 64 + b"\nx\n",
        b"old 0\n\nno signatures here\n",
    ],
)
def test_malformed_requests_are_refused(tmp_path: Path, body: bytes) -> None:
    witness = new_witness(tmp_path, new_log())
    with pytest.raises(Malformed):
        witness.add_checkpoint(body)


def test_a_log_needs_distinct_keys(tmp_path: Path) -> None:
    log = new_log()
    with pytest.raises(ValueError, match="distinct keys"):
        Witness(tmp_path / "s", new_witness(tmp_path / "w", log).signer, [
            WitnessedLog(log.origin, (log.signer.verifier(), log.signer.verifier()))])  # fmt: skip


# -- racing requests -----------------------------------------------------------------------


class _Observed(Witness):
    """Signals when a request asks for the write lock, so the test can release the lock
    only once both racers wait on it."""

    waiting: list[threading.Event]

    def _connect(self) -> sqlite3.Connection:
        connection = super()._connect()
        if threading.current_thread() is not threading.main_thread():
            event = self.waiting[int(threading.current_thread().name)]
            connection.set_trace_callback(
                lambda sql: event.set() if sql == "BEGIN IMMEDIATE" else None
            )
        return connection


def test_two_requests_from_one_size_never_both_win(tmp_path: Path) -> None:
    log = new_log().grow(5)
    plain = new_witness(tmp_path, log)
    plain.add_checkpoint(log.request(0))
    witness = _Observed(plain.state, plain.signer, plain.logs.values(), clock=lambda: NOW)
    witness.waiting = [threading.Event(), threading.Event()]
    log.grow(12)
    requests = [log.request(5, 9), log.request(5, 12)]
    results: list[object] = [None, None]

    def race(i: int) -> None:
        try:
            results[i] = witness.add_checkpoint(requests[i])
        except Conflict as conflict:
            results[i] = conflict

    blocker = sqlite3.connect(plain.state, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # both racers queue behind this lock
    racers = [threading.Thread(target=race, args=(i,), name=str(i)) for i in range(2)]
    for racer in racers:
        racer.start()
    for event in witness.waiting:
        assert event.wait(10), "a racer never asked for the lock"
    blocker.execute("COMMIT")
    blocker.close()
    for racer in racers:
        racer.join(10)
    won = [i for i, result in enumerate(results) if isinstance(result, str)]
    lost = [result for result in results if isinstance(result, Conflict)]
    assert len(won) == 1
    assert len(lost) == 1
    winner_size = (9, 12)[won[0]]
    assert lost[0].size == winner_size
    assert witness.latest(log.origin) == (winner_size, log.tree.root(winner_size))


def test_the_witness_depends_on_the_log_format_only() -> None:
    """It can run where the hub does not: none of its modules reaches the hub's stores,
    settings or keys, only the formats it checks."""
    own = {"storage.keys", "audit.merkle", "audit.note", "audit.witness"}
    root = Path(__file__).resolve().parents[2]
    for name in ("merkle", "note", "witness", "witness_app", "witness_client"):
        tree = ast.parse((root / "audit" / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                first_party = node.module.split(".")[0] in FIRST_PARTY
                assert not first_party or node.module in own, f"audit/{name}.py: {node.module}"
    keys = ast.parse((root / "storage" / "keys.py").read_text(encoding="utf-8"))
    assert not [
        node
        for node in ast.walk(keys)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FIRST_PARTY
    ], "storage/keys.py stands alone"


FIRST_PARTY = {"hub", "graph", "connectors", "synthetic", "auth", "storage", "kernel", "audit"}
