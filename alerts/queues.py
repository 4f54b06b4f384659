"""Where a dispatcher gets its deliveries: the contract, and the database's queue.

    Queue              claim due deliveries under a lease; settle each once its outcome
                       is recorded; close
    ├── DatabaseQueue  the `alert_delivery` table itself (`AlertStore.claim`: SKIP LOCKED
    │                  on PostgreSQL, the write lock on SQLite) — the default
    └── StreamQueue    a Redis Stream read through a consumer group, where HUB_REDIS_URL
                       is set (`alerts.streams`)

Either way the database keeps each delivery's record (state, attempts, due time, the
body, the last status): the dispatcher records every outcome there, through the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from alerts.store import AlertStore, Claimed
from kernel.threads import in_thread


class Queue(Protocol):
    async def claim(
        self, owner: str, limit: int, exclude: Iterable[str], busy: Iterable[str]
    ) -> list[Claimed]:
        """Up to `limit` due deliveries, leased to `owner`; none of the subscriptions in
        `exclude` (enough in flight), none of the deliveries in `busy` (being sent)."""
        ...

    async def settle(self, claimed: Claimed) -> None:
        """Its outcome is recorded in the store: the queue may forget it."""
        ...

    async def close(self) -> None: ...


class DatabaseQueue:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"<DatabaseQueue {self.store.database!r}>"

    async def claim(
        self, owner: str, limit: int, exclude: Iterable[str], busy: Iterable[str]
    ) -> list[Claimed]:
        return await in_thread(self.store.claim, owner, limit, list(exclude), None, list(busy))

    async def settle(self, claimed: Claimed) -> None:
        """Nothing to do: the row's state is the queue."""

    async def close(self) -> None:
        """The store is its owner's to close."""
