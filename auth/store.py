"""The registry of agency clients and of the hub's signing keys, in the auth database
(private keys sealed under the key-encryption key: `auth.sealing`).

Migrated like a connector (`name`, `metadata`, `version_table`). Sync methods serve the
command line; async ones the request path, where a client is cached for a few seconds
only, so a revocation bites within that time in every worker.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey
from sqlalchemy import Connection, Row, Select, insert, select, update

from auth import hashing
from auth.errors import ClientExists, InvalidGrant, KeyRetirementRefused, UnknownClient
from auth.models import AuthRecord, Client, SigningKey
from auth.sealing import KeySealer, KeySealingError, is_sealed
from kernel.caller import RowLimitValues, row_limit_values
from kernel.scopes import vocabulary
from storage.database import Database

client_t = Client.__table__  # type: ignore[attr-defined]
key_t = SigningKey.__table__  # type: ignore[attr-defined]

SIGNING_ALGORITHM = "Ed25519"
"""EdDSA over Ed25519, by its RFC 9864 fully-specified name (joserfc warns on every use of
the polymorphic `EdDSA`)."""

_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_LIMIT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
LimitCheck = Callable[[dict[str, Sequence[str]]], dict[str, tuple[str, ...]]]
"""Normalises a grant's row limits, or raises ValueError: the hub passes the installed
packages' kinds (`graph.jurisdiction.RULES.check`)."""


def _shape_only(limits: dict[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Without the installed kinds, only the shape is checked: names and non-empty values."""
    for name, values in limits.items():
        if not _LIMIT_NAME.fullmatch(name) or not all(v.strip() for v in values):
            raise ValueError(f"row limit {name!r} is malformed")
    return {name: tuple(values) for name, values in limits.items() if values}


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    agency: str
    title: str
    scopes: tuple[str, ...]
    purposes: tuple[str, ...]
    limits: RowLimitValues
    created_at: datetime
    secret_rotated_at: datetime
    revoked_at: datetime | None
    secret_hash: str = field(repr=False)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def check_secret(self, secret: str) -> bool:
        """Constant-time; slow on purpose (scrypt): call it off the event loop."""
        return hashing.verify_secret(secret, self.secret_hash)

    @classmethod
    def from_row(cls, row: Row[Any]) -> RegisteredClient:
        return cls(
            client_id=row.client_id,
            agency=row.agency,
            title=row.title,
            scopes=tuple(row.scopes.split()),
            purposes=tuple(row.purposes.split()),
            limits=row_limit_values(
                {name: tuple(values) for name, values in json.loads(row.limits).items()}
            ),
            created_at=row.created_at,
            secret_rotated_at=row.secret_rotated_at,
            revoked_at=row.revoked_at,
            secret_hash=row.secret_hash,
        )


@dataclass(frozen=True)
class KeyInfo:
    """A signing key as listed: never its private half."""

    kid: str
    algorithm: str
    created_at: datetime
    retired_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC)


def _checked(kind: str, values: tuple[str, ...], pattern: re.Pattern[str]) -> str:
    for value in values:
        if not pattern.fullmatch(value):
            raise InvalidGrant(f"{kind} {value!r} is malformed (expected {pattern.pattern})")
    return " ".join(values)


@dataclass(frozen=True)
class Grant:
    """What a client may do: scopes, purposes, and the rows it may see (`limits` by kind,
    e.g. `{"regions": ("4101",)}`; none means no limit)."""

    agency: str
    scopes: tuple[str, ...]
    purposes: tuple[str, ...]
    title: str = ""
    limits: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def columns(self, check_limits: LimitCheck = _shape_only) -> dict[str, Any]:
        """The table's columns, once the grant is checked."""
        unknown = [scope for scope in self.scopes if scope not in vocabulary()]
        if unknown:
            raise InvalidGrant(
                f"unknown scopes {unknown}; the vocabulary: {' '.join(vocabulary())}"
            )
        if not self.scopes:
            raise InvalidGrant("a client needs at least one scope")
        if not self.purposes:
            raise InvalidGrant("a client needs at least one purpose")
        if not self.agency.strip():
            raise InvalidGrant("a client needs an agency")
        return {
            "agency": self.agency,
            "title": self.title or self.agency,
            "scopes": " ".join(self.scopes),
            "purposes": _checked("purpose", self.purposes, _PURPOSE),
            "limits": json.dumps(_limits(check_limits, self.limits), ensure_ascii=False),
        }


def _limits(check: LimitCheck, limits: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    try:
        checked = check(dict(limits))
    except ValueError as error:
        raise InvalidGrant(str(error)) from error
    return {name: list(values) for name, values in sorted(checked.items())}


def _new_key_row(sealer: KeySealer | None) -> dict[str, Any]:
    """A fresh key whose kid (its RFC 7638 thumbprint, base64url) does not start with '-',
    so `hub keys retire <kid>` never reads as an option; its private half sealed."""
    if sealer is None:
        raise KeySealingError(_NO_KEK)
    key = OKPKey.generate_key("Ed25519", private=True, auto_kid=True)
    while str(key.kid).startswith("-"):
        key = OKPKey.generate_key("Ed25519", private=True, auto_kid=True)
    return {
        "kid": key.kid,
        "algorithm": SIGNING_ALGORITHM,
        "private_jwk": sealer.seal(key),
        "public_jwk": json.dumps(key.as_dict(private=False, alg=SIGNING_ALGORITHM, use="sig")),
        "created_at": _now(),
    }


_NO_KEK = "this process has no key-encryption key for the signing keys (HUB_TOKEN_KEK_FILE)"
_ACTIVE_KEYS = (
    select(key_t)
    .where(key_t.c.retired_at.is_(None))
    .order_by(key_t.c.created_at.desc(), key_t.c.kid)
)


class AuthStore:
    name = "auth"
    metadata = AuthRecord.metadata
    version_table = "alembic_version_auth"
    migrations = Path(__file__).resolve().parent / "migrations"

    def __init__(
        self,
        database: Database,
        *,
        client_ttl_seconds: float = 5.0,
        check_limits: LimitCheck = _shape_only,
        sealer: KeySealer | None = None,
    ) -> None:
        self.database = database
        self.check_limits = check_limits
        self._sealer = sealer
        self._client_ttl = client_ttl_seconds
        self._clients: dict[str, tuple[float, RegisteredClient | None]] = {}

    def __repr__(self) -> str:
        return f"<AuthStore {self.database!r}>"

    @property
    def sealer(self) -> KeySealer | None:
        """The key-encryption key's sealer (the national interface's appsecrets use it)."""
        return self._sealer

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction on the database's one-off engine (`Database.one_off_engine`),
        kept between calls: an engine made and disposed for each call (a demo hub's start
        registers 15 clients, a command a few) set up its dialect, compiled its statements
        and, on PostgreSQL, started a server backend every time."""
        with self.database.one_off_engine().begin() as connection:
            yield connection

    # -- clients, for the command line ----------------------------------------------------

    def add_client(self, client_id: str, grant: Grant) -> str:
        """Registers a client and returns its secret: the only time it is ever visible."""
        if not _CLIENT_ID.fullmatch(client_id):
            raise InvalidGrant(f"client id {client_id!r} is malformed ({_CLIENT_ID.pattern})")
        columns = grant.columns(self.check_limits)
        secret = hashing.new_secret()
        now = _now()
        with self._transaction() as connection:
            if connection.execute(
                select(client_t.c.client_id).filter_by(client_id=client_id)
            ).first():
                raise ClientExists(client_id)
            connection.execute(
                insert(client_t).values(
                    client_id=client_id,
                    secret_hash=hashing.hash_secret(secret),
                    created_at=now,
                    secret_rotated_at=now,
                    **columns,
                )
            )
        return secret

    def set_grant(self, client_id: str, grant: Grant) -> None:
        """Replaces what an existing client may do (the demo seeding keeps grants current)."""
        self._update(client_id, **grant.columns(self.check_limits))

    def clients(self) -> list[RegisteredClient]:
        with self._transaction() as connection:
            rows = connection.execute(select(client_t).order_by(client_t.c.client_id)).all()
        return [RegisteredClient.from_row(row) for row in rows]

    def get_client(self, client_id: str) -> RegisteredClient | None:
        with self._transaction() as connection:
            row = connection.execute(select(client_t).filter_by(client_id=client_id)).first()
        return RegisteredClient.from_row(row) if row else None

    def revoke(self, client_id: str) -> None:
        """Tokens already issued to the client are refused too, within the cache's seconds."""
        self._update(client_id, revoked_at=_now())

    def rotate_secret(self, client_id: str) -> str:
        """A new secret, returned once; the old one stops working at once."""
        secret = hashing.new_secret()
        self._update(client_id, secret_hash=hashing.hash_secret(secret), secret_rotated_at=_now())
        return secret

    def _update(self, client_id: str, **values: Any) -> None:
        with self._transaction() as connection:
            result = connection.execute(
                update(client_t).where(client_t.c.client_id == client_id).values(**values)
            )
            if result.rowcount == 0:
                raise UnknownClient(client_id)

    # -- signing keys, for the command line -------------------------------------------------

    def add_signing_key(self) -> str:
        """A new Ed25519 key, used for new tokens from now on; returns its kid."""
        row = _new_key_row(self._sealer)
        with self._transaction() as connection:
            connection.execute(insert(key_t).values(**row))
        return str(row["kid"])

    def ensure_signing_key(self) -> str | None:
        """Creates the first key if there is none; returns its kid if it did."""
        with self._transaction() as connection:
            if connection.execute(_ACTIVE_KEYS.limit(1)).first():
                return None
            row = _new_key_row(self._sealer)
            connection.execute(insert(key_t).values(**row))
        return str(row["kid"])

    def signing_keys(self) -> list[KeyInfo]:
        with self._transaction() as connection:
            rows = connection.execute(
                select(
                    key_t.c.kid, key_t.c.algorithm, key_t.c.created_at, key_t.c.retired_at
                ).order_by(key_t.c.created_at, key_t.c.kid)
            ).all()
        return [KeyInfo(row.kid, row.algorithm, row.created_at, row.retired_at) for row in rows]

    def verification_keys(self) -> dict[str, OKPKey]:
        """Every public key the hub has signed with, retired ones too: what it signed long
        ago (audit checkpoints) must stay verifiable."""
        with self._transaction() as connection:
            rows = connection.execute(select(key_t.c.kid, key_t.c.public_jwk)).all()
        return {row.kid: OKPKey.import_key(json.loads(row.public_jwk)) for row in rows}

    def newest_signing_key(self) -> OKPKey:
        """The key that signs now, for the command line (audit checkpoints)."""
        with self._transaction() as connection:
            row = connection.execute(_ACTIVE_KEYS.limit(1)).first()
        if row is None:
            raise KeyRetirementRefused("the hub has no signing key yet: run `hub migrate`")
        return self._private(row)

    def _private(self, row: Row[Any]) -> OKPKey:
        if self._sealer is None:
            if is_sealed(row.private_jwk):
                raise KeySealingError(_NO_KEK)
            return OKPKey.import_key(json.loads(row.private_jwk))
        return self._sealer.open(row.kid, row.private_jwk)

    def seal_plain_keys(self) -> list[str]:
        """Seals every private key still stored in the clear (written before sealing
        existed); returns their kids. `hub migrate` and each start run it."""
        if self._sealer is None:
            raise KeySealingError(_NO_KEK)
        sealed = []
        with self._transaction() as connection:
            for row in connection.execute(select(key_t.c.kid, key_t.c.private_jwk)).all():
                if is_sealed(row.private_jwk):
                    continue
                key = self._sealer.open(row.kid, row.private_jwk)
                connection.execute(
                    update(key_t)
                    .where(key_t.c.kid == row.kid, key_t.c.private_jwk == row.private_jwk)
                    .values(private_jwk=self._sealer.seal(key))
                )
                sealed.append(row.kid)
        return sealed

    def retire_key(self, kid: str) -> None:
        """Withdraws a key from the JWKS: tokens it signed are refused once verifiers reload
        their keys (within a minute)."""
        with self._transaction() as connection:
            active = [row.kid for row in connection.execute(_ACTIVE_KEYS).all()]
            if kid not in active:
                raise KeyRetirementRefused(f"no active signing key {kid!r}")
            if active[0] == kid:
                raise KeyRetirementRefused(
                    f"{kid} is the newest key, which signs new tokens: rotate first"
                )
            connection.execute(update(key_t).where(key_t.c.kid == kid).values(retired_at=_now()))

    # -- the request path -------------------------------------------------------------------

    async def client(self, client_id: str, *, fresh: bool = False) -> RegisteredClient | None:
        """The client, revoked or not; from a cache of a few seconds unless `fresh`. Fresh
        lookups (the token endpoint's, for any id a caller sends) are not cached, so the
        cache holds only ids from verified tokens."""
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached and not fresh and now - cached[0] < self._client_ttl:
            return cached[1]
        row = await self._first(select(client_t).filter_by(client_id=client_id))
        found = RegisteredClient.from_row(row) if row else None
        if not fresh:
            self._clients[client_id] = (now, found)
        return found

    async def current_signing_key(self) -> OKPKey | None:
        """The newest unretired key, which signs new tokens; None before the first."""
        row = await self._first(_ACTIVE_KEYS)
        return self._private(row) if row else None

    async def create_first_signing_key(self) -> str | None:
        """As `ensure_signing_key`, at start-up (two workers racing make two keys: harmless)."""
        if await self._first(_ACTIVE_KEYS):
            return None
        row = _new_key_row(self._sealer)
        async with self.database.engine.begin() as connection:
            await connection.execute(insert(key_t).values(**row))
        return str(row["kid"])

    async def public_keys(self) -> list[dict[str, Any]]:
        """Every unretired public key as a JWK, newest first."""
        rows = await self.database.fetch(_ACTIVE_KEYS)
        return [json.loads(row.public_jwk) for row in rows]

    async def all_public_keys(self) -> list[dict[str, Any]]:
        """Every public key the hub has signed tokens with, retired ones too."""
        rows = await self.database.fetch(select(key_t.c.public_jwk))
        return [json.loads(row.public_jwk) for row in rows]

    async def check_health(self) -> None:
        """Raise unless the auth database answers and has its tables."""
        await self.database.fetch(select(client_t.c.client_id).limit(1))

    async def _first(self, statement: Select[Any]) -> Row[Any] | None:
        rows = await self.database.fetch(statement.limit(1))
        return rows[0] if rows else None
