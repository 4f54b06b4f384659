"""The warnings in the graph: an agency client subscribes its webhook to event kinds
(`subscribeWarnings`), lists and removes its subscriptions, and lists, acknowledges and
resolves its work orders (`warnings`, `acknowledgeWarning`, `resolveWarning`).

Who sees what: a client sees only its own subscriptions, and only its own agency's work
orders in its regions (an order escalated to the city is seen by a city-level client).
These are the agency's own records, naming a project code and a region at most — never a
person — so the fields are public; the events themselves reach the client only through
deliveries built as that client (`alerts.payloads`).
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import json
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import strawberry
from strawberry.scalars import JSON

from alerts.kinds import Kind
from alerts.payloads import AsClient
from alerts.store import (
    ACKNOWLEDGED,
    OPEN,
    RESOLVED,
    AlertStore,
    OrderFilter,
    Subscription,
    now_utc,
)
from kernel.access import caller_of, public_type
from kernel.caller import Caller
from kernel.composition import Entity, GraphContribution
from kernel.context import Info
from kernel.errors import BadUserInput, Forbidden
from kernel.limits import REGIONS
from kernel.ownership import names
from kernel.pagination import Connection, open_page
from kernel.scalars import RegionCodePrefix, YearMonth

WarningKind = strawberry.enum(Kind, name="WarningKind", description="预警事件类型")
MAX_NOTE = 2000


@strawberry.enum(description="工单状态")
class WorkOrderStatus(enum.Enum):
    OPEN = OPEN
    ACKNOWLEDGED = ACKNOWLEDGED
    RESOLVED = RESOLVED


@public_type
@strawberry.type(
    description="预警订阅: a webhook of the calling client (its secret is never shown again)"
)
class WarningSubscription:
    id: strawberry.ID
    kinds: list[WarningKind]  # type: ignore[valid-type]
    url: str
    region_code_prefix: str | None
    project_code: str | None
    enterprise_uscc: str | None
    purpose: str
    created_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> WarningSubscription:
        return cls(
            id=strawberry.ID(s.id),
            kinds=list(s.kinds),
            url=s.url,
            region_code_prefix=s.region_prefix,
            project_code=s.project_code,
            enterprise_uscc=s.enterprise_uscc,
            purpose=s.purpose,
            created_at=s.created_at,
        )


@public_type
@strawberry.type(description="A new subscription with its secret: shown this once")
class NewWarningSubscription:
    subscription: WarningSubscription
    secret: str = strawberry.field(
        description="whsec_…: verify each delivery's webhook-signature with it (Standard Webhooks)"
    )


@public_type
@strawberry.type(description="工单: what an agency must do about one warning, by when")
class WorkOrder:
    id: strawberry.ID
    kind: WarningKind  # type: ignore[valid-type]
    agency: str
    region_code: str = strawberry.field(
        description="the level responsible now (escalations move it up)"
    )
    project_code: str | None
    month: YearMonth | None
    status: WorkOrderStatus
    deadline: datetime
    overdue: bool
    escalations: int
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None

    @classmethod
    def of(cls, row: Any, at: datetime) -> WorkOrder:
        return cls(
            id=strawberry.ID(str(row.id)),
            kind=Kind(row.kind),
            agency=row.agency,
            region_code=row.region_code,
            project_code=row.project_code,
            month=row.month,
            status=WorkOrderStatus(row.status),
            deadline=row.deadline,
            overdue=row.status != RESOLVED and row.deadline < at,
            escalations=row.escalations,
            opened_at=row.opened_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            note=row.note,
        )


def store_of(info: Info) -> AlertStore:
    return info.context.loaders(AlertStore)


def _agency_client(info: Info) -> Caller:
    caller = caller_of(info)
    if not caller.client_id or not caller.agency:
        raise Forbidden("warnings belong to an agency's client")
    return caller


def _checked_url(url: str) -> str:
    """https anywhere; plain http only to this machine (a receiver beside the hub)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if loopback:
            return url
    raise BadUserInput(f"the webhook URL must be https (or http on loopback), not {url!r}")


def _orders_filter(caller: Caller) -> OrderFilter:
    return OrderFilter(agency=caller.agency, regions=caller.limit(REGIONS.name))


def _order_key(order_id: int) -> str:
    return f"{order_id:020d}"


@strawberry.type
class WarningsQuery:
    @strawberry.field(
        description="预警订阅: the calling client's webhook subscriptions",
        metadata={"public": True},
    )
    async def warning_subscriptions(self, info: Info) -> list[WarningSubscription] | None:
        caller = _agency_client(info)
        found = await asyncio.to_thread(store_of(info).subscriptions, caller.client_id)
        return [WarningSubscription.of(s) for s in found]

    @strawberry.field(
        description="工单: the calling agency's work orders in its regions, oldest first",
        metadata={"public": True},
    )
    async def warnings(
        self,
        info: Info,
        status: list[WorkOrderStatus] | None = None,
        overdue: bool | None = None,
        region_code_prefix: RegionCodePrefix | None = None,
        kind: list[WarningKind] | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WorkOrder] | None:
        caller = _agency_client(info)
        page = open_page(info, first, after)
        base = _orders_filter(caller)
        where = OrderFilter(
            agency=base.agency,
            regions=base.regions,
            region_prefix=region_code_prefix,
            statuses=tuple(s.value for s in status or ()),
            kinds=tuple(Kind(k).value for k in kind or ()),
            overdue=overdue,
        )
        store = store_of(info)
        at = now_utc()
        rows = await asyncio.to_thread(
            store.orders, where, int(page.after) if page.after else None, page.size + 1, at
        )

        async def count_all() -> int:
            return await asyncio.to_thread(store.count_orders, where, at)

        return page.connection([(_order_key(r.id), WorkOrder.of(r, at)) for r in rows], count_all)


@strawberry.input(description="What to subscribe to, and where to deliver it")
class SubscribeWarningsInput:
    kinds: list[WarningKind]  # type: ignore[valid-type]
    url: str = strawberry.field(description="the receiver: https, or http on loopback")
    region_code_prefix: RegionCodePrefix | None = None
    # Named entities, as every key argument is; a project or enterprise the client cannot
    # see yields nothing, since every delivery is built by its own query as that client.
    project_code: str | None = names(Entity.PROJECT, default=None)
    enterprise_uscc: str | None = names(Entity.ENTERPRISE, default=None)


@strawberry.type(
    name="Mutation",
    description="The hub's only writes through the graph: warnings' subscriptions and work orders",
)
class WarningsMutation:
    @strawberry.mutation(
        description="订阅预警: deliver these kinds of event to a webhook, signed with a new "
        "secret; every delivery is what this client could query, and is audited",
        metadata={"public": True},
    )
    async def subscribe_warnings(
        self, info: Info, input: SubscribeWarningsInput
    ) -> NewWarningSubscription | None:
        caller = _agency_client(info)
        kinds = [Kind(k) for k in input.kinds]
        if not kinds:
            raise BadUserInput("name at least one kind of event")
        lacking = sorted({s for kind in kinds for s in kind.scopes if not caller.has(s)})
        if lacking:
            raise Forbidden(
                f"these kinds of event are data this client's grant lacks: {' '.join(lacking)}",
                missingScopes=lacking,
            )
        made = await asyncio.to_thread(
            store_of(info).subscribe,
            caller.client_id,
            kinds,
            _checked_url(input.url),
            caller.purpose,
            region_prefix=input.region_code_prefix,
            project_code=input.project_code,
            enterprise_uscc=input.enterprise_uscc,
        )
        return NewWarningSubscription(subscription=WarningSubscription.of(made), secret=made.secret)

    @strawberry.mutation(
        description="退订: stop one of this client's subscriptions", metadata={"public": True}
    )
    async def unsubscribe_warnings(self, info: Info, id: strawberry.ID) -> bool | None:
        caller = _agency_client(info)
        return await asyncio.to_thread(store_of(info).unsubscribe, str(id), caller.client_id)

    @strawberry.mutation(
        description="签收工单: acknowledge a work order", metadata={"public": True}
    )
    async def acknowledge_warning(
        self, info: Info, id: strawberry.ID, note: str | None = None
    ) -> WorkOrder | None:
        return await _handle(info, id, ACKNOWLEDGED, note)

    @strawberry.mutation(
        description="办结工单: resolve a work order, saying what was done",
        metadata={"public": True},
    )
    async def resolve_warning(self, info: Info, id: strawberry.ID, note: str) -> WorkOrder | None:
        if not note.strip():
            raise BadUserInput("say what was done: the note is the handling record")
        return await _handle(info, id, RESOLVED, note)


async def _handle(info: Info, id: strawberry.ID, status: str, note: str | None) -> WorkOrder | None:
    """Only the responsible agency, at a level that covers the order, handles it; another
    agency's order looks like no order at all."""
    caller = _agency_client(info)
    if note is not None and len(note) > MAX_NOTE:
        raise BadUserInput(f"a note holds at most {MAX_NOTE} characters")
    try:
        order_id = int(id)
    except ValueError:
        return None
    store = store_of(info)
    row = await asyncio.to_thread(store.order, order_id)
    regions = caller.limit(REGIONS.name)
    if (
        row is None
        or row.agency != caller.agency
        or (regions and not any(row.region_code.startswith(r) for r in regions))
    ):
        return None
    who = caller.user or caller.client_id
    handled = await asyncio.to_thread(store.handle, order_id, status, who, note)
    found = await asyncio.to_thread(store.orders, OrderFilter(), order_id - 1, 1)
    return WorkOrder.of(found[0], now_utc()) if found and handled is not None else None


@public_type
@strawberry.type(description="预警事件: one event as this caller may see it")
class WarningEvent:
    id: strawberry.ID = strawberry.field(description="the event's id: the stream's Last-Event-ID")
    kind: WarningKind  # type: ignore[valid-type]
    region_code: str
    project_code: str | None
    month: YearMonth | None
    raised_at: datetime
    payload: JSON = strawberry.field(
        description="what a webhook would carry: the event's public facts and the kind's "
        "query answered as this caller (scopes, regions and masking applied)"
    )


class LastEventId(str):
    """The stream's `Last-Event-ID` header, kept on the request's context."""


@dataclass(frozen=True)
class EventStream:
    """What a stream reads events from and builds them with."""

    store: AlertStore
    builder: AsClient
    poll_seconds: float = 1.0


@strawberry.type(name="Subscription", description="Streams (GraphQL over Server-Sent Events)")
class WarningsSubscription:
    @strawberry.subscription(
        description="预警事件流: events as they are raised, each as this caller may see it; "
        "resumes after `after` (or the stream's Last-Event-ID), else starts from now",
        metadata={"public": True},
    )
    async def warning_events(
        self,
        info: Info,
        kinds: list[WarningKind] | None = None,  # type: ignore[valid-type]
        region_code_prefix: RegionCodePrefix | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[WarningEvent, None]:
        caller = _agency_client(info)
        stream: EventStream = info.context.loaders(EventStream)
        resumed = str(after or info.context.per_request.get(LastEventId) or "")
        try:
            cursor = int(resumed) if resumed else await asyncio.to_thread(stream.store.latest_event)
        except ValueError:
            raise BadUserInput(f"after {resumed!r} is not an event id") from None
        wanted = tuple(Kind(k) for k in kinds or Kind)
        watching = Subscription(
            id="stream", client_id=caller.client_id, kinds=wanted,
            region_prefix=region_code_prefix, project_code=None, enterprise_uscc=None,
            url="", secret="", purpose=caller.purpose, created_at=now_utc(),
        )  # fmt: skip
        while True:
            events = await asyncio.to_thread(stream.store.events, None, cursor, 100)
            for event in events:
                cursor = event.id
                if not watching.matches(event):
                    continue
                built = await stream.builder.build(
                    event, watching, uuid.uuid4().hex, caller=caller, endpoint=STREAM_ENDPOINT
                )
                if built.body is None:
                    continue
                yield WarningEvent(
                    id=strawberry.ID(str(event.id)),
                    kind=Kind(event.kind),
                    region_code=event.region_code,
                    project_code=event.project_code,
                    month=event.month,
                    raised_at=event.raised_at,
                    payload=json.loads(built.body),
                )
            if not events:
                await asyncio.sleep(stream.poll_seconds)


STREAM_ENDPOINT = "/graphql/stream"
CONTRIBUTION = GraphContribution(query=WarningsQuery)
MUTATION = WarningsMutation
SUBSCRIPTION = WarningsSubscription
