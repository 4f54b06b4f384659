"""Token-signing keys are sealed in the auth database under a key-encryption key that
only the service account can read: a copy of the database holds no usable key; every
replica given the same KEK file signs with the same keys; a replica with another KEK,
or a row tampered with, is refused with a message that says why; keys stored in the
clear by an older version are sealed by `hub migrate` and at start."""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from auth.sealing import KeySealer, KeySealingError, create_kek_file, read_kek_file
from auth.store import AuthStore
from conftest import backend_settings
from hub.cli import main as hub_main
from hub.settings import HubSettings, TokenSettings
from hub.wiring import build_auth_store
from storage import migrate
from storage.database import Database
from storage.keys import KeyFileExposed


def _store(settings: HubSettings) -> AuthStore:
    store = build_auth_store(settings)
    migrate.upgrade([store])
    return store


def _raw_keys(store: AuthStore) -> list[str]:
    engine = store.database.sync_engine()
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(text("SELECT private_jwk FROM auth_signing_key")).scalars()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_database_holds_no_private_key_in_the_clear(backend: str, tmp_path: Path) -> None:
    store = _store(backend_settings(backend, tmp_path, "hub_sealing"))
    kid = store.ensure_signing_key()
    private = store.newest_signing_key()
    assert private.kid == kid
    d = str(private.as_dict(private=True)["d"])
    [stored] = _raw_keys(store)
    assert d not in stored
    assert not stored.startswith("{")  # a JWE, not a JWK
    header = json.loads(base64.urlsafe_b64decode(stored.split(".")[0] + "=="))
    assert (header["alg"], header["enc"], header["cty"]) == ("dir", "A256GCM", "jwk+json")
    if backend == "sqlite":
        assert d.encode() not in Path(tmp_path / "auth.db").read_bytes()
    kek = tmp_path / "keys" / "token.kek"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600
    assert stat.S_IMODE(kek.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_replicas_with_the_same_kek_file_sign_alike(backend: str, tmp_path: Path) -> None:
    """Two hub hosts: their own data directories, one shared auth database, one KEK file."""
    kek = tmp_path / "shared" / "token.kek"
    assert create_kek_file(kek)
    first = backend_settings(backend, tmp_path / "a", "hub_replicas")
    first = first.model_copy(update={"token": TokenSettings(kek_file=kek)})
    second = HubSettings(
        data_dir=tmp_path / "b",
        db_urls={"auth": first.auth_db_url},
        token=TokenSettings(kek_file=kek),
    )
    a, b = _store(first), build_auth_store(second)
    a.ensure_signing_key()
    assert b.newest_signing_key().as_dict(private=True) == a.newest_signing_key().as_dict(
        private=True
    )
    rotated = b.add_signing_key()
    assert a.newest_signing_key().kid == rotated

    other = HubSettings(data_dir=tmp_path / "c", db_urls={"auth": first.auth_db_url})
    with pytest.raises(KeySealingError, match="same HUB_TOKEN_KEK_FILE"):
        build_auth_store(other).newest_signing_key()  # its own, different KEK


def test_a_swapped_or_altered_row_is_refused(tmp_path: Path) -> None:
    store = _store(HubSettings(data_dir=tmp_path))
    first = store.ensure_signing_key()
    second = store.add_signing_key()
    with sqlite3.connect(tmp_path / "auth.db") as connection:
        rows = dict(connection.execute("SELECT kid, private_jwk FROM auth_signing_key"))
        connection.execute(
            "UPDATE auth_signing_key SET private_jwk = ? WHERE kid = ?", (rows[first], second)
        )
    with pytest.raises(KeySealingError, match="another key"):
        store.newest_signing_key()
    with sqlite3.connect(tmp_path / "auth.db") as connection:
        altered = rows[second][:-5] + ("AAAAA" if not rows[second].endswith("AAAAA") else "BBBBB")
        connection.execute(
            "UPDATE auth_signing_key SET private_jwk = ? WHERE kid = ?", (altered, second)
        )
    with pytest.raises(KeySealingError, match="altered"):
        build_auth_store(HubSettings(data_dir=tmp_path)).newest_signing_key()


def test_keys_stored_in_the_clear_are_sealed_by_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database from before sealing: its rows are plain JWKs."""
    store = _store(HubSettings(data_dir=tmp_path))
    kid = store.ensure_signing_key()
    key = store.newest_signing_key()
    with sqlite3.connect(tmp_path / "auth.db") as connection:
        connection.execute(
            "UPDATE auth_signing_key SET private_jwk = ?",
            (json.dumps(key.as_dict(private=True)),),
        )
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    assert hub_main(["migrate"]) == 0
    [stored] = _raw_keys(store)
    assert not stored.startswith("{")
    assert build_auth_store(HubSettings(data_dir=tmp_path)).newest_signing_key().kid == kid


def test_the_kek_file_is_held_to_the_key_file_rule(tmp_path: Path) -> None:
    kek = tmp_path / "token.kek"
    assert create_kek_file(kek)
    assert not create_kek_file(kek)  # never replaced
    assert len(read_kek_file(kek)) == 32
    kek.chmod(0o640)
    with pytest.raises(KeyFileExposed, match="chmod 600"):
        read_kek_file(kek)
    kek.chmod(0o600)
    kek.write_text("not a key\n")
    with pytest.raises(KeySealingError, match="holds 10 bytes, not 32"):
        read_kek_file(kek)


def test_production_needs_a_kek_file(tmp_path: Path) -> None:
    settings = HubSettings(data_dir=tmp_path, env="production")
    with pytest.raises(KeySealingError, match="HUB_TOKEN_KEK_FILE must be set in production"):
        build_auth_store(settings)


def test_a_store_without_a_kek_cannot_make_or_use_keys(tmp_path: Path) -> None:
    sealed = _store(HubSettings(data_dir=tmp_path))
    sealed.ensure_signing_key()
    bare = AuthStore(Database(sealed.database.url.render_as_string(hide_password=False)))
    with pytest.raises(KeySealingError, match="no key-encryption key"):
        bare.newest_signing_key()
    with pytest.raises(KeySealingError, match="no key-encryption key"):
        bare.add_signing_key()
    assert bare.verification_keys()  # public keys need none
    assert KeySealer(read_kek_file(tmp_path / "keys" / "token.kek")).kek_id


def test_a_sealed_text_opens_for_its_row_only() -> None:
    """A national-interface appsecret: recoverable under the KEK, bound to its appid."""
    sealer = KeySealer(b"k" * 32)
    stored = sealer.seal_text("1000000000000001", "6307a2c2403b72d08ca978e5dfea1813")
    assert "6307a2c2" not in stored
    assert sealer.open_text("1000000000000001", stored) == "6307a2c2403b72d08ca978e5dfea1813"
    with pytest.raises(KeySealingError, match="another row"):
        sealer.open_text("1000000000000002", stored)  # copied to another appid's row
    with pytest.raises(KeySealingError, match="same HUB_TOKEN_KEK_FILE"):
        KeySealer(b"o" * 32).open_text("1000000000000001", stored)
    altered = stored[:-5] + ("AAAAA" if not stored.endswith("AAAAA") else "BBBBB")
    with pytest.raises(KeySealingError, match="altered"):
        sealer.open_text("1000000000000001", altered)
    with pytest.raises(KeySealingError, match="neither"):
        sealer.open_text("1000000000000001", "not a jwe")
