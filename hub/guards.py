"""What stands in front of every endpoint that answers callers, in the hub and in each
agency's service (`hub connector serve`) alike, built here once so the two cannot drift:

    audit record (fail closed: `audit.middleware`)
      └ the source's limit on failed authentications (`hub.limits.sources`)
          └ the caller: token, purpose (`auth.middleware`, or `auth.delegation`)
              └ the rate limit (`hub.limits.rates`)
                  └ the endpoint (GraphQL behind the body limits, `/connector/load`, …)

and the schema extensions every GraphQL endpoint runs: the operation limits
(`hub.limits.pipeline`) and the operation's part of the audit record
(`audit.extension`). A process that discloses personal data writes a record of it
before it answers, or does not answer; with `HUB_AUDIT_ENABLED=false` (measurements
only) it answers unrecorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from audit.extension import audit_extension
from audit.middleware import AuditMiddleware
from audit.record import SubjectHasher
from audit.store import AuditStore
from audit.tally import RefusalTally
from auth.tokens import TokenVerifier
from graph.schema import ExtensionFactory
from hub.limits.documents import DocumentStore
from hub.limits.pipeline import schema_extensions
from hub.limits.rates import Buckets, LocalBuckets, RateLimitMiddleware, RedisBuckets, parse_rates
from hub.limits.requests import RequestLimitsMiddleware
from hub.limits.sources import FailuresBySource, SourceGuard
from hub.settings import HubSettings
from hub.wiring import build_audit_store, build_subject_hasher
from kernel.deferred import deferred

if TYPE_CHECKING:
    import redis.asyncio as redis_asyncio
    from redis.asyncio import Redis
else:
    redis_asyncio = deferred("redis.asyncio")  # only where HUB_REDIS_URL is set

log = logging.getLogger(__name__)

Wrap = Callable[[ASGIApp], ASGIApp]
"""A middleware around an app: here, how an endpoint learns its caller."""


@dataclass
class Guards:
    """One process's guards, shared by its endpoints (the buckets and the tally hold
    state across requests)."""

    settings: HubSettings
    audit_store: AuditStore
    hasher: SubjectHasher
    buckets: Buckets
    failures: FailuresBySource
    tally: RefusalTally
    redis: Redis | None = None

    @property
    def auditing(self) -> bool:
        return self.settings.audit.enabled

    def extensions(self) -> list[ExtensionFactory]:
        """The schema extensions of a GraphQL endpoint: limits, then the audit's."""
        extensions = schema_extensions(self.settings)
        if self.auditing:
            extensions.append(audit_extension(self.hasher))
        return extensions

    def audited(self, app: ASGIApp) -> ASGIApp:
        """The audit record (or tally) outside, then the source's limit on failures."""
        limited = SourceGuard(app, self.failures)
        if not self.auditing:
            return limited
        return AuditMiddleware(limited, self.audit_store, self.hasher, self.tally)

    def rate_limited(self, app: ASGIApp) -> ASGIApp:
        return RateLimitMiddleware(app, parse_rates(self.settings.rate_limits), self.buckets)

    def endpoint(self, app: ASGIApp, callers: Wrap) -> ASGIApp:
        """An endpoint that answers an authenticated caller: audited, its caller known,
        rate-limited."""
        return self.audited(callers(self.rate_limited(app)))

    def graphql(self, view: ASGIApp, callers: Wrap, *, subgraph: bool = False) -> ASGIApp:
        """`/graphql`: an endpoint whose body passes the request limits and trusted
        documents first. A subgraph takes no batches, and runs the documents a router
        plans (never registered) whatever `HUB_TRUSTED_DOCUMENTS` says."""
        return self.endpoint(self._checked(view, subgraph=subgraph), callers)

    def stream(self, view: ASGIApp, callers: Wrap) -> ASGIApp:
        """`/graphql/stream`: the same limits and trusted documents as `/graphql`, over GET
        too (EventSource), one operation at a time. It never ends, so it is not held for an
        audit record; each event it streams leaves one (`alerts.payloads`)."""
        checked = self._checked(view, subgraph=False, streaming=True)
        return SourceGuard(callers(self.rate_limited(checked)), self.failures)

    def _checked(self, view: ASGIApp, *, subgraph: bool, streaming: bool = False) -> ASGIApp:
        limits = self.settings.limits
        if subgraph or streaming:
            limits = limits.model_copy(update={"batch_max": 0})
        required = self.settings.trusted_documents == "required" and not subgraph
        return RequestLimitsMiddleware(
            view,
            limits,
            DocumentStore(self.settings.documents_dir),
            require_trusted_documents=required,
            operations_via_get=streaming,
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the process's lifespan: the tally flushes every interval, and what the
        guards opened is closed at the end."""
        tallying = asyncio.create_task(self.tally.run())
        try:
            yield
        finally:
            tallying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tallying
            if self.redis:
                await self.redis.aclose()
            await self.audit_store.close()
            await self.audit_store.database.dispose()


def build_guards(
    settings: HubSettings, verifier: TokenVerifier, audit_store: AuditStore | None = None
) -> Guards:
    """The guards of one process: its audit log (`audit_store`, or the one its settings
    name), its subject hasher, its rate buckets (in Redis with `HUB_REDIS_URL`, shared by
    every process that names the same Redis, agencies' services included)."""
    audit_store = audit_store or build_audit_store(settings)
    if not settings.audit.enabled:
        log.warning("HUB_AUDIT_ENABLED is off: requests are answered without an audit record")
    elif settings.env == "production" and not settings.audit.witnesses:
        log.warning(
            "HUB_AUDIT_WITNESSES is empty: nothing outside this hub vouches for its audit log"
        )
    redis = redis_asyncio.Redis.from_url(settings.redis_url) if settings.redis_url else None
    buckets: Buckets = RedisBuckets(redis) if redis else LocalBuckets()
    return Guards(
        settings=settings,
        audit_store=audit_store,
        hasher=build_subject_hasher(settings),
        buckets=buckets,
        failures=FailuresBySource(settings.sources.failure_rate(), buckets, verifier),
        tally=RefusalTally(audit_store, settings.sources.tally_seconds),
        redis=redis,
    )
