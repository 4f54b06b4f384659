"""End to end over real HTTP: the bank pushes a payroll that leaves a worker of a compliant
project unpaid (a transfer that failed); within seconds the HR bureau's receiver gets the
project's RED event, correctly signed, with what the HR bureau may see of it; the police
receiver gets the residence gaps of its district (and nothing of others); a client whose
region holds none of these projects gets nothing; every body sent has its audit record.
On SQLite and PostgreSQL with the database's queue, and on PostgreSQL with Redis's."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select, text

from alerts.kinds import Kind
from alerts.settings import AlertSettings
from auth.store import Grant
from conftest import RUN, SEED, ClientCredentials, RunningHub, require_redis
from connectors.bank.models import Disbursement
from connectors.bank.tables import DISBURSEMENTS
from hub.wiring import build_alert_store
from hub_support import Stores, make_stores, running_hub
from ingest.writers import write_jsonl
from kernel.scopes import PROJECT_READ, STATS_READ
from receivers import Receiver, receiving
from synthetic.stories import Stories, stories

FAST = AlertSettings(
    poll_seconds=0.05,
    backoff_seconds=0.2,
    timeout_seconds=2,
    lease_seconds=5,
    max_attempts=3,
    stream_key=f"test:alerts-e2e:{RUN}",
)
OUTSIDER = "hr-bureau-kaifeng"


@pytest.fixture(scope="module", params=["sqlite", "postgres", "postgres+redis"])
def stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    backend, _, queue = request.param.partition("+")
    redis_url = require_redis() if queue else None
    stores = make_stores(
        backend, tmp_path_factory.mktemp(request.param), "alerts_e2e", seeded="demo"
    )
    stores.settings = stores.settings.model_copy(update={"redis_url": redis_url})
    yield stores
    if redis_url:
        with redis.Redis.from_url(redis_url) as client:
            client.delete(FAST.stream_key, f"{FAST.stream_key}:relay")


def _failed_transfer(stores: Stores, story: Stories) -> tuple[str, bytes]:
    """One of the compliant project's paid transfers of the month, sent again as failed."""
    table = Disbursement.__table__  # type: ignore[attr-defined]
    engine = stores.connectors["bank"].database.sync_engine()
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(table)
                .where(
                    table.c.project_code == story.compliant_project_code,
                    table.c.period == story.through_month,
                    table.c.status == "paid",
                )
                .order_by(table.c.worker_id_number)
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    out = io.BytesIO()
    values = (
        row.account_no, row.project_code, row.worker_name, row.worker_id_number, row.card_no,
        row.pay_month, row.paid_on, row.due_fen, row.amount_fen, "failed", row.days,
        row.is_back_pay, None if not row.is_back_pay else row.period, row.serial_no,
    )  # fmt: skip
    write_jsonl(out, DISBURSEMENTS.spec, [values])
    return row.worker_id_number, out.getvalue()


def _audited(stores: Stores, client_id: str) -> list[dict[str, Any]]:
    engine = stores.audit.database.sync_engine()
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT payload FROM audit_record WHERE endpoint = '/webhooks'"
                    " AND client_id = :c ORDER BY seq"
                ),
                {"c": client_id},
            )
            return [json.loads(row[0]) for row in rows]
    finally:
        engine.dispose()


def test_a_payroll_that_leaves_a_project_unpaid_reaches_the_agencies(stores: Stores) -> None:
    story = stories(SEED)
    store = build_alert_store(stores.settings)
    with (
        receiving(Receiver()) as hr,
        receiving(Receiver()) as police,
        receiving(Receiver()) as outsider,
        running_hub(stores, alerts=FAST) as hub,
    ):
        stores.auth.add_client(
            OUTSIDER,
            Grant(
                "hr", (PROJECT_READ, STATS_READ), ("supervision",), limits={"regions": ("3301",)}
            ),
        )
        kinds = [Kind.PROJECT_WARNING, Kind.WORKER_UNPAID]
        hr_sub = store.subscribe("hr-bureau-xinmi", kinds, hr.url, "supervision")
        police_sub = store.subscribe(
            "police-xinmi", [Kind.RESIDENCE_GAP], police.url, "residence-management"
        )
        store.subscribe(OUTSIDER, [Kind.PROJECT_WARNING], outsider.url, "supervision")

        worker, payroll = _failed_transfer(stores, story)
        with _pusher(hub) as bank:
            pushed = bank.post(
                "/ingest/bank/disbursements",
                content=payroll,
                headers={"Content-Type": "application/x-ndjson"},
            )
        assert pushed.status_code == 200, pushed.text

        def red(project: str) -> Any:
            return lambda got: any(
                r.json()["type"] == "project.warning.changed"
                and r.json()["data"]["event"]["projectCode"] == project
                and r.json()["data"]["event"]["level"] == "RED"
                for r in got
            )

        hr.wait_for(red(story.compliant_project_code), seconds=15)
        police.wait_for(lambda got: len(got) >= len(story.workers_without_residence))
        _drained(store)

        bodies = {}
        for received in hr.received:
            assert received.verified(hr_sub.secret) == received.id
            bodies[received.id] = received.json()
        assert len(bodies) == len(hr.received)  # one request per event: nothing twice
        red_event = next(
            b["data"]
            for b in bodies.values()
            if b["data"]["event"]["projectCode"] == story.compliant_project_code
            and b["type"] == "project.warning.changed"
        )
        compliance = red_event["graph"]["project"]["compliance"]
        assert compliance["level"] == "RED"
        failed = {m["measure"] for m in compliance["measures"] if m["satisfied"] is False}
        assert "WAGES_PAID_MONTHLY" in failed
        unpaid = [
            b["data"]["graph"]["worker"] for b in bodies.values() if b["type"] == "worker.unpaid"
        ]
        assert worker in {w["idNumber"] for w in unpaid}
        for received in hr.received:  # only its own region's projects
            assert received.json()["data"]["event"]["regionCode"].startswith("4101")

        gaps = {r.json()["data"]["graph"]["worker"]["idNumber"] for r in police.received}
        assert gaps == set(story.workers_without_residence)
        for received in police.received:
            assert received.verified(police_sub.secret) == received.id
            assert received.json()["data"]["event"]["regionCode"] == "410183"

        assert outsider.received == []
        if stores.settings.redis_url:  # they came through the stream
            with redis.Redis.from_url(stores.settings.redis_url) as client:
                (group,) = client.xinfo_groups(FAST.stream_key)
                assert group["last-delivered-id"] not in (b"0-0", "0-0")
                assert (group["pending"], client.xlen(FAST.stream_key)) == (0, 0)
        assert len(_audited(stores, "hr-bureau-xinmi")) >= len(hr.received)
        assert len(_audited(stores, "police-xinmi")) >= len(police.received)
        records = _audited(stores, "police-xinmi")
        assert all(r["purpose"] == "residence-management" for r in records)
        assert worker not in json.dumps(_audited(stores, "hr-bureau-xinmi"))  # hashed
    store.close()


def _pusher(hub: RunningHub) -> httpx.Client:
    return httpx.Client(
        base_url=hub.url,
        timeout=30,
        auth=ClientCredentials("bank-ccb-payroll", hub.secrets["bank-ccb-payroll"]),
        headers={"X-Purpose": "data-submission"},
    )


def _drained(store: Any, seconds: float = 20) -> None:
    """Waits until no delivery is pending."""
    deadline = time.monotonic() + seconds
    while store.counts().get("pending", 0):
        assert time.monotonic() < deadline, store.counts()
        time.sleep(0.1)
