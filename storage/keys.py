"""Signing keys in files only the service account can read: the audit log's checkpoint key
and a witness's cosigning key, each its own Ed25519 key, never the token-signing key kept
in the auth database.

A key file is created 0600 in a 0700 directory, and refused when its owner is not this
process's user or when group or others have any access to it. Without a passphrase it is
PKCS#8 PEM. With one (the operator's passphrase, or the contents of a passphrase file)
it is encrypted at rest:

    wage-hub-encrypted-key/1
    scrypt <log2 N> <r> <p> <base64 salt>
    aes-256-gcm <base64 nonce>
    <base64 AES-256-GCM(PKCS#8 DER), the lines above as associated data>

Why not encrypted PKCS#8: what `cryptography` writes (PBES2) derives the key with 2,048
rounds of PBKDF2, which a guessed passphrase gets through cheaply, and encrypts with
AES-CBC, which has no integrity — a flipped byte can load as a different, valid key.
PKCS#12 lets the rounds be raised but keeps its MAC at 2,048 rounds, an oracle as cheap
as the weak KDF. scrypt (RFC 7914, memory-hard; N = 2^17, r = 8 as OWASP advises) with
AES-256-GCM (NIST SP 800-38D) authenticates the whole file, header included, so a wrong
passphrase and an altered file both fail to load; the plaintext inside stays a standard
PKCS#8 key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
    load_pem_private_key,
)

MAGIC: Final = "wage-hub-encrypted-key/1"
SCRYPT_LOG_N: Final = 17
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_LOG_N_RANGE: Final = range(10, 23)
"""What a file may ask for: from test-cheap to 4 GiB of memory, no more."""
_KDF_LINE = re.compile(r"scrypt (\d{1,2}) (\d{1,2}) (\d{1,2}) ([A-Za-z0-9+/=]{24})")
_AEAD_LINE = re.compile(r"aes-256-gcm ([A-Za-z0-9+/=]{16})")
_PEM_BEGIN: Final = b"-----BEGIN PRIVATE KEY-----"
MAX_FILE_BYTES: Final = 16_384


class KeyFileError(Exception):
    """A key file that cannot be used; the message names the file and the fix.

    KeyFileError
    ├── KeyFileExposed    others could read it, or it is not ours
    ├── KeyFileLocked     wrong passphrase, no passphrase, or an altered file
    └── KeyFileExists     not replaced (another process may just have created it)
    """


class KeyFileExposed(KeyFileError):
    pass


class KeyFileLocked(KeyFileError):
    pass


class KeyFileExists(KeyFileError):
    pass


# -- permissions ---------------------------------------------------------------------------


def _check_private(path: Path, status: os.stat_result, what: str) -> None:
    if status.st_uid != os.geteuid():
        raise KeyFileExposed(
            f"{what} {path} belongs to uid {status.st_uid}, not to this service account "
            f"(uid {os.geteuid()}): `chown {os.geteuid()} {path}`"
        )
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        fix = "700" if stat.S_ISDIR(status.st_mode) else "600"
        raise KeyFileExposed(
            f"{what} {path} is open to group or others (mode {mode:04o}): `chmod {fix} {path}`"
        )


def private_directory(path: Path) -> None:
    """Creates the directory 0700 if missing; refuses one others can enter."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_private(path, path.stat(), "key directory")


def private_file(path: Path, what: str) -> None:
    """Creates the file empty and 0600 if missing (and its directory 0700); refuses one
    others can reach: a witness's state, which nobody else may roll back."""
    private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    _check_private(path, path.stat(), what)


def read_private(path: Path, what: str = "key file") -> bytes:
    """The file's bytes, if only its owner — this process's user — can read it. The check
    is made on the opened file, so a swap between check and read is not possible."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyFileError(f"{what} {path} does not exist") from None
    with os.fdopen(descriptor, "rb") as handle:
        _check_private(path, os.fstat(handle.fileno()), what)
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise KeyFileError(f"{what} {path} is too large to be a key or passphrase")
    return data


def read_passphrase_file(path: Path) -> bytes:
    """An operator's passphrase (or random key) file, held to the same rule as keys; one
    trailing newline is not part of it."""
    data = read_private(path, "passphrase file")
    data = data[:-1] if data.endswith(b"\n") else data
    if not data:
        raise KeyFileError(f"passphrase file {path} is empty")
    return data


# -- the encrypted format ------------------------------------------------------------------


def _kdf(passphrase: bytes, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log_n, r=r, p=p).derive(passphrase)


def _encrypt(der: bytes, passphrase: bytes, log_n: int) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = (
        f"{MAGIC}\n"
        f"scrypt {log_n} {SCRYPT_R} {SCRYPT_P} {base64.b64encode(salt).decode()}\n"
        f"aes-256-gcm {base64.b64encode(nonce).decode()}\n"
    ).encode()
    key = _kdf(passphrase, salt, log_n, SCRYPT_R, SCRYPT_P)
    sealed = AESGCM(key).encrypt(nonce, der, header)
    return header + base64.b64encode(sealed) + b"\n"


def _decrypt(path: Path, data: bytes, passphrase: bytes) -> bytes:
    lines = data.split(b"\n")
    kdf = _KDF_LINE.fullmatch(lines[1].decode("ascii", "replace")) if len(lines) == 5 else None
    aead = _AEAD_LINE.fullmatch(lines[2].decode("ascii", "replace")) if kdf else None
    if kdf is None or aead is None or lines[4]:
        raise KeyFileError(f"key file {path} is damaged: its header is not {MAGIC}'s")
    log_n, r, p = (int(kdf.group(i)) for i in (1, 2, 3))
    if log_n not in _LOG_N_RANGE or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise KeyFileError(f"key file {path} asks for scrypt parameters out of range")
    try:
        salt, nonce = base64.b64decode(kdf.group(4)), base64.b64decode(aead.group(1))
        sealed = base64.b64decode(lines[3], validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"key file {path} is damaged: not base64") from None
    header = b"\n".join(lines[:3]) + b"\n"
    try:
        return AESGCM(_kdf(passphrase, salt, log_n, r, p)).decrypt(nonce, sealed, header)
    except InvalidTag:
        raise KeyFileLocked(
            f"key file {path} does not open: wrong passphrase, or the file was altered"
        ) from None


def _ed25519(path: Path, key: Any) -> Ed25519PrivateKey:
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


# -- creating and loading ------------------------------------------------------------------


def write_key_file(
    path: Path,
    key: Ed25519PrivateKey,
    passphrase: bytes | None = None,
    *,
    replace: bool = False,
    scrypt_log_n: int = SCRYPT_LOG_N,
) -> None:
    """Writes the key 0600 (encrypted when a passphrase is given), whole or not at all;
    refuses to replace an existing file unless told to (re-encrypting)."""
    if scrypt_log_n not in _LOG_N_RANGE:
        raise ValueError(f"scrypt log2 N must be in {_LOG_N_RANGE}")
    private_directory(path.parent)
    if passphrase is None:
        data = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    else:
        if not passphrase:
            raise ValueError("an empty passphrase encrypts nothing")
        der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        data = _encrypt(der, passphrase, scrypt_log_n)
    try:
        write_private(path, data, replace=replace)
    except FileExistsError:
        raise KeyFileExists(f"key file {path} already exists: not replaced") from None


def write_private(path: Path, data: bytes, *, replace: bool = False) -> None:
    """Writes `data` to `path` readable by its owner only from the first byte, whole or not
    at all: written beside, synced, then renamed over the file (`replace`) or linked to
    its name, which fails with FileExistsError rather than overwrite. The directory must
    exist; whether it must be private is the caller's to decide."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.draft")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(draft)  # left by a killed process of the same pid
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(draft, path)
        else:
            os.link(draft, path)  # atomic, and fails rather than overwrite
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(draft)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def create_key_file(
    path: Path, passphrase: bytes | None = None, *, scrypt_log_n: int = SCRYPT_LOG_N
) -> Ed25519PrivateKey:
    """A new Ed25519 key, written to `path`; returns it."""
    key = Ed25519PrivateKey.generate()
    write_key_file(path, key, passphrase, scrypt_log_n=scrypt_log_n)
    return key


def load_key_file(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """The key, once the file's ownership and mode are checked and, if it is encrypted,
    the passphrase opened it. A plain file is refused when a passphrase is given: the
    operator believes it encrypted."""
    data = read_private(path)
    if data.startswith(MAGIC.encode() + b"\n"):
        if passphrase is None:
            raise KeyFileLocked(
                f"key file {path} is encrypted: give its passphrase or passphrase file"
            )
        der = _decrypt(path, data, passphrase)
        try:
            return _ed25519(path, load_der_private_key(der, password=None))
        except ValueError:
            raise KeyFileError(f"key file {path} decrypts to no key it can read") from None
    if data.startswith(_PEM_BEGIN):
        if passphrase is not None:
            raise KeyFileLocked(
                f"key file {path} is not encrypted, yet a passphrase was given: re-write it"
                " encrypted, or stop giving the passphrase"
            )
        try:
            return _ed25519(path, load_pem_private_key(data, password=None))
        except ValueError:
            raise KeyFileError(f"key file {path} is damaged: its PEM does not parse") from None
    raise KeyFileError(f"{path} is not a key file (PKCS#8 PEM or {MAGIC})")


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def ensure_distinct(key: Ed25519PublicKey, token_jwks: Iterable[Mapping[str, Any]]) -> None:
    """Refuses a checkpoint key that is also one of the hub's token-signing keys (JWKs,
    retired ones included): a stolen token key must not also rewrite the audit log."""
    raw = public_bytes(key)
    for jwk in token_jwks:
        x = str(jwk.get("x", ""))
        if jwk.get("kty") == "OKP" and base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)) == raw:
            raise KeyFileError(
                f"the checkpoint key is the token-signing key {jwk.get('kid')}: give the"
                " audit log a key of its own"
            )


# -- random secrets ------------------------------------------------------------------------


def secret_file(path: Path, size: int = 32, what: str = "secret file") -> bytes:
    """A random secret of `size` bytes kept in `path` (0600, in a 0700 directory): made
    once, whole, by whichever process gets there first, then read by all — so the
    processes sharing a data directory share it."""
    if not path.exists():
        private_directory(path.parent)
        with contextlib.suppress(FileExistsError):  # another process made it first
            write_private(path, os.urandom(size))
    data = read_private(path, what)
    if len(data) < size:
        raise KeyFileError(f"{what} {path} holds {len(data)} bytes, fewer than {size}")
    return data
