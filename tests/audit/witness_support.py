"""A log for the witness to watch: a Merkle tree, its checkpoint key, and the requests a
log sends — honest ones, and the ones a log forked by someone holding its key sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.merkle import MemoryTree, prove_consistency
from audit.note import Checkpoint, CosignatureSigner, Ed25519Signer, Note, sign_checkpoint
from audit.witness import Witness, WitnessedLog, encode_request
from storage.keys import create_key_file, load_key_file

ORIGIN = "wage-hub.example/audit/test"
WITNESS_NAME = "witness.agency.example/audit"
NOW = 1_750_000_000


@dataclass
class Log:
    signer: Ed25519Signer
    tree: MemoryTree = field(default_factory=MemoryTree)
    origin: str = ORIGIN

    def grow(self, to: int, tag: str = "") -> Log:
        while self.tree.size < to:
            self.tree.append_leaf(f"record {self.tree.size}{tag}".encode())
        return self

    def fork(self, at: int) -> Log:
        """The same key and the first `at` records; grow it with a tag to differ."""
        other = Log(self.signer, origin=self.origin)
        for i in range(at):
            other.tree.append_leaf(f"record {i}".encode())
        return other

    def checkpoint(self, size: int | None = None) -> Note:
        size = self.tree.size if size is None else size
        return sign_checkpoint(Checkpoint(self.origin, size, self.tree.root(size)), self.signer)

    def request(self, old: int, size: int | None = None) -> bytes:
        size = self.tree.size if size is None else size
        proof = prove_consistency(old, size, self.tree) if old <= size else []
        return encode_request(old, proof, self.checkpoint(size).serialize())


def new_log() -> Log:
    return Log(Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate()))


def new_witness(directory: Path, log: Log, *, clock: float = NOW) -> Witness:
    """A witness with its own key file and state file, under its own directory."""
    key_path = directory / "witness.key"
    key = load_key_file(key_path) if key_path.exists() else create_key_file(key_path)
    return Witness(
        directory / "state.sqlite",
        CosignatureSigner(WITNESS_NAME, key),
        [WitnessedLog(log.origin, (log.signer.verifier(),))],
        clock=lambda: clock,
    )
