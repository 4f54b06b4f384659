"""People at the web desk: staff accounts under an agency's client, and their sessions.

Accounts (`hub users add|list|disable|enable|reset|unlock`) belong to one client and hold
one role (`auth.roles`); the password is an argon2id hash (`auth.passwords`). After
`lockout_failures` bad passwords in a row an account is locked for `lockout_minutes`
(`hub users unlock` or `reset` ends it sooner); the refusal reads the same whatever the
reason, so the sign-in form does not say which names exist.

Sessions live in the auth database, not in the cookie: signing out, disabling a person or
resetting their password ends them at once, in every hub process. The cookie carries a
random token; the table keeps its SHA-256. A session ends after `idle_minutes` without a
request and `absolute_hours` after sign-in, whatever happens. Each carries its own CSRF
token (synchronizer pattern) and the purpose the person chose, with its reference.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Row, insert, select, update
from starlette.concurrency import run_in_threadpool

from auth import passwords
from auth.errors import RegistryError, UnknownClient
from auth.models import StaffSession, StaffUser
from auth.roles import ROLES, Role, session_scopes
from auth.store import AuthStore, RegisteredClient
from storage.database import Database

user_t = StaffUser.__table__  # type: ignore[attr-defined]
session_t = StaffSession.__table__  # type: ignore[attr-defined]

USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
SEEN_EVERY: Final = timedelta(seconds=30)
"""A session's last-seen time is written at most this often (the idle timeout's grain)."""


class SessionPolicy(BaseModel):
    """The desk's sign-in and sessions (`HUB_DESK_*`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    idle_minutes: int = Field(
        default=15, ge=1, le=240, description="A session ends after this long without a request."
    )
    absolute_hours: float = Field(
        default=8, gt=0, le=24, description="A session ends this long after sign-in, whatever."
    )
    lockout_failures: int = Field(
        default=5, ge=1, description="Bad passwords in a row that lock an account."
    )
    lockout_minutes: int = Field(default=15, ge=1, description="How long a lock lasts.")
    secure_cookie: bool | None = Field(
        default=None,
        description="Mark the session cookie Secure (https only); unset: in production only.",
    )


class StaffError(RegistryError):
    """`hub users` refused a change; the message says why."""


@dataclass(frozen=True)
class StaffAccount:
    username: str
    client_id: str
    role: str
    display_name: str
    created_at: datetime
    password_set_at: datetime
    disabled_at: datetime | None
    failed_attempts: int
    locked_until: datetime | None
    password_hash: str = field(repr=False)

    @classmethod
    def from_row(cls, row: Row[Any]) -> StaffAccount:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class DeskSession:
    """A live session: who, through which client, with what rights and purpose."""

    token_sha256: str
    csrf_token: str
    account: StaffAccount
    client: RegisteredClient
    role: Role
    scopes: frozenset[str]
    purpose: str | None
    purpose_reference: str | None

    def check_csrf(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf_token.encode())


@dataclass(frozen=True)
class SignedIn:
    token: str
    """The cookie's value: shown to the browser once, stored only as its SHA-256."""
    session: DeskSession


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class StaffStore:
    """Accounts and sessions in the auth database (the auth store's migrations create the
    tables); clients and their grants come from the auth store."""

    def __init__(self, auth: AuthStore, policy: SessionPolicy | None = None) -> None:
        self.auth = auth
        self.database: Database = auth.database
        self.policy = policy or SessionPolicy()

    # -- accounts, for the command line -----------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction on the database's one-off engine, as `AuthStore._transaction`."""
        with self.database.one_off_engine().begin() as connection:
            yield connection

    def add_user(
        self,
        username: str,
        client_id: str,
        role: str,
        *,
        display_name: str = "",
        password: str | None = None,
    ) -> str:
        """Registers a person; returns the password (the given one, or a new one to hand
        over, shown this once)."""
        if not USERNAME.fullmatch(username):
            raise StaffError(f"user name {username!r} is malformed ({USERNAME.pattern})")
        client = self.auth.get_client(client_id)
        if client is None:
            raise UnknownClient(client_id)
        chosen = ROLES.get(role)
        if chosen is None:
            raise StaffError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        if not session_scopes(chosen, client.scopes):
            raise StaffError(
                f"role {role} gives nothing within client {client_id}'s grant"
                f" ({' '.join(client.scopes)})"
            )
        secret = password or passwords.new_password()
        try:
            hashed = passwords.hash_password(secret)
        except passwords.WeakPassword as error:
            raise StaffError(str(error)) from error
        now = _now()
        with self._transaction() as connection:
            if connection.execute(select(user_t.c.username).filter_by(username=username)).first():
                raise StaffError(f"user {username!r} exists already")
            connection.execute(
                insert(user_t).values(
                    username=username,
                    client_id=client_id,
                    role=role,
                    display_name=display_name.strip() or username,
                    password_hash=hashed,
                    created_at=now,
                    password_set_at=now,
                    failed_attempts=0,
                )
            )
        return secret

    def users(self, client_id: str | None = None) -> list[StaffAccount]:
        statement = select(user_t).order_by(user_t.c.client_id, user_t.c.username)
        if client_id:
            statement = statement.where(user_t.c.client_id == client_id)
        with self._transaction() as connection:
            return [StaffAccount.from_row(row) for row in connection.execute(statement).all()]

    def disable(self, username: str) -> None:
        """No more sign-ins; the person's open sessions end now."""
        with self._transaction() as connection:
            self._update(connection, username, disabled_at=_now())
            _end_sessions(connection, username)

    def enable(self, username: str) -> None:
        with self._transaction() as connection:
            self._update(connection, username, disabled_at=None)

    def reset(self, username: str, password: str | None = None) -> str:
        """A new password (returned once); unlocks the account and ends its sessions."""
        secret = password or passwords.new_password()
        try:
            hashed = passwords.hash_password(secret)
        except passwords.WeakPassword as error:
            raise StaffError(str(error)) from error
        with self._transaction() as connection:
            self._update(
                connection,
                username,
                password_hash=hashed,
                password_set_at=_now(),
                failed_attempts=0,
                locked_until=None,
            )
            _end_sessions(connection, username)
        return secret

    def unlock(self, username: str) -> None:
        with self._transaction() as connection:
            self._update(connection, username, failed_attempts=0, locked_until=None)

    def _update(self, connection: Connection, username: str, **values: Any) -> None:
        result = connection.execute(
            update(user_t).where(user_t.c.username == username).values(**values)
        )
        if result.rowcount == 0:
            raise StaffError(f"no user {username!r}")

    # -- the request path -------------------------------------------------------------------

    async def account(self, username: str) -> StaffAccount | None:
        rows = await self.database.fetch(select(user_t).where(user_t.c.username == username))
        return StaffAccount.from_row(rows[0]) if rows else None

    async def sign_in(self, username: str, password: str) -> SignedIn | None:
        """A new session, or None: unknown name, wrong password, disabled or locked account
        alike (the caller shows one message). A wrong password counts towards the lock."""
        now = _now()
        account = await self.account(username) if USERNAME.fullmatch(username) else None
        if account is not None and (account.disabled_at is not None or account.locked(now)):
            return None
        good = await run_in_threadpool(
            passwords.verify_password, password, account.password_hash if account else None
        )
        if account is None:
            return None
        if not good:
            await self._count_failure(account.username, now)
            return None
        client = await self.auth.client(account.client_id, fresh=True)
        role = ROLES.get(account.role)
        if client is None or client.revoked or role is None:
            return None
        values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
        if passwords.needs_rehash(account.password_hash):
            values["password_hash"] = await run_in_threadpool(passwords.hash_password, password)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        async with self.database.engine.begin() as connection:
            await connection.execute(
                update(user_t).where(user_t.c.username == account.username).values(**values)
            )
            await connection.execute(
                insert(session_t).values(
                    token_sha256=token_sha256(token),
                    username=account.username,
                    csrf_token=csrf,
                    created_at=now,
                    seen_at=now,
                )
            )
        session = DeskSession(
            token_sha256(token),
            csrf,
            account,
            client,
            role,
            session_scopes(role, client.scopes),
            None,
            None,
        )
        return SignedIn(token, session)

    async def _count_failure(self, username: str, now: datetime) -> None:
        async with self.database.engine.begin() as connection:
            result = await connection.execute(
                update(user_t)
                .where(user_t.c.username == username)
                .values(failed_attempts=user_t.c.failed_attempts + 1)
                .returning(user_t.c.failed_attempts)
            )
            failures = result.scalar_one()
            if failures >= self.policy.lockout_failures:
                await connection.execute(
                    update(user_t)
                    .where(user_t.c.username == username)
                    .values(
                        failed_attempts=0,
                        locked_until=now + timedelta(minutes=self.policy.lockout_minutes),
                    )
                )

    async def session(self, token: str | None) -> DeskSession | None:
        """The live session the cookie names, or None (unknown, forged, ended, idle or too
        old, its person disabled, its client revoked)."""
        if not token or len(token) > 200:
            return None
        digest = token_sha256(token)
        rows = await self.database.fetch(
            select(
                user_t,
                session_t.c.csrf_token,
                session_t.c.created_at.label("signed_in_at"),
                session_t.c.seen_at,
                session_t.c.purpose,
                session_t.c.purpose_reference,
            )
            .select_from(session_t)
            .join(user_t, user_t.c.username == session_t.c.username)
            .where(session_t.c.token_sha256 == digest, session_t.c.ended_at.is_(None))
        )
        if not rows:
            return None
        row = rows[0]
        now = _now()
        policy = self.policy
        if (
            now - row.seen_at > timedelta(minutes=policy.idle_minutes)
            or now - row.signed_in_at > timedelta(hours=policy.absolute_hours)
            or row.disabled_at is not None
        ):
            return None
        client = await self.auth.client(row.client_id)
        role = ROLES.get(row.role)
        if client is None or client.revoked or role is None:
            return None
        if now - row.seen_at > SEEN_EVERY:
            await self._write(digest, seen_at=now)
        purpose = row.purpose if row.purpose in client.purposes else None
        return DeskSession(
            digest,
            row.csrf_token,
            StaffAccount.from_row(row),
            client,
            role,
            session_scopes(role, client.scopes),
            purpose,
            row.purpose_reference if purpose else None,
        )

    async def set_purpose(self, session: DeskSession, purpose: str, reference: str) -> None:
        await self._write(session.token_sha256, purpose=purpose, purpose_reference=reference)

    async def sign_out(self, session: DeskSession) -> None:
        await self._write(session.token_sha256, ended_at=_now())

    async def _write(self, digest: str, **values: Any) -> None:
        async with self.database.engine.begin() as connection:
            await connection.execute(
                update(session_t).where(session_t.c.token_sha256 == digest).values(**values)
            )


def _end_sessions(connection: Connection, username: str) -> None:
    connection.execute(
        update(session_t)
        .where(session_t.c.username == username, session_t.c.ended_at.is_(None))
        .values(ended_at=_now())
    )
