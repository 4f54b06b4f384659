"""Settings read from HUB_* variables: the auth database, trusted issuers, the audit
log's witnesses and keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.settings import HubSettings


def test_the_auth_database_defaults_to_a_file_in_the_data_dir(tmp_path: Path) -> None:
    assert HubSettings(data_dir=tmp_path).auth_db_url == f"sqlite:///{tmp_path / 'auth.db'}"


def test_the_auth_database_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_AUTH_DB_URL", "postgresql://hub@db/hub_auth")
    assert HubSettings().auth_db_url == "postgresql://hub@db/hub_auth"


def test_trusted_issuers_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "HUB_TRUSTED_ISSUERS",
        '{"https://idp.example": {"jwks_url": "https://idp.example/jwks", "audience": "hub",'
        ' "agency": "public_security", "clients": ["court-xinmi"]}}',
    )
    trusted = HubSettings().trusted_issuers["https://idp.example"]
    assert (trusted.jwks_url, trusted.audience) == ("https://idp.example/jwks", "hub")
    assert (trusted.agency, trusted.clients) == ("public_security", ("court-xinmi",))


@pytest.mark.parametrize(
    "jwks_url", ["http://idp.example/jwks", "ftp://127.0.0.1/jwks", "idp.example/jwks"]
)
def test_a_jwks_fetched_in_clear_text_from_afar_is_refused(
    monkeypatch: pytest.MonkeyPatch, jwks_url: str
) -> None:
    monkeypatch.setenv(
        "HUB_TRUSTED_ISSUERS",
        f'{{"https://idp": {{"jwks_url": "{jwks_url}", "audience": "a", "agency": "x"}}}}',
    )
    with pytest.raises(ValidationError, match="jwks_url must be https"):
        HubSettings()


def test_the_audit_witnesses_and_keys_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_AUDIT_ORIGIN", "audit.hub.example/henan")
    monkeypatch.setenv(
        "HUB_AUDIT_WITNESSES",
        '[{"url": "https://w1.example", "vkey": "a"}, {"url": "https://w2.example", "vkey": "b"}]',
    )
    monkeypatch.setenv("HUB_AUDIT_WITNESS_QUORUM", "2")
    monkeypatch.setenv("HUB_AUDIT_LOG_VKEYS", '["old", "new"]')
    monkeypatch.setenv("HUB_TOKEN_KEK_FILE", "/etc/hub/token.kek")
    monkeypatch.setenv("HUB_WITNESS_LOGS", '[{"origin": "o.example/log", "vkeys": ["k"]}]')
    settings = HubSettings()
    assert settings.audit.origin == "audit.hub.example/henan"
    assert [w.url for w in settings.audit.witnesses] == ["https://w1.example", "https://w2.example"]
    assert (settings.audit.quorum(), settings.audit.log_vkeys) == (2, ("old", "new"))
    assert settings.token.kek_file == Path("/etc/hub/token.kek")
    assert settings.witness.logs[0].origin == "o.example/log"


def test_a_quorum_beyond_the_witnesses_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_AUDIT_WITNESSES", '[{"url": "https://w1.example", "vkey": "a"}]')
    monkeypatch.setenv("HUB_AUDIT_WITNESS_QUORUM", "2")
    with pytest.raises(ValidationError, match="only 1 witness"):
        HubSettings()


def test_an_origin_must_be_a_key_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_AUDIT_ORIGIN", "audit log+1")
    with pytest.raises(ValidationError, match="no spaces"):
        HubSettings()
