"""Keeping the warning facts (`graph.facts`) current: after `hub seed`, after every applied
import (command line and HTTP), and on demand with `hub facts refresh`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from kernel.deferred import deferred

if TYPE_CHECKING:
    import graph.facts.refresh as facts_refresh
    import kernel.scalars as scalars
    from connectors.base import Connector
    from graph.facts.changes import Sources
    from graph.facts.refresh import LevelChange, LoaderFactories
    from graph.facts.store import FactsStore
    from hub import wiring
    from hub.settings import HubSettings
else:
    facts_refresh = deferred("graph.facts.refresh")
    scalars = deferred("kernel.scalars")
    wiring = deferred("hub.wiring")

log = logging.getLogger(__name__)


def sources(connectors: Sequence[Connector]) -> Sources:
    """The agencies' databases this process reaches (whose batches a refresh can read)."""
    return {c.name: c.database for c in wiring.local_connectors(list(connectors))}


async def refresh_after_import(
    store: FactsStore,
    factories: LoaderFactories,
    connectors: Sequence[Connector],
    *,
    closing: bool = False,
) -> list[LevelChange] | None:
    """After an import that changed rows: the projects and months whose rows changed
    since the last refresh, in every covered month and the latest ones. A failure is
    logged, not raised: the import has committed, and the months keep their earlier facts
    until the next refresh. `closing`: on a loop of its own (the command line), the
    connectors and the store are closed before that loop ends."""
    try:
        _, changes = await facts_refresh.refresh_changed(store, factories, sources(connectors))
        return changes
    except Exception:
        log.exception("warning facts: the refresh after an import failed; run `hub facts refresh`")
        return None
    finally:
        if closing:
            await _close(store, connectors)


async def _close(store: FactsStore, connectors: Sequence[Connector]) -> None:
    await store.database.dispose()
    for connector in connectors:
        await connector.dispose()


def refresh_now(
    store: FactsStore,
    connectors: Sequence[Connector],
    *,
    months: Sequence[date] | None = None,
    projects: Sequence[str] | None = None,
    full: bool = False,
) -> list[LevelChange]:
    """A refresh from a process with no running loop (the command line); closes what it
    opened before the loop ends. Without `months` or `projects`: what changed since the
    last refresh (everything: `full`), in every kept month."""

    async def run() -> list[LevelChange]:
        try:
            factories = wiring.loader_factories(connectors)
            if months is None and projects is None:
                _, changes = await facts_refresh.refresh_changed(
                    store, factories, sources(connectors), full=full
                )
                return changes
            return await facts_refresh.refresh(store, factories, months=months, projects=projects)
        finally:
            await _close(store, connectors)

    return asyncio.run(run())


def _refresh_command(settings: HubSettings, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    months = [scalars.parse_year_month(m) for m in args.months.split(",")] if args.months else None
    changes = refresh_now(
        wiring.build_facts_store(settings),
        wiring.build_connectors(settings),
        months=months,
        projects=args.project or None,
        full=args.full,
    )
    print(
        f"warning facts refreshed in {time.perf_counter() - started:.1f} s: "
        f"{len(changes)} levels changed"
    )
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    facts = commands.add_parser("facts", help="the dashboard's warning facts")
    actions = facts.add_subparsers(dest="action", required=True)
    again = actions.add_parser(
        "refresh",
        help="bring the warning levels up to date: the projects and months whose rows "
        "changed since the last refresh, in the covered months and the latest "
        "HUB_FACTS_MONTHS; seeding and imports do this themselves",
    )
    again.add_argument(
        "--full", action="store_true", help="recompute every project in every kept month"
    )
    again.add_argument("--months", help="only these months, comma-separated (2026-10,2026-11)")
    again.add_argument(
        "--project", action="append", help="only this project (repeatable); months stay uncovered"
    )
    again.set_defaults(run=_refresh_command)
