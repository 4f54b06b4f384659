"""`hub init`: a production configuration in one step, and the environment file every hub
process and command reads (`EnvironmentFile=` of the systemd units, `hub --env-file`).

    <config>/hub.env                  HUB_* settings, the audit hash key and cursor
                                      secret among them (0600)
    <config>/keys/token.kek           seals the token-signing keys (0600)
    <config>/keys/audit-checkpoint.key  signs the audit log's checkpoints (0600)

then every database migrated, the first signing key made, and the first administrative
client registered (its secret printed once). No demo data and no demo clients.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from alerts.store import AlertStore
from audit.store import AuditStore
from auth.sealing import create_kek_file
from auth.store import AuthStore, Grant
from connectors.base import discover
from kernel.deferred import deferred
from kernel.errors import ConfigurationError
from kernel.scopes import AUDIT_READ, METRICS_READ, SCHEMA_INTROSPECT
from storage.keys import create_key_file, private_directory, write_private

if TYPE_CHECKING:
    import psycopg
else:
    psycopg = deferred("psycopg")  # `hub init --postgres` only

ENV_FILE: Final = "hub.env"
ADMIN_SCOPES: Final = (AUDIT_READ, METRICS_READ, SCHEMA_INTROSPECT)
ADMIN_PURPOSE: Final = "operations"
_ENV_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


def store_names() -> list[str]:
    """Every database a hub keeps: each installed agency's, the auth store's, the audit log's."""
    return [*(c.name for c in discover()), AuthStore.name, AuditStore.name, AlertStore.name]


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them: comments, blank lines,
    values in single or double quotes."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        matched = _ENV_LINE.fullmatch(line)
        if matched is None:
            raise ConfigurationError(f"{path}: not a KEY=VALUE line: {line[:40]!r}")
        name, value = matched.groups()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name] = value
    return found


def load_env_file(path: Path) -> None:
    """The file's settings, under those already in the environment."""
    for name, value in read_env_file(path).items():
        os.environ.setdefault(name, value)


def _quoted(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9_@%+=:,./\-]*", value) else shlex.quote(value)


def write_env_file(path: Path, settings: Mapping[str, str]) -> None:
    """0600 from its first byte; refuses to replace a file (it holds secrets in use)."""
    lines = ["# wage-hub settings written by `hub init`; read by every hub process.", ""]
    lines += [f"{name}={_quoted(value)}" for name, value in settings.items()]
    write_private(path, ("\n".join(lines) + "\n").encode("utf-8"))


def postgres_urls(server: str, prefix: str) -> dict[str, str]:
    """One database per store on one server: `<server>/<prefix>_<store>`."""
    url = make_url(server)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(f"--postgres {server!r}: a postgresql:// server URL")
    return {
        name: url.set(database=f"{prefix}_{name}").render_as_string(hide_password=False)
        for name in store_names()
    }


def create_databases(urls: Mapping[str, str]) -> list[str]:
    """Creates those missing (the role needs CREATEDB); returns their names."""
    created = []
    for text in urls.values():
        url = make_url(text)
        admin = url.set(drivername="postgresql", database="postgres")
        dsn = admin.render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{url.database}"')
                created.append(str(url.database))
    return created


def production_settings(args: argparse.Namespace, config_dir: Path) -> dict[str, str]:
    """The environment file's settings; the keys are written beside it."""
    issuer = urlsplit(args.issuer)
    if issuer.scheme != "https" or not issuer.hostname:
        raise ConfigurationError(
            f"--issuer {args.issuer!r}: the https URL agencies reach the hub at (the proxy's)"
        )
    keys = config_dir / "keys"
    private_directory(keys)
    kek, checkpoint = keys / "token.kek", keys / "audit-checkpoint.key"
    if not create_kek_file(kek):
        raise ConfigurationError(f"{kek} exists: `hub init` does not replace keys")
    create_key_file(checkpoint)
    settings = {
        "HUB_ENV": "production",
        "HUB_DATA_DIR": str(args.data_dir.resolve()),
        "HUB_HOST": args.host,
        "HUB_PORT": str(args.port),
        "HUB_ISSUER": args.issuer.rstrip("/"),
        "HUB_REPLICAS": str(args.replicas),
        "HUB_WORKERS": str(args.workers),
        "HUB_TOKEN_KEK_FILE": str(kek.resolve()),
        "HUB_AUDIT_ORIGIN": args.origin or f"{issuer.hostname}/audit",
        "HUB_AUDIT_CHECKPOINT_KEY_FILE": str(checkpoint.resolve()),
        "HUB_AUDIT_HASH_KEY": secrets.token_hex(32),
        "HUB_PAGES_CURSOR_SECRET": secrets.token_hex(32),
        "HUB_ALERTS_SECRET_KEY": secrets.token_hex(32),
        "HUB_SOURCES_TRUSTED_PROXIES": '["127.0.0.1", "::1"]',
    }
    if args.redis_url:
        settings["HUB_REDIS_URL"] = args.redis_url
    if args.postgres:
        for name, url in postgres_urls(args.postgres, args.database_prefix).items():
            settings[f"HUB_{name.upper()}_DB_URL"] = url
    return settings


def admin_grant() -> Grant:
    """The operator's own client: the audit log, the metrics, introspection; no records."""
    return Grant(
        agency="hub",
        title="运维管理",
        scopes=ADMIN_SCOPES,
        purposes=(ADMIN_PURPOSE,),
    )
