"""Token-signing keys sealed at rest: each private JWK is kept in the auth database as a
JWE (RFC 7516 compact: `dir` + A256GCM, `cty: jwk+json`, as RFC 7517 §7 encrypts a JWK)
under a key-encryption key (KEK) read from a 0600 file.

Why this design: several hub replicas on different hosts share one auth database and
must sign and verify tokens alike; a rotation (`hub keys rotate`) must reach all of them
at once, as it does today through that database. Keeping the sealed keys there keeps
that, while a copy of the database — a dump, a backup, a replica, read access through
SQL — yields no usable key: the KEK is on the replicas' disks only, readable by their
service account alone. The alternatives: key files the operator distributes (every
rotation becomes a file roll-out to every host, and a host that misses it signs with a
stale key or rejects the new one's tokens), or a KMS/HSM (the strongest, when there is
one; `KeySealer` is the seam where it would go). The KEK's own rotation is not automated
yet (every replica needs the new file before the keys are re-sealed).

The AEAD binds the ciphertext to the KEK; the JWK inside names its own `kid`, which must
be its row's, so sealed keys cannot be swapped between rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Final

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey, OKPKey

from auth.errors import RegistryError
from storage.keys import read_private, secret_file

KEK_BYTES: Final = 32
KEK_FILE: Final = "key-encryption key file"
_HEADER: Final = {"alg": "dir", "enc": "A256GCM", "cty": "jwk+json"}


class KeySealingError(RegistryError):
    """A sealed key that cannot be opened (no KEK, another KEK, an altered row), or a KEK
    file that is not one."""


def read_kek_file(path: Path) -> bytes:
    """The 32-byte KEK (raw random bytes, as `hub keys new-kek` or
    `head -c 32 /dev/urandom` writes them), from a file only this service account can read."""
    kek = read_private(path, KEK_FILE)
    if len(kek) != KEK_BYTES:
        raise KeySealingError(f"{KEK_FILE} {path} holds {len(kek)} bytes, not {KEK_BYTES}")
    return kek


def create_kek_file(path: Path) -> bool:
    """Writes a new random KEK (0600, in a 0700 directory); False if the file exists."""
    if path.exists():
        return False
    secret_file(path, KEK_BYTES, what=KEK_FILE)
    return True


class KeySealer:
    """Seals and opens private JWKs under one KEK."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEK_BYTES:
            raise KeySealingError(f"a key-encryption key is {KEK_BYTES} bytes")
        self._key = OctKey.import_key(kek)
        self.kek_id = hashlib.sha256(b"wage-hub kek\n" + kek).hexdigest()[:16]
        self._opened: dict[str, OKPKey] = {}

    def seal(self, key: OKPKey) -> str:
        plaintext = json.dumps(key.as_dict(private=True)).encode()
        return jwe.encrypt_compact({**_HEADER, "kid": self.kek_id}, plaintext, self._key)

    def open(self, kid: str, stored: str) -> OKPKey:
        """The private key of row `kid`; a plain JSON row (before sealing) is read as is."""
        cached = self._opened.get(stored)
        if cached is not None:
            return cached
        if stored.startswith("{"):
            key = OKPKey.import_key(json.loads(stored))
        else:
            key = self._unseal(kid, stored)
        if key.kid != kid:
            raise KeySealingError(f"the sealed key of row {kid} is another key ({key.kid})")
        if len(self._opened) > 64:
            self._opened.clear()
        self._opened[stored] = key
        return key

    def _unseal(self, kid: str, stored: str) -> OKPKey:
        what = f"signing key {kid}"
        plaintext = self._plaintext(what, stored)
        try:
            return OKPKey.import_key(json.loads(plaintext))
        except (JoseError, ValueError):
            raise KeySealingError(f"{what} does not open: the row was altered") from None

    def seal_text(self, subject: str, text: str) -> str:
        """A secret that must be recoverable (a national-interface appsecret, which is also
        an AES key), sealed for `subject` (its row): the sealed JSON names the row, so a
        value copied to another row does not open there."""
        header = {"alg": "dir", "enc": "A256GCM", "cty": "json", "kid": self.kek_id}
        plaintext = json.dumps({"sub": subject, "secret": text}).encode()
        return jwe.encrypt_compact(header, plaintext, self._key)

    def open_text(self, subject: str, stored: str) -> str:
        what = f"the secret of {subject}"
        try:
            sealed = json.loads(self._plaintext(what, stored))
        except ValueError:
            raise KeySealingError(f"{what} does not open: the row was altered") from None
        if not isinstance(sealed, dict) or sealed.get("sub") != subject:
            raise KeySealingError(f"{what} belongs to another row")
        return str(sealed["secret"])

    def _plaintext(self, what: str, stored: str) -> bytes:
        """What a JWE sealed under this process's KEK holds (keys and texts alike); `what`
        names the row in the errors."""
        try:
            header = json.loads(base64.urlsafe_b64decode(stored.split(".")[0] + "=="))
        except (ValueError, UnicodeDecodeError):
            raise KeySealingError(f"{what} is neither a JWK nor a sealed one") from None
        if not isinstance(header, dict) or header.get("kid") != self.kek_id:
            kid = header.get("kid") if isinstance(header, dict) else None
            raise KeySealingError(
                f"{what} is sealed under key-encryption key {kid}, this process holds"
                f" {self.kek_id}: give it the same HUB_TOKEN_KEK_FILE as the other hub processes"
            )
        try:
            opened = jwe.decrypt_compact(stored, self._key, algorithms=["dir", "A256GCM"])
        except (JoseError, ValueError):
            raise KeySealingError(f"{what} does not open: the row was altered") from None
        return opened.plaintext or b""


def is_sealed(stored: str) -> bool:
    return not stored.startswith("{")
