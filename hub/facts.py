"""Keeping the warning facts (`graph.facts`) current: after `hub seed`, after every applied
import (command line and HTTP), and on demand with `hub facts refresh`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import date

from connectors.base import Connector
from graph.facts.refresh import (
    LevelChange,
    LoaderFactories,
    latest_months,
    refresh,
)
from graph.facts.store import FactsStore
from hub.settings import HubSettings
from hub.wiring import build_connectors, build_facts_store, loader_factories
from kernel.scalars import parse_year_month

log = logging.getLogger(__name__)


async def refresh_after_import(
    store: FactsStore, factories: LoaderFactories, closing: Sequence[Connector] = ()
) -> list[LevelChange] | None:
    """Every covered month and the latest ones, after an import that changed rows; a
    failure is logged, not raised: the import has committed, and the months keep their
    earlier facts until the next refresh. `closing`: on a loop of its own (the command
    line), the connectors to close, with the store, before that loop ends."""
    try:
        return await refresh(store, factories, months=await _months(store, factories))
    except Exception:
        log.exception("warning facts: the refresh after an import failed; run `hub facts refresh`")
        return None
    finally:
        if closing:
            await _close(store, closing)


async def _close(store: FactsStore, connectors: Sequence[Connector]) -> None:
    await store.database.dispose()
    for connector in connectors:
        await connector.dispose()


async def _months(store: FactsStore, factories: LoaderFactories) -> list[date] | None:
    """The months already covered (kept current) and the latest window."""
    covered = await store.months()
    if not covered:
        return None
    latest = await latest_months(factories, store.window)
    return sorted({*covered, *latest})


def refresh_now(
    store: FactsStore,
    connectors: Sequence[Connector],
    *,
    months: Sequence[date] | None = None,
    projects: Sequence[str] | None = None,
) -> list[LevelChange]:
    """A refresh from a process with no running loop (the command line); closes what it
    opened before the loop ends."""

    async def run() -> list[LevelChange]:
        try:
            factories = loader_factories(connectors)
            chosen = months if months is not None else await _months(store, factories)
            return await refresh(store, factories, months=chosen, projects=projects)
        finally:
            await _close(store, connectors)

    return asyncio.run(run())


def _refresh_command(settings: HubSettings, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    months = [parse_year_month(m) for m in args.months.split(",")] if args.months else None
    changes = refresh_now(
        build_facts_store(settings),
        build_connectors(settings),
        months=months,
        projects=args.project or None,
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
        help="recompute every project's warning level (the covered months and the latest "
        "HUB_FACTS_MONTHS); seeding and imports do this themselves",
    )
    again.add_argument("--months", help="only these months, comma-separated (2026-10,2026-11)")
    again.add_argument(
        "--project", action="append", help="only this project (repeatable); months stay uncovered"
    )
    again.set_defaults(run=_refresh_command)
