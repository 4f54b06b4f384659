"""The log's side of c2sp.org/tlog-witness: send a signed checkpoint with its consistency
proof to a witness and get back its cosignature, checked against the witness's
configured key before it is believed.

    WitnessError
    ├── WitnessUnavailable   no answer, or a 5xx: try later (the log keeps writing)
    ├── WitnessBehind        409: it last cosigned another size (`.size`): prove from there
    └── WitnessRefused       any other refusal, or an answer without its valid cosignature:
                             an alarm — the witness will not vouch for this log's history
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import httpx

from audit.note import (
    Checkpoint,
    CosignatureVerifier,
    Note,
    NoteError,
    Signature,
    cosignature_time,
    open_checkpoint,
    open_note,
    parse_vkey,
)
from audit.witness import SIZE_MEDIA_TYPE, encode_request

MAX_RESPONSE_BYTES: Final = 64 * 1024


class WitnessError(Exception):
    pass


class WitnessUnavailable(WitnessError):
    pass


class WitnessBehind(WitnessError):
    def __init__(self, name: str, size: int) -> None:
        super().__init__(f"witness {name} last cosigned a tree of {size}")
        self.size = size


class WitnessRefused(WitnessError):
    def __init__(self, name: str, status: int, reason: str) -> None:
        super().__init__(f"witness {name} refused ({status}): {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class WitnessEndpoint:
    """Where a witness takes checkpoints (its submission prefix) and the key it cosigns
    with: configured together, e.g. `HUB_AUDIT_WITNESSES`."""

    url: str
    verifier: CosignatureVerifier

    @property
    def name(self) -> str:
        return self.verifier.name

    @classmethod
    def parse(cls, url: str, vkey: str) -> WitnessEndpoint:
        verifier = parse_vkey(vkey)
        if not isinstance(verifier, CosignatureVerifier):
            raise ValueError(f"witness {verifier.name}: its vkey is not a cosignature key (0x04)")
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"witness {verifier.name}: {url!r} is not an http(s) URL")
        return cls(url.rstrip("/"), verifier)


async def request_cosignature(
    http: httpx.AsyncClient,
    witness: WitnessEndpoint,
    old: int,
    proof: Sequence[bytes],
    signed_checkpoint: Note,
) -> Signature:
    """The witness's cosignature on the checkpoint, verified; raises a `WitnessError`.
    The client's timeouts apply (a witness that hangs is one that is down)."""
    body = encode_request(old, proof, signed_checkpoint.serialize())
    try:
        response = await http.post(f"{witness.url}/add-checkpoint", content=body)
    except httpx.HTTPError as error:
        raise WitnessUnavailable(f"witness {witness.name}: {error!r}") from error
    text = response.content[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")
    if response.status_code >= 500:
        raise WitnessUnavailable(f"witness {witness.name} answered {response.status_code}")
    if response.status_code == 409 and response.headers.get("content-type") == SIZE_MEDIA_TYPE:
        size = text[:-1] if text.endswith("\n") else ""
        if size.isdigit():
            raise WitnessBehind(witness.name, int(size))
    if response.status_code != 200:
        raise WitnessRefused(witness.name, response.status_code, text.strip()[:200])
    try:
        lines = [Signature.parse_line(line) for line in text.removesuffix("\n").split("\n")]
        opened = open_note(Note(signed_checkpoint.text, tuple(lines)), [witness.verifier])
    except NoteError as error:
        raise WitnessRefused(witness.name, 200, f"no valid cosignature: {error}") from None
    cosignature = opened.verified_by(witness.name)
    assert cosignature is not None  # opening needs one, and only the witness's key counts
    return cosignature


@dataclass(frozen=True)
class WitnessView:
    """What a witness says it last cosigned for a log, and when it said so."""

    checkpoint: Checkpoint
    cosignature: Signature
    note: Note

    @property
    def said_at(self) -> int:
        return cosignature_time(self.cosignature)


async def latest_view(
    http: httpx.AsyncClient, witness: WitnessEndpoint, origin: str
) -> WitnessView | None:
    """The witness's latest cosigned checkpoint of the log, with its fresh cosignature
    verified (None if it has cosigned nothing of it); `GET /latest-checkpoint`."""
    try:
        response = await http.get(f"{witness.url}/latest-checkpoint", params={"origin": origin})
    except httpx.HTTPError as error:
        raise WitnessUnavailable(f"witness {witness.name}: {error!r}") from error
    if response.status_code >= 500:
        raise WitnessUnavailable(f"witness {witness.name} answered {response.status_code}")
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise WitnessRefused(witness.name, response.status_code, response.text.strip()[:200])
    try:
        checkpoint, opened = open_checkpoint(
            response.content[:MAX_RESPONSE_BYTES], [witness.verifier]
        )
    except NoteError as error:
        raise WitnessRefused(witness.name, 200, f"no valid cosigned checkpoint: {error}") from None
    if checkpoint.origin != origin:
        raise WitnessRefused(witness.name, 200, f"answered for {checkpoint.origin!r}")
    cosignature = opened.verified_by(witness.name)
    assert cosignature is not None
    return WitnessView(checkpoint, cosignature, opened.note)


async def latest_views(
    witnesses: Sequence[WitnessEndpoint], origin: str, timeout_seconds: float
) -> dict[str, WitnessView | WitnessError | None]:
    """Every witness's latest view of the log, asked at once: its view, None when it has
    cosigned nothing of the log, or why it could not say."""
    async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as http:

        async def ask(witness: WitnessEndpoint) -> WitnessView | WitnessError | None:
            try:
                return await latest_view(http, witness, origin)
            except WitnessError as error:
                return error

        seen = await asyncio.gather(*(ask(witness) for witness in witnesses))
    return {witness.name: view for witness, view in zip(witnesses, seen, strict=True)}
