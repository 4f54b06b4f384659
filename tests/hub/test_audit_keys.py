"""The audit log's checkpoint key as the hub uses it: its own file (0600, in a 0700
directory), never a token-signing key, refused when others can read it, encrypted at
rest with the operator's passphrase, and never invented in production."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.note import CosignatureVerifier, parse_vkey
from audit.settings import AuditSettings
from audit.store import AuditUnavailable, Entry
from hub.cli import main as hub_main
from hub.settings import HubSettings
from hub.wiring import (
    build_audit_store,
    build_auth_store,
    checkpoint_key_path,
    load_checkpoint_signer,
)
from storage import migrate
from storage.keys import (
    KeyFileError,
    KeyFileExposed,
    KeyFileLocked,
    load_key_file,
    write_key_file,
)

CHEAP = 12  # scrypt cost for tests; `hub audit keys encrypt` uses 2^17


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_checkpoint_key_is_its_own_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = HubSettings(data_dir=tmp_path)
    signer = load_checkpoint_signer(settings)
    path = tmp_path / "keys" / "audit-checkpoint.key"
    assert checkpoint_key_path(settings) == path
    assert (_mode(path), _mode(path.parent)) == (0o600, 0o700)
    assert load_checkpoint_signer(settings).verifier() == signer.verifier()  # loaded, not new
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    assert hub_main(["audit", "keys", "vkey"]) == 0
    assert capsys.readouterr().out == signer.verifier().vkey() + "\n"

    path.chmod(0o644)
    with pytest.raises(KeyFileExposed, match="chmod 600"):
        build_audit_store(settings)
    assert hub_main(["audit", "keys", "vkey"]) == 1
    assert "open to group or others" in capsys.readouterr().err


def test_an_encrypted_key_needs_its_passphrase(tmp_path: Path) -> None:
    phrase = tmp_path / "secrets" / "audit.passphrase"
    phrase.parent.mkdir(mode=0o700)
    phrase.write_text("correct horse battery staple\n")
    phrase.chmod(0o600)
    plain = HubSettings(data_dir=tmp_path)
    signer = load_checkpoint_signer(plain)
    path = checkpoint_key_path(plain)
    write_key_file(
        path, load_key_file(path), b"correct horse battery staple", replace=True, scrypt_log_n=CHEAP
    )
    assert not path.read_bytes().startswith(b"-----BEGIN")
    with pytest.raises(KeyFileLocked, match="encrypted"):
        load_checkpoint_signer(plain)
    encrypted = plain.model_copy(update={"audit": AuditSettings(key_passphrase_file=phrase)})
    assert load_checkpoint_signer(encrypted).verifier() == signer.verifier()


def test_production_never_invents_a_key_or_a_name(tmp_path: Path) -> None:
    unnamed = HubSettings(data_dir=tmp_path, env="production")
    with pytest.raises(KeyFileError, match="HUB_AUDIT_ORIGIN must name the audit log"):
        load_checkpoint_signer(unnamed)
    named = HubSettings(
        data_dir=tmp_path, env="production", audit=AuditSettings(origin="audit.hub.test/prod")
    )
    with pytest.raises(KeyFileError, match="does not exist"):
        load_checkpoint_signer(named)
    assert not (tmp_path / "keys" / "audit-checkpoint.key").exists()


def test_a_token_key_is_refused_as_checkpoint_key(tmp_path: Path) -> None:
    """Whoever steals the token key (on every host, signing every token) must not also
    be able to re-sign the audit log: the writer refuses to start, so requests get 503."""
    settings = HubSettings(data_dir=tmp_path)
    auth = build_auth_store(settings)
    migrate.upgrade([auth])
    auth.ensure_signing_key()
    private = auth.newest_signing_key().private_key
    assert isinstance(private, Ed25519PrivateKey)
    write_key_file(checkpoint_key_path(settings), private)
    store = build_audit_store(settings, auth)
    migrate.upgrade([store])
    content = {
        "at": datetime.now(UTC).isoformat(),
        "request_id": "0" * 32,
        "endpoint": "/graphql",
        "client_id": None,
        "agency": None,
        "purpose": None,
        "outcome": "ok",
    }

    async def append() -> None:
        try:
            await store.append(Entry(content, []))
        finally:
            await store.close()
            await auth.database.dispose()

    with pytest.raises(AuditUnavailable, match="is the token-signing key"):
        asyncio.run(append())


def test_a_witness_runs_from_the_command_line_with_its_own_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another agency's witness: its own data directory, key and state, told only the
    log's name and verifier key."""
    log_vkey = load_checkpoint_signer(HubSettings(data_dir=tmp_path / "hub")).verifier().vkey()
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "witness"))
    monkeypatch.setenv("HUB_WITNESS_NAME", "witness.hrss.test/audit")
    monkeypatch.setenv(
        "HUB_WITNESS_LOGS",
        json.dumps([{"origin": "wage-hub.invalid/audit", "vkeys": [log_vkey]}]),
    )
    assert hub_main(["witness", "vkey"]) == 0
    verifier = parse_vkey(capsys.readouterr().out.strip())
    assert isinstance(verifier, CosignatureVerifier)
    assert verifier.name == "witness.hrss.test/audit"
    assert hub_main(["witness", "vkey"]) == 0  # the same key, loaded
    assert parse_vkey(capsys.readouterr().out.strip()) == verifier
    for path in (
        tmp_path / "witness" / "keys" / "witness.key",
        tmp_path / "witness" / "witness" / "state.sqlite",
    ):
        assert _mode(path) == 0o600
