"""Refusals of requests nobody authenticated, recorded as counts: one audit record per
source, endpoint, status, error codes (and client claimed, at the token endpoint) and
interval, however many requests it covers.

Why: a flood of requests without a valid token or secret wrote one record each (1,026
records for 1,000 requests, every one a committed transaction that held its answer),
which both bloated the log and made the flood expensive for everyone else. Such a
request discloses nothing and names nobody the hub has verified, so counting it loses
nothing an auditor needs: who (the source, and the client claimed), when (the first and
last of the interval), what (endpoint, status, codes) and how many. Every request that
authenticated keeps its own record, refused or not (`audit.middleware`).

Each tallied response carries the tally record's request id, so whoever quotes it is
pointed to the record that counts their request; the record is written when its interval
ends (HUB_SOURCES_TALLY_SECONDS), or at once when too many tallies are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from starlette.types import Scope

from audit.store import AuditStore, Entry
from auth.middleware import AUTHENTICATED
from auth.sources import source_of

MAX_OPEN: Final = 10_000
"""Open tallies (distinct sources and kinds of refusal) before an early flush."""
MAX_ATTEMPTS: Final = 3
"""Writes of one tally before it is given up (logged): a record the store keeps refusing
must not fail, flush after flush, the requests whose records share its transaction."""

log = logging.getLogger(__name__)

Key = tuple[str, str, int, tuple[str, ...], str | None]
ContentOf = Callable[[], tuple[dict[str, Any], list[tuple[str, str]]]]


REFUSED: Final = "refused"
"""Set on the scope by an endpoint that answers a refusal HTTP 200 (the national
platform's envelope, `hub.national_app`), so that it is tallied like a 4xx."""


def tallied(scope: Scope, status: int) -> bool:
    """A refusal (4xx, or `REFUSED`) of a request in which nothing was authenticated: no
    token or secret verified, no caller (a desk session makes one) on the scope."""
    authenticated = scope.get(AUTHENTICATED) is True or "caller" in scope
    refused = 400 <= status < 500 or scope.get(REFUSED) is True
    return refused and not authenticated


@dataclass
class _Tally:
    request_id: str
    content: dict[str, Any]
    entities: list[tuple[str, str]]
    count: int = 0
    attempts: int = 0
    first_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def entry(self, source: str) -> Entry:
        content = {
            **self.content,
            "request_id": self.request_id,
            "tally": {
                "source": source,
                "count": self.count,
                "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(),
            },
        }
        return Entry(content, self.entities)


class RefusalTally:
    def __init__(self, store: AuditStore, interval_seconds: float) -> None:
        self.store = store
        self.interval = interval_seconds
        self._open: dict[Key, _Tally] = {}
        self._unwritten: list[tuple[str, _Tally]] = []
        self._flushing: asyncio.Task[None] | None = None

    def add(self, scope: Scope, status: int, codes: set[str], content_of: ContentOf) -> str:
        """Count one refusal; the request id of the record that will hold it.
        `content_of` builds the record's content, called for an interval's first only."""
        claimed = scope.get("claimed_client", (None, None))
        registered = claimed[0] if claimed[1] is not None else None  # never caller's text
        key: Key = (source_of(scope), scope["path"], status, tuple(sorted(codes)), registered)
        tally = self._open.get(key)
        if tally is None:
            content, entities = content_of()
            tally = self._open[key] = _Tally(uuid.uuid4().hex, content, entities)
            if len(self._open) >= MAX_OPEN and self._flushing is None:
                self._flushing = asyncio.create_task(self.flush())
        tally.count += 1
        tally.last_at = datetime.now(UTC)
        return tally.request_id

    async def flush(self) -> None:
        """Write every open tally; one that cannot be written is kept for the next try
        (a refusal discloses nothing, so its answer never waited for this)."""
        batch = [*self._unwritten, *((key[0], tally) for key, tally in self._open.items())]
        self._open, self._unwritten = {}, []
        try:
            for source, tally in batch:
                tally.attempts += 1
                try:
                    await self.store.append(tally.entry(source))
                except Exception as error:  # retried at the next flush, a few times
                    given_up = tally.attempts >= MAX_ATTEMPTS
                    log.error(
                        "tally %s of %d refusals from %s not written%s (%r)",
                        tally.request_id,
                        tally.count,
                        source,
                        ", given up" if given_up else "",
                        error,
                    )
                    if not given_up:
                        self._unwritten.append((source, tally))
        finally:
            self._flushing = None

    async def run(self) -> None:
        """Flush every interval until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self.flush()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
