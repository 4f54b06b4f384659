"""`hub init` and `hub check` as an operator meets them, and a table of configuration
mistakes, each answered with one line instead of a traceback."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

import hub_processes
from auth.sealing import create_kek_file
from conftest import POSTGRES_URL, RUN, _free_port, require_postgres
from hub import checks, serving
from hub.cli import main
from hub.provision import read_env_file, store_names
from hub.seeding import has_data
from hub.settings import HubSettings
from hub.wiring import build_auth_store, build_connectors, local_connectors
from hub_support import hub_command
from storage.keys import create_key_file


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No HUB_* setting from the caller's environment leaks into a test, and none that a
    command sets (`hub init`, `--env-file`) leaks out of it. Ask for it before a fixture
    that sets one (`data_dir`): the environment it puts back is the one it found."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("HUB_") and not name.startswith("HUB_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    yield monkeypatch
    monkeypatch.undo()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def postgres_server() -> Iterator[tuple[str, str]]:
    """The test server's URL without a database, and a prefix of databases dropped after."""
    require_postgres()
    prefix = f"init_{RUN}"
    server = POSTGRES_URL.rsplit("/", 1)[0]
    yield server, prefix
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        for name in store_names():
            connection.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')


def test_init_writes_a_production_configuration_that_checks_clean(
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
    postgres_server: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, prefix = postgres_server
    config = tmp_path / "etc"
    code, out, err = _run(
        capsys,
        *("init", "--config-dir", str(config), "--data-dir", str(tmp_path / "data")),
        *("--issuer", "https://hub.example.gov.cn", "--postgres", server),
        *("--database-prefix", prefix, "--create-databases", "--replicas", "4"),
        *("--redis-url", "redis://127.0.0.1:6379/0"),
    )
    assert code == 0, err
    env_file = config / "hub.env"
    for private in (
        env_file,
        config / "keys" / "token.kek",
        config / "keys" / "audit-checkpoint.key",
    ):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    values = read_env_file(env_file)
    assert values["HUB_ENV"] == "production"
    assert len(values["HUB_AUDIT_HASH_KEY"]) == 64
    assert {f"HUB_{name.upper()}_DB_URL" for name in store_names()} <= set(values)
    assert values["HUB_AUDIT_HASH_KEY"] not in out
    # Eight databases (five agencies, auth, audit, alerts), 2 reading connections each;
    # one writing for auth's keys and sessions, the national registry, the audit writer,
    # the warnings store; 2 for an import and 1 kept between imports: 23 a process, 92
    # for four replicas.
    assert "23 connections a process, 92 for 4" in out
    assert "problem" not in out

    settings = HubSettings()  # init left the configuration in this process's environment
    clients = build_auth_store(settings).clients()
    assert [c.client_id for c in clients] == ["hub-admin"]
    assert set(clients[0].scopes) == {"audit:read", "metrics:read", "schema:introspect"}
    assert has_data(local_connectors(build_connectors(settings))) == []  # no demo data

    code, out, _ = _run(capsys, "--env-file", str(env_file), "check")
    assert (code, out.splitlines()[-1]) == (0, "ready: no problems found")
    env_file.chmod(0o644)  # it holds the hash key: readable by the service only
    code, out, _ = _run(capsys, "--env-file", str(env_file), "check")
    assert code == 1
    assert f"chmod 600 {env_file}" in out
    env_file.chmod(0o600)

    code, _, err = _run(capsys, "init", "--config-dir", str(config), "--issuer", "https://x.cn")
    assert code == 1
    assert "does not replace" in err or "replaces no configuration" in err


def _production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys"
    create_kek_file(keys / "token.kek")
    create_key_file(keys / "audit-checkpoint.key")
    for name, value in {
        "HUB_ENV": "production",
        "HUB_DATA_DIR": str(tmp_path / "data"),
        "HUB_ISSUER": "https://hub.example.gov.cn",
        "HUB_TOKEN_KEK_FILE": str(keys / "token.kek"),
        "HUB_AUDIT_HASH_KEY": "h" * 32,
        "HUB_AUDIT_ORIGIN": "audit.hub.example/test",
        "HUB_AUDIT_CHECKPOINT_KEY_FILE": str(keys / "audit-checkpoint.key"),
    }.items():
        monkeypatch.setenv(name, value)


MISTAKES: list[tuple[str, str | None, str]] = [
    ("HUB_ENV", "prod", "HUB_ENV: Input should be 'development' or 'production'"),
    ("HUB_PORT", "eighty", "HUB_PORT: Input should be a valid integer"),
    ("HUB_PORT", "70000", "HUB_PORT: Input should be less than or equal to 65535"),
    ("HUB_RATE_LIMITS", "{x", "HUB_RATE_LIMITS: not valid JSON"),
    ("HUB_RATE_LIMITS", '{"default": "fast"}', "HUB_RATE_LIMITS: rate 'fast'"),
    ("HUB_AUDIT_HASH_KEY", None, "HUB_AUDIT_HASH_KEY is not set"),
    ("HUB_AUDIT_HASH_KEY", "short", "HUB_AUDIT_HASH_KEY: Value error, the audit hash key needs"),
    ("HUB_AUDIT_ORIGIN", None, "HUB_AUDIT_ORIGIN is not set"),
    ("HUB_AUDIT_ORIGIN", "has space", "HUB_AUDIT_ORIGIN: Value error"),
    ("HUB_TOKEN_KEK_FILE", None, "HUB_TOKEN_KEK_FILE is not set"),
    ("HUB_TOKEN_KEK_FILE", "/nonexistent/token.kek", "does not exist"),
    ("HUB_AUDIT_CHECKPOINT_KEY_FILE", "/nonexistent/a.key", "checkpoint key"),
    (
        "HUB_HOUSING_DB_URL",
        "mysql://db/housing",
        "HUB_HOUSING_DB_URL: unsupported database 'mysql'",
    ),
    ("HUB_HOUSING_DB_URL", "not a url", "a database URL cannot be read"),
    ("HUB_REDIS_URL", "localhost:6379", "HUB_REDIS_URL is not a redis://"),
    ("HUB_ISSUER", "http://hub.example.gov.cn", "in production tokens are issued over TLS"),
    ("HUB_ISSUER", "hub.example.gov.cn", "is not an http(s) URL"),
    ("HUB_CONNECTOR_BANK_URL", "http://127.0.0.1:9/graphql", "set HUB_CONNECTOR_CLIENT_SECRET"),
    ("HUB_AUDIT_WITNESSES", '[{"url": "https://w.example"}]', "HUB_AUDIT_WITNESSES[0].vkey"),
    ("HUB_AUDIT_WITNESS_BEFORE_ANSWER", "true", "needs HUB_AUDIT_WITNESSES"),
    ("HUB_DB_POOL_SIZE", "0", "HUB_DB_POOL_SIZE: Input should be greater than or equal to 1"),
    ("HUB_REPLICAS", "none", "HUB_REPLICAS: Input should be a valid integer"),
    ("HUB_DATA_DIR", "/dev/null/hub", "HUB_DATA_DIR /dev/null/hub cannot be created"),
    ("HUB_TRUSTED_ISSUERS", '{"https://idp": {"audience": "x"}}', "HUB_TRUSTED_ISSUERS"),
    ("AUTHLIB_INSECURE_TRANSPORT", "1", "AUTHLIB_INSECURE_TRANSPORT is set"),
]


@pytest.mark.parametrize(
    ("name", "value", "expected"), MISTAKES, ids=[m[0] + "=" + str(m[1]) for m in MISTAKES]
)
def test_a_configuration_mistake_is_one_line_not_a_traceback(
    name: str,
    value: str | None,
    expected: str,
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`hub serve` stops before binding, `hub check` lists it with its fix."""
    _production(tmp_path, clean_env)
    if value is None:
        clean_env.delenv(name)
    else:
        clean_env.setenv(name, value)

    def served(*_: Any, **__: Any) -> None:
        raise AssertionError("served despite the mistake")

    clean_env.setattr(serving, "run", served)
    code, out, err = _run(capsys, "serve", "--port", str(_free_port()))
    assert code == 1
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("hub: ")]
    assert lines, err
    assert any(expected in line for line in lines), err

    code, out, err = _run(capsys, "check")
    assert code == 1
    assert "Traceback" not in out + err
    assert expected in out + err


def test_check_reports_what_would_fail_in_service(
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
    postgres_server: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, prefix = postgres_server
    config = tmp_path / "etc"
    code, _, err = _run(
        capsys,
        *("init", "--config-dir", str(config), "--data-dir", str(tmp_path / "data")),
        *("--issuer", "https://hub.example.gov.cn", "--postgres", server),
        *("--database-prefix", prefix, "--create-databases"),
    )
    assert code == 0, err
    (config / "keys" / "token.kek").chmod(0o644)
    with psycopg.connect(POSTGRES_URL or "", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{prefix}_court" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{prefix}_court"')
    admitted = checks._server_limit(make_url(POSTGRES_URL or ""))
    replicas = (admitted - checks.ADMIN_MARGIN) // 23 + 1  # one more than fits
    clean_env.setenv("HUB_REPLICAS", str(replicas))
    clean_env.setenv("HUB_REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
    code, out, _ = _run(capsys, "check")
    assert code == 1
    assert "chmod 600" in out  # the key file readable by others
    (config / "keys" / "token.kek").chmod(0o600)
    code, out, _ = _run(capsys, "check")
    assert code == 1
    assert "chmod" not in out
    assert (
        f"database court (postgresql://postgres@127.0.0.1:5432/{prefix}_court) is at no revision"
        in out
    )
    assert "run `hub migrate`" in out
    assert "Redis at HUB_REDIS_URL cannot be reached" in out
    assert f"{replicas} hub processes may open {23 * replicas} connections (23 each)" in out
    assert f"serve at most {replicas - 1} processes" in out


def test_the_connection_budget_adds_up_every_store_on_each_server() -> None:
    urls = {name: f"postgresql://hub@db1/{name}" for name in store_names()}
    urls["audit"] = "postgresql://hub@db2:5433/audit"
    budgets = checks.connection_budget(HubSettings(db_urls=urls))
    # agencies, an import and the connection kept between imports, auth (reads, writes,
    # national registry), alerts
    assert budgets["db1:5432"].per_process == 5 * 2 + (2 + 1) + (2 + 1 + 1) + (2 + 1)
    assert budgets["db2:5433"].per_process == 2 + 1  # readers and the writer
    sqlite = checks.connection_budget(HubSettings(db_urls={}))
    assert sqlite == {}


def test_the_issuer_follows_the_port_served(
    clean_env: pytest.MonkeyPatch, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hub served on another port issues tokens it accepts itself."""
    assert HubSettings(port=8123).issuer == "http://127.0.0.1:8123"
    assert HubSettings(host="0.0.0.0", port=8123).issuer == "http://127.0.0.1:8123"
    assert HubSettings(port=8123, issuer="https://hub.example").issuer == "https://hub.example"

    clean_env.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    data = {"HUB_DATA_DIR": str(data_dir)}  # migrated (conftest): a copy
    added = hub_command(
        clean_env, capsys, data,
        "clients", "add", "c1", "--agency", "hr", "--scopes", "wage:read", "--purposes", "p",
    )  # fmt: skip
    secret = next(
        line.split()[1] for line in added.splitlines() if line.startswith("client_secret")
    )
    port = _free_port()
    process = hub_processes.popen(
        [*hub_processes.MODULE, "serve", "--port", str(port)], stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "hub serve did not start"
                time.sleep(0.2)
        token = httpx.post(
            f"{base}/oauth/token", data={"grant_type": "client_credentials"}, auth=("c1", secret)
        ).json()["access_token"]
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert payload["iss"] == base
        answer = httpx.post(
            f"{base}/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {token}", "X-Purpose": "p"},
        )
        assert answer.status_code == 200, answer.text
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_a_client_limited_to_an_unknown_region_is_refused(
    clean_env: pytest.MonkeyPatch, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("HUB_DATA_DIR", str(data_dir))  # migrated (conftest): a copy
    base = (
        "clients",
        "add",
        "c",
        "--agency",
        "housing",
        "--scopes",
        "project:read",
        "--purposes",
        "p",
    )
    code, _, err = _run(capsys, *base, "--regions", "9999")
    assert code == 1
    assert err.strip() == "hub: region '9999': not a GB/T 2260 code the hub knows"
    code, _, _ = _run(capsys, *base, "--regions", "4101,410183")
    assert code == 0
    client = build_auth_store(HubSettings()).get_client("c")
    assert client is not None
    assert client.limits == (("regions", ("4101", "410183")),)
