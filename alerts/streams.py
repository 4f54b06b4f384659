"""The delivery queue on a Redis Stream, where HUB_REDIS_URL is set: dispatchers in every
hub process read it through one consumer group, so each message goes to one of them.

What lives where:

- **The database** (`alert_delivery`) keeps every delivery's record, as without Redis: its
  id (the `webhook-id`), event and subscription, state (pending, delivered, dead,
  withheld), attempts, when it is due (the backoff), the body built once, the last status
  and error — what `hub webhooks status` and replay read, what the work orders and the
  audit log refer to. It is the arbiter of attempts: a delivery is sent only by the
  consumer whose conditional update took it for that attempt (`AlertStore.take`).
- **The stream** (`HUB_ALERTS_STREAM_KEY`, group `dispatchers`) holds the deliveries that
  are due, one message each (`d`: delivery id, `n`: the attempt), until a dispatcher has
  recorded the attempt's outcome (XACK, then XDEL: the stream holds only work not done).
  A consumer that dies leaves its messages in the group's pending entries; after a lease
  (`HUB_ALERTS_LEASE_SECONDS`) another takes them over (XAUTOCLAIM).

Due deliveries reach the stream through a relay that one process at a time runs (a lock
key with an expiry): it reads the due ones no stream holds (`AlertStore.unstreamed`: new,
replayed, and those whose backoff has ended), XADDs them, then marks them streamed. A
relay that dies between the two streams them again: a repeated or stale message takes
nothing in the database (its attempt is past) and is dropped, so nothing is sent twice
under one attempt. Retries wait in the database (`due_at`) and come back through the
relay; dead letters stay there until replayed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from alerts.settings import AlertSettings
from alerts.store import AlertStore, Claimed
from kernel.deferred import deferred
from kernel.threads import in_thread

if TYPE_CHECKING:
    import redis.exceptions as redis_exceptions
    from redis.asyncio import Redis
else:
    redis_exceptions = deferred("redis.exceptions")  # only where HUB_REDIS_URL is set

log = logging.getLogger(__name__)

GROUP: Final = "dispatchers"
RELAY_BATCH: Final = 500
HELD_AT_MOST: Final = 1_000
"""Messages read for subscriptions at their share of slots, kept for when a slot frees."""
SWEEP_SECONDS: Final = 300.0
GONE_MS: Final = 3_600_000

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Message:
    id: str
    delivery_id: str
    attempt: int
    subscription_id: str

    @classmethod
    def parse(cls, message_id: bytes | str, fields: dict[Any, Any]) -> Message | None:
        values = {_text(k): _text(v) for k, v in fields.items()}
        try:
            return cls(_text(message_id), values["d"], int(values["n"]), values.get("s", ""))
        except (KeyError, ValueError):
            return None

    @property
    def key(self) -> tuple[str, int]:
        return self.delivery_id, self.attempt


class StreamQueue:
    def __init__(self, redis: Redis, store: AlertStore, settings: AlertSettings) -> None:
        self.redis = redis
        self.store = store
        self.settings = settings
        self.stream = settings.stream_key
        self._lock = f"{settings.stream_key}:relay"
        self._release = redis.register_script(RELEASE)
        self._ready = False
        self._swept_at = time.monotonic()
        self._relayed_at: float | None = None
        """When this queue's claim last relayed with nothing left over (monotonic)."""
        self._held: list[Message] = []
        self._messages: dict[str, str] = {}
        """Delivery id → the id of the message it was taken from (to XACK)."""

    def __repr__(self) -> str:
        return f"<StreamQueue {self.stream}>"

    async def _group(self) -> None:
        if self._ready:
            return
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis_exceptions.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._ready = True

    async def relay(self, owner: str) -> int:
        """Streams the due deliveries no stream holds yet (one relay at a time)."""
        await self._group()
        lease_ms = int(self.settings.lease_seconds * 1000)
        if not await self.redis.set(self._lock, owner, nx=True, px=lease_ms):
            return 0
        try:
            due = await in_thread(self.store.unstreamed, RELAY_BATCH)
            if not due:
                return 0
            async with self.redis.pipeline(transaction=False) as pipe:
                for delivery_id, attempt, subscription_id in due:
                    pipe.xadd(self.stream, {"d": delivery_id, "n": attempt, "s": subscription_id})
                await pipe.execute()
            await in_thread(self.store.streamed, due)
            return len(due)
        finally:
            if time.monotonic() - self._swept_at > SWEEP_SECONDS:
                self._swept_at = time.monotonic()
                await self._sweep()
            with contextlib.suppress(Exception):
                await self._release(keys=[self._lock], args=[owner])

    async def _relay_due(self, owner: str) -> None:
        """A claim's relay: at most once a poll interval while the last one left nothing
        due behind (a dispatcher's fill claims several times in a row, and each relay is a
        lock, a query and a release); what falls due meanwhile is relayed at the next poll,
        as it would be on an idle dispatcher's."""
        now = time.monotonic()
        if self._relayed_at is not None and now - self._relayed_at < self.settings.poll_seconds:
            return
        relayed = await self.relay(owner)
        self._relayed_at = now if relayed < RELAY_BATCH else None

    async def _sweep(self) -> None:
        """Forgets the consumers of processes gone for an hour that hold nothing (each
        process reads as a new one; the group would list them all forever)."""
        with contextlib.suppress(Exception):
            for consumer in await self.redis.xinfo_consumers(self.stream, GROUP):
                if consumer["pending"] == 0 and consumer["idle"] > GONE_MS:
                    await self.redis.xgroup_delconsumer(self.stream, GROUP, consumer["name"])

    async def claim(
        self, owner: str, limit: int, exclude: Iterable[str], busy: Iterable[str]
    ) -> list[Claimed]:
        try:
            return await self._claim(owner, limit, exclude, busy)
        except redis_exceptions.ResponseError as error:
            if "NOGROUP" in str(error):  # the stream was deleted (or Redis emptied)
                self._ready = False
            raise

    async def _claim(
        self, owner: str, limit: int, exclude: Iterable[str], busy: Iterable[str]
    ) -> list[Claimed]:
        """Held messages first, then a dead consumer's (idle a lease), then new ones; each
        taken in the database for its attempt, or dropped as stale."""
        await self._group()
        await self._relay_due(owner)
        saturated = set(exclude)
        sending = set(busy)
        chosen: list[Message] = []
        repeated: list[Message] = []
        seen: set[str] = set()
        per: Counter[str] = Counter()

        def offer(message: Message) -> None:
            if message.delivery_id in sending or message.delivery_id in self._messages:
                return  # being sent by this process (a reclaim of its own slow one)
            if message.id in seen:
                return
            seen.add(message.id)
            twin = next((c for c in chosen if c.delivery_id == message.delivery_id), None)
            if twin is not None:  # streamed twice: one is enough (another attempt: later)
                (repeated if twin.key == message.key else self._held).append(message)
                return
            subscription = message.subscription_id
            if (
                len(chosen) < limit
                and subscription not in saturated
                and per[subscription] < self.settings.per_receiver
            ):
                chosen.append(message)
                per[subscription] += 1
            else:
                self._held.append(message)

        held, self._held = self._held, []
        for message in held:
            offer(message)
        if len(chosen) < limit:
            idle_ms = int(self.settings.lease_seconds * 1000)
            answer: Any = await self.redis.xautoclaim(
                self.stream, GROUP, owner, idle_ms, "0-0", count=limit
            )
            for message in await self._parse(answer[1]):
                offer(message)
        if len(chosen) < limit and len(self._held) < HELD_AT_MOST:
            read: Any = await self.redis.xreadgroup(GROUP, owner, {self.stream: ">"}, count=limit)
            for _, entries in read or []:
                for message in await self._parse(entries):
                    offer(message)
        taken = await in_thread(self.store.take, owner, [m.key for m in chosen]) if chosen else []
        by_delivery = {m.delivery_id: m for m in chosen}
        for claimed in taken:
            self._messages[claimed.id] = by_delivery[claimed.id].id
        got = {c.id for c in taken}
        stale = [m.id for m in repeated] + [m.id for m in chosen if m.delivery_id not in got]
        if stale:
            await self._forget(stale)
        return taken

    async def _parse(self, entries: Any) -> list[Message]:
        messages, malformed = [], []
        for message_id, fields in entries or []:
            if fields is None:
                continue  # deleted while pending
            message = Message.parse(message_id, fields)
            if message is None:
                malformed.append(_text(message_id))
            else:
                messages.append(message)
        if malformed:
            log.warning("dropping %d malformed messages on %s", len(malformed), self.stream)
            await self._forget(malformed)
        return messages

    async def settle(self, claimed: Claimed) -> None:
        message_id = self._messages.pop(claimed.id, None)
        if message_id is not None:
            await self._forget([message_id])

    async def _forget(self, message_ids: list[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, *message_ids)
            pipe.xdel(self.stream, *message_ids)
            await pipe.execute()

    async def pending(self) -> dict[str, int]:
        """The stream's length and the group's pending entries (`hub webhooks status`)."""
        await self._group()
        length = await self.redis.xlen(self.stream)
        summary = await self.redis.xpending(self.stream, GROUP)
        return {"streamed": int(length), "in_flight": int(summary.get("pending", 0))}

    async def close(self) -> None:
        await self.redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
