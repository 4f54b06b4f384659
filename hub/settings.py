"""Settings from `HUB_*` environment variables, composed in one place.

Each connector gets its own nested block read with its own prefix
(`HUB_HOUSING_DB_URL`, `HUB_BANK_DB_URL`, ...), so a new agency needs no change here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from auth.store import AuthStore
from auth.tokens import TrustedIssuer


class ConnectorSettings(BaseSettings):
    """One agency's block; read with the prefix `HUB_<AGENCY>_`."""

    model_config = SettingsConfigDict(extra="ignore")

    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the agency's database; a SQLite file in the data "
        "directory when unset.",
    )


class RemoteConnectorSettings(BaseSettings):
    """Where an agency runs as its own service; read with the prefix `HUB_CONNECTOR_<AGENCY>_`."""

    model_config = SettingsConfigDict(extra="ignore")

    url: str | None = Field(
        default=None,
        description="The agency's service (`hub connector serve`), e.g. "
        "http://127.0.0.1:9104/graphql; its connector calls go there instead of to a database.",
    )


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".hub")
    host: str = "127.0.0.1"
    port: int = 8000
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    graphiql: bool = True
    db_echo: bool = False
    db_pool_size: int = Field(default=5, ge=1, description="connections kept per database")
    db_max_overflow: int = Field(
        default=5, ge=0, description="extra connections per database under load"
    )

    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="`iss` of the hub's access tokens: the URL agencies reach the hub at.",
    )
    audience: str = Field(default="wage-hub", description="`aud` the hub's tokens carry.")
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    trusted_issuers: dict[str, TrustedIssuer] = Field(
        default_factory=dict,
        description="Identity providers whose tokens are accepted too, as JSON: "
        '{"<iss>": {"jwks_url": "https://…", "audience": "…"}}.',
    )

    max_body_bytes: int = Field(
        default=262_144, ge=1_024, description="A larger /graphql request body is a 413."
    )
    max_document_bytes: int = Field(
        default=20_000, ge=100, description="DOCUMENT_TOO_LARGE above this many UTF-8 bytes."
    )
    max_tokens: int = Field(default=2_000, ge=10, description="TOO_MANY_TOKENS above this.")
    max_depth: int = Field(default=10, ge=1, description="QUERY_TOO_DEEP above this.")
    max_aliases: int = Field(default=15, ge=0, description="TOO_MANY_ALIASES above this.")
    max_root_fields: int = Field(default=10, ge=1, description="TOO_MANY_ROOT_FIELDS above.")
    max_directives: int = Field(default=10, ge=0, description="TOO_MANY_DIRECTIVES above.")
    max_cost: int = Field(default=200_000, ge=1, description="QUERY_TOO_COSTLY above this.")
    max_variable_depth: int = Field(default=8, ge=1, description="VARIABLES_TOO_DEEP above.")
    max_variable_values: int = Field(
        default=1_000, ge=1, description="VARIABLES_TOO_LARGE above this many JSON values."
    )
    batch_max: int = Field(
        default=0, ge=0, le=20, description="Operations in one JSON-array request; 0 refuses."
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="REQUEST_TIMEOUT after this long."
    )
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: {"default": "50/s burst 200"},
        description='Token buckets as JSON {"default": "20/s burst 40", "<client or agency>": '
        '"5/s"}; a client id wins over its agency, which wins over "default".',
    )
    redis_url: str | None = Field(
        default=None, description="Keep rate-limit buckets in Redis (several hub processes)."
    )
    trusted_documents: Literal["optional", "required"] = Field(
        default="optional",
        description="`required` runs only documents registered with `hub documents add`.",
    )

    audit: bool = Field(
        default=True,
        description="Record every request before answering it (fail closed). Off only to "
        "measure what auditing costs: the hub then keeps no record of what it disclosed.",
    )
    audit_hash_key: SecretStr | None = Field(
        default=None,
        description="Key (at least 16 bytes) of the keyed hashes that stand for ID numbers in "
        "the audit log; shared by every hub process. Required in production; elsewhere a "
        "key file is generated in the data directory.",
    )
    audit_checkpoint_every: int = Field(
        default=1_000, ge=1, description="Sign a checkpoint after this many records..."
    )
    audit_checkpoint_seconds: float = Field(
        default=60.0, gt=0, description="...or this long after the last one, if it is older."
    )

    connector_client_id: str = Field(
        default="hub",
        description="The hub's own OAuth client, whose token (scope connector:load) it "
        "presents to remote connectors.",
    )
    connector_client_secret: SecretStr | None = Field(
        default=None, description="Its secret; required when any connector is remote."
    )
    connector_token_url: str | None = Field(
        default=None,
        description="Where the hub gets that token (client credentials); the hub's own "
        "/oauth/token at HUB_ISSUER when unset.",
    )
    connector_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Deadline of one call to a remote connector, retries "
        "included: CONNECTOR_TIMEOUT after it.",
    )
    connector_retries: int = Field(
        default=2,
        ge=0,
        description="Retries of a read that failed in passing (connection "
        "error, 502/503/504), with jittered exponential backoff from 50 ms.",
    )
    connector_breaker_failures: int = Field(
        default=5, ge=1, description="Consecutive failed calls that open a connector's circuit."
    )
    connector_breaker_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long an open circuit fails calls at once before "
        "one probe call goes through.",
    )
    connector_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per-agency service URL overrides by connector name (tests, embedders); "
        "the environment's HUB_CONNECTOR_<AGENCY>_URL is read otherwise.",
    )

    db_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per-agency URL overrides by connector name (used by tests and embedders); "
        "the environment's HUB_<AGENCY>_DB_URL is read otherwise.",
    )

    def for_connector(self, name: str) -> ConnectorSettings:
        return ConnectorSettings(_env_prefix=f"HUB_{name.upper()}_")  # type: ignore[call-arg]

    def database_url(self, name: str) -> str:
        """The agency's configured URL, or its SQLite file under `data_dir`."""
        configured = self.db_urls.get(name) or self.for_connector(name).db_url
        if configured:
            return configured
        return f"sqlite:///{(self.data_dir / f'{name}.db').resolve()}"

    def connector_url(self, name: str) -> str | None:
        """The agency's service URL when it runs remote, else None (its database is local)."""
        prefix = f"HUB_CONNECTOR_{name.upper()}_"
        configured = self.connector_urls.get(name)
        return configured or RemoteConnectorSettings(_env_prefix=prefix).url  # type: ignore[call-arg]

    @property
    def token_url(self) -> str:
        return self.connector_token_url or f"{self.issuer.rstrip('/')}/oauth/token"

    @property
    def auth_db_url(self) -> str:
        """The clients' and signing keys' database, `HUB_AUTH_DB_URL`, resolved like an
        agency's (`db_urls["auth"]`, then the environment, then `auth.db` in `data_dir`)."""
        return self.database_url(AuthStore.name)

    @property
    def audit_db_url(self) -> str:
        """The audit log's database, `HUB_AUDIT_DB_URL`, resolved like the auth store's."""
        return self.database_url("audit")

    @property
    def documents_dir(self) -> Path:
        """Trusted documents, one `<sha256>.graphql` file each (`hub documents add`)."""
        return self.data_dir / "documents"
