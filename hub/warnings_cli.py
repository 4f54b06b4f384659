"""`hub warnings`, `hub subscriptions`, `hub webhooks`: the month's close, agencies'
webhook subscriptions, the dispatcher and replay.

    hub warnings evaluate [--month 2026-10]      the rules over the data; prints what changed
    hub warnings escalate                        overdue work orders up a level (district → city)
    hub subscriptions add CLIENT --kinds K[,K] --url URL [--region P] [--project C]
                          [--enterprise U] [--purpose P]   prints the id and the secret once
    hub subscriptions list [--client C] · hub subscriptions remove ID
    hub webhooks dispatch [--once]               deliver (every process shares the queue)
    hub webhooks replay --since 2026-10-01T00:00:00Z [--subscription ID] [--dead-only]
    hub webhooks status                          deliveries per state (and on the stream)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from contextlib import closing
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from alerts.kinds import Kind
from kernel.deferred import deferred

if TYPE_CHECKING:
    import redis.asyncio as redis_asyncio

    import alerts.store as alert_stores
    import audit.extension as audit_extensions
    import hub.graph as hub_graph
    import kernel.scalars as scalars
    from alerts import dispatcher as dispatching
    from alerts import evaluation, payloads, streams
    from audit.record import SubjectHasher
    from connectors.base import Connector
    from graph.schema import HubSchema
    from hub import wiring
    from hub.limits import pipeline
    from hub.settings import HubSettings
else:
    dispatching = deferred("alerts.dispatcher")
    evaluation = deferred("alerts.evaluation")
    payloads = deferred("alerts.payloads")
    alert_stores = deferred("alerts.store")
    streams = deferred("alerts.streams")
    audit_extensions = deferred("audit.extension")
    hub_graph = deferred("hub.graph")
    pipeline = deferred("hub.limits.pipeline")
    scalars = deferred("kernel.scalars")
    wiring = deferred("hub.wiring")
    redis_asyncio = deferred("redis.asyncio")  # only where HUB_REDIS_URL is set


def _fail(message: str) -> int:
    print(f"hub: {message}", file=sys.stderr)
    return 1


def run_evaluation(
    settings: HubSettings, month: date | None = None, *, after_import: bool = False
) -> alert_stores.Evaluated:
    """One evaluation from a process with no loop: the connectors' readers are closed on
    the loop that opened them."""
    connectors = wiring.build_connectors(settings)
    store = wiring.build_alert_store(settings)

    async def run() -> alert_stores.Evaluated:
        try:
            observer = wiring.build_observer(settings, connectors)
            return await evaluation.evaluate(observer, store, month, after_import=after_import)
        finally:
            for connector in connectors:
                await connector.dispose()

    try:
        return asyncio.run(run())
    finally:
        store.close()


def evaluated_line(done: alert_stores.Evaluated) -> str:
    return (
        f"warnings {done.month.strftime('%Y-%m')}: {done.events} new events, "
        f"{done.deliveries} deliveries queued, {done.work_orders} work orders opened"
    )


def _evaluate(settings: HubSettings, args: argparse.Namespace) -> int:
    print(evaluated_line(run_evaluation(settings, args.month)))
    return 0


def _escalate(settings: HubSettings, args: argparse.Namespace) -> int:
    with closing(wiring.build_alert_store(settings)) as store:
        moved = store.escalate_overdue()
    print(f"{moved} overdue work orders escalated")
    return 0


def _kinds(text: str) -> list[Kind]:
    try:
        return [Kind(part.strip().upper()) for part in text.replace(" ", ",").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: kinds are {', '.join(kind.value for kind in Kind)}"
        ) from None


def _subscriptions_add(settings: HubSettings, args: argparse.Namespace) -> int:
    client = wiring.build_auth_store(settings).get_client(args.client)
    if client is None or client.revoked:
        return _fail(f"no active client {args.client!r}")
    lacking = sorted({s for kind in args.kinds for s in kind.scopes} - set(client.scopes))
    if lacking:
        return _fail(f"client {args.client!r} lacks {' '.join(lacking)} for these kinds")
    purpose = args.purpose or (client.purposes[0] if client.purposes else "")
    if purpose not in client.purposes:
        return _fail(f"purpose {purpose!r} is not granted to {args.client!r}")
    with closing(wiring.build_alert_store(settings)) as store:
        made = store.subscribe(
            client.client_id,
            args.kinds,
            args.url,
            purpose,
            region_prefix=args.region,
            project_code=args.project,
            enterprise_uscc=args.enterprise,
        )
    print(f"subscription {made.id}")
    print(f"secret {made.secret}  (shown once: the receiver checks signatures with it)")
    return 0


def _subscriptions_list(settings: HubSettings, args: argparse.Namespace) -> int:
    with closing(wiring.build_alert_store(settings)) as store:
        for s in store.subscriptions(args.client):
            filters = " ".join(
                f"{name}={value}"
                for name, value in (
                    ("region", s.region_prefix),
                    ("project", s.project_code),
                    ("enterprise", s.enterprise_uscc),
                )
                if value
            )
            kinds = ",".join(kind.value for kind in s.kinds)
            print(f"{s.id} {s.client_id} {kinds} {s.url} {filters}".rstrip())
    return 0


def _subscriptions_remove(settings: HubSettings, args: argparse.Namespace) -> int:
    with closing(wiring.build_alert_store(settings)) as store:
        if not store.unsubscribe(args.id):
            return _fail(f"no subscription {args.id!r}")
    print(f"removed {args.id}; its pending deliveries are withheld")
    return 0


def payload_schema(settings: HubSettings, hasher: SubjectHasher) -> HubSchema:
    """The graph a dispatcher builds bodies with: the hub's limits (and their parse and
    validation caches, so a kind's query is parsed and validated once, not per delivery),
    and the audit log's extension when the log is on. Built once per process: building it
    costs more than a body."""
    extensions = pipeline.schema_extensions(settings)
    if settings.audit.enabled:
        extensions.append(audit_extensions.audit_extension(hasher))
    return hub_graph.hub_schema(extensions, hide_suggestions=settings.env == "production")


class PayloadBuilder:
    """What a dispatcher process builds bodies with: the graph as each subscribing client
    (its scopes, limits, masking), with the audit log when it is on; closed at the end."""

    def __init__(self, settings: HubSettings, connectors: list[Connector]) -> None:
        self.connectors = connectors
        self.auth_store = wiring.build_auth_store(settings)
        self.audit_store = (
            wiring.build_audit_store(settings, self.auth_store) if settings.audit.enabled else None
        )
        hasher = wiring.build_subject_hasher(settings)
        self.builder = payloads.AsClient(
            payload_schema(settings, hasher),
            wiring.loader_factories(connectors),
            wiring.build_cursors(settings),
            self.auth_store.get_client,
            self.audit_store,
            hasher,
            settings.pages,
        )

    async def close(self) -> None:
        if self.audit_store is not None:
            await self.audit_store.close()
        for connector in self.connectors:
            await connector.dispose()
        await self.auth_store.database.dispose()


def _dispatch(settings: HubSettings, args: argparse.Namespace) -> int:
    """A dispatcher process: builds bodies as each client (with the audit log), delivers."""
    payloads = PayloadBuilder(settings, wiring.build_connectors(settings))
    store = wiring.build_alert_store(settings)

    async def run() -> None:
        queue = wiring.build_delivery_queue(settings, store)
        dispatcher = dispatching.Dispatcher(store, payloads.builder, settings.alerts, queue=queue)
        try:
            if args.once:
                await dispatcher.drain()
                await dispatcher.close()
            else:
                await dispatcher.run(_stopped_by_signal())
        finally:
            await payloads.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    counts = _counts(store)
    print(" ".join(f"{state}={count}" for state, count in sorted(counts.items())) or "queue empty")
    return 0


def _stopped_by_signal() -> asyncio.Event:
    """Set by SIGTERM (what service managers send) or SIGINT: the dispatcher ends its loop
    between claims, lets deliveries in flight finish, records them and closes, rather than
    taking a cancellation in the middle of a database or Redis call (which on Python 3.11
    an inner `wait_for` can swallow, leaving a dispatcher that never stops). A second
    signal ends the process at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopping() -> None:
        stop.set()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)  # back to the defaults: a second one ends it

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping)
    return stop


def _counts(store: alert_stores.AlertStore) -> dict[str, int]:
    with closing(store):
        return store.counts()


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time (2026-10-01 or 2026-10-01T08:00:00Z)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _replay(settings: HubSettings, args: argparse.Namespace) -> int:
    with closing(wiring.build_alert_store(settings)) as store:
        count = store.replay(args.since, args.subscription, dead_only=args.dead_only)
    print(f"{count} deliveries queued again (events since {args.since.isoformat()})")
    return 0


def _status(settings: HubSettings, args: argparse.Namespace) -> int:
    store = wiring.build_alert_store(settings)
    counts = _counts(store)
    print(" ".join(f"{state}={count}" for state, count in sorted(counts.items())) or "queue empty")
    if settings.redis_url:
        stream = asyncio.run(_stream_counts(settings.redis_url, settings, store))
        print(f"stream {settings.alerts.stream_key}: " + " ".join(
            f"{name}={count}" for name, count in stream.items()
        ))  # fmt: skip
    return 0


async def _stream_counts(
    url: str, settings: HubSettings, store: alert_stores.AlertStore
) -> dict[str, int]:
    queue = streams.StreamQueue(redis_asyncio.Redis.from_url(url), store, settings.alerts)
    try:
        return await queue.pending()
    finally:
        await queue.close()


def _month(text: str) -> date:
    try:
        return scalars.parse_year_month(text)
    except Exception:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM)") from None


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    warnings = commands.add_parser("warnings", help="warning events and their work orders")
    actions = warnings.add_subparsers(dest="action", required=True)
    evaluate_ = actions.add_parser("evaluate", help="run the rules now (a month's close)")
    evaluate_.add_argument(
        "--month", type=_month, help="YYYY-MM (default: the latest month the payroll covers)"
    )
    evaluate_.set_defaults(run=_evaluate)
    actions.add_parser(
        "escalate", help="move overdue work orders up a level now (hub serve does it each minute)"
    ).set_defaults(run=_escalate)

    subscriptions = commands.add_parser("subscriptions", help="agencies' webhook subscriptions")
    actions = subscriptions.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="subscribe a client; print the id and secret once")
    add.add_argument("client")
    add.add_argument("--kinds", type=_kinds, required=True, help="comma-separated event kinds")
    add.add_argument("--url", required=True, help="the receiver (https, or http on loopback)")
    add.add_argument("--region", help="region code prefix, e.g. 410183")
    add.add_argument("--project", help="one project's code")
    add.add_argument("--enterprise", help="one enterprise's USCC")
    add.add_argument("--purpose", help="recorded on each delivery (default: the first granted)")
    add.set_defaults(run=_subscriptions_add)
    listing = actions.add_parser("list", help="active subscriptions (no secrets)")
    listing.add_argument("--client")
    listing.set_defaults(run=_subscriptions_list)
    remove = actions.add_parser("remove", help="stop a subscription")
    remove.add_argument("id")
    remove.set_defaults(run=_subscriptions_remove)

    webhooks = commands.add_parser("webhooks", help="the delivery queue")
    actions = webhooks.add_subparsers(dest="action", required=True)
    dispatch = actions.add_parser(
        "dispatch",
        help="deliver queued webhooks until SIGTERM or Ctrl-C (deliveries in flight finish)",
    )
    dispatch.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    dispatch.set_defaults(run=_dispatch)
    replay = actions.add_parser("replay", help="queue again the deliveries of recent events")
    replay.add_argument("--since", type=_moment, required=True, help="events raised since then")
    replay.add_argument("--subscription", help="only this subscription's")
    replay.add_argument("--dead-only", action="store_true", help="only dead-lettered ones")
    replay.set_defaults(run=_replay)
    actions.add_parser("status", help="deliveries per state").set_defaults(run=_status)
