"""The auth store's tables: registered agency clients and the hub's signing keys. Their own
SQLModel registry, so their own database (`HUB_AUTH_DB_URL`), migrated like an agency's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime


class AuthRecord(SQLModel, registry=registry()):
    """Base of the auth tables: their own metadata, so their own database."""


class Client(AuthRecord, table=True):
    """An agency's OAuth2 client and its grant. Lists are space-separated, as OAuth writes
    scopes; the secret is kept only as a salted scrypt hash."""

    __tablename__ = "auth_client"

    client_id: str = Field(primary_key=True, max_length=64)
    agency: str = Field(max_length=64)
    title: str = Field(max_length=200)
    secret_hash: str = Field(max_length=200)
    scopes: str = Field(sa_type=Text)
    purposes: str = Field(sa_type=Text)
    limits: str = Field(
        sa_type=Text,
        default="{}",
        description='row limits as JSON, {"regions": ["4101"]}; {}: no limit (kernel.limits)',
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    secret_rotated_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SigningKey(AuthRecord, table=True):
    """A key the hub signs access tokens with; the newest unretired one signs, every
    unretired one is published at /.well-known/jwks.json."""

    __tablename__ = "auth_signing_key"

    kid: str = Field(primary_key=True, max_length=64, description="RFC 7638 thumbprint")
    algorithm: str = Field(max_length=16)
    private_jwk: str = Field(
        sa_type=Text, description="sealed: a JWE under the key-encryption key (auth.sealing)"
    )
    public_jwk: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffUser(AuthRecord, table=True):
    """A person who signs in to the web desk: staff of the agency whose client they act
    through. Their rights are the role's scopes within that client's grant (`auth.roles`);
    the password is kept only as an argon2id hash."""

    __tablename__ = "auth_staff_user"

    username: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64, index=True)
    role: str = Field(max_length=32)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    password_set_at: datetime = Field(sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_attempts: int = Field(default=0, description="bad passwords since the last success")
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StaffSession(AuthRecord, table=True):
    """A signed-in person's session, server-side so it can be revoked (sign-out, a
    disabled account, a reset password). The cookie holds a random token; the table only
    its SHA-256, so a copy of the table opens no session."""

    __tablename__ = "auth_staff_session"

    token_sha256: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    seen_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    purpose: str | None = Field(default=None, max_length=64)
    purpose_reference: str | None = Field(default=None, max_length=100)


class NationalSubmitter(AuthRecord, table=True):
    """A province's uploader on the national platform's interface (`hub national`): its
    `appid` and its appsecret, sealed under the key-encryption key — the secret is also
    the AES key of the fields it encrypts, so it must be recoverable, never only hashed."""

    __tablename__ = "auth_national_submitter"

    appid: str = Field(primary_key=True, max_length=32)
    agency: str = Field(max_length=64)
    title: str = Field(max_length=200)
    sealed_secret: str = Field(sa_type=Text, description="a JWE under the key-encryption key")
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NationalNonce(AuthRecord, table=True):
    """A (nonce, timestamp) an appid has used: a second call with both is a replay. Kept
    a little longer than the timestamp window, after which a replay is stale anyway."""

    __tablename__ = "auth_national_nonce"

    appid: str = Field(primary_key=True, max_length=32)
    nonce: str = Field(primary_key=True, max_length=64)
    timestamp: str = Field(primary_key=True, max_length=14)
    seen_at: datetime = Field(sa_type=UTCDateTime, index=True)


class NationalCall(AuthRecord, table=True):
    """A write call accepted on the national interface, queued until the hub's worker has
    run it through the import engine; its answer for `AsyncHandleResult.Query`. `data` is
    kept as received (ID and card numbers still encrypted)."""

    __tablename__ = "auth_national_call"
    # Every column the runner's claim reads (`NationalRegistry.claim`), so it reads the
    # index, not the rows: on SQLite they come after `data`, whose overflow pages every
    # waiting call's read walked (migration 0005).
    __table_args__ = (
        Index(
            "ix_auth_national_call_queue",
            *("state", "appid", "received_at", "serial", "attempts", "lease_until"),
        ),
    )

    serial: str = Field(primary_key=True, max_length=80)
    appid: str = Field(max_length=32, index=True)
    method: str = Field(max_length=64)
    data: str = Field(sa_type=Text)
    state: str = Field(max_length=16, description="pending, running, done, failed")
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: str | None = Field(default=None, sa_type=Text, description="the answer, JSON")
