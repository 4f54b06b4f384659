"""Client secrets: 256 random bits shown once, kept only as a salted scrypt hash, compared
in constant time. Nothing here logs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCHEME = "scrypt"
# 16 MiB and ~40 ms per check: the secrets are random, so this guards a leaked table
# against offline guessing without making the token endpoint slow.
_N, _R, _P = 2**14, 8, 1
_LENGTH = 32


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * n * r * p, dklen=_LENGTH
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """`scrypt$n$r$p$salt$hash`: the parameters travel with the hash, so they can be raised
    later without invalidating existing secrets."""
    salt = secrets.token_bytes(16)
    digest = _derive(secret, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def _no_secret() -> str:
    """A hash no secret derives to (its digest is all zeros), with the current parameters
    (read at each call: a test suite that lowers `_N` refuses unknown clients at the cost
    it hashes known ones)."""
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(bytes(16))}${_b64(bytes(_LENGTH))}"


def refuse_secret(secret: str) -> bool:
    """The work `verify_secret` does for a registered client, for a client that is not
    one (unknown, revoked): so a refusal takes as long whether or not the client exists.
    Always False."""
    verify_secret(secret, _no_secret())
    return False


def verify_secret(secret: str, stored: str) -> bool:
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != _SCHEME:
        raise ValueError(f"unknown secret hash scheme {scheme!r}")
    candidate = _derive(secret, _unb64(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate, _unb64(digest))
