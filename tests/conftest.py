"""Shared fixtures: a migrated, seeded hub per backend (SQLite always; PostgreSQL when
HUB_TEST_POSTGRES_URL is set), served by a real uvicorn on a free port.

Its default client calls as `test-all-access` (every scope, no region, court or bank
limit, purpose `testing`); `hub.as_client(client_id)` calls as one of the demo agencies.
Beside it runs a tiny identity provider whose tokens the hub trusts (HUB_TRUSTED_ISSUERS).
Pages are tested in Chromium's headless shell through `chromium` and `browser_page`
(`tests/browser_harness.py`).
"""

from __future__ import annotations

import atexit
import base64
import datetime
import gc
import os
import queue
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Collection, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx._transports.default as transports
import module_order
import psycopg
import pytest
import redis
import uvicorn
from argon2 import PasswordHasher
from joserfc import jwt
from joserfc.jwk import ECKey
from playwright.sync_api import Browser
from rewrite_ahead import rewrite_ahead
from sqlalchemy import update
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from alerts.store import AlertStore
from audit.models import AuditHead
from audit.store import AuditStore
from auth import hashing, passwords
from auth.sealing import create_kek_file
from auth.store import AuthStore, Grant
from auth.tokens import TrustedIssuer
from browser_harness import BrowserPage, launch_chromium, open_page
from connectors.base import Connector, discover
from graph.facts.store import FactsStore
from hub import seeding
from hub.app import create_app
from hub.cli import main as hub_main
from hub.demo import DEMO_GRANTS, register_demo_clients
from hub.facts import refresh_now
from hub.limits import Limits
from hub.limits.sources import SourceLimits
from hub.serving import server_config
from hub.settings import HubSettings
from hub.wiring import (
    audit_database,
    build_alert_store,
    build_audit_store,
    build_auth_store,
    build_connectors,
    build_facts_store,
    migration_targets,
)
from kernel.scopes import vocabulary
from storage import migrate
from storage.keys import create_key_file

POSTGRES_URL = os.environ.get("HUB_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("HUB_TEST_REQUIRE_POSTGRES") == "1"
REDIS_URL = "redis://127.0.0.1:6379/0"
REQUIRE_REDIS = os.environ.get("HUB_TEST_REQUIRE_REDIS") == "1"
SEED = 42


def pytest_sessionstart(session: pytest.Session) -> None:
    """The test modules rewritten once for all test processes (`tests/rewrite_ahead.py`)."""
    rewrite_ahead(session.config)


def pytest_configure(config: pytest.Config) -> None:
    module_order.register(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules longest first (`tests/module_order.py`): `make test` hands pytest-xdist's
    test processes whole modules in the suite's order, and a long one handed out last
    kept one process busy after the others had finished."""
    module_order.longest_first(items)


def _one_verified_tls_context() -> None:
    """Every httpx client of this test process that verifies TLS as httpx does by default
    shares one context, the CA bundle loaded once.

    httpx loads the bundle (certifi's, or SSL_CERT_FILE / SSL_CERT_DIR's) into a fresh
    context for each client it makes, about 30 CPU ms, and the suite makes thousands: its
    own clients (a fresh anonymous one per generated request in test_surface) and the hub's,
    served in process. The shared context is the one httpx would make, with the same CAs
    and checks; one is made per distinct SSL_CERT_FILE / SSL_CERT_DIR, and a client given
    its own (`verify=...`, `cert=...`) still gets its own."""
    made = transports.create_ssl_context
    contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
    lock = threading.Lock()

    def create_ssl_context(
        verify: Any = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return made(verify=verify, cert=cert, trust_env=trust_env)
        key = (
            os.environ.get("SSL_CERT_FILE") if trust_env else None,
            os.environ.get("SSL_CERT_DIR") if trust_env else None,
        )
        with lock:
            if key not in contexts:
                contexts[key] = made(verify=verify, cert=cert, trust_env=trust_env)
            return contexts[key]

    transports.create_ssl_context = create_ssl_context  # type: ignore[assignment]


_one_verified_tls_context()

REAL_SECRET_COST = hashing._N
TEST_SECRET_COST = 2**10
"""scrypt's cost for the client secrets this test process hashes: ~2 ms a derivation
instead of ~45. The suite registers clients and asks for tokens thousands of times (every
running hub registers the demo clients, every client's first request verifies a secret):
at the real cost, a third of the CPU of the modules that ask most. The parameters travel with each hash
(`scrypt$n$r$p$…`), so what is verified, refused and counted is unchanged, as are `hub`
processes' own hashes; tests of the cost itself (`auth/test_token_timing`: a refusal takes
as long as a wrong secret) run at the real one. Key files' passphrases do the same
(`scrypt_log_n`)."""
hashing._N = TEST_SECRET_COST

REAL_PASSWORD_HASHER = passwords._HASHER
TEST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""argon2id for the people's passwords this test process hashes and checks (the desk's
`person` and sign-ins, `hub users`): 1 MiB, one pass, one lane, under a millisecond,
instead of RFC 9106's second profile (64 MiB, 3 passes, 4 lanes: 60 ms quiet, ~150 CPU ms
and up to a second of wall time on a loaded machine, for each hash and each check). As
with the client secrets, the parameters travel with each hash (`$argon2id$v=19$m=…`), so
what is verified, refused, locked and re-hashed is unchanged, as are `hub` processes'
own; the tests of the parameters themselves (`auth/test_passwords`: the dummy's are the
hasher's) run at the real ones."""
passwords._HASHER = TEST_PASSWORD_HASHER  # type: ignore[misc]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


gc.set_threshold(10_000, 20, 20)
"""A test process's collector runs less often than Python's default (700, 10, 10): a test
process holds the whole hub imported, often several apps and worlds, and every full
collection walks it all. tests/federation/test_jurisdiction_matrix.py and
tests/alerts/test_sweep.py in one process: 3.35 CPU s in the collector (31 full
collections) by default, 1.64 (2) with these; tests/graph/test_warning_facts.py 2.13 and
1.37. Only the test processes: the `hub` processes they start keep Python's default, as
in production."""

RUN = f"{os.getpid():x}{secrets.token_hex(2)}"
"""Part of every database this test process creates, so that test processes running at
once (pytest-xdist's workers, two checkouts, sandboxes whose process ids repeat) never
drop each other's databases."""
_CREATED: list[str] = []


def _admin() -> psycopg.Connection[Any]:
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def _at_once(statements: list[str]) -> None:
    """Statements run side by side, each on its own connection: CREATE and DROP DATABASE
    each wait for the server (a checkpoint, the copy of a template), and waits that overlap
    are shared. One after another, the ~250 databases a test process drops at its end took
    it more than a minute after its last test."""
    if not statements:
        return

    with ThreadPoolExecutor(max_workers=min(len(statements), 10)) as pool:
        list(pool.map(_administer, statements))


_IDLE_ADMINS: queue.SimpleQueue[psycopg.Connection[Any]] = queue.SimpleQueue()
"""Administrative connections given back, for the next statements: a test process runs
a few hundred CREATE and DROP DATABASE statements, and a new connection for each (about
80 a process) started a server backend each time (30 CPU ms of the server's)."""


def _administer(statement: str) -> None:
    """`statement` on an idle administrative connection, or a new one."""
    try:
        connection = _IDLE_ADMINS.get_nowait()
    except queue.Empty:
        connection = _admin()
    try:
        connection.execute(statement)
    except BaseException:
        connection.close()
        raise
    _IDLE_ADMINS.put(connection)


def postgres_urls(
    prefix: str,
    templates: dict[str, str] | None = None,
    targets: Collection[str] | None = None,
) -> dict[str, str]:
    """A fresh PostgreSQL database per agency, named `<prefix>_<run>_<agency>`: empty, or a
    copy of `templates`' database of the same name (target → URL). With `targets`, only
    theirs: a test of one store alone (the audit log's) needs no other, and each database
    created and dropped costs the server a copy of its template and a checkpoint."""
    assert POSTGRES_URL
    admin = make_url(POSTGRES_URL)
    urls = {}
    for target in targets or [
        *(connector.name for connector in discover()),
        AuthStore.name,
        AuditStore.name,
        AlertStore.name,
        FactsStore.name,
    ]:
        name = f"{prefix}_{RUN}_{target}"
        urls[target] = admin.set(database=name).render_as_string(hide_password=False)
    names = [make_url(url).database for url in urls.values()]
    _at_once([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names])
    copied = {
        target: f' TEMPLATE "{make_url(url).database}"' for target, url in (templates or {}).items()
    }
    _at_once(
        [
            f'CREATE DATABASE "{make_url(url).database}"{copied.get(target, "")}'
            for target, url in urls.items()
        ]
    )
    _CREATED.extend(str(name) for name in names)
    return urls


def _hub_settings() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name.startswith("HUB_")}


@pytest.fixture(scope="module", autouse=True)
def _no_settings_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module leaves the process's HUB_ settings as it found them: the `hub` commands
    later modules start inherit them (a HUB_DATA_DIR left behind sent the documentation's
    examples to another module's empty data directory)."""
    before = _hub_settings()
    yield
    after = _hub_settings()
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    assert not changed, f"{request.node.nodeid} left HUB_ settings changed: {changed}"


@pytest.fixture(scope="session", autouse=True)
def _drop_created_databases() -> Iterator[None]:
    """The databases this process created are dropped when its session ends."""
    yield
    if POSTGRES_URL:
        _at_once([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in _CREATED])
    while not _IDLE_ADMINS.empty():
        _IDLE_ADMINS.get_nowait().close()


def production_secrets(data_dir: Path) -> dict[str, Any]:
    """What production will not invent (an operator provisions it, once for every hub
    process): the key-encryption key, the audit log's name, key and hash key."""
    keys = data_dir / "provisioned"
    create_kek_file(keys / "token.kek")
    create_key_file(keys / "audit-checkpoint.key")
    return {
        "token": {"kek_file": keys / "token.kek"},
        "audit": {
            "hash_key": "k" * 32,
            "origin": "audit.hub.test/production",
            "checkpoint_key_file": keys / "audit-checkpoint.key",
        },
    }


def backend_settings(
    backend: str,
    tmp: Path,
    prefix: str,
    templates: dict[str, str] | None = None,
    targets: Collection[str] | None = None,
    **overrides: Any,
) -> HubSettings:
    """`templates`: PostgreSQL's databases are copies of these; `targets`: only these are
    made, the others left to their SQLite files in `tmp` (see `postgres_urls`)."""
    if backend == "postgres":
        require_postgres()
        return HubSettings(
            data_dir=tmp, db_urls=postgres_urls(prefix, templates, targets), **overrides
        )
    return HubSettings(data_dir=tmp, **overrides)


def _migrate_all(settings: HubSettings) -> None:
    auth = build_auth_store(settings)
    audit = build_audit_store(settings, auth)
    targets = migration_targets(
        build_connectors(settings), auth, audit, build_alert_store(settings),
        build_facts_store(settings),
    )  # fmt: skip
    migrate.upgrade(targets)


_TEMPLATES: dict[tuple[str, str | None], HubSettings] = {}
"""Per backend, the databases this test process migrated once (SQLite files in a directory
of their own, PostgreSQL databases named `migrated_<run>_<target>`), and once more seeded
(`seeded_<scale>_<run>_<target>`): `migrated_settings` copies them rather than running
every migration again (0.4 CPU s and 1-2 s of wall time a set; a test process makes
dozens) or seeding again (as much again)."""


def _template(backend: str, scale: str | None) -> HubSettings:
    if (backend, scale) not in _TEMPLATES:
        directory = Path(tempfile.mkdtemp(prefix="hub-template-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        if scale is None:
            settings = backend_settings(backend, directory, "migrated")
            _migrate_all(settings)
        else:  # as `hub seed` does: the rows, then the warning facts
            settings = migrated_settings(backend, directory, f"seeded_{scale}")
            connectors = build_connectors(settings)
            seeding.seed(connectors, scale, SEED)
            refresh_now(build_facts_store(settings), connectors)
        _TEMPLATES[backend, scale] = settings
    return _TEMPLATES[backend, scale]


def migrated_settings(
    backend: str, tmp: Path, prefix: str, seeded: str | None = None, **overrides: Any
) -> HubSettings:
    """`backend_settings` over fresh databases already migrated (and `seeded` at that
    scale with the suite's SEED, its warning facts refreshed): copies of the ones this
    process made once. The audit log's head row then says what a migration run now would
    say (its last checkpoint now: when the writer signs the next one depends on it)."""
    template = _template(backend, seeded)
    if backend == "sqlite":
        tmp.mkdir(parents=True, exist_ok=True)
        for source in template.data_dir.glob("*.db"):
            assert not source.with_name(source.name + "-wal").exists(), source  # all closed
            shutil.copy2(source, tmp / source.name)  # 0600, as SQLite's own
    postgres = template.db_urls if backend == "postgres" else None
    settings = backend_settings(backend, tmp, prefix, templates=postgres, **overrides)
    _checkpoint_now(settings)
    return settings


def _checkpoint_now(settings: HubSettings) -> None:
    """A copied audit log's head says what a migration run now would say: its last
    checkpoint now (when the writer signs the next one depends on it)."""
    engine = audit_database(settings).sync_engine()
    try:
        with engine.begin() as connection:
            now = datetime.datetime.now(datetime.UTC)
            connection.execute(update(AuditHead.__table__).values(checkpoint_at=now))  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _migrated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory `hub migrate` made, once per test process."""
    made = tmp_path_factory.mktemp("migrated") / "hub"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUB_DATA_DIR", str(made))
        assert hub_main(["migrate"]) == 0
    assert not list(made.glob("*-wal")), "a database was left open"
    return made


@pytest.fixture
def data_dir(_migrated_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HUB_DATA_DIR: a SQLite data directory as `hub migrate` leaves an empty one (its
    databases, key files and first signing key), for the `hub` commands a test runs in
    this process. A copy of one migrated once per test process: migrating took each test
    1-2 CPU s, the most of many command-line tests' time (tests/hub/test_cli.py
    runs `hub migrate` on an empty directory itself)."""
    return data_dir_copy(_migrated_data_dir, tmp_path, monkeypatch)


def data_dir_copy(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HUB_DATA_DIR: a copy of `source`, a data directory made once for many tests, its
    audit log's last checkpoint now (as `migrated_settings` leaves its copies)."""
    assert not list(source.glob("*-wal")), "a database was left open"
    copied = Path(shutil.copytree(source, tmp_path / "hub"))  # modes kept
    monkeypatch.setenv("HUB_DATA_DIR", str(copied))
    _checkpoint_now(HubSettings())
    return copied


def require_postgres() -> str:
    """The test PostgreSQL's URL; skips without one (fails under HUB_TEST_REQUIRE_POSTGRES=1)."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("HUB_TEST_REQUIRE_POSTGRES=1 but HUB_TEST_POSTGRES_URL is not set")
        pytest.skip(
            "PostgreSQL tests need HUB_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return POSTGRES_URL


def require_redis() -> str:
    """The test Redis's URL; skips without one (fails under HUB_TEST_REQUIRE_REDIS=1)."""
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=1) as client:
            client.ping()
    except redis.RedisError as error:
        if REQUIRE_REDIS:
            pytest.fail(f"HUB_TEST_REQUIRE_REDIS=1 but no Redis at {REDIS_URL}: {error}")
        pytest.skip(f"these tests need a Redis at {REDIS_URL} ({error})")
    return REDIS_URL


@dataclass
class StatementCounter:
    """SQL statements sent to each agency's database, counted at the driver."""

    counts: Counter[str] = field(default_factory=Counter)
    connectors: list[Connector] = field(default_factory=list)

    def attach(self, connectors: list[Connector]) -> None:
        self.connectors.extend(connectors)
        for connector in connectors:
            name = connector.name

            def count(_sql: str, name: str = name) -> None:
                self.counts[name] += 1

            connector.database.listeners.append(count)

    def reset(self) -> None:
        """Counts from zero, the agencies' as-of days forgotten: the next request reads
        them, as every request would if the process did not keep them a few seconds."""
        self.counts.clear()
        for connector in self.connectors:
            connector.as_of_kept.forget()


class ClientCredentials(httpx.Auth):
    """Bearer tokens from the hub's own token endpoint (HTTP Basic), renewed shortly
    before they expire, and once more when the hub refuses a cached one (as a client
    would after its signing key was retired: tests of the shared demo hub retire keys)."""

    requires_response_body = True

    def __init__(self, client_id: str, secret: str) -> None:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self._basic = f"Basic {basic}"
        self._token = ""
        self._renew_at = 0.0

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request(
            "POST",
            request.url.copy_with(path="/oauth/token", query=None),
            data={"grant_type": "client_credentials"},
            headers={"Authorization": self._basic},
        )

    def _keep(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        token = response.json()
        self._token = token["access_token"]
        self._renew_at = time.monotonic() + token["expires_in"] - 60

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        fresh = time.monotonic() >= self._renew_at
        if fresh:
            self._keep((yield self._token_request(request)))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            self._keep((yield self._token_request(request)))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


IDP_AGENCY = "idp-agency"
"""The agency whose clients the test identity provider vouches for."""

TEST_CLIENT = "test-all-access"
TEST_PURPOSE = "testing"


@dataclass
class IdentityProvider:
    """An agency's own identity provider: an ES256 key, its JWKS served on loopback, and
    tokens minted directly (as the provider would after authenticating its client)."""

    url: str
    key: ECKey
    jwks_fetches: int = 0

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def trusted(self) -> TrustedIssuer:
        return TrustedIssuer(jwks_url=f"{self.url}/jwks", audience="wage-hub", agency=IDP_AGENCY)

    def token(self, *, kid: str | None = None, typ: str | None = "at+jwt", **claims: Any) -> str:
        """Claims (and `typ`) given as None are left out."""
        now = int(time.time())
        body = {"iss": self.issuer, "aud": "wage-hub", "iat": now, "nbf": now, "exp": now + 300}
        header = {"alg": "ES256", "kid": kid or self.key.kid, **({"typ": typ} if typ else {})}
        merged = {name: value for name, value in {**body, **claims}.items() if value is not None}
        return jwt.encode(header, merged, self.key, algorithms=["ES256"])


@contextmanager
def serving(
    app: Any,
    limits: Limits | None = None,
    http: str = "httptools",
    log_level: str = "warning",
    port: int | None = None,
) -> Iterator[str]:
    """A real uvicorn on a loopback port (a free one unless given), in a thread,
    configured as `hub serve` configures it (`http`: its HTTP parser, httptools or h11);
    yields its base URL."""
    port = port or _free_port()
    config = server_config(
        app, limits or Limits(), host="127.0.0.1", port=port, log_level=log_level, http=http
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def identity_provider() -> Iterator[IdentityProvider]:
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)

    async def jwks(request: Request) -> JSONResponse:
        provider.jwks_fetches += 1
        return JSONResponse({"keys": [key.as_dict(private=False, alg="ES256", use="sig")]})

    provider = IdentityProvider("", key)
    with serving(Starlette(routes=[Route("/jwks", jwks)])) as url:
        provider.url = url
        yield provider


@dataclass
class RunningHub:
    backend: str
    url: str
    connectors: list[Connector]
    statements: StatementCounter
    client: httpx.Client
    auth: AuthStore
    secrets: dict[str, str]
    """Client id → secret of every demo agency and of `test-all-access`."""
    settings: HubSettings
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def as_client(self, client_id: str, purpose: str | None = None) -> httpx.Client:
        """A client calling as a registered client (a demo agency), with its first purpose
        unless told otherwise."""
        key = f"{client_id} {purpose}"
        if key not in self._clients:
            registered = self.auth.get_client(client_id)
            assert registered, client_id
            self._clients[key] = httpx.Client(
                base_url=self.url,
                timeout=30,
                auth=ClientCredentials(client_id, self.secrets[client_id]),
                headers={"X-Purpose": purpose or registered.purposes[0]},
            )
        return self._clients[key]

    def token(self, client_id: str) -> str:
        """An access token from the hub's token endpoint, to present to another service."""
        response = httpx.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, self.secrets[client_id]),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def exchanged(self, actor: str, caller: str, agency: str) -> str:
        """The caller's token exchanged by `actor` for one `agency`'s service accepts
        (RFC 8693): what the hub presents when it asks an agency for a caller."""
        response = httpx.post(
            f"{self.url}/oauth/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": self.token(caller),
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "audience": agency,
            },
            auth=(actor, self.secrets[actor]),
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(
            "/graphql", json={"query": document, "variables": variables or {}}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.query(document, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


def _start_hub(
    backend: str, stack: ExitStack, tmp: Path, identity_provider: IdentityProvider
) -> RunningHub:
    settings = migrated_settings(
        backend,
        tmp,
        "hub_test",
        seeded="demo",
        trusted_issuers={identity_provider.issuer: identity_provider.trusted},
        # Many tests fail to authenticate on purpose, all from 127.0.0.1: no source limit
        # here (tests/hub/limits/test_sources.py has its own hubs); tallies written promptly.
        sources=SourceLimits(failures="off", tally_seconds=0.2),
        # Each client's bucket is shared by every module this process runs: at the
        # default (burst 200) a module sending many requests as one client failed with
        # 429 after others had. Buckets no test empties, not "off": requests still pass
        # the rate limiter (and its span). Rates are tested on hubs of their own.
        rate_limits={"default": "100000/s burst 100000"},
    )
    app = create_app(settings)
    connectors = app.state.connectors
    auth: AuthStore = app.state.auth_store
    secrets = register_demo_clients(auth)
    secrets[TEST_CLIENT] = auth.add_client(
        TEST_CLIENT, Grant(agency="test", scopes=vocabulary(), purposes=(TEST_PURPOSE,))
    )
    assert set(secrets) == {TEST_CLIENT, *(grant.client_id for grant in DEMO_GRANTS)}

    statements = StatementCounter()
    statements.attach(connectors)
    base = stack.enter_context(serving(app, settings.limits))
    client = stack.enter_context(
        httpx.Client(
            base_url=base,
            timeout=30,
            auth=ClientCredentials(TEST_CLIENT, secrets[TEST_CLIENT]),
            headers={"X-Purpose": TEST_PURPOSE},
        )
    )
    running = RunningHub(backend, base, connectors, statements, client, auth, secrets, settings)
    stack.callback(running.close)
    return running


@pytest.fixture(scope="session")
def _running_hubs() -> Iterator[tuple[ExitStack, dict[str, RunningHub]]]:
    """The demo hubs this test process started, one per backend, closed at its end.

    pytest tears a parametrized session fixture down whenever the parameter switches,
    and the modules' order makes `hub` switch between SQLite and PostgreSQL many times:
    each switch migrated and seeded again (about 30 s on PostgreSQL). Kept here, each
    backend's hub starts once per process."""
    with ExitStack() as stack:
        yield stack, {}


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def hub(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    identity_provider: IdentityProvider,
    _running_hubs: tuple[ExitStack, dict[str, RunningHub]],
) -> RunningHub:
    backend: str = request.param
    stack, running = _running_hubs
    if backend not in running:
        running[backend] = _start_hub(
            backend, stack, tmp_path_factory.mktemp(backend), identity_provider
        )
    return running[backend]


@pytest.fixture
def anonymous(hub: RunningHub) -> Iterator[httpx.Client]:
    """A client of the running hub that sends no credentials and no purpose."""
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Chromium for one test module; skipped without it (see `browser_harness`).

    Not for the session: while Playwright's sync API is open, its event loop counts as
    running in the main thread, and other tests' `asyncio.run` would fail. Nor would one
    save much: a launch is ~0.2 CPU s (three a run), a fresh context ~0.1 CPU s for a
    trivial page (its one renderer process), and the pages' own work the rest (2026-12,
    headless shell 156: ~13 CPU s of browser in all, GraphiQL's and the desk's loads, axe,
    PDFs; the full `chromium` took ~32: 0.4 a launch, 0.4 a trivial context, three
    renderers a page)."""
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[BrowserPage]:
    """A page in a fresh browser context that records its requests and console."""
    with open_page(chromium) as page:
        yield page
