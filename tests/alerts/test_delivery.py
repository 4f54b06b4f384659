"""The queue's guarantees, with real receivers: a dispatcher killed (SIGKILL) mid-delivery
leaves nothing undelivered and nothing sent twice but under the same webhook-id; a
receiver that is down gets its events when it is back; one that answers 500 forever ends
in dead-letter and gets them on replay; a slow receiver does not hold up a fast one; two
dispatchers on one queue never send one delivery twice. SQLite and PostgreSQL, each with
the database's queue and with the Redis Stream (HUB_REDIS_URL), where a repeated message
on the stream sends nothing twice either."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import redis
from redis.asyncio import Redis
from sqlalchemy import select, update

import hub_processes
from alerts.dispatcher import Dispatcher
from alerts.evaluation import evaluate
from alerts.kinds import Kind
from alerts.payloads import AsClient
from alerts.settings import AlertSettings
from alerts.store import (
    DEAD,
    DELIVERED,
    PENDING,
    AlertStore,
    Subscription,
    delivery_t,
    subscription_t,
)
from alerts.streams import GROUP, StreamQueue
from conftest import RUN, _free_port, require_redis
from graph.schema import HubSchema
from hub.demo import register_demo_clients
from hub.warnings_cli import payload_schema
from hub.wiring import (
    build_alert_store,
    build_cursors,
    build_delivery_queue,
    build_observer,
    loader_factories,
)
from hub_support import Stores, make_stores
from receivers import Receiver, receiving

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FAST = AlertSettings(
    poll_seconds=0.05,
    backoff_seconds=0.2,
    max_backoff_seconds=0.5,
    timeout_seconds=1.5,
    lease_seconds=3,
    max_attempts=3,
    concurrency=8,
    per_receiver=2,
)
KINDS = [Kind.PROJECT_WARNING, Kind.WORKER_UNPAID, Kind.COMPLAINT_ON_RED_PROJECT]
ROOT = Path(__file__).resolve().parents[2]


ON_STREAMS = pytest.mark.parametrize("world", ["sqlite+redis", "postgres+redis"], indirect=True)
"""For a test of the Redis Stream itself: the world's two queues on a stream only."""


class World(NamedTuple):
    stores: Stores
    store: AlertStore
    """The queue's store, with `FAST` settings (a test may open another on its database)."""
    schema: HubSchema
    """The graph bodies are built with, as a dispatcher process builds it: built once."""


@pytest.fixture(scope="module", params=["sqlite", "postgres", "sqlite+redis", "postgres+redis"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    backend, _, queue = request.param.partition("+")
    redis_url = require_redis() if queue else None
    stores = make_stores(
        backend, tmp_path_factory.mktemp(request.param), "alerts_queue", seeded="demo"
    )
    register_demo_clients(stores.auth)
    stream = f"test:alerts:{RUN}:{backend}"
    stores.settings = stores.settings.model_copy(
        update={"alerts": FAST.model_copy(update={"stream_key": stream}), "redis_url": redis_url}
    )
    store = build_alert_store(stores.settings)

    async def baseline() -> None:
        connectors = list(stores.connectors.values())
        await evaluate(build_observer(stores.settings, connectors), store)
        for connector in connectors:
            await connector.dispose()

    asyncio.run(baseline())
    yield World(stores, store, payload_schema(stores.settings, stores.hasher))
    store.close()
    if redis_url:
        with redis.Redis.from_url(redis_url) as client:
            client.delete(stream, f"{stream}:relay")


def _subscribe(store: AlertStore, url: str) -> tuple[Subscription, int]:
    """The HR bureau's subscription to its city's events, with every past one queued."""
    made = store.subscribe("hr-bureau-xinmi", KINDS, url, "supervision", region_prefix="4101")
    queued = store.replay(EPOCH, made.id)
    assert queued > 3
    return made, queued


def _states(store: AlertStore, subscription: Subscription) -> Counter[str]:
    return Counter(d.state for d in store.deliveries(subscription.id))


def _dispatch(
    world: World, store: AlertStore, until: Any, seconds: float = 30, dispatchers: int = 1
) -> None:
    """Runs in-process dispatchers (each its own queue client) until `until()` holds."""
    stores = world.stores

    async def run() -> None:
        connectors = list(stores.connectors.values())
        builder = AsClient(
            world.schema,
            loader_factories(connectors),
            build_cursors(stores.settings),
            stores.auth.get_client,
            stores.audit,
            stores.hasher,
        )
        stop = asyncio.Event()
        settings = stores.settings.alerts
        tasks = [
            asyncio.create_task(
                Dispatcher(
                    store, builder, settings, queue=build_delivery_queue(stores.settings, store)
                ).run(stop)
            )
            for _ in range(dispatchers)
        ]
        deadline = time.monotonic() + seconds
        try:
            while not await asyncio.to_thread(until):
                assert time.monotonic() < deadline, store.counts()
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            for task in tasks:
                await task
            await stores.audit.close()
            for database in (stores.audit.database, stores.auth.database):
                await database.dispose()
            for connector in connectors:
                await connector.dispose()

    asyncio.run(run())


def test_a_receiver_that_is_down_gets_its_events_when_it_returns(
    world: World,
) -> None:
    stores, shared = world.stores, world.store
    store = AlertStore(
        shared.database,
        stores.settings.alerts.model_copy(update={"max_attempts": 8, "max_backoff_seconds": 2}),
    )
    try:
        port = _free_port()
        made, queued = _subscribe(store, f"http://127.0.0.1:{port}/hook")
        _dispatch(world, store, lambda: all(d.attempts >= 1 for d in store.deliveries(made.id)))
        assert _states(store, made)[PENDING] == queued  # refused, backing off
        with receiving(Receiver(), port=port) as receiver:
            _dispatch(world, store, lambda: _states(store, made)[DELIVERED] == queued)
        assert sorted(set(receiver.ids)) == sorted(d.id for d in store.deliveries(made.id))
        assert len(receiver.ids) == queued
        for received in receiver.received:
            received.verified(made.secret)
    finally:
        store.close()


def test_a_receiver_failing_forever_is_dead_lettered_then_replayed(
    world: World,
) -> None:
    store = world.store
    with receiving(Receiver(status=500)) as receiver:
        made, queued = _subscribe(store, receiver.url)
        _dispatch(world, store, lambda: _states(store, made)[DEAD] == queued)
        assert len(receiver.ids) == queued * FAST.max_attempts
        assert all(d.last_status == 500 for d in store.deliveries(made.id))
        first = Counter(receiver.ids)
        receiver.status = 200
        assert store.replay(EPOCH, made.id, dead_only=True) == queued
        _dispatch(world, store, lambda: _states(store, made)[DELIVERED] == queued)
    again = Counter(receiver.ids) - first
    assert set(again) == set(first)  # the same ids: a receiver that kept them dedupes
    assert all(count == 1 for count in again.values())


def test_a_slow_receiver_does_not_hold_up_the_others(world: World) -> None:
    store = world.store
    with (
        receiving(Receiver(delay=1.0)) as slow,
        receiving(Receiver()) as fast,
    ):
        slow_sub, slow_count = _subscribe(store, slow.url)
        fast_sub, fast_count = _subscribe(store, fast.url)
        started = time.monotonic()
        _dispatch(world, store, lambda: _states(store, fast_sub)[DELIVERED] == fast_count)
        took = time.monotonic() - started
        slow_done = _states(store, slow_sub)[DELIVERED]
    # the slow one takes ≥ 1 s a delivery, two at a time: the fast one finished first
    assert slow_done < slow_count
    assert took < slow_count / FAST.per_receiver * 1.0


def _env(stores: Stores) -> dict[str, str]:
    env = {**os.environ, "HUB_DATA_DIR": str(stores.settings.data_dir)}
    for name, url in stores.settings.db_urls.items():
        env[f"HUB_{name.upper()}_DB_URL"] = url
    env.pop("HUB_REDIS_URL", None)
    if stores.settings.redis_url:
        env["HUB_REDIS_URL"] = stores.settings.redis_url
        env["HUB_ALERTS_STREAM_KEY"] = stores.settings.alerts.stream_key
    env.update(
        HUB_AUDIT_HASH_KEY="k" * 32,
        PYTHONFAULTHANDLER="1",
        HUB_ALERTS_POLL_SECONDS="0.05",
        HUB_ALERTS_BACKOFF_SECONDS="0.2",
        HUB_ALERTS_TIMEOUT_SECONDS="2",
        HUB_ALERTS_LEASE_SECONDS="3",
        HUB_ALERTS_CONCURRENCY="4",
        HUB_ALERTS_PER_RECEIVER="4",
    )
    return env


def _dispatcher(stores: Stores, log: Path) -> hub_processes.Process:
    with log.open("ab") as out:
        return hub_processes.popen(
            [hub_processes.HUB, "webhooks", "dispatch"],
            cwd=ROOT,
            env=_env(stores),
            stdout=out,
            stderr=out,
        )


def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_repeats_only_ids(
    world: World, tmp_path: Path
) -> None:
    log = tmp_path / "dispatch.log"
    stores, store = world.stores, world.store
    with receiving(Receiver(delay=0.5)) as receiver:
        made, queued = _subscribe(store, receiver.url)
        first = _dispatcher(stores, log)
        try:
            receiver.wait_for(lambda got: len(got) >= 3, seconds=60)  # a loaded machine
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        before = set(receiver.ids)
        assert _states(store, made)[DELIVERED] < queued  # killed with work left
        second = _dispatcher(stores, log)
        try:
            deadline = time.monotonic() + 90  # a loaded machine starts it slowly
            while _states(store, made)[DELIVERED] < queued:
                assert time.monotonic() < deadline, (_states(store, made), log.read_text())
                time.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)  # what a service manager sends: a clean stop
            try:
                code = second.wait(timeout=60)  # a loaded machine stops it slowly too
            except subprocess.TimeoutExpired as late:
                second.send_signal(signal.SIGABRT)  # faulthandler: where each thread is
                second.wait()  # not left running into the next tests
                raise AssertionError(
                    f"no exit within 60 s of SIGTERM:\n{log.read_text()}"
                ) from late
            assert code == 0, log.read_text()
    ids = [d.id for d in store.deliveries(made.id)]
    assert set(receiver.ids) == set(ids)
    repeated = {i for i, n in Counter(receiver.ids).items() if n > 1}
    assert repeated <= before  # only what was in flight when it died, under the same id
    assert len(repeated) <= 4


def test_the_database_holds_no_signing_secret(world: World) -> None:
    """A copy of the warnings database forges no delivery: each subscription's secret is
    derived from the hub's key (keys/webhook.key, or HUB_ALERTS_SECRET_KEY) when needed,
    the same in every process holding that key, and another key gives another secret."""
    stores, store = world.stores, world.store
    made = store.subscribe("hr-bureau-xinmi", KINDS, "https://hr.example/hook", "supervision")
    with store.engine.connect() as connection:
        stored = connection.execute(
            select(subscription_t.c.secret).where(subscription_t.c.id == made.id)
        ).scalar_one()
    assert made.secret.startswith("whsec_")
    assert made.secret not in stored
    assert stored == ""
    again = build_alert_store(stores.settings)  # another process, the same data directory
    try:
        assert again.subscription(made.id) == made
    finally:
        again.close()
    other = AlertStore(store.database, FAST, secret_key=b"another hub's key" * 2)
    try:
        elsewhere = other.subscription(made.id)
        assert elsewhere is not None
        assert elsewhere.secret != made.secret
    finally:
        other.close()
    store.unsubscribe(made.id, "hr-bureau-xinmi")


def test_two_dispatchers_on_one_queue_send_each_delivery_once(
    world: World,
) -> None:
    """Each delivery goes to one of them (a lease long enough that a loaded machine does
    not let one run out mid-delivery, which would rightly send it again, same id)."""
    stores, shared = world.stores, world.store
    store = AlertStore(
        shared.database, stores.settings.alerts.model_copy(update={"lease_seconds": 60})
    )
    try:
        with receiving(Receiver(delay=0.05)) as receiver:
            made, queued = _subscribe(store, receiver.url)
            _dispatch(
                world, store, lambda: _states(store, made)[DELIVERED] == queued, dispatchers=2
            )
        assert sorted(receiver.ids) == sorted(d.id for d in store.deliveries(made.id))
        assert all(d.attempts == 1 for d in store.deliveries(made.id))
    finally:
        store.close()


@ON_STREAMS
def test_a_repeated_message_on_the_stream_sends_nothing_twice(
    world: World,
) -> None:
    """What a relay that died between XADD and marking its rows leaves: every delivery on
    the stream twice, and a stale one for an attempt already made. Each is sent once."""
    stores, store = world.stores, world.store
    stream = stores.settings.alerts.stream_key
    with receiving(Receiver()) as receiver:
        made, queued = _subscribe(store, receiver.url)
        due = store.unstreamed(1000)
        mine = [d for d in due if d[2] == made.id]
        assert len(mine) == queued
        with redis.Redis.from_url(stores.settings.redis_url) as client:
            for delivery_id, attempt, subscription_id in mine * 2:
                client.xadd(stream, {"d": delivery_id, "n": attempt, "s": subscription_id})
        _dispatch(world, store, lambda: _states(store, made)[DELIVERED] == queued)
        with redis.Redis.from_url(stores.settings.redis_url) as client:
            for delivery_id, _, subscription_id in mine:
                client.xadd(stream, {"d": delivery_id, "n": 1, "s": subscription_id})
            _dispatch(world, store, lambda: client.xlen(stream) == 0)
            assert client.xpending(stream, GROUP)["pending"] == 0
    assert sorted(receiver.ids) == sorted(d.id for d in store.deliveries(made.id))
    assert len(receiver.ids) == queued


@ON_STREAMS
def test_what_a_lost_stream_held_is_streamed_again(world: World) -> None:
    """Redis restarted without its data (the operations page says it may): the store still
    says which deliveries wait, and after ten leases the relay streams them again. The ten
    leases are not waited for: the deliveries' stream times are moved back by them, as
    their passing would leave them."""
    stores, shared = world.stores, world.store
    settings = stores.settings.alerts
    store = AlertStore(shared.database, settings)
    try:
        with receiving(Receiver()) as receiver:
            made, queued = _subscribe(store, receiver.url)

            async def relay_then_lose() -> int:
                queue = StreamQueue(Redis.from_url(stores.settings.redis_url), store, settings)
                try:
                    for _ in range(50):  # the relay's lock may be another's a moment
                        if relayed := await queue.relay("test"):
                            break
                        await asyncio.sleep(0.2)
                    await queue.redis.delete(settings.stream_key)
                    return relayed
                finally:
                    await queue.close()

            assert asyncio.run(relay_then_lose()) >= queued
            assert not [d for d in store.unstreamed(1000) if d[2] == made.id]
            _ten_leases_pass(store, made, settings.lease_seconds)
            assert len([d for d in store.unstreamed(1000) if d[2] == made.id]) == queued
            _dispatch(world, store, lambda: _states(store, made)[DELIVERED] == queued, seconds=90)
        assert sorted(receiver.ids) == sorted(d.id for d in store.deliveries(made.id))
    finally:
        store.close()


def _ten_leases_pass(store: AlertStore, subscription: Subscription, lease: float) -> None:
    """The subscription's deliveries as ten leases (and a second) after they were streamed."""
    back = timedelta(seconds=10 * lease + 1)
    with store.engine.begin() as connection:
        streamed = connection.execute(
            select(delivery_t.c.id, delivery_t.c.due_at).where(
                delivery_t.c.subscription_id == subscription.id
            )
        ).all()
        for delivery_id, due_at in streamed:
            connection.execute(
                update(delivery_t)
                .where(delivery_t.c.id == delivery_id)
                .values(due_at=due_at - back)
            )


@ON_STREAMS
def test_a_dispatchers_claims_relay_once_a_poll(world: World) -> None:
    """A fill claims until nothing is left, several claims in a row: the first relays
    (a lock, a query of the due deliveries, a release), the next ones within the poll
    interval do not; after it, the next claim relays what fell due meanwhile."""
    stores, shared = world.stores, world.store
    settings = stores.settings.alerts.model_copy(update={"poll_seconds": 0.5})
    store = AlertStore(shared.database, settings)
    looked: list[int] = []
    unstreamed = store.unstreamed

    def counted(limit: int, at: datetime | None = None) -> list[tuple[str, int, str]]:
        looked.append(limit)
        return unstreamed(limit, at)

    store.unstreamed = counted  # type: ignore[method-assign]
    try:
        made, _ = _subscribe(store, "http://127.0.0.1:9/hook")

        async def claims() -> list[int]:
            queue = StreamQueue(Redis.from_url(stores.settings.redis_url), store, settings)
            relays = []
            try:
                taken = 0
                for _ in range(3):  # one fill: its claims come within the poll interval
                    taken += len(await queue.claim("test", 2, (), ()))
                    relays.append(len(looked))
                assert taken == 6
                await asyncio.sleep(settings.poll_seconds)
                await queue.claim("test", 2, (), ())
                relays.append(len(looked))
            finally:
                await queue.close()
            return relays

        assert asyncio.run(claims()) == [1, 1, 1, 2]
    finally:
        store.unsubscribe(made.id, "hr-bureau-xinmi")
        store.close()
