"""The warnings store's tables, in their own registry, so their own database
(`HUB_ALERTS_DB_URL`, by default `alerts.db` in the data directory).

`alert_state` is the last-known state the rules compare against (one row per project's
level, per unpaid worker-month, per residence gap, per blacklist hit, per filing), so
only changes raise events. `alert_event` holds every event once (its `key` makes a
re-evaluation idempotent). `alert_subscription` is an agency client's webhook;
`alert_delivery` the durable queue — one row per event and subscription, its id the
Standard Webhooks `webhook-id` (the receiver's idempotency key), claimed by one
dispatcher at a time under a lease. `alert_work_order` is the handling record (工单).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime

SERIAL = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit id PostgreSQL counts up; SQLite counts up only an INTEGER PRIMARY KEY."""


class AlertsTable(SQLModel, registry=registry()):
    """Base of the warnings tables: their own metadata, so their own database."""


class AlertState(AlertsTable, table=True):
    __tablename__ = "alert_state"
    __table_args__ = (Index("ix_alert_state_project", "kind", "project_code"),)

    kind: str = Field(primary_key=True, max_length=32)
    subject: str = Field(primary_key=True, max_length=160)
    value: str = Field(max_length=64)
    month: date | None = None
    version: int = Field(default=1, description="bumped on each change: part of the event key")
    updated_at: datetime = Field(sa_type=UTCDateTime)
    project_code: str | None = Field(
        default=None, max_length=32, description="read back per project after an import"
    )


class AlertLock(AlertsTable, table=True):
    """One row every evaluation updates first: evaluations take turns (a row lock on
    PostgreSQL, the write lock on SQLite), so two imports never race on the state."""

    __tablename__ = "alert_lock"

    id: int = Field(primary_key=True)
    evaluated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    month: date | None = None
    day: date | None = Field(default=None, description="residence judged on, with `marks`")
    marks: str | None = Field(
        default=None,
        sa_type=Text,
        description="JSON (`graph.facts.marks.Marks`): the batches the last evaluation saw",
    )


class AlertEvent(AlertsTable, table=True):
    __tablename__ = "alert_event"
    __table_args__ = (Index("ix_alert_event_raised", "raised_at", "id"),)

    id: int | None = Field(default=None, sa_column=Column(SERIAL, primary_key=True))
    key: str = Field(max_length=200, unique=True, description="idempotency: kind, subject, change")
    kind: str = Field(max_length=32, index=True)
    region_code: str = Field(max_length=6, index=True)
    project_code: str | None = Field(default=None, max_length=32, index=True)
    enterprise_uscc: str | None = Field(default=None, max_length=18, index=True)
    month: date | None = None
    level: str | None = Field(default=None, max_length=16)
    previous: str | None = Field(default=None, max_length=16)
    details: str = Field(sa_type=Text, description="JSON: the payload query's variables and facts")
    raised_at: datetime = Field(sa_type=UTCDateTime)


class AlertSubscription(AlertsTable, table=True):
    __tablename__ = "alert_subscription"

    id: str = Field(primary_key=True, max_length=32)
    client_id: str = Field(max_length=64, index=True)
    kinds: str = Field(max_length=200, description="event kinds, space-separated")
    region_prefix: str | None = Field(default=None, max_length=6)
    project_code: str | None = Field(default=None, max_length=32)
    enterprise_uscc: str | None = Field(default=None, max_length=18)
    url: str = Field(sa_type=Text)
    secret: str = Field(max_length=100, description="whsec_…: signs every delivery")
    purpose: str = Field(max_length=64, description="recorded on every delivery's audit record")
    created_at: datetime = Field(sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertDelivery(AlertsTable, table=True):
    __tablename__ = "alert_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_alert_delivery_due", "state", "due_at"),
    )

    id: str = Field(primary_key=True, max_length=40, description="the webhook-id")
    event_id: int = Field(sa_type=BigInteger, index=True)
    subscription_id: str = Field(max_length=32, index=True)
    state: str = Field(max_length=16, description="pending, delivered, dead, withheld")
    attempts: int = 0
    due_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    body: str | None = Field(default=None, sa_type=Text, description="built once, as the client")
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WorkOrder(AlertsTable, table=True):
    """工单: one per warning, for the responsible agency at the event's district, with a
    deadline; an overdue one moves up a level (district → city → province)."""

    __tablename__ = "alert_work_order"

    id: int | None = Field(default=None, sa_column=Column(SERIAL, primary_key=True))
    event_id: int = Field(sa_type=BigInteger, unique=True)
    kind: str = Field(max_length=32, index=True)
    agency: str = Field(max_length=32, index=True, description="the responsible agency")
    region_code: str = Field(max_length=6, index=True, description="the level now responsible")
    status: str = Field(max_length=16, index=True, description="open, acknowledged, resolved")
    deadline: datetime = Field(sa_type=UTCDateTime, index=True)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=64)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, sa_type=Text)
    escalations: int = 0
