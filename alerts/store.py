"""The warnings store: state, events, subscriptions, the delivery queue and work orders,
in the hub's own database (SQLite by default, PostgreSQL in production) — no new server.

Migrated like the auth and audit stores (`name`, `metadata`, `version_table`,
`migrations`). Its methods are synchronous, on one engine kept for the store's life;
async callers run them in a thread (`asyncio.to_thread`).

The queue: a delivery is claimed with one statement that sets a lease (owner and expiry)
on rows that are due and not leased — `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
dispatchers never wait for each other's rows; SQLite's single writer serialises the same
statement. Completing a delivery checks the lease is still its claimer's. A dispatcher
that dies leaves its leases to expire; the delivery is then claimed again and sent with
the same `webhook-id`, which the receiver dedupes on (at least once, never more than
once per id for a receiver that keeps its ids).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from alerts.calendar import WorkingDays
from alerts.kinds import Kind
from alerts.models import (
    AlertDelivery,
    AlertEvent,
    AlertLock,
    AlertsTable,
    AlertState,
    AlertSubscription,
    WorkOrder,
)
from alerts.rules import BLACKLIST, FILING, GAP, LEVEL, UNPAID, Changes, NewEvent, State, changes
from alerts.settings import AlertSettings
from alerts.signing import derived_secret, new_secret
from graph.events import Baseline, Observations
from graph.facts.marks import Marks
from storage.database import Database, KeptEngine, dialect_insert

state_t = AlertState.__table__  # type: ignore[attr-defined]
lock_t = AlertLock.__table__  # type: ignore[attr-defined]
event_t = AlertEvent.__table__  # type: ignore[attr-defined]
subscription_t = AlertSubscription.__table__  # type: ignore[attr-defined]
delivery_t = AlertDelivery.__table__  # type: ignore[attr-defined]
order_t = WorkOrder.__table__  # type: ignore[attr-defined]
_LEASED: Final = (
    delivery_t.c.id,
    delivery_t.c.event_id,
    delivery_t.c.subscription_id,
    delivery_t.c.attempts,
    delivery_t.c.body,
)
"""What a dispatcher gets of each delivery it leases, from either queue."""

PENDING: Final = "pending"
DELIVERED: Final = "delivered"
DEAD: Final = "dead"
WITHHELD: Final = "withheld"
"""The client may not see the event's subject (outside its jurisdiction, or revoked):
nothing is sent, not even that an event exists."""

STREAMED: Final = "stream"
"""The lease owner of a delivery waiting on the Redis Stream (`alerts.streams`): no
dispatcher holds it yet."""

DERIVED: Final = ""
"""A subscription's stored secret when it is derived from the store's key
(`signing.derived_secret`)."""
OPEN: Final = "open"
ACKNOWLEDGED: Final = "acknowledged"
RESOLVED: Final = "resolved"
CHUNK: Final = 5_000


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Subscription:
    id: str
    client_id: str
    kinds: tuple[Kind, ...]
    region_prefix: str | None
    project_code: str | None
    enterprise_uscc: str | None
    url: str
    secret: str
    purpose: str
    created_at: datetime
    removed_at: datetime | None = None

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    @classmethod
    def from_row(cls, row: Any, key: bytes | None = None) -> Subscription:
        """A stored row; its secret derived under `key` where the row keeps none."""
        return cls(
            id=row.id,
            client_id=row.client_id,
            kinds=tuple(Kind(k) for k in row.kinds.split()),
            region_prefix=row.region_prefix,
            project_code=row.project_code,
            enterprise_uscc=row.enterprise_uscc,
            url=row.url,
            secret=derived_secret(key, row.id) if key and row.secret == DERIVED else row.secret,
            purpose=row.purpose,
            created_at=row.created_at,
            removed_at=row.get("removed_at") if isinstance(row, dict) else row.removed_at,
        )

    def matches(self, event: Any) -> bool:
        return (
            Kind(event.kind) in self.kinds
            and (self.region_prefix is None or event.region_code.startswith(self.region_prefix))
            and (self.project_code is None or event.project_code == self.project_code)
            and (self.enterprise_uscc is None or event.enterprise_uscc == self.enterprise_uscc)
        )


@dataclass(frozen=True)
class Claimed:
    """A delivery a dispatcher holds under its lease."""

    id: str
    event_id: int
    subscription_id: str
    attempts: int
    body: str | None


@dataclass(frozen=True)
class Evaluated:
    month: date
    events: int
    deliveries: int
    work_orders: int


class AlertStore:
    name = "alerts"
    metadata = AlertsTable.metadata
    version_table = "alembic_version_alerts"
    migrations = Path(__file__).resolve().parent / "migrations"

    def __init__(
        self,
        database: Database,
        settings: AlertSettings | None = None,
        secret_key: bytes | None = None,
    ) -> None:
        """`secret_key`: subscriptions' secrets are derived from it and never stored;
        without it (tests of the queue alone) each gets a random one, stored."""
        self.database = database
        self.settings = settings or AlertSettings()
        self._secret_key = secret_key
        self._engine = KeptEngine(database)
        self.calendar = WorkingDays.load(self.settings.holidays_file)
        """Working days for every deadline (`alerts.calendar`)."""

    def __repr__(self) -> str:
        return f"<AlertStore {self.database!r}>"

    @property
    def engine(self) -> Engine:
        return self._engine.get()

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def deadline(self, kind: Kind, at: datetime) -> datetime:
        """When a work order of this kind opened (or escalated) at `at` falls due: the
        kind's working days on, by the holiday calendar."""
        return self.calendar.add_days(at, self.settings.deadline_days(kind))

    async def check_health(self) -> None:
        await self.database.fetch(select(lock_t.c.id).limit(1))

    # -- evaluation ---------------------------------------------------------------------

    def record(self, found: Observations, at: datetime | None = None) -> Evaluated:
        """Compares the observations with the last-known state and, in one transaction,
        keeps the new state, inserts the events that changed (each once: its key), queues
        a delivery for every subscription that matches, and opens their work orders."""
        at = at or now_utc()
        with self._transaction() as connection:
            latest = connection.execute(
                update(lock_t)
                .where(lock_t.c.id == 1)
                .values(evaluated_at=at)
                .returning(lock_t.c.month)
            ).scalar_one()
            present = latest is None or found.month >= latest
            if present:
                seen = found.baseline
                connection.execute(
                    update(lock_t)
                    .where(lock_t.c.id == 1)
                    .values(
                        month=found.month,
                        day=seen.day if seen is not None else None,
                        marks=seen.marks.to_json() if seen is not None else None,
                    )
                )
            changed = changes(found, self._state(connection, found), present=present)
            self._keep(connection, changed, at)
            inserted = self._insert_events(connection, changed.events, at)
            deliveries = self._fan_out(connection, inserted, at)
            orders = self._open_orders(connection, inserted, at)
        return Evaluated(found.month, len(inserted), deliveries, orders)

    def baseline(self) -> Baseline | None:
        """What the last evaluation of the present month saw (`graph.scope`): the next
        one after an import looks again only at what changed since. None: it could not
        tell (an agency reached over the network), or none ran yet."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(lock_t.c.month, lock_t.c.day, lock_t.c.marks).where(lock_t.c.id == 1)
            ).one()
        if row.month is None or row.day is None or row.marks is None:
            return None
        return Baseline(Marks.from_json(row.marks), row.month, row.day)

    def _state(self, connection: Connection, found: Observations) -> dict[tuple[str, str], State]:
        """The state rows the observations are compared with, for what they looked at
        (`found.scope`): the levels of its projects and their unpaid workers in its
        month, residence gaps when it looked at them, the blacklist hits and filings when
        it found any."""
        scope, c = found.scope, state_t.c
        in_month = or_(c.kind == LEVEL, and_(c.kind == UNPAID, c.month == found.month))
        wanted: list[Any] = []
        if scope.projects is None:
            wanted.append(in_month)
        else:
            codes = sorted(scope.projects)
            wanted += [
                and_(c.project_code.in_(codes[i : i + CHUNK]), in_month)
                for i in range(0, len(codes), CHUNK)
            ]
        if scope.gaps:
            wanted.append(c.kind == GAP)
        if found.blacklisted:
            wanted.append(c.kind == BLACKLIST)
        if found.filings:
            wanted.append(c.kind == FILING)
        found_state: dict[tuple[str, str], State] = {}
        for condition in wanted:
            for r in connection.execute(select(state_t).where(condition)):
                found_state[r.kind, r.subject] = State(
                    r.kind, r.subject, r.value, r.month, r.version, r.project_code
                )
        return found_state

    def _keep(self, connection: Connection, changed: Changes, at: datetime) -> None:
        if changed.deletes:
            connection.execute(
                delete(state_t).where(
                    state_t.c.kind == bindparam("gone_kind"),
                    state_t.c.subject == bindparam("gone_subject"),
                ),
                [{"gone_kind": kind, "gone_subject": subject} for kind, subject in changed.deletes],
            )
        rows = [
            {
                "kind": s.kind,
                "subject": s.subject,
                "value": s.value,
                "month": s.month,
                "version": s.version,
                "updated_at": at,
                "project_code": s.project,
            }
            for s in changed.upserts
        ]
        if rows:
            statement = self._insert(state_t)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["kind", "subject"],
                    set_={
                        "value": statement.excluded.value,
                        "month": statement.excluded.month,
                        "version": statement.excluded.version,
                        "updated_at": statement.excluded.updated_at,
                        "project_code": statement.excluded.project_code,
                    },
                ),
                rows,
            )

    def _insert(self, table: Any) -> Any:
        return dialect_insert("sqlite" if self.database.is_sqlite else "postgresql", table)

    def _insert_events(
        self, connection: Connection, events: Sequence[NewEvent], at: datetime
    ) -> list[Any]:
        """The events not raised before (their keys), inserted and returned as rows of
        what subscriptions and work orders look at (`_MATCHED`), in raising order. Only
        under the evaluation lock (`record`, `escalate_overdue`)."""
        rows = [
            {
                "key": e.key,
                "kind": e.kind.value,
                "region_code": e.region_code,
                "project_code": e.project_code,
                "enterprise_uscc": e.enterprise_uscc,
                "month": e.month,
                "level": e.level,
                "previous": e.previous,
                "details": json.dumps(e.details, ensure_ascii=False, sort_keys=True),
                "raised_at": at,
            }
            for e in events
        ]
        if not rows:
            return []
        newest = connection.execute(select(func.coalesce(func.max(event_t.c.id), 0))).scalar()
        statement = self._insert(event_t).on_conflict_do_nothing(index_elements=["key"])
        for chunk in _chunks(rows):
            connection.execute(statement, chunk)
        # every event past the newest before is this call's: it holds the evaluation lock
        # (RETURNING in parameter order would cost SQLite a statement per row)
        return list(
            connection.execute(
                select(*(event_t.c[name] for name in _MATCHED))
                .where(event_t.c.id > newest)
                .order_by(event_t.c.id)
            ).all()
        )

    def _fan_out(self, connection: Connection, events: Sequence[Any], at: datetime) -> int:
        subscriptions = [
            Subscription.from_row(row, self._secret_key)
            for row in connection.execute(
                select(subscription_t).where(subscription_t.c.removed_at.is_(None))
            )
        ]
        return _queue(
            connection, [(e, s) for e in events for s in subscriptions if s.matches(e)], at
        )

    def _open_orders(self, connection: Connection, events: Sequence[Any], at: datetime) -> int:
        """A work order for each warning that asks for action (`_asks_for_action`): not
        for a level that got better, nor for an escalation (it moves its order instead).
        One INSERT … SELECT over the events just raised (`events`, in id order)."""
        if not events:
            return 0
        kinds = [kind for kind in Kind if kind.agency]
        deadline_t = order_t.c.deadline.type
        chosen = select(
            event_t.c.id,
            event_t.c.kind,
            case({k.value: k.agency for k in kinds}, value=event_t.c.kind),
            event_t.c.region_code,
            literal(OPEN),
            case(
                {k.value: literal(self.deadline(k, at), deadline_t) for k in kinds},
                value=event_t.c.kind,
            ),
            literal(at, order_t.c.opened_at.type),
            literal(0),
        ).where(event_t.c.id >= events[0].id, _asks_for_action())
        columns = ["event_id", "kind", "agency", "region_code", "status", "deadline"]
        connection.execute(
            insert(order_t).from_select([*columns, "opened_at", "escalations"], chosen)
        )  # its rowcount is -1 through psycopg: count what it opened
        return int(
            connection.execute(
                select(func.count()).where(order_t.c.event_id >= events[0].id)
            ).scalar_one()
        )

    # -- subscriptions ------------------------------------------------------------------

    def subscribe(
        self,
        client_id: str,
        kinds: Iterable[Kind],
        url: str,
        purpose: str,
        *,
        region_prefix: str | None = None,
        project_code: str | None = None,
        enterprise_uscc: str | None = None,
    ) -> Subscription:
        """A new subscription with its own secret (returned here, and to its client on
        request)."""
        row = {
            "id": uuid.uuid4().hex,
            "client_id": client_id,
            "kinds": " ".join(sorted({Kind(k).value for k in kinds})),
            "region_prefix": region_prefix or None,
            "project_code": project_code or None,
            "enterprise_uscc": enterprise_uscc or None,
            "url": url,
            "secret": DERIVED if self._secret_key else new_secret(),
            "purpose": purpose,
            "created_at": now_utc(),
        }
        with self._transaction() as connection:
            connection.execute(insert(subscription_t).values(row))
        return Subscription.from_row(_Row(row), self._secret_key)

    def subscriptions(self, client_id: str | None = None) -> list[Subscription]:
        statement = select(subscription_t).where(subscription_t.c.removed_at.is_(None))
        if client_id is not None:
            statement = statement.where(subscription_t.c.client_id == client_id)
        with self._transaction() as connection:
            rows = connection.execute(statement.order_by(subscription_t.c.created_at)).all()
        return [Subscription.from_row(row, self._secret_key) for row in rows]

    def subscription(self, subscription_id: str) -> Subscription | None:
        with self._transaction() as connection:
            row = connection.execute(
                select(subscription_t).where(subscription_t.c.id == subscription_id)
            ).first()
        return Subscription.from_row(row, self._secret_key) if row is not None else None

    def unsubscribe(self, subscription_id: str, client_id: str | None = None) -> bool:
        """Stops it; its pending deliveries are withheld. False if there was none (or it
        is another client's)."""
        where = [subscription_t.c.id == subscription_id, subscription_t.c.removed_at.is_(None)]
        if client_id is not None:
            where.append(subscription_t.c.client_id == client_id)
        with self._transaction() as connection:
            removed = connection.execute(
                update(subscription_t).where(*where).values(removed_at=now_utc())
            ).rowcount
            connection.execute(
                update(delivery_t)
                .where(
                    delivery_t.c.subscription_id == subscription_id, delivery_t.c.state == PENDING
                )
                .values(state=WITHHELD, last_error="subscription removed")
            )
        return bool(removed)

    # -- work orders --------------------------------------------------------------------

    def orders(
        self, where: OrderFilter, after: int | None, limit: int, at: datetime | None = None
    ) -> list[Any]:
        statement = self._orders(where, at or now_utc())
        if after is not None:
            statement = statement.where(order_t.c.id > after)
        with self._transaction() as connection:
            return list(connection.execute(statement.order_by(order_t.c.id).limit(limit)).all())

    def count_orders(self, where: OrderFilter, at: datetime | None = None) -> int:
        statement = self._orders(where, at or now_utc())
        with self._transaction() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(statement.subquery())
                ).scalar_one()
            )

    def _orders(self, where: OrderFilter, at: datetime) -> Any:
        statement = select(order_t, event_t.c.project_code, event_t.c.month).join(
            event_t, event_t.c.id == order_t.c.event_id
        )
        if where.agency is not None:
            statement = statement.where(order_t.c.agency == where.agency)
        if where.regions:
            statement = statement.where(
                or_(*(order_t.c.region_code.startswith(r, autoescape=True) for r in where.regions))
            )
        if where.region_prefix:
            statement = statement.where(
                order_t.c.region_code.startswith(where.region_prefix, autoescape=True)
            )
        if where.statuses:
            statement = statement.where(order_t.c.status.in_(where.statuses))
        if where.kinds:
            statement = statement.where(order_t.c.kind.in_(where.kinds))
        if where.overdue is not None:
            late = and_(order_t.c.status != RESOLVED, order_t.c.deadline < at)
            statement = statement.where(late if where.overdue else ~late)
        return statement

    def order(self, order_id: int) -> Any:
        with self._transaction() as connection:
            return connection.execute(select(order_t).where(order_t.c.id == order_id)).first()

    def handle(self, order_id: int, status: str, who: str, note: str | None) -> Any:
        """Acknowledges or resolves an order; a resolved one stays resolved."""
        at = now_utc()
        values: dict[str, Any] = {"status": status}
        if status == ACKNOWLEDGED:
            values.update(acknowledged_at=at, acknowledged_by=who)
        else:
            values.update(resolved_at=at, resolved_by=who)
        if note is not None:
            values["note"] = note
        with self._transaction() as connection:
            connection.execute(
                update(order_t)
                .where(order_t.c.id == order_id, order_t.c.status != RESOLVED)
                .values(**values)
            )
            return connection.execute(select(order_t).where(order_t.c.id == order_id)).first()

    def escalate_overdue(self, at: datetime | None = None) -> int:
        """Every unresolved order past its deadline moves to the next level up, with a new
        deadline, and raises a WORK_ORDER_ESCALATED event there (queued to the
        subscriptions that match it, like any event)."""
        at = at or now_utc()
        with self._transaction() as connection:
            connection.execute(update(lock_t).where(lock_t.c.id == 1).values(evaluated_at=at))
            late = connection.execute(
                select(order_t, event_t.c.project_code, event_t.c.enterprise_uscc, event_t.c.month)
                .outerjoin(event_t, event_t.c.id == order_t.c.event_id)
                .where(order_t.c.status != RESOLVED, order_t.c.deadline < at)
            ).all()
            raised = []
            for order in late:
                parent = parent_region(order.region_code)
                if parent is None:
                    continue
                kind = Kind(order.kind)
                connection.execute(
                    update(order_t)
                    .where(order_t.c.id == order.id)
                    .values(
                        region_code=parent,
                        escalations=order.escalations + 1,
                        deadline=self.deadline(kind, at),
                    )
                )
                raised.append(
                    NewEvent(
                        key=f"escalated:{order.id}:{order.escalations + 1}",
                        kind=Kind.WORK_ORDER_ESCALATED,
                        region_code=parent,
                        project_code=order.project_code,
                        enterprise_uscc=order.enterprise_uscc,
                        month=order.month,
                        previous=order.region_code,
                        details={
                            "workOrder": order.id,
                            "kind": order.kind,
                            "agency": order.agency,
                            "from": order.region_code,
                            "deadline": order.deadline.isoformat(),
                        },
                    )
                )
            inserted = self._insert_events(connection, raised, at)
            self._fan_out(connection, inserted, at)
        return len(inserted)

    # -- the queue ----------------------------------------------------------------------

    def claim(
        self,
        owner: str,
        limit: int,
        exclude: Iterable[str] = (),
        at: datetime | None = None,
        busy: Iterable[str] = (),
    ) -> list[Claimed]:
        """Up to `limit` due deliveries, leased to `owner` (`exclude`: subscriptions this
        dispatcher has enough of in flight already; `busy`: deliveries it is still sending,
        whose lease may have run out under load)."""
        at = at or now_utc()
        due = (
            select(delivery_t.c.id)
            .where(
                delivery_t.c.state == PENDING,
                delivery_t.c.due_at <= at,
                or_(delivery_t.c.lease_until.is_(None), delivery_t.c.lease_until < at),
            )
            .order_by(delivery_t.c.due_at, delivery_t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        excluded = list(exclude)
        if excluded:
            due = due.where(delivery_t.c.subscription_id.not_in(excluded))
        sending = list(busy)
        if sending:
            due = due.where(delivery_t.c.id.not_in(sending))
        statement = (
            update(delivery_t)
            .where(delivery_t.c.id.in_(due.scalar_subquery()))
            .values(
                lease_owner=owner,
                lease_until=at + timedelta(seconds=self.settings.lease_seconds),
                attempts=delivery_t.c.attempts + 1,
            )
            .returning(*_LEASED)
        )
        with self._transaction() as connection:
            rows = connection.execute(statement).all()
        return [Claimed(r.id, r.event_id, r.subscription_id, r.attempts, r.body) for r in rows]

    # -- the queue on a Redis Stream (`alerts.streams`) ----------------------------------

    def unstreamed(self, limit: int, at: datetime | None = None) -> list[tuple[str, int, str]]:
        """Due deliveries no stream holds, each with the attempt its message is for: new
                and replayed ones and those whose backoff ended (no lease owner); ones streamed
                but not taken for ten leases (a stream lost with its Redis); ones whose taker's
                lease ended a lease ago (its consumer group lost, or a database dispatcher that
                died before the switch to Redis) — those for the same attempt again. Each as (id,
        attempt, subscription)."""
        at = at or now_utc()
        lease = timedelta(seconds=self.settings.lease_seconds)
        statement = (
            select(
                delivery_t.c.id,
                delivery_t.c.attempts,
                delivery_t.c.lease_until,
                delivery_t.c.subscription_id,
            )
            .where(
                delivery_t.c.state == PENDING,
                delivery_t.c.due_at <= at,
                or_(
                    delivery_t.c.lease_owner.is_(None),
                    and_(
                        delivery_t.c.lease_owner == STREAMED, delivery_t.c.due_at < at - 10 * lease
                    ),
                    delivery_t.c.lease_until < at - lease,
                ),
            )
            .order_by(delivery_t.c.due_at, delivery_t.c.id)
            .limit(limit)
        )
        with self._transaction() as connection:
            rows = connection.execute(statement).all()
        return [
            (r.id, r.attempts + 1 if r.lease_until is None else r.attempts, r.subscription_id)
            for r in rows
        ]

    def streamed(
        self, messages: Sequence[tuple[str, int, str]], at: datetime | None = None
    ) -> None:
        """Marks the deliveries just added to the stream (`unstreamed`'s), unless taken
        or finished meanwhile: a waiting one as the stream's (its `due_at` now, when it
        was streamed), a lapsed lease as lapsed now (streamed again only a lease on)."""
        at = at or now_utc()
        lease = timedelta(seconds=self.settings.lease_seconds)
        by_attempt: dict[int, list[str]] = {}
        for delivery_id, attempt, _ in messages:
            by_attempt.setdefault(attempt, []).append(delivery_id)
        with self._transaction() as connection:
            for attempt, ids in by_attempt.items():
                pending = [delivery_t.c.id.in_(ids), delivery_t.c.state == PENDING]
                connection.execute(
                    update(delivery_t)
                    .where(
                        *pending,
                        delivery_t.c.lease_until.is_(None),
                        delivery_t.c.attempts == attempt - 1,
                    )
                    .values(lease_owner=STREAMED, due_at=at)
                )
                connection.execute(
                    update(delivery_t)
                    .where(
                        *pending,
                        delivery_t.c.lease_until < at - lease,
                        delivery_t.c.attempts == attempt,
                    )
                    .values(lease_until=at)
                )

    def take(
        self, owner: str, messages: Sequence[tuple[str, int]], at: datetime | None = None
    ) -> list[Claimed]:
        """Leases to `owner` the deliveries of these stream messages (id, attempt) that are
        still for that attempt: due and untaken for the next attempt, or taken for it by a
        consumer whose lease ran out (it died). A stale or repeated message takes nothing,
        so a delivery is sent once per attempt however often it was streamed."""
        at = at or now_utc()
        taken: list[Claimed] = []
        with self._transaction() as connection:
            for delivery_id, attempt in messages:
                row = connection.execute(
                    update(delivery_t)
                    .where(
                        delivery_t.c.id == delivery_id,
                        delivery_t.c.state == PENDING,
                        or_(
                            and_(
                                delivery_t.c.attempts == attempt - 1,
                                delivery_t.c.lease_until.is_(None),
                                delivery_t.c.due_at <= at,
                            ),
                            and_(delivery_t.c.attempts == attempt, delivery_t.c.lease_until < at),
                        ),
                    )
                    .values(
                        lease_owner=owner,
                        lease_until=at + timedelta(seconds=self.settings.lease_seconds),
                        attempts=attempt,
                    )
                    .returning(*_LEASED)
                ).first()
                if row is not None:
                    taken.append(
                        Claimed(row.id, row.event_id, row.subscription_id, row.attempts, row.body)
                    )
        return taken

    def _held(self, delivery_id: str, owner: str) -> Any:
        return and_(
            delivery_t.c.id == delivery_id,
            delivery_t.c.lease_owner == owner,
            delivery_t.c.state == PENDING,
        )

    def keep_body(self, delivery_id: str, owner: str, body: str) -> bool:
        """The payload, built once as the client: every retry sends the same bytes."""
        with self._transaction() as connection:
            return bool(
                connection.execute(
                    update(delivery_t).where(self._held(delivery_id, owner)).values(body=body)
                ).rowcount
            )

    def delivered(self, delivery_id: str, owner: str, status: int) -> None:
        self._finish(
            delivery_id, owner, state=DELIVERED, last_status=status, delivered_at=now_utc()
        )

    def withhold(self, delivery_id: str, owner: str, reason: str) -> None:
        self._finish(delivery_id, owner, state=WITHHELD, last_error=reason[:200])

    def failed(self, delivery: Claimed, owner: str, status: int | None, error: str) -> str:
        """Back off (exponential, with jitter) or, after the last attempt, dead-letter."""
        if delivery.attempts >= self.settings.max_attempts:
            self._finish(delivery.id, owner, state=DEAD, last_status=status, last_error=error[:200])
            return DEAD
        self._finish(
            delivery.id,
            owner,
            due_at=now_utc() + timedelta(seconds=self.backoff(delivery.attempts)),
            last_status=status,
            last_error=error[:200],
        )
        return PENDING

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt: doubling from the base, capped, scaled by a
        random factor in [0.5, 1) so receivers that failed together do not retry together."""
        ceiling = min(
            self.settings.max_backoff_seconds,
            self.settings.backoff_seconds * 2 ** max(attempts - 1, 0),
        )
        return ceiling * (0.5 + secrets.randbelow(1000) / 2000)

    def _finish(self, delivery_id: str, owner: str, **values: Any) -> None:
        with self._transaction() as connection:
            connection.execute(
                update(delivery_t)
                .where(self._held(delivery_id, owner))
                .values(lease_owner=None, lease_until=None, **values)
            )

    def replay(
        self, since: datetime, subscription_id: str | None = None, *, dead_only: bool = False
    ) -> int:
        """Queues again the deliveries of events raised since `since`, with fresh attempts
        and the same webhook-id: dead and delivered ones (`dead_only`: dead ones only),
        and — for a subscription made after the events — the ones it never had."""
        at = now_utc()
        live = select(subscription_t).where(subscription_t.c.removed_at.is_(None))
        if subscription_id is not None:
            live = live.where(subscription_t.c.id == subscription_id)
        states = [DEAD] if dead_only else [DEAD, DELIVERED]
        events = select(event_t.c.id).where(event_t.c.raised_at >= since)
        with self._transaction() as connection:
            subscriptions = [
                Subscription.from_row(row, self._secret_key) for row in connection.execute(live)
            ]
            ids = [s.id for s in subscriptions]
            count = int(
                connection.execute(
                    update(delivery_t)
                    .where(
                        delivery_t.c.state.in_(states),
                        delivery_t.c.event_id.in_(events),
                        delivery_t.c.subscription_id.in_(ids),
                    )
                    .values(
                        state=PENDING,
                        attempts=0,
                        due_at=at,
                        lease_owner=None,
                        lease_until=None,
                        delivered_at=None,
                    )
                ).rowcount
            )
            if dead_only:
                return count
            had = {
                (row.event_id, row.subscription_id)
                for row in connection.execute(
                    select(delivery_t.c.event_id, delivery_t.c.subscription_id).where(
                        delivery_t.c.event_id.in_(events), delivery_t.c.subscription_id.in_(ids)
                    )
                )
            }
            missing = [
                (event, s)
                for event in connection.execute(select(event_t).where(event_t.c.raised_at >= since))
                for s in subscriptions
                if s.matches(event) and (event.id, s.id) not in had
            ]
            return count + _queue(connection, missing, at)

    def counts(self) -> dict[str, int]:
        with self._transaction() as connection:
            rows = connection.execute(
                select(delivery_t.c.state, func.count()).group_by(delivery_t.c.state)
            ).all()
        return {state: count for state, count in rows}

    def deliveries(self, subscription_id: str | None = None) -> list[Any]:
        statement = select(delivery_t).order_by(delivery_t.c.created_at, delivery_t.c.id)
        if subscription_id is not None:
            statement = statement.where(delivery_t.c.subscription_id == subscription_id)
        with self._transaction() as connection:
            return list(connection.execute(statement).all())

    def latest_event(self) -> int:
        """The newest event's id (0 when there is none): where a new stream starts."""
        with self._transaction() as connection:
            return int(connection.execute(select(func.max(event_t.c.id))).scalar() or 0)

    def event(self, event_id: int) -> Any:
        with self._transaction() as connection:
            return connection.execute(select(event_t).where(event_t.c.id == event_id)).first()

    def events(
        self, since: datetime | None = None, after_id: int = 0, limit: int = 100
    ) -> list[Any]:
        statement = select(event_t).where(event_t.c.id > after_id)
        if since is not None:
            statement = statement.where(event_t.c.raised_at >= since)
        with self._transaction() as connection:
            return list(connection.execute(statement.order_by(event_t.c.id).limit(limit)).all())


_RANK: Final = {"NONE": 0, "BLUE": 1, "YELLOW": 2, "RED": 3}


_MATCHED: Final = (
    "id", "kind", "region_code", "project_code", "enterprise_uscc", "level", "previous",
)  # fmt: skip


def _asks_for_action() -> Any:
    """The events that open a work order, as a condition on the event table: any but a
    project warning and an escalation, and a project warning whose level rose."""

    def rank(column: Any) -> Any:
        return case(_RANK, value=column, else_=0)

    warning, escalated = Kind.PROJECT_WARNING.value, Kind.WORK_ORDER_ESCALATED.value
    return or_(
        and_(event_t.c.kind != warning, event_t.c.kind != escalated),
        and_(
            event_t.c.kind == warning,
            rank(event_t.c.level) > rank(func.coalesce(event_t.c.previous, "NONE")),
        ),
    )


def parent_region(code: str) -> str | None:
    """The next level up: a district's city (`410183` → `410100`), a city's province
    (`410100` → `410000`); None above a province."""
    if code[4:] != "00":
        return code[:4] + "00"
    if code[2:4] != "00":
        return code[:2] + "0000"
    return None


class _Row(dict[str, Any]):
    def __getattr__(self, name: str) -> Any:
        return self[name]


def _queue(connection: Connection, pairs: Sequence[tuple[Any, Subscription]], at: datetime) -> int:
    """Queues a pending delivery, due now with a new webhook-id, for each event and
    subscription (raising and replaying both)."""
    rows = [
        {
            "id": _message_id(),
            "event_id": event.id,
            "subscription_id": s.id,
            "state": PENDING,
            "attempts": 0,
            "due_at": at,
            "created_at": at,
        }
        for event, s in pairs
    ]
    for chunk in _chunks(rows):
        connection.execute(insert(delivery_t), chunk)
    return len(rows)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _message_id() -> str:
    return "msg_" + uuid.uuid4().hex


@dataclass(frozen=True)
class OrderFilter:
    """Which work orders a caller lists: its own agency's, in its regions."""

    agency: str | None = None
    regions: tuple[str, ...] = ()
    region_prefix: str | None = None
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    overdue: bool | None = None
