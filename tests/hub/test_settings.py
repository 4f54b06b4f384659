"""The auth settings read from HUB_* variables: the auth database, trusted issuers."""

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
