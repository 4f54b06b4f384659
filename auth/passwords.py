"""People's passwords: argon2id (RFC 9106), kept only as the encoded hash, checked in
constant time, off the event loop.

Why argon2id here and scrypt for client secrets (`auth.hashing`): a client secret is 256
random bits, so any salted hash resists guessing; a person's password is chosen by a
person, so a leaked table must cost an attacker memory as well as time per guess.
argon2id is what OWASP and RFC 9106 recommend first; argon2-cffi's defaults are RFC 9106's
second profile (64 MiB, 3 passes, 4 lanes: ~60 ms here). The parameters travel with each
hash, so raising them later re-hashes each password at its next sign-in.
"""

from __future__ import annotations

import functools
import secrets
import string
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 256
"""A longer "password" only makes each guess cost the server more."""
_HASHER: Final = PasswordHasher()
_ALPHABET: Final = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


_DUMMY: Final = (
    "$argon2id$v=19$m=65536,t=3,p=4$11FgXepLSwUbeob3vbOeqw"
    "$E76wWUMbJbl6cse0jWlRYQTxmzqj1OLyI8noiNNBiHE"
)
"""The hash of a random password nobody was given, made once with this module's hasher."""


@functools.cache
def _dummy() -> str:
    """Checked when the name is unknown, so an unknown name costs the same time as a known
    one with a wrong password: timing does not tell which names exist. Checking it costs
    what checking a person's hash costs as long as both have the hasher's parameters, so
    the stored one serves; only if the parameters have changed since (argon2-cffi's
    defaults) is one made, on first need: an argon2 hash is 60 ms and 64 MiB here, 0.75 s
    under load, and each `hub` server and worker used to make one as it started. Knowing
    the stored hash helps no one: what it checks is a name that does not exist, whose
    check fails whatever the password."""
    if _HASHER.check_needs_rehash(_DUMMY):
        return _HASHER.hash(secrets.token_urlsafe(16))
    return _DUMMY


def prepare() -> None:
    """As a server starts, so that the first unknown name costs no more than the next."""
    _dummy()


class WeakPassword(ValueError):
    """The password is too short or too long; the message says which."""


def new_password() -> str:
    """A password for `hub users add` / `reset` to hand over: 16 characters of an alphabet
    without look-alikes (0/O, 1/l/I), ~92 bits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _HASHER.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time (argon2's own comparison); slow on purpose: call it in a thread.
    `stored` None (no such person) or empty checks against a dummy hash and returns False:
    the dummy is in the source, so an account whose hash was blanked must not accept its
    password."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        if not stored:  # no such person, or no hash: the dummy's time, and no
            _HASHER.verify(_dummy(), password)  # match (its password is in no one's hands)
            return False
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)
