"""Delivers queued webhooks: claims due deliveries under a lease (from the database's
queue, or a Redis Stream where HUB_REDIS_URL is set: `alerts.queues`), builds each body once as
its client (`alerts.payloads`), signs it (`alerts.signing`) and POSTs it with a deadline;
2xx is delivered, anything else backs off (exponential, with jitter) until the last
attempt dead-letters it. Several dispatchers — threads of `hub serve`, `hub webhooks
dispatch` processes, on several hosts — share one queue: a delivery is held by one at a
time, and one that dies mid-delivery leaves it to the next once its lease expires.

A slow receiver holds at most `per_receiver` of this process's `concurrency` slots, each
for at most `timeout_seconds`: the other subscriptions' deliveries keep flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter

import httpx

from alerts import signing
from alerts.payloads import AsClient, Recent
from alerts.queues import DatabaseQueue, Queue
from alerts.settings import AlertSettings
from alerts.store import AlertStore, Claimed
from kernel.metrics import WEBHOOK_DELIVERIES, WEBHOOK_DURATION
from kernel.threads import in_thread
from kernel.waits import until_set

log = logging.getLogger(__name__)
SUBSCRIPTION_TTL_SECONDS = 5.0


def dispatcher_name() -> str:
    """Who holds a lease: host, process and a random part (two dispatchers in one
    process are two owners)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(
        self,
        store: AlertStore,
        builder: AsClient,
        settings: AlertSettings,
        http: httpx.AsyncClient | None = None,
        owner: str | None = None,
        queue: Queue | None = None,
    ) -> None:
        """`queue`: where deliveries are claimed (the database's by default); it is the
        dispatcher's to close."""
        self.store = store
        self.queue = queue or DatabaseQueue(store)
        self.builder = builder
        self.settings = settings
        self.http = http or httpx.AsyncClient(follow_redirects=False)
        self._own_http = http is None
        self.owner = owner or dispatcher_name()
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: Counter[str] = Counter()
        self._sending: set[str] = set()
        self._subscriptions = Recent(store.subscription, SUBSCRIPTION_TTL_SECONDS)
        """Read at most every few seconds: a removal stops deliveries within that."""
        self._wake = asyncio.Event()

    async def close(self) -> None:
        """Lets deliveries in flight finish (each is bounded by its deadline), then stops."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.settings.timeout_seconds + 5)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._own_http:
            await self.http.aclose()
        await self.queue.close()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set: claim what is due whenever a slot is free. A fill claims
        until its slots are full or a claim finds nothing; then it waits for a slot to free
        (a delivery that finished during the fill wakes it at once) or the poll, rather
        than claiming again straight away to find nothing a second time."""
        stop = stop or asyncio.Event()
        failing = False
        while not stop.is_set():
            self._wake.clear()
            try:
                await self._fill()
                failing = False
            except Exception as error:  # a database hiccup must not end the dispatcher
                if not failing:
                    log.warning("claiming deliveries failed: %s", type(error).__name__)
                failing = True
                await until_set(stop, self.settings.poll_seconds * 20)
                continue
            await until_set(self._wake, self.settings.poll_seconds)
        await self.close()

    async def drain(self) -> None:
        """Deliver everything due now, and wait for it (the command line's `--once`)."""
        while True:
            claimed = await self._fill()
            if not claimed and not self._tasks:
                return
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def _fill(self) -> int:
        """Claims up to the free slots, a few at a time so that no subscription gets more
        than its share (those at their share are excluded from the claim)."""
        total = 0
        while (free := self.settings.concurrency - len(self._tasks)) > 0:
            saturated = [s for s, n in self._in_flight.items() if n >= self.settings.per_receiver]
            batch = await self.queue.claim(
                self.owner, min(free, self.settings.per_receiver), saturated, self._sending
            )
            if not batch:
                break
            for claimed in batch:
                self._start(claimed)
            total += len(batch)
        return total

    def _start(self, claimed: Claimed) -> None:
        self._in_flight[claimed.subscription_id] += 1
        self._sending.add(claimed.id)
        task = asyncio.create_task(self._deliver(claimed))
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._sending.discard(claimed.id)
            self._in_flight[claimed.subscription_id] -= 1
            if self._in_flight[claimed.subscription_id] <= 0:
                del self._in_flight[claimed.subscription_id]
            self._wake.set()

        task.add_done_callback(done)

    async def _deliver(self, claimed: Claimed) -> None:
        started = time.perf_counter()
        outcome = "error"
        try:
            try:
                outcome = await self._attempt(claimed)
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            except Exception as error:  # logged by kind only: no payload, no personal data
                log.warning("delivery %s failed unexpectedly: %s", claimed.id, type(error).__name__)
                await in_thread(self.store.failed, claimed, self.owner, None, type(error).__name__)
            # recorded in the store: the queue may forget it (not when cancelled, nor
            # when the store could not record it: then another takes it after the lease)
            try:
                await self.queue.settle(claimed)
            except Exception as error:  # left pending: dropped as stale when reclaimed
                log.warning("settling delivery %s failed: %s", claimed.id, type(error).__name__)
        finally:
            WEBHOOK_DELIVERIES.labels(outcome).inc()
            WEBHOOK_DURATION.observe(time.perf_counter() - started)

    async def _attempt(self, claimed: Claimed) -> str:
        """One delivery attempt; its outcome for the metrics."""
        store = self.store
        subscription = await self._subscriptions.get(claimed.subscription_id)
        if subscription is None or subscription.removed:
            await in_thread(store.withhold, claimed.id, self.owner, "subscription removed")
            return "withheld"
        body = claimed.body
        if body is None:
            event = await in_thread(store.event, claimed.event_id)
            built = await self.builder.build(event, subscription, claimed.id)
            if built.body is None:
                await in_thread(store.withhold, claimed.id, self.owner, built.reason)
                return "withheld"
            body = built.body
            await in_thread(store.keep_body, claimed.id, self.owner, body)
        content = body.encode()
        headers = signing.headers(subscription.secret, claimed.id, content)
        try:
            response = await self.http.post(
                subscription.url,
                content=content,
                headers=headers,
                timeout=self.settings.timeout_seconds,
            )
        except httpx.HTTPError as error:
            await in_thread(store.failed, claimed, self.owner, None, type(error).__name__)
            return "unreachable"
        if 200 <= response.status_code < 300:
            await in_thread(store.delivered, claimed.id, self.owner, response.status_code)
            return "delivered"
        await in_thread(
            store.failed, claimed, self.owner, response.status_code,
            f"HTTP {response.status_code}",
        )  # fmt: skip
        return "refused"
