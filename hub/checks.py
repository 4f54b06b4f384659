"""`hub check`: a configuration validated before it serves, each problem printed with its
fix; and the one-line messages every command prints for a configuration mistake instead
of a traceback.

What is checked:

    settings          every HUB_* variable parses (names the variable, never its value)
    production        the token KEK file, the audit hash key, origin and checkpoint key;
                      a shared cursor secret and Redis when several processes serve
    key files         readable by this service account only (0600, owned by it)
    databases         each reachable and migrated to its newest revision
    Redis             answers, where configured
    connections       what every process may open (`connection_budget`), added up per
                      PostgreSQL server for HUB_REPLICAS × HUB_WORKERS processes, against
                      its max_connections less the reserved ones and a margin for
                      `hub migrate`, backups and this check
    issuer            https in production; on a loopback address, the port served
    region codes      every registered client's region limits are codes the hub knows
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from audit.format import DEFAULT_ORIGIN
from auth.errors import RegistryError
from auth.sealing import read_kek_file
from graph.jurisdiction import RULES
from hub.limits.rates import parse_rates
from hub.settings import HubSettings
from hub.wiring import (
    build_alert_store,
    build_audit_store,
    build_auth_store,
    build_connectors,
    checkpoint_key_path,
    load_checkpoint_signer,
    local_connectors,
    migration_targets,
)
from kernel.deferred import deferred
from kernel.errors import ConfigurationError
from storage.keys import KeyFileError, read_private

if TYPE_CHECKING:  # what `hub check` uses, not `hub serve` (`kernel.deferred`)
    import psycopg
    import redis.asyncio as redis_asyncio

    from storage import migrate
    from storage.migrate import MigrationTarget
else:
    psycopg = deferred("psycopg")
    redis_asyncio = deferred("redis.asyncio")
    migrate = deferred("storage.migrate")

ADMIN_MARGIN: Final = 5
"""Connections left on each PostgreSQL server for `hub migrate`, `hub check`, a backup
and an operator's psql while every hub process holds all it may."""
CHECK_TIMEOUT_SECONDS: Final = 5.0

CONFIGURATION_ERRORS: Final = (
    ValidationError,
    SettingsError,
    ConfigurationError,
    RegistryError,
    KeyFileError,
    ArgumentError,
)
"""What a configuration mistake raises on the way to serving; the command line prints
`configuration_lines(error)` for these, one line each."""


@dataclass(frozen=True)
class Problem:
    """Something that will fail in service, and what to do about it. A warning is served
    with (`hub serve` logs it); an error is not (`hub serve` stops on it)."""

    what: str
    fix: str
    warning: bool = False

    def line(self) -> str:
        return f"{self.what}\n    fix: {self.fix}"


_BLOCKS: Final = frozenset(
    name
    for name, info in HubSettings.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
)


def env_name(location: Sequence[int | str]) -> str:
    """The variable a settings error is about, and where in its JSON value:
    ('audit', 'witness_quorum') → HUB_AUDIT_WITNESS_QUORUM, ('audit', 'witnesses', 0,
    'vkey') → HUB_AUDIT_WITNESSES[0].vkey."""
    width = 2 if location and location[0] in _BLOCKS else 1
    name = "HUB_" + "_".join(str(part) for part in location[:width]).upper()
    for part in location[width:]:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


_SETTINGS_FIELD = re.compile(r'field "([a-z_]+)"')


def configuration_lines(error: BaseException) -> list[str]:
    """One line per mistake; a setting's value is never repeated (it may be a secret)."""
    if isinstance(error, ValidationError):
        return [f"{env_name(e['loc'])}: {e['msg']}" for e in error.errors(include_input=False)]
    if isinstance(error, SettingsError):
        found = _SETTINGS_FIELD.search(str(error))
        name = env_name([found.group(1)]) if found else "a HUB_ variable"
        return [f"{name}: not valid JSON (this setting is a JSON object or list)"]
    if isinstance(error, ArgumentError):
        return [f"a database URL cannot be read: {error} (HUB_<STORE>_DB_URL)"]
    return [str(error).splitlines()[0] if str(error) else type(error).__name__]


# -- what each process may open --------------------------------------------------------------


@dataclass
class Budget:
    """Connections one hub process may hold on one PostgreSQL server, by store."""

    server: str
    per_store: dict[str, int] = field(default_factory=dict)

    @property
    def per_process(self) -> int:
        return sum(self.per_store.values())


def _server(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def connection_budget(settings: HubSettings) -> dict[str, Budget]:
    """Per PostgreSQL server, the connections one serving process may hold (SQLite
    databases hold none). R = HUB_DB_POOL_SIZE + HUB_DB_MAX_OVERFLOW (reads),
    W = HUB_DB_WRITE_POOL_SIZE (writes):

        each agency      R; and 2 (staging, reference checks) per import running
                         (HUB_INGEST_CONCURRENT), and the one kept between imports
                         (`storage.pooling`), on the agencies' server
        auth             R, W (keys, desk sessions), W (the national registry)
        audit            R, W (the writer), W (the cosigner, with witnesses)
        alerts           R, W
    """
    reads = settings.db.pool_size + settings.db.max_overflow
    writes = settings.db.write_pool_size
    budgets: dict[str, Budget] = {}

    def add(url_text: str, store: str, count: int) -> None:
        url = make_url(url_text)
        if url.get_backend_name() != "postgresql":
            return
        server = _server(url)
        budgets.setdefault(server, Budget(server)).per_store[store] = count

    agencies = _local_agencies(settings)
    for name in agencies:
        add(settings.database_url(name), name, reads)
    for server in {_server(make_url(settings.database_url(name))) for name in agencies}:
        if server in budgets:
            budgets[server].per_store["imports"] = 2 * settings.ingest.concurrent + 1
    national = writes if settings.national.enabled else 0
    add(settings.auth_db_url, "auth", reads + writes + national)
    cosigner = writes if settings.audit.witnesses else 0
    add(settings.audit_db_url, "audit", reads + writes + cosigner)
    add(settings.alerts_db_url, "alerts", reads + writes)
    return budgets


def _local_agencies(settings: HubSettings) -> list[str]:
    return [c.name for c in local_connectors(build_connectors(settings))]


# -- static checks ----------------------------------------------------------------------------


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def issuer_problems(settings: HubSettings, served_port: int | None = None) -> list[Problem]:
    """The issuer is what tokens carry and what the hub checks they carry."""
    problems = []
    parts = urlsplit(settings.issuer)
    port = served_port or settings.port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            Problem(
                f"HUB_ISSUER {settings.issuer!r} is not an http(s) URL",
                "set it to the URL agencies reach the hub at, e.g. https://hub.example.gov.cn",
            )
        ]
    if settings.env == "production" and parts.scheme != "https":
        problems.append(
            Problem(
                f"HUB_ISSUER is {settings.issuer}: in production tokens are issued over TLS",
                "set HUB_ISSUER to the https address the reverse proxy serves",
            )
        )
    # https is a proxy's address (the hub serves http): only a plain http issuer on
    # loopback is the hub itself, and must name the port it serves
    if parts.scheme == "http" and _loopback(parts.hostname) and (parts.port or 80) != port:
        problems.append(
            Problem(
                f"HUB_ISSUER {settings.issuer} names port {parts.port or 80} but the hub "
                f"serves on {port}: its own tokens would be refused",
                f"set HUB_ISSUER=http://{parts.hostname}:{port}, or leave it unset",
                warning=True,
            )
        )
    return problems


def static_problems(settings: HubSettings) -> list[Problem]:
    """What can be told without reaching any server."""
    problems: list[Problem] = []
    production = settings.env == "production"
    if production:
        if settings.token.kek_file is None:
            problems.append(
                Problem(
                    "HUB_TOKEN_KEK_FILE is not set",
                    "`hub init` makes one, or `hub keys new-kek PATH`; the same file on "
                    "every hub host",
                )
            )
        if settings.audit.hash_key is None:
            problems.append(
                Problem(
                    "HUB_AUDIT_HASH_KEY is not set",
                    "`hub init` writes one (at least 16 bytes), the same on every process",
                )
            )
        if settings.audit.origin == DEFAULT_ORIGIN:
            problems.append(
                Problem(
                    "HUB_AUDIT_ORIGIN is not set",
                    "name the audit log, e.g. audit.hub.example.gov.cn/henan (never changed "
                    "once witnesses know it)",
                )
            )
        if os.environ.get("AUTHLIB_INSECURE_TRANSPORT"):
            problems.append(
                Problem(
                    "AUTHLIB_INSECURE_TRANSPORT is set: client secrets are accepted over http",
                    "unset it; the reverse proxy terminates TLS",
                )
            )
    if settings.token.kek_file is not None:
        problems += _key_file_problem(
            "HUB_TOKEN_KEK_FILE", lambda: read_kek_file(settings.token.kek_file or Path())
        )
    key_path = checkpoint_key_path(settings)
    if key_path.exists() or production:
        problems += _key_file_problem(
            "the audit checkpoint key (HUB_AUDIT_CHECKPOINT_KEY_FILE)",
            lambda: load_checkpoint_signer(settings, create=False),
        )
    if settings.processes > 1:
        if settings.pages.cursor_secret is None:
            problems.append(
                Problem(
                    f"{settings.processes} processes serve, but HUB_PAGES_CURSOR_SECRET is "
                    "not set: a page cursor one of them made is refused by the others",
                    "set the same HUB_PAGES_CURSOR_SECRET on every process (`hub init`)",
                    warning=True,
                )
            )
        if settings.alerts.secret_key is None:
            problems.append(
                Problem(
                    f"{settings.processes} processes serve, but HUB_ALERTS_SECRET_KEY is not"
                    " set: a webhook signed by one of them is not one its subscriber can check"
                    " unless every process keeps the same keys/webhook.key",
                    "set the same HUB_ALERTS_SECRET_KEY on every process (`hub init`)",
                    warning=True,
                )
            )
        if settings.redis_url is None:
            problems.append(
                Problem(
                    f"{settings.processes} processes serve, but HUB_REDIS_URL is not set: "
                    "each keeps its own rate-limit buckets, so a client gets the limit "
                    f"{settings.processes} times over",
                    "set HUB_REDIS_URL=redis://HOST:6379/0 on every process",
                    warning=True,
                )
            )
        sqlite = [name for name, url in _store_urls(settings) if url.startswith("sqlite")]
        if settings.replicas > 1 and sqlite:
            problems.append(
                Problem(
                    f"{settings.replicas} replicas, but {', '.join(sqlite)} are SQLite files "
                    "each replica would keep for itself",
                    "give each store a PostgreSQL database (HUB_<STORE>_DB_URL; `hub init "
                    "--postgres`)",
                )
            )
    problems += issuer_problems(settings)
    problems += _url_problems(settings)
    try:
        parse_rates(settings.rate_limits)
    except ValueError as error:
        problems.append(Problem(f"HUB_RATE_LIMITS: {error}", "correct the rate"))
    if settings.redis_url and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        problems.append(
            Problem(
                "HUB_REDIS_URL is not a redis://, rediss:// or unix:// URL",
                "e.g. HUB_REDIS_URL=redis://127.0.0.1:6379/0",
            )
        )
    problems += _data_dir_problems(settings.data_dir)
    return problems


def _url_problems(settings: HubSettings) -> list[Problem]:
    problems = []
    for name, text in _store_urls(settings):
        backend = make_url(text).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            problems.append(
                Problem(
                    f"HUB_{name.upper()}_DB_URL: unsupported database {backend!r}",
                    "a postgresql:// URL (or sqlite:/// for one host)",
                )
            )
    return problems


def _data_dir_problems(data_dir: Path) -> list[Problem]:
    existing = data_dir.resolve()
    while not existing.exists():
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return []
    return [
        Problem(
            f"HUB_DATA_DIR {data_dir} cannot be created or written by this user",
            f"create it owned by the service account: `install -d -m 700 {data_dir}`",
        )
    ]


def env_file_problems(path: Path) -> list[Problem]:
    """The environment file holds the audit hash key and the cursor secret: private too."""
    return _key_file_problem(f"the environment file {path}", lambda: read_private(path, "file"))


def _key_file_problem(what: str, load: object) -> list[Problem]:
    assert callable(load)
    try:
        load()
    except (KeyFileError, RegistryError, ConfigurationError) as error:
        return [Problem(f"{what}: {error}", "see the message; `hub init` creates key files 0600")]
    except OSError as error:
        return [Problem(f"{what}: {error.strerror}: {error.filename}", "give the right path")]
    return []


def _store_urls(settings: HubSettings) -> list[tuple[str, str]]:
    return [
        *((name, settings.database_url(name)) for name in _local_agencies(settings)),
        ("auth", settings.auth_db_url),
        ("audit", settings.audit_db_url),
        ("alerts", settings.alerts_db_url),
    ]


# -- checks that reach the servers ------------------------------------------------------------


def short_error(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return text[0] if text else type(error).__name__


def migration_problems(targets: Iterable[MigrationTarget]) -> list[Problem]:
    """Each database reachable, and at its newest revision."""
    problems = []
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)  # not migrating
    for target in targets:
        where = target.database.url.render_as_string(hide_password=True)
        heads = migrate.heads(target)
        engine = target.database.sync_engine()
        try:
            with engine.connect() as connection:
                current = migrate.current_heads(connection, target)
        except (SQLAlchemyError, OSError) as error:
            problems.append(
                Problem(
                    f"database {target.name} ({where}) cannot be reached: {short_error(error)}",
                    "start it, create the database, or correct its URL "
                    f"(HUB_{target.name.upper()}_DB_URL)",
                )
            )
            continue
        finally:
            engine.dispose()
        if current != heads:
            problems.append(
                Problem(
                    f"database {target.name} ({where}) is at "
                    f"{', '.join(sorted(current)) or 'no revision'}, "
                    f"not {', '.join(sorted(heads))}",
                    "run `hub migrate` (once, from one host)",
                )
            )
    return problems


def _server_limit(url: URL) -> int:
    """Connections the server admits for ordinary roles."""
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, connect_timeout=int(CHECK_TIMEOUT_SECONDS)) as connection:
        row = connection.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - coalesce(current_setting('reserved_connections', true), '0')::int"
        ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class ServerBudget:
    server: str
    per_process: int
    processes: int
    admitted: int | None

    @property
    def needed(self) -> int:
        return self.per_process * self.processes


def budget_report(settings: HubSettings) -> tuple[list[ServerBudget], list[Problem]]:
    """Every PostgreSQL server's budget, and the problem when it does not fit."""
    urls: dict[str, URL] = {}
    for _, text in _store_urls(settings):
        url = make_url(text)
        if url.get_backend_name() == "postgresql":
            urls.setdefault(_server(url), url)
    reports, problems = [], []
    for server, budget in connection_budget(settings).items():
        try:
            admitted: int | None = _server_limit(urls[server])
        except (psycopg.Error, OSError):
            admitted = None  # its databases are reported unreachable already
        report = ServerBudget(server, budget.per_process, settings.processes, admitted)
        reports.append(report)
        if admitted is not None and report.needed > admitted - ADMIN_MARGIN:
            fitting = max(1, (admitted - ADMIN_MARGIN) // max(1, budget.per_process))
            problems.append(
                Problem(
                    f"PostgreSQL {server}: {settings.processes} hub processes may open "
                    f"{report.needed} connections ({budget.per_process} each), but it admits "
                    f"{admitted} (less {ADMIN_MARGIN} kept for administration)",
                    f"lower HUB_DB_POOL_SIZE / HUB_DB_MAX_OVERFLOW, serve at most {fitting} "
                    "processes, or raise max_connections in postgresql.conf",
                )
            )
    return reports, problems


def region_problems(settings: HubSettings) -> list[Problem]:
    """Registered clients' region limits, checked against the codes the hub knows now."""
    problems = []
    for client in build_auth_store(settings).clients():
        for kind, values in client.limits:
            for value in values:
                try:
                    RULES.check({kind: [value]})
                except ValueError as error:
                    problems.append(
                        Problem(
                            f"client {client.client_id}: {error}",
                            f"`hub clients revoke {client.client_id}` and add it again with "
                            "valid codes",
                        )
                    )
    return problems


async def _redis_problem(url: str) -> list[Problem]:
    try:
        redis = redis_asyncio.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS)
    except ValueError:
        return []  # reported with the static problems
    try:
        await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means unreachable; its kind and text say why
        return [
            Problem(
                f"Redis at HUB_REDIS_URL cannot be reached: {short_error(error)}",
                "start it (redis-server) or correct HUB_REDIS_URL",
            )
        ]
    finally:
        await redis.aclose()
    return []


def live_problems(settings: HubSettings) -> tuple[list[ServerBudget], list[Problem]]:
    auth_store = build_auth_store(settings)
    targets = migration_targets(
        build_connectors(settings),
        auth_store,
        build_audit_store(settings, auth_store),
        build_alert_store(settings),
    )
    problems = migration_problems(targets)
    if not any(p.what.startswith(f"database {auth_store.name} ") for p in problems):
        problems += region_problems(settings)
    if settings.redis_url:
        problems += asyncio.run(_redis_problem(settings.redis_url))
    budgets, budget_problems = budget_report(settings)
    return budgets, problems + budget_problems


def run_check(settings: HubSettings) -> tuple[list[str], list[Problem]]:
    """What `hub check` prints: facts, then problems (none: ready to serve)."""
    problems = static_problems(settings)
    facts = [
        f"environment    {settings.env}",
        f"issuer         {settings.issuer}",
        f"processes      {settings.replicas} replica(s) × {settings.workers} worker(s)",
    ]
    try:
        budgets, live = live_problems(settings)
    except CONFIGURATION_ERRORS as error:
        problems += [Problem(line, "correct the setting") for line in configuration_lines(error)]
        return facts, problems
    except OSError as error:
        problems.append(Problem(f"{error.strerror}: {error.filename}", "correct the path"))
        return facts, problems
    for budget in budgets:
        admitted = "unknown" if budget.admitted is None else str(budget.admitted)
        facts.append(
            f"PostgreSQL     {budget.server}: {budget.per_process} connections a process, "
            f"{budget.needed} for {budget.processes}, server admits {admitted}"
        )
    return facts, problems + live


def _unique(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def format_problems(problems: Iterable[Problem]) -> list[str]:
    return _unique(problem.line() for problem in problems)
