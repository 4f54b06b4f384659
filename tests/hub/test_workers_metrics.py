"""`hub serve --workers 2`: /metrics adds up every worker's counts, whichever worker
answers the scrape (prometheus-client's multi-process mode)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import hub_processes
from conftest import _free_port
from hub_support import hub_command

REQUESTS = 24


def _requests_counted(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hub_http_requests_total" and sample.labels.get("route") == "/graphql"
    )


def test_metrics_add_up_every_worker(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`data_dir`: as `hub migrate` leaves one (a copy of the one migrated once)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("HUB_") or k.startswith("HUB_TEST_")
    }
    # 24 failed authentications from one address in a second pass the source limit's burst
    # of 20 on a quiet machine: off here, where the 401s are only something to count.
    env |= {
        "HUB_DATA_DIR": str(data_dir),
        "AUTHLIB_INSECURE_TRANSPORT": "1",
        "HUB_SOURCES_FAILURES": "off",
    }
    added = hub_command(
        monkeypatch, capsys, {"HUB_DATA_DIR": str(data_dir)},
        "clients", "add", "scraper", "--agency", "hub", "--scopes", "metrics:read",
        "--purposes", "operations",
    )  # fmt: skip
    secret = next(
        line.split()[1] for line in added.splitlines() if line.startswith("client_secret")
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    process = hub_processes.popen(
        [*hub_processes.MODULE, "serve", "--port", str(port), "--workers", "2"], env=env, stderr=log
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "hub serve exited"
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.3)
        token = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("scraper", secret),
        ).json()["access_token"]
        for _ in range(REQUESTS):  # a new connection each: the kernel spreads them
            answer = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"})
            assert answer.status_code == 401  # counted all the same
        pids = {path.stem.rsplit("_", 1)[-1] for path in (data_dir / "metrics").glob("*.db")}
        assert len(pids) >= 2, pids  # both workers write their values there
        for _ in range(4):  # whichever worker answers the scrape, it reports all of them
            scraped = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
            assert scraped.status_code == 200, scraped.text
            assert _requests_counted(scraped.text) == REQUESTS

        # a worker that dies never shuts down: the supervisor retires its live gauges
        live = sorted((data_dir / "metrics").glob("gauge_livesum_*.db"))
        assert live, "no live gauge files"
        killed = int(live[0].stem.rsplit("_", 1)[-1])
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while f"worker [{killed}] died" not in (tmp_path / "serve.log").read_text():
            assert time.monotonic() < deadline, "the supervisor did not notice"
            time.sleep(0.3)
        assert not live[0].exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
