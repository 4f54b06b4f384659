"""Key files: created private, refused when others could read them, encrypted at rest
with a passphrase that must be the right one, and refused when altered in any byte."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from storage.keys import (
    KeyFileError,
    KeyFileExposed,
    KeyFileLocked,
    create_key_file,
    ensure_distinct,
    load_key_file,
    public_bytes,
    read_passphrase_file,
    write_key_file,
    write_private,
)

CHEAP = 12  # scrypt cost for tests; production files use 2^17
PASSPHRASE = b"correct horse battery staple"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _same(a: Ed25519PrivateKey, b: Ed25519PrivateKey) -> bool:
    return public_bytes(a.public_key()) == public_bytes(b.public_key())


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_a_key_is_created_private_and_loads_back(tmp_path: Path, passphrase: bytes | None) -> None:
    path = tmp_path / "keys" / "checkpoint.key"
    key = create_key_file(path, passphrase, scrypt_log_n=CHEAP)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _same(load_key_file(path, passphrase), key)
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.key"]  # no draft left


def test_an_existing_key_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "checkpoint.key"
    first = create_key_file(path)
    with pytest.raises(KeyFileError, match="already exists"):
        create_key_file(path)
    assert _same(load_key_file(path), first)
    write_key_file(path, first, PASSPHRASE, replace=True, scrypt_log_n=CHEAP)  # re-encrypt
    assert _same(load_key_file(path, PASSPHRASE), first)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o610])
def test_a_key_others_can_reach_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys" / "checkpoint.key"
    create_key_file(path)
    path.chmod(mode)
    with pytest.raises(KeyFileExposed) as refused:
        load_key_file(path)
    assert f"chmod 600 {path}" in str(refused.value)
    assert f"{mode:04o}" in str(refused.value)


def test_a_key_directory_others_can_enter_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    with pytest.raises(KeyFileExposed, match=f"chmod 700 {directory}"):
        create_key_file(directory / "checkpoint.key")
    assert not (directory / "checkpoint.key").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_key_owned_by_another_account_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "checkpoint.key"
    create_key_file(path)
    os.chown(path, 65534, -1)
    with pytest.raises(KeyFileExposed, match="belongs to uid 65534"):
        load_key_file(path)


def test_the_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "checkpoint.key"
    create_key_file(path, PASSPHRASE, scrypt_log_n=CHEAP)
    with pytest.raises(KeyFileLocked, match="wrong passphrase, or the file was altered"):
        load_key_file(path, b"correct horse battery stapler")
    with pytest.raises(KeyFileLocked, match="is encrypted: give its passphrase"):
        load_key_file(path)


def test_a_plain_key_is_refused_when_a_passphrase_is_given(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "checkpoint.key"
    create_key_file(path)
    with pytest.raises(KeyFileLocked, match="is not encrypted"):
        load_key_file(path, PASSPHRASE)


def _swap(text: str, at: int) -> str:
    return text[:at] + ("B" if text[at] == "A" else "A") + text[at + 1 :]


def test_every_altered_part_is_refused(tmp_path: Path) -> None:
    """The cost, the salt, the nonce and the ciphertext are all authenticated: a change
    to any fails like a wrong passphrase, and never loads as some other key."""
    path = tmp_path / "keys" / "checkpoint.key"
    create_key_file(path, PASSPHRASE, scrypt_log_n=CHEAP)
    magic, kdf, aead, sealed, _ = path.read_text().split("\n")
    assert kdf.startswith(f"scrypt {CHEAP} 8 1 ")
    altered = [
        [magic, kdf.replace(f"scrypt {CHEAP} ", f"scrypt {CHEAP + 1} "), aead, sealed],
        [magic, _swap(kdf, len(kdf) - 10), aead, sealed],
        [magic, kdf, _swap(aead, len(aead) - 5), sealed],
        [magic, kdf, aead, _swap(sealed, 10)],
        [magic, kdf, aead, _swap(sealed, len(sealed) - 10)],
    ]
    for lines in altered:
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(KeyFileLocked, match="wrong passphrase, or the file was altered"):
            load_key_file(path, PASSPHRASE)
    for damaged in ([magic, kdf, aead, sealed[:-8]], [magic, "scrypt 40 8 1 x", aead, sealed]):
        path.write_text("\n".join(damaged) + "\n")
        with pytest.raises(KeyFileError):
            load_key_file(path, PASSPHRASE)
    path.write_bytes(b"not a key at all\n")
    with pytest.raises(KeyFileError, match="is not a key file"):
        load_key_file(path)


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"missing\.key does not exist"):
        load_key_file(tmp_path / "missing.key")


def test_a_passphrase_file_is_held_to_the_same_rule(tmp_path: Path) -> None:
    path = tmp_path / "passphrase"
    path.write_bytes(PASSPHRASE + b"\n")
    path.chmod(0o644)
    with pytest.raises(KeyFileExposed, match=f"chmod 600 {path}"):
        read_passphrase_file(path)
    path.chmod(0o600)
    assert read_passphrase_file(path) == PASSPHRASE
    path.write_bytes(b"\n")
    with pytest.raises(KeyFileError, match="is empty"):
        read_passphrase_file(path)


def test_the_checkpoint_key_must_not_be_a_token_key(tmp_path: Path) -> None:
    token_key = OKPKey.generate_key("Ed25519", private=True, auto_kid=True)
    jwks = [token_key.as_dict(private=False)]
    own = create_key_file(tmp_path / "keys" / "checkpoint.key")
    ensure_distinct(own.public_key(), jwks)
    reused = Ed25519PrivateKey.from_private_bytes(token_key.private_key.private_bytes_raw())  # type: ignore[union-attr]
    with pytest.raises(KeyFileError, match="is the token-signing key"):
        ensure_distinct(reused.public_key(), jwks)


def test_a_private_file_is_written_whole_and_never_over_another(tmp_path: Path) -> None:
    """Every secret the hub writes (env file, credentials, keys) goes through one path:
    0600 from the first byte, no draft left, an existing file kept unless replaced."""
    path = tmp_path / "hub.env"
    (tmp_path / f".hub.env.{os.getpid()}.draft").write_bytes(b"left by a killed run")
    write_private(path, b"first")
    assert (_mode(path), path.read_bytes()) == (0o600, b"first")
    with pytest.raises(FileExistsError):
        write_private(path, b"second")
    assert path.read_bytes() == b"first"
    path.chmod(0o644)
    write_private(path, b"third", replace=True)
    assert (_mode(path), path.read_bytes()) == (0o600, b"third")
    assert [p.name for p in tmp_path.iterdir()] == ["hub.env"]
