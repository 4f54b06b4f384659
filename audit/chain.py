"""The hash chain and its signed checkpoints: the primitives every writer and verifier
shares, so the two can never disagree on a byte.

    hash(n) = SHA-256( hash(n-1) "\n" payload(n) )      hash(0) = 64 zeros

A payload is canonical JSON (sorted keys, no spaces, UTF-8) and holds its own sequence
number, so a record moved to another place no longer fits there. A checkpoint is a JWS
(Ed25519, the hub's token-signing key, `kid` in its header) over {seq, head, at}.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

GENESIS: Final = "0" * 64
SIGNING_ALGORITHM: Final = "Ed25519"
CHECKPOINT_TYPE: Final = "wage-hub-audit-checkpoint"


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    signed_at: datetime
    kid: str
    signature: str


def sign_checkpoint(key: OKPKey, seq: int, head_hash: str, at: datetime) -> Checkpoint:
    claims = canonical({"seq": seq, "head": head_hash, "at": at.isoformat()})
    header = {"alg": SIGNING_ALGORITHM, "kid": key.kid, "typ": CHECKPOINT_TYPE}
    signature = jws.serialize_compact(header, claims.encode(), key, algorithms=[SIGNING_ALGORITHM])
    return Checkpoint(seq, head_hash, at, str(key.kid), signature)


def checkpoint_problem(checkpoint: Checkpoint, public_keys: Mapping[str, OKPKey]) -> str | None:
    """Why the checkpoint's signature does not vouch for its row, or None if it does."""
    key = public_keys.get(checkpoint.kid)
    if key is None:
        return f"checkpoint {checkpoint.seq} is signed by {checkpoint.kid}, not a hub key"
    try:
        signed = jws.deserialize_compact(checkpoint.signature, key, algorithms=[SIGNING_ALGORITHM])
        claims = json.loads(signed.payload)
    except (JoseError, ValueError):
        return f"checkpoint {checkpoint.seq}: the signature does not verify"
    if claims.get("seq") != checkpoint.seq or claims.get("head") != checkpoint.head_hash:
        return f"checkpoint {checkpoint.seq}: its row differs from what was signed"
    return None
