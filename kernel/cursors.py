"""Opaque, tamper-evident page cursors.

A cursor carries a seek key — an ID number for a page of workers — that the caller may
see only masked, and it comes back as an argument that positions a query. So a cursor
is the key sealed with AES-SIV (RFC 5297) under the hub's cursor key, bound to the list
it came from (`Query.workers`): the caller reads nothing from it, and a cursor it made
or altered, or one from another list, fails authentication and is BAD_USER_INPUT.

Why AES-SIV: it is deterministic authenticated encryption, so there is no nonce to keep
unique across replicas and billions of cursors (AES-GCM's random 96-bit nonces are good
for about 2^32 messages per key, which a busy hub issues within days). Equal keys give
equal cursors, which tells a caller only what the page showed it already.

The key is derived (HKDF-SHA-256) from a secret every hub replica shares, so any
replica opens any replica's cursors (`hub.wiring.build_cursors`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kernel.errors import BadUserInput

VERSION: Final = b"\x01"
MAX_CURSOR_CHARS: Final = 512
"""Far above any cursor the hub issues (a key of 100 characters seals to ~180)."""
MIN_SECRET_BYTES: Final = 16
_INFO: Final = b"wage-hub page cursors v1"


class Cursors:
    """Seals and opens the cursors of one hub (and of every replica sharing its secret)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the cursor secret needs at least {MIN_SECRET_BYTES} bytes")
        key = HKDF(algorithm=SHA256(), length=64, salt=None, info=_INFO).derive(secret)
        self._siv = AESSIV(key)

    def seal(self, key: str, where: str) -> str:
        """The cursor of `key` in the list `where` (`Query.workers`)."""
        sealed = self._siv.encrypt(key.encode(), [VERSION, where.encode()])
        return base64.urlsafe_b64encode(VERSION + sealed).rstrip(b"=").decode()

    def open(self, cursor: str, where: str) -> str:
        """The key a cursor of the list `where` was sealed from; BadUserInput for anything
        this hub did not issue for that list."""
        refused = BadUserInput(
            "this cursor was not issued by the hub for this list; pass an endCursor back"
        )
        if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
            raise refused
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise refused from None
        if raw[:1] != VERSION:
            raise refused
        try:
            return self._siv.decrypt(raw[1:], [VERSION, where.encode()]).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise refused from None
