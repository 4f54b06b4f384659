"""The audit log's format, which every writer and verifier shares so that they can never
disagree on a byte: records are the leaves of an RFC 9162 Merkle tree, and the log signs
its tree heads as C2SP checkpoints that witnesses cosign.

    payload(n)  canonical JSON (sorted keys, no spaces, UTF-8) holding its own `seq` n
    leaf n-1    SHA-256(0x00 || payload(n))                 (leaf index = seq - 1)
    checkpoint  <origin>\\n<size>\\n<base64 root>\\n, signed by the log's Ed25519 key
                as a signed note (`audit.note`), cosigned by witnesses

A record moved elsewhere no longer fits there (it names its seq); a record changed
changes its leaf, so every tree head after it; a tree head signed and cosigned cannot be
changed without the witnesses' keys. Each record's row keeps the hashes its append
completed (`audit.merkle`'s layout), so proofs are read, not recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

from audit.merkle import HASH_SIZE, Frontier, leaf_hash
from audit.note import (
    Checkpoint,
    CosignatureVerifier,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteError,
    Opened,
    open_checkpoint,
    parse_vkey,
    sign_checkpoint,
)

DEFAULT_ORIGIN: Final = "wage-hub.invalid/audit"
"""The development log's name; a deployment names its own (`HUB_AUDIT_ORIGIN`)."""


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_leaf(payload: str) -> bytes:
    """The leaf hash of a record, from its payload exactly as stored."""
    return leaf_hash(payload.encode())


def split_hashes(blob: bytes) -> list[bytes]:
    """A record's stored tree hashes (level 0, the leaf, first)."""
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]


def sign_tree_head(signer: Ed25519Signer, origin: str, frontier: Frontier) -> Note:
    """The log's signed checkpoint of the tree the frontier covers."""
    return sign_checkpoint(Checkpoint(origin, frontier.size, frontier.root()), signer)


def open_log_checkpoint(
    note: str | bytes | Note, log_keys: Iterable[Ed25519Verifier]
) -> tuple[Checkpoint, Opened]:
    """A checkpoint signed by one of the log's keys (cosignatures by others are kept,
    unverified); raises `NoteError`."""
    message = note.encode() if isinstance(note, str) else note
    return open_checkpoint(message, log_keys)


def log_verifier(vkey: str) -> Ed25519Verifier:
    verifier = parse_vkey(vkey)
    if not isinstance(verifier, Ed25519Verifier):
        raise NoteError(f"{verifier.name}: a log key signs notes (type 0x01), not cosignatures")
    return verifier


def witness_verifier(vkey: str) -> CosignatureVerifier:
    verifier = parse_vkey(vkey)
    if not isinstance(verifier, CosignatureVerifier):
        raise NoteError(f"{verifier.name}: a witness key cosigns (type 0x04)")
    return verifier
