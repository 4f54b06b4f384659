"""Settings from `HUB_*` environment variables, composed in one place.

Each connector gets its own nested block read with its own prefix
(`HUB_HOUSING_DB_URL`, `HUB_BANK_DB_URL`, ...), so a new agency needs no change here.
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.settings import AlertSettings
from audit.settings import AuditSettings, WitnessSettings
from auth.staff import SessionPolicy
from auth.store import AuthStore
from auth.tokens import TrustedIssuer
from connectors.resilience import RemotePolicy
from graph.facts.store import FactsSettings
from hub.limits import Limits
from hub.limits.sources import SourceLimits
from kernel.context import PageLimits


class AgencySettings(BaseSettings):
    """One agency's block; read with the prefix `HUB_<AGENCY>_`."""

    model_config = SettingsConfigDict(extra="ignore")

    db_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the agency's database; a SQLite file in the data "
        "directory when unset.",
    )


class ConnectorSettings(RemotePolicy):
    """Agencies reached as their own services (`HUB_CONNECTOR_*`): the policy every remote
    call runs with, the hub's own client, and where each agency is
    (`HUB_CONNECTOR_<AGENCY>_URL`, kept as an extra field of this block)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    client_id: str = Field(
        default="hub",
        description="This process's own OAuth client toward remote connectors: it exchanges "
        "callers' tokens for the agencies' (scope token:exchange) and reads under its own "
        "grant (connector:load) when no caller asks. An agency's service has its own, "
        "with token:exchange only.",
    )
    client_secret: SecretStr | None = Field(
        default=None, description="Its secret; required when any connector is remote."
    )
    token_url: str | None = Field(
        default=None,
        description="Where the hub gets that token (client credentials); the hub's own "
        "/oauth/token at HUB_ISSUER when unset.",
    )
    urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per-agency service URLs by connector name (tests, embedders); "
        "HUB_CONNECTOR_<AGENCY>_URL otherwise.",
    )

    def url_of(self, agency: str) -> str | None:
        """The agency's service (`http://127.0.0.1:9104/graphql`) when it runs remote."""
        extra = self.model_extra or {}
        found = self.urls.get(agency) or extra.get(f"{agency}_url")
        return str(found) if found else None


class DatabasePolicy(BaseModel):
    """Every database's connections (`HUB_DB_*`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    echo: bool = Field(default=False, description="Log every SQL statement (development only).")
    pool_size: int = Field(
        default=2,
        ge=1,
        description="Read connections kept per database and process (each agency's, the "
        "auth store's, the audit log's); `hub check` adds up what every process may open.",
    )
    max_overflow: int = Field(
        default=0, ge=0, description="Extra connections per database and process under load."
    )
    write_pool_size: int = Field(
        default=1,
        ge=1,
        description="Write connections per database and process: the auth store's (desk "
        "sessions, keys, the national registry), the warnings store's, the audit writer's.",
    )


class TokenSettings(BaseModel):
    """The hub's access tokens (`HUB_TOKEN_*`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ttl_seconds: int = Field(default=900, ge=60, le=86_400, description="Their lifetime.")
    kek_file: Path | None = Field(
        default=None,
        description="Key-encryption key (a 0600 file, `hub keys new-kek`) that the signing "
        "keys are sealed with in the auth database; the same file on every hub process. "
        "Required in production; elsewhere `<data_dir>/keys/token.kek` is created.",
    )


class IngestSettings(BaseModel):
    """Agencies' pushes to `POST /ingest/<agency>/<table>` (`HUB_INGEST_*`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    max_bytes: int = Field(
        default=256 << 20,
        ge=1024,
        description="The largest body accepted (413 beyond); larger files go by `hub import`.",
    )
    max_issues: int = Field(
        default=10_000,
        ge=1,
        description="Problems listed in an answer; the counts cover them all.",
    )
    concurrent: int = Field(
        default=1,
        ge=1,
        description="Pushes one process imports at once (each holds 2 database connections "
        "while it runs); the others wait their turn.",
    )


class NationalSettings(BaseModel):
    """The national platform interface at `POST /open.api` (`HUB_NATIONAL_*`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    enabled: bool = Field(
        default=True, description="Serve `/open.api` and run queued calls in this process."
    )
    tolerance_seconds: int = Field(
        default=600,
        ge=10,
        description="How far a call's `timestamp` may be from the hub's clock (replays older "
        "than this are refused; nonces are kept twice as long).",
    )
    lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A running call is renewed every third of this; a call whose process "
        "died is run again once it lapses.",
    )
    poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="Idle wait between queue looks (a call this process accepts wakes it).",
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Runs of a call the hub fails on before it answers 10."
    )
    answer_days: float = Field(
        default=30,
        gt=0,
        description="How long `AsyncHandleResult.Query` can still answer for a finished call.",
    )
    max_bytes: int = Field(default=16 << 20, ge=1024, description="The largest call accepted.")
    max_items: int = Field(default=5_000, ge=1, description="Rows one call may hold.")

    def tolerance(self) -> timedelta:
        return timedelta(seconds=self.tolerance_seconds)


class OtelSettings(BaseModel):
    """Traces (`HUB_OTEL_*`): exported by OTLP over HTTP when an endpoint is set here or in
    the standard OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; off
    otherwise."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    endpoint: str | None = Field(
        default=None,
        description="The collector's OTLP/HTTP URL, e.g. http://127.0.0.1:4318 (`/v1/traces` "
        "is added).",
    )
    service_name: str = Field(default="wage-hub", description="`service.name` of the spans.")


class HubSettings(BaseSettings):
    """Nested per concern: `HUB_<BLOCK>_<FIELD>` sets one field of a block
    (`HUB_LIMITS_MAX_DEPTH=7`, `HUB_AUDIT_CHECKPOINT_SECONDS=5`), and each block is the
    object its concern runs with."""

    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_nested_delimiter="_", env_nested_max_split=1, extra="ignore"
    )

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path(".hub")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    graphiql: bool = True
    workers: int = Field(
        default=1, ge=1, description="Processes `hub serve` starts (`--workers` overrides)."
    )
    log_format: Literal["text", "json"] | None = Field(
        default=None,
        description="Log lines as text or as JSON objects with the request id; JSON in "
        "production when unset.",
    )
    replicas: int = Field(
        default=1,
        ge=1,
        description="Hub replicas (hosts or units, each with HUB_WORKERS processes) sharing "
        "these databases: `hub check` budgets their connections against each PostgreSQL "
        "server's max_connections.",
    )

    issuer: str = Field(
        default="",
        description="`iss` of the hub's access tokens: the URL agencies reach the hub at "
        "(behind a proxy, its https address). Unset: http://HUB_HOST:HUB_PORT as served.",
    )
    audience: str = Field(default="wage-hub", description="`aud` the hub's tokens carry.")
    trusted_issuers: dict[str, TrustedIssuer] = Field(
        default_factory=dict,
        description="Identity providers whose tokens are accepted too, each for the clients "
        'or the agency it vouches for, as JSON: {"<iss>": {"jwks_url": "https://…", '
        '"audience": "…", "agency": "…", "clients": ["…"]}}.',
    )
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: {"default": "50/s burst 200"},
        description='Token buckets as JSON {"default": "20/s burst 40", "<client or agency>": '
        '"5/s"}; a client id wins over its agency, which wins over "default".',
    )
    redis_url: str | None = Field(
        default=None,
        description="Keep rate-limit buckets in Redis (several hub processes), and queue "
        "webhook deliveries on a Redis Stream (`HUB_ALERTS_STREAM_KEY`; their records stay "
        "in the warnings store).",
    )
    trusted_documents: Literal["optional", "required"] = Field(
        default="optional",
        description="`required` runs only documents registered with `hub documents add`.",
    )

    db: DatabasePolicy = DatabasePolicy()
    pages: PageLimits = PageLimits()
    limits: Limits = Limits()
    sources: SourceLimits = SourceLimits()
    token: TokenSettings = TokenSettings()
    audit: AuditSettings = AuditSettings()
    desk: SessionPolicy = SessionPolicy()
    witness: WitnessSettings = WitnessSettings()
    ingest: IngestSettings = IngestSettings()
    otel: OtelSettings = OtelSettings()
    national: NationalSettings = NationalSettings()
    alerts: AlertSettings = AlertSettings()
    facts: FactsSettings = FactsSettings()

    connector: ConnectorSettings = ConnectorSettings()

    db_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per-agency URL overrides by connector name (used by tests and embedders); "
        "the environment's HUB_<AGENCY>_DB_URL is read otherwise.",
    )

    @model_validator(mode="after")
    def _issuer_as_served(self) -> HubSettings:
        """Unset, the issuer is the address served, port included (it stayed :8000 when
        serving on another port, and every token was refused by its own hub)."""
        if not self.issuer:
            self.issuer = served_url(self.host, self.port)
        return self

    @property
    def processes(self) -> int:
        """Hub processes sharing the databases: replicas × workers."""
        return self.replicas * self.workers

    @property
    def json_logs(self) -> bool:
        return (self.log_format or ("json" if self.env == "production" else "text")) == "json"

    def for_connector(self, name: str) -> AgencySettings:
        return AgencySettings(_env_prefix=f"HUB_{name.upper()}_")  # type: ignore[call-arg]

    def database_url(self, name: str) -> str:
        """The agency's configured URL, or its SQLite file under `data_dir`."""
        configured = self.db_urls.get(name) or self.for_connector(name).db_url
        if configured:
            return configured
        return f"sqlite:///{(self.data_dir / f'{name}.db').resolve()}"

    @property
    def token_url(self) -> str:
        return self.connector.token_url or f"{self.issuer.rstrip('/')}/oauth/token"

    @property
    def auth_db_url(self) -> str:
        """The clients' and signing keys' database, `HUB_AUTH_DB_URL`, resolved like an
        agency's (`db_urls["auth"]`, then the environment, then `auth.db` in `data_dir`)."""
        return self.database_url(AuthStore.name)

    @property
    def facts_db_url(self) -> str:
        """The warning facts' database, `HUB_FACTS_DB_URL`, resolved like the auth store's."""
        return self.database_url("facts")

    @property
    def audit_db_url(self) -> str:
        """The audit log's database, `HUB_AUDIT_DB_URL`, resolved like the auth store's."""
        return self.database_url("audit")

    @property
    def alerts_db_url(self) -> str:
        """The warnings store's database, `HUB_ALERTS_DB_URL`, resolved like the audit log's."""
        return self.database_url("alerts")

    @property
    def documents_dir(self) -> Path:
        """Trusted documents, one `<sha256>.graphql` file each (`hub documents add`)."""
        return self.data_dir / "documents"


def served_url(host: str, port: int) -> str:
    """http://host:port as a client reaches it: a wildcard address is reached on loopback."""
    try:
        address = ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"
    if address.is_unspecified:
        return f"http://127.0.0.1:{port}" if address.version == 4 else f"http://[::1]:{port}"
    return f"http://{host}:{port}" if address.version == 4 else f"http://[{host}]:{port}"
