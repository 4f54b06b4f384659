"""Which connectors this hub runs, each bound to its configured database, and the auth
and audit stores beside them (with their keys); together they are what `hub migrate`
migrates. Also the witness that `hub witness serve` runs for another party."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from alerts.queues import DatabaseQueue, Queue
from alerts.store import AlertStore
from alerts.streams import StreamQueue
from audit.cosigner import Cosigner
from audit.format import DEFAULT_ORIGIN, log_verifier
from audit.note import CosignatureSigner, Ed25519Signer
from audit.record import SubjectHasher
from audit.store import AuditStore
from audit.verify import Trust
from audit.witness import Witness, WitnessedLog
from audit.witness_client import WitnessEndpoint
from auth.sealing import KeySealer, KeySealingError, create_kek_file, read_kek_file
from auth.store import AuthStore
from connectors.base import Connector, alembic_version_table, discover
from connectors.credentials import ClientCredentials, Mint
from connectors.local import LocalTransport
from connectors.remote import RemoteTransport
from connectors.transport import Transport
from graph.events import Observer
from graph.facts.store import FactsStore
from graph.jurisdiction import RULES
from hub.settings import HubSettings
from kernel.batching import Waves
from kernel.cursors import Cursors
from kernel.deferred import deferred
from kernel.errors import ConfigurationError
from kernel.scopes import CONNECTOR_LOAD
from storage.database import Database
from storage.keys import (
    KeyFileError,
    KeyFileExists,
    create_key_file,
    load_key_file,
    secret_file,
    write_private,
)

if TYPE_CHECKING:
    import redis.asyncio as redis_asyncio

    from storage.migrate import MigrationTarget
else:
    redis_asyncio = deferred("redis.asyncio")  # only where HUB_REDIS_URL is set


def build_connectors(
    settings: HubSettings, http: httpx.AsyncClient | None = None, mint: Mint | None = None
) -> list[Connector]:
    """Each installed agency, reached in its database or, when `HUB_CONNECTOR_<AGENCY>_URL`
    is set, at its own service with callers' tokens exchanged by this process's client
    (over `http`, the serving process's client); `mint`: the hub's own tokens for callers
    it authenticated without one (`connectors.credentials`)."""
    tokens: ClientCredentials | None = None
    connectors = []
    for connector_class in discover():
        name = connector_class.name
        transport: Transport
        url = settings.connector.url_of(name)
        if url:
            http = http or httpx.AsyncClient()
            if tokens is None:
                tokens = _client_credentials(settings, http, mint)
            transport = RemoteTransport(name, url, http, tokens, settings.connector)
        else:
            database = _database(settings, settings.database_url(name))
            transport = LocalTransport(database, alembic_version_table(name), name)
        connectors.append(connector_class(transport))
    return connectors


def _client_credentials(
    settings: HubSettings, http: httpx.AsyncClient, mint: Mint | None = None
) -> ClientCredentials:
    secret = settings.connector.client_secret
    if secret is None:
        raise ConfigurationError(
            "a connector is remote (HUB_CONNECTOR_<AGENCY>_URL): set HUB_CONNECTOR_CLIENT_SECRET"
            f" for the hub's client {settings.connector.client_id!r}"
        )
    return ClientCredentials(
        http,
        settings.token_url,
        settings.connector.client_id,
        secret.get_secret_value(),
        scope=CONNECTOR_LOAD,
        mint=mint,
    )


def local_connectors(connectors: list[Connector]) -> list[Connector]:
    """The agencies whose databases this process migrates and seeds."""
    return [c for c in connectors if isinstance(c.transport, LocalTransport)]


def build_auth_store(settings: HubSettings, *, signing: bool = True) -> AuthStore:
    """Grants' row limits are checked against the installed packages' kinds; signing keys
    are sealed under the key-encryption key. `signing=False`: a process that only
    verifies tokens (an agency's service) is given no key-encryption key, so it cannot
    open the hub's signing keys — it reads clients and public keys only."""
    return AuthStore(
        _database(settings, settings.auth_db_url),
        check_limits=RULES.check,
        sealer=KeySealer(read_kek_file(token_kek_path(settings))) if signing else None,
    )


def token_kek_path(settings: HubSettings) -> Path:
    """`HUB_TOKEN_KEK_FILE`, the same on every hub process; outside production, when
    unset, one in the data directory, created on first use."""
    if settings.token.kek_file is not None:
        return settings.token.kek_file
    if settings.env == "production":
        raise KeySealingError(
            "HUB_TOKEN_KEK_FILE must be set in production: the same file on every hub "
            "process (`hub keys new-kek PATH`)"
        )
    path = settings.data_dir / "keys" / "token.kek"
    create_kek_file(path)
    return path


def checkpoint_key_path(settings: HubSettings) -> Path:
    return settings.audit.checkpoint_key_file or settings.data_dir / "keys" / "audit-checkpoint.key"


def load_checkpoint_signer(settings: HubSettings, *, create: bool | None = None) -> Ed25519Signer:
    """The log's checkpoint key, from its 0600 file (decrypted with the configured
    passphrase); outside production a missing file is created, in production it must
    have been (`hub audit keys create`, copied to every hub host)."""
    production = settings.env == "production"
    if production and settings.audit.origin == DEFAULT_ORIGIN:
        raise KeyFileError("HUB_AUDIT_ORIGIN must name the audit log in production")
    path = checkpoint_key_path(settings)
    passphrase = settings.audit.passphrase()
    if not path.exists() and (create if create is not None else not production):
        with contextlib.suppress(KeyFileExists):  # another process made it first: use theirs
            create_key_file(path, passphrase)
    return Ed25519Signer(settings.audit.origin, load_key_file(path, passphrase))


def witness_endpoints(settings: HubSettings) -> list[WitnessEndpoint]:
    endpoints = [WitnessEndpoint.parse(w.url, w.vkey) for w in settings.audit.witnesses]
    if len({endpoint.name for endpoint in endpoints}) != len(endpoints):
        raise ConfigurationError("HUB_AUDIT_WITNESSES names a witness twice")
    return endpoints


def audit_trust(settings: HubSettings, signer: Ed25519Signer | None = None) -> Trust:
    """What `hub audit verify` believes besides the database: every log key the log ever
    used (`HUB_AUDIT_LOG_VKEYS`, or the current one's) and the witnesses' keys."""
    if settings.audit.log_vkeys:
        keys = tuple(log_verifier(vkey) for vkey in settings.audit.log_vkeys)
    else:
        keys = ((signer or load_checkpoint_signer(settings, create=False)).verifier(),)
    return Trust(
        origin=settings.audit.origin,
        log_keys=keys,
        witnesses=tuple(endpoint.verifier for endpoint in witness_endpoints(settings)),
        quorum=settings.audit.quorum(),
        grace_seconds=settings.audit.witness_grace_seconds,
    )


def audit_database(settings: HubSettings) -> Database:
    return _database(settings, settings.audit_db_url)


def build_audit_store(settings: HubSettings, auth_store: AuthStore | None = None) -> AuditStore:
    """The audit store with its own checkpoint key — never one of the auth store's token
    keys (its writer checks before the first record) — and a cosigner when witnesses are
    configured."""
    database = audit_database(settings)
    endpoints = witness_endpoints(settings)
    cosigner = (
        Cosigner(database, endpoints, timeout_seconds=settings.audit.witness_timeout_seconds)
        if endpoints
        else None
    )
    return AuditStore(
        database,
        load_checkpoint_signer(settings),
        settings.audit,
        cosigner,
        token_keys=auth_store.all_public_keys if auth_store is not None else None,
    )


def build_witness(settings: HubSettings) -> Witness:
    """`hub witness serve`: its own key (created on first use) and state, and the logs it
    vouches for with their keys."""
    config = settings.witness
    key_path = config.key_file or settings.data_dir / "keys" / "witness.key"
    passphrase = config.passphrase()
    if not key_path.exists():
        with contextlib.suppress(KeyFileExists):
            create_key_file(key_path, passphrase)
    logs = [
        WitnessedLog(log.origin, tuple(log_verifier(vkey) for vkey in log.vkeys))
        for log in config.logs
    ]
    return Witness(
        config.state_file or settings.data_dir / "witness" / "state.sqlite",
        CosignatureSigner(config.name, load_key_file(key_path, passphrase)),
        logs,
    )


def build_subject_hasher(settings: HubSettings) -> SubjectHasher:
    """The configured key; outside production, a random one kept in the data directory
    (0600) so every process on this machine hashes alike."""
    if settings.audit.hash_key is not None:
        return SubjectHasher(settings.audit.hash_key.get_secret_value().encode())
    if settings.env == "production":
        raise ConfigurationError(
            "HUB_AUDIT_HASH_KEY must be set in production (at least 16 bytes, the same on "
            "every hub process): `hub init` writes one"
        )
    path = settings.data_dir / "audit-hash.key"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            write_private(path, secrets.token_hex(32).encode())
    return SubjectHasher(path.read_text().strip().encode())


def build_cursors(settings: HubSettings) -> Cursors:
    """Page cursors sealed under `HUB_PAGES_CURSOR_SECRET`, which every replica behind one
    address must share so that each opens the others' cursors; unset, under a random key
    kept 0600 in the data directory (`keys/cursor.key`, its directory 0700), shared by
    the processes using that directory."""
    secret = settings.pages.cursor_secret
    if secret is not None:
        return Cursors(secret.get_secret_value().encode())
    return Cursors(secret_file(settings.data_dir / "keys" / "cursor.key", what="cursor key file"))


def build_facts_store(settings: HubSettings) -> FactsStore:
    return FactsStore(_database(settings, settings.facts_db_url), settings.facts)


def build_alert_store(settings: HubSettings) -> AlertStore:
    """The warnings store: state, events, subscriptions, the delivery queue, work orders."""
    configured = settings.alerts.secret_key
    key = (
        configured.get_secret_value().encode()
        if configured is not None
        else secret_file(settings.data_dir / "keys" / "webhook.key", what="webhook key file")
    )
    return AlertStore(_database(settings, settings.alerts_db_url), settings.alerts, key)


def build_delivery_queue(settings: HubSettings, store: AlertStore) -> Queue:
    """Where dispatchers claim deliveries: a Redis Stream where HUB_REDIS_URL is set (the
    records stay in the warnings store), else the warnings store's own table."""
    if settings.redis_url:
        # a Redis that stops answering fails the dispatcher's call (logged, retried) rather
        # than holding it: every call it makes returns at once (none blocks)
        redis = redis_asyncio.Redis.from_url(
            settings.redis_url, socket_timeout=10, socket_connect_timeout=5
        )
        return StreamQueue(redis, store, settings.alerts)
    return DatabaseQueue(store)


def loader_factories(
    connectors: Iterable[Connector],
) -> dict[type, Callable[[Waves, Any], object]]:
    """Per connector, its loaders' class → how a request (or offline work) makes them."""
    return {type(c).loaders: c.create_loaders for c in connectors}


def build_observer(settings: HubSettings, connectors: list[Connector]) -> Observer:
    """The warning rules over these connectors, each read through its own loaders."""
    return Observer(loader_factories(connectors), build_cursors(settings))


def migration_targets(
    connectors: list[Connector],
    auth_store: AuthStore,
    audit_store: AuditStore,
    alert_store: AlertStore | None = None,
    facts_store: FactsStore | None = None,
) -> list[MigrationTarget]:
    """Every database this process migrates, each with its own history (a remote agency
    migrates its own)."""
    stores: list[MigrationTarget] = [auth_store, audit_store]
    if alert_store is not None:
        stores.append(alert_store)
    if facts_store is not None:
        stores.append(facts_store)
    return [*local_connectors(connectors), *stores]


def _database(settings: HubSettings, url: str) -> Database:
    return Database(
        url,
        echo=settings.db.echo,
        pool_size=settings.db.pool_size,
        max_overflow=settings.db.max_overflow,
        writers=settings.db.write_pool_size,
    )
