"""The reference deployment in deploy/, on this machine: `hub init` against PostgreSQL and
Redis, two replicas started as the systemd unit starts them, Debian's nginx in front
terminating TLS with a self-signed certificate (run in the foreground from a temporary
prefix, not by systemd). The six questions are asked through nginx over https; one
replica is killed; the same questions get the same answers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import hub_processes
from conftest import POSTGRES_URL, RUN, SEED, _free_port, require_postgres
from hub.provision import read_env_file, store_names
from questions import ACCESS_REPORT, five_questions
from synthetic.stories import stories

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
REQUIRE_NGINX = os.environ.get("HUB_TEST_REQUIRE_NGINX") == "1"
HUB = hub_processes.MODULE
ASKER = "deploy-check"
SCOPES = (
    "worker:identity worker:residence worker:employment wage:read bank:account project:read "
    "enterprise:read enterprise:credit case:read stats:read audit:subject"
)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "hub.crt", directory / "hub.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def _nginx_conf(prefix: Path, port: int, replicas: list[int], cert: Path, key: Path) -> Path:
    """deploy/nginx/wage-hub.conf with this test's ports and paths, inside the main
    configuration nginx needs to run from a temporary prefix in the foreground."""
    site = (DEPLOY / "nginx" / "wage-hub.conf").read_text(encoding="utf-8")
    servers = "".join(
        f"    server 127.0.0.1:{replica} max_fails=1 fail_timeout=10s;\n" for replica in replicas
    )
    site = re.sub(r"(?m)^    server 127\.0\.0\.1:800\d[^\n]*\n", "", site)
    site = site.replace("upstream wage_hub {\n", "upstream wage_hub {\n" + servers, 1)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
    site = re.sub(r"(?m)^    listen \[::\]:443[^\n]*\n", "", site)
    site = site.replace("/etc/wage-hub/tls/hub.crt", str(cert))
    site = site.replace("/etc/wage-hub/tls/hub.key", str(key))
    for rendered in (str(cert), f":{port} ssl", f":{replicas[1]} "):
        assert rendered in site
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / temp).mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{site}
}}
"""
    conf = prefix / "nginx.conf"
    conf.write_text(main, encoding="utf-8")
    return conf


def _exec_start(port: int) -> list[str]:
    """The unit's ExecStart for instance `port`, with this checkout's hub."""
    unit = (DEPLOY / "systemd" / "wage-hub@.service").read_text(encoding="utf-8")
    line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart=").replace("%i", str(port)))
    assert argv[0] == "/opt/wage-hub/.venv/bin/hub"
    return [*HUB, *argv[1:]]


def _wait(url: str, verify: Any = True, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, verify=verify, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not come up"
        time.sleep(0.3)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if NGINX is None:
        if REQUIRE_NGINX:
            pytest.fail("HUB_TEST_REQUIRE_NGINX=1 but nginx is not installed")
        pytest.skip("needs nginx (Debian's nginx package)")
    require_postgres()
    prefix = f"deploy_{RUN}"
    nginx_port = _free_port()
    replicas = [_free_port(), _free_port()]
    config = tmp_path / "etc"
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("HUB_") or k.startswith("HUB_TEST_")
    }
    environment.pop("AUTHLIB_INSECURE_TRANSPORT", None)  # tokens go over TLS: nginx says so
    processes: list[hub_processes.Process] = []
    outputs: list[IO[bytes]] = []
    try:
        hub_processes.run(
            [
                *HUB,
                *("init", "--config-dir", str(config), "--data-dir", str(tmp_path / "data")),
                *("--issuer", f"https://127.0.0.1:{nginx_port}"),
                *("--postgres", POSTGRES_URL.rsplit("/", 1)[0], "--database-prefix", prefix),
                *(
                    "--create-databases",
                    "--replicas",
                    "2",
                    "--redis-url",
                    "redis://127.0.0.1:6379/0",
                ),
            ],
            check=True,
            env=environment,
        )
        env_file = config / "hub.env"
        hub_env = {**environment, **read_env_file(env_file)}
        hub_processes.run([*HUB, "seed", "--force"], check=True, env=hub_env)
        added = hub_processes.run(
            [
                *HUB,
                "clients",
                "add",
                ASKER,
                "--agency",
                "hub",
                "--scopes",
                SCOPES,
                "--purposes",
                "testing",
            ],
            check=True,
            env=hub_env,
        ).stdout
        secret = next(
            line.split()[1] for line in added.splitlines() if line.startswith("client_secret")
        )
        check = hub_processes.run([*HUB, "check"], env=hub_env)
        logs = tmp_path / "logs"
        logs.mkdir()
        for port in replicas:
            out = (logs / f"replica-{port}.log").open("wb")
            outputs.append(out)
            processes.append(
                hub_processes.popen(_exec_start(port), env=hub_env, stdout=out, stderr=out)
            )
        cert, key = _self_signed(tmp_path)
        conf = _nginx_conf(tmp_path / "nginx", nginx_port, replicas, cert, key)
        outputs.append((logs / "nginx.log").open("wb"))
        processes.append(
            subprocess.Popen(
                [NGINX, "-p", str(tmp_path / "nginx"), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=outputs[-1],
            )
        )
        for port in replicas:
            _wait(f"http://127.0.0.1:{port}/healthz")
        base = f"https://127.0.0.1:{nginx_port}"
        trust = ssl.create_default_context(cafile=str(cert))
        _wait(f"{base}/healthz", verify=trust)
        yield {
            "base": base,
            "cert": trust,
            "secret": secret,
            "replicas": processes[:2],
            "check": check,
            "logs": logs,
        }
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGQUIT if process is processes[-1] else signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for output in outputs:
            output.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            for name in store_names():
                connection.execute(f'DROP DATABASE IF EXISTS "{prefix}_{name}" WITH (FORCE)')


def _ask(client: httpx.Client) -> dict[str, Any]:
    story = stories(SEED)
    answers: dict[str, Any] = {}
    for name, (document, variables) in five_questions(story).items():
        response = client.post("/graphql", json={"query": document, "variables": variables})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        answers[name] = body["data"]
    response = client.post(
        "/graphql", json={"query": ACCESS_REPORT, "variables": {"id": story.dispute_worker_id}}
    )
    assert response.status_code == 200, response.text
    answers["q6 access report"] = response.json()["data"]
    return answers


def test_two_replicas_behind_nginx_answer_alike_when_one_dies(deployment: dict[str, Any]) -> None:
    check = deployment["check"]
    assert check.returncode == 0, check.stdout + check.stderr
    assert "23 connections a process, 46 for 2" in check.stdout

    with httpx.Client(base_url=deployment["base"], verify=deployment["cert"], timeout=60) as client:
        issued = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(ASKER, deployment["secret"]),
        )
        assert issued.status_code == 200, issued.text  # over TLS: nginx's X-Forwarded-Proto
        token = issued.json()["access_token"]
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["iss"] == deployment["base"]
        client.headers.update({"Authorization": f"Bearer {token}", "X-Purpose": "testing"})

        before = _ask(client)
        ids = set()
        for _ in range(6):  # both replicas answer, each its own request id
            response = client.post("/graphql", json={"query": "{ __typename }"})
            assert response.status_code == 200
            ids.add(response.headers["x-request-id"])
        assert len(ids) == 6

        killed = deployment["replicas"][0]
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        after = _ask(client)
        after_again = _ask(client)

    for name in before:
        if name == "q6 access report":
            continue
        assert after[name] == before[name], name
        assert after_again[name] == before[name], name
    report = after["q6 access report"]["accessReport"]["disclosures"]
    assert (
        report["totalCount"]
        > before["q6 access report"]["accessReport"]["disclosures"]["totalCount"]
    )
    assert {node["clientId"] for node in report["nodes"]} == {ASKER}
