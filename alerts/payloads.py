"""A delivery's body, built by running the event kind's query through the graph *as the
subscribing client*: its current grant's scopes, row limits and masking apply exactly as
to any query it sends, so a webhook never carries what the client could not ask for.
Nothing is sent when the client cannot see the event's subject (the query's anchor is
null: outside its jurisdiction), when its grant no longer holds the kind's scopes, or
when it is revoked. Each body built leaves an audit record (endpoint `/webhooks`), as a
request would, before anything is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, Protocol, TypeVar

from alerts.kinds import Kind
from alerts.store import Subscription
from audit.record import AuditTrail, SubjectHasher, outcome_of
from audit.store import AuditStore, Entry
from auth.store import RegisteredClient
from kernel import errors
from kernel.caller import Caller
from kernel.context import LoaderFactories, PageLimits, RequestContext
from kernel.cursors import Cursors
from kernel.threads import in_thread

ENDPOINT: Final = "/webhooks"
CLIENT_TTL_SECONDS: Final = 5.0

DOCUMENTS: Final[Mapping[Kind, tuple[str, str]]] = {
    Kind.PROJECT_WARNING: (
        "project",
        """query ProjectWarning($code: String!, $month: YearMonth!) {
  project(code: $code) {
    code name region { code name }
    compliance(month: $month) {
      month level noDataFrom
      measures { measure label satisfied severity detail }
    }
  }
}""",
    ),
    Kind.WORKER_UNPAID: (
        "worker",
        """query WorkerUnpaid($idNumber: IdNumber!, $month: YearMonth!) {
  worker(idNumber: $idNumber) {
    idNumber name
    wagePositions(from: $month, to: $month) {
      month daysPresent dueFen paidFen status project { code name }
    }
  }
}""",
    ),
    Kind.RESIDENCE_GAP: (
        "worker",
        """query ResidenceGap($idNumber: IdNumber!) {
  worker(idNumber: $idNumber) {
    idNumber name
    identity { householdRegionName }
    residences { registrationNo regionCode status validUntil }
    registrations(activeOnly: true) { project { code name region { code name } } }
  }
}""",
    ),
    Kind.BLACKLISTED_ON_PROJECT: (
        "project",
        """query BlacklistedOnProject($code: String!, $uscc: USCC!) {
  project(code: $code) { code name startDate region { code name } }
  enterprise(uscc: $uscc) {
    uscc name blacklisted
    blacklistEntries { decisionNo responsiblePerson reason listedOn removedOn }
  }
}""",
    ),
    Kind.COMPLAINT_ON_RED_PROJECT: (
        "project",
        """query ComplaintOnRedProject($code: String!, $month: YearMonth!) {
  project(code: $code) {
    code name region { code name }
    compliance(month: $month) { level }
    complaints { complaintNo kind filedOn amountFen status }
    disputeCases { caseNumber filedOn status claimAmountFen }
  }
}""",
    ),
}
"""Per kind: the root field that must be visible, and the query."""

_VARIABLES: Final[Mapping[Kind, tuple[str, ...]]] = {
    Kind.PROJECT_WARNING: ("code", "month"),
    Kind.WORKER_UNPAID: ("idNumber", "month"),
    Kind.RESIDENCE_GAP: ("idNumber",),
    Kind.BLACKLISTED_ON_PROJECT: ("code", "uscc"),
    Kind.COMPLAINT_ON_RED_PROJECT: ("code", "month"),
}


T = TypeVar("T")


class Recent(Generic[T]):
    """A synchronous look-up (run in a thread) kept per key for `seconds`: a change (a
    revoked client, a removed subscription) applies within that, and a busy queue does
    not read the same row for every delivery."""

    def __init__(self, look_up: Callable[[str], T], seconds: float) -> None:
        self.look_up = look_up
        self.seconds = seconds
        self._kept: dict[str, tuple[float, T]] = {}

    async def get(self, key: str) -> T:
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        found = await in_thread(self.look_up, key)
        self._kept[key] = (now, found)
        return found


class Executes(Protocol):
    """The hub's schema (`strawberry.Schema.execute`)."""

    def execute(
        self, query: str, variable_values: dict[str, Any], context_value: Any
    ) -> Awaitable[Any]: ...


@dataclass(frozen=True)
class Built:
    body: str | None
    reason: str = ""
    """Why nothing is sent (when `body` is None)."""


class AsClient:
    """Runs the kinds' queries as a subscription's client."""

    def __init__(
        self,
        schema: Executes,
        loader_factories: LoaderFactories,
        cursors: Cursors,
        clients: Callable[[str], RegisteredClient | None],
        audit: AuditStore | None,
        hasher: SubjectHasher | None,
        limits: PageLimits | None = None,
    ) -> None:
        self.schema = schema
        self.loader_factories = loader_factories
        self.cursors = cursors
        self.clients = clients
        self.audit = audit
        self.hasher = hasher
        self.limits = limits or PageLimits()
        self._clients = Recent(clients, CLIENT_TTL_SECONDS)
        """The clients' current grants: a revocation or a narrowed grant applies to the
        bodies built a few seconds after it."""

    async def build(
        self,
        event: Any,
        subscription: Subscription,
        delivery_id: str,
        caller: Caller | None = None,
        endpoint: str = ENDPOINT,
    ) -> Built:
        """`caller`: who asks now (a stream's, with its token's scopes); by default the
        subscription's client with its current grant."""
        client = await self._clients.get(subscription.client_id)
        if client is None or client.revoked:
            return Built(None, "client unknown or revoked")
        kind = Kind(event.kind)
        caller = caller or Caller(
            client_id=client.client_id,
            agency=client.agency,
            scopes=frozenset(client.scopes),
            limits=client.limits,
            purpose=subscription.purpose,
            purpose_reference=f"webhook subscription {subscription.id}",
        )
        if not all(caller.has(scope) for scope in kind.scopes):
            return Built(None, f"the grant lacks {' '.join(kind.scopes)}")
        details = json.loads(event.details)
        trail = AuditTrail(endpoint=endpoint, request_id=delivery_id.removeprefix("msg_")[:32])
        if kind not in DOCUMENTS:  # an escalation: who must act, where; no one's data
            if not _responsible(client, details, event.region_code):
                return Built(None, "another agency's or region's work order")
            body = json.dumps(
                envelope(event, kind, caller, {"workOrder": details}, None),
                ensure_ascii=False,
                separators=(",", ":"),
            )
            await self._record(trail, caller, len(body.encode()))
            return Built(body)
        anchor, document = DOCUMENTS[kind]
        variables = {name: details[name] for name in _VARIABLES[kind]}
        context = RequestContext(
            limits=self.limits,
            loader_factories=self.loader_factories,
            cursors=self.cursors,
            caller=caller,
        )
        context.disclosures = trail.disclosures
        context.per_request[AuditTrail] = trail
        result = await self.schema.execute(
            document, variable_values=variables, context_value=context
        )
        codes = {errors.error_code(error) for error in result.errors or ()}
        trail.codes.update(codes)
        data = result.data or {}
        if data.get(anchor) is None:
            await self._record(trail, caller, 0)
            return Built(None, "the subject is outside the client's view")
        answer = json.dumps(
            envelope(event, kind, caller, data, result.errors),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        await self._record(trail, caller, len(answer.encode()))
        return Built(answer)

    async def _record(self, trail: AuditTrail, caller: Caller, size: int) -> None:
        if self.audit is None or self.hasher is None:
            return
        content, entities = trail.payload(
            hasher=self.hasher,
            client_id=caller.client_id,
            agency=caller.agency,
            purpose=caller.purpose,
            purpose_reference=caller.purpose_reference,
            outcome=outcome_of(trail.codes, trail.disclosures.any),
            status=200,
            response_bytes=size,
        )
        await self.audit.append(Entry(content, entities))


def _responsible(client: RegisteredClient, details: Mapping[str, Any], region: str) -> bool:
    """An escalated work order is told to its agency at the level it reached."""
    regions = next((values for name, values in client.limits if name == "regions"), ())
    within = not client.limits or any(region.startswith(r) for r in regions)
    return bool(client.agency == details.get("agency") and within)


def envelope(
    event: Any, kind: Kind, caller: Caller, data: Mapping[str, Any], graph_errors: Any
) -> dict[str, Any]:
    """Standard Webhooks' shape (`type`, `timestamp`, `data`): the event's public facts
    (kind, month, region and project codes, enterprise USCC) and the graph's answer. The
    facts behind a level change (levels, failed measures) are stats:read data: they are
    in `graph.project.compliance`, and the previous level only for a client that holds
    the scope."""
    facts: dict[str, Any] = {
        "id": event.id,
        "kind": kind.value,
        "label": kind.label,
        "month": event.month.strftime("%Y-%m") if event.month else None,
        "regionCode": event.region_code,
        "projectCode": event.project_code,
        "enterpriseUscc": event.enterprise_uscc,
        "raisedAt": _utc(event.raised_at).isoformat(),
    }
    if kind is Kind.PROJECT_WARNING and all(caller.has(s) for s in kind.scopes):
        facts["level"] = event.level
        facts["previousLevel"] = event.previous
    body: dict[str, Any] = {"event": facts, "graph": dict(data)}
    if graph_errors:
        body["errors"] = [error.formatted for error in graph_errors]
    return {
        "type": kind.event_type,
        "timestamp": _utc(event.raised_at).isoformat(),
        "data": body,
    }


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
