"""The `hub` command: serve, migrate, seed."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import date

import uvicorn

from hub import migrate, seeding
from hub.settings import HubSettings
from hub.wiring import build_connectors


def _serve(settings: HubSettings, args: argparse.Namespace) -> int:
    uvicorn.run(
        "hub.app:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


def _migrate(settings: HubSettings, args: argparse.Namespace) -> int:
    connectors = build_connectors(settings)
    if args.new:
        migrate.new_revision(connectors, args.new)
    else:
        migrate.upgrade(connectors)
        for connector in connectors:
            print(
                f"{connector.name:16} {connector.database.url.render_as_string(hide_password=True)}"
            )
    return 0


def _seed(settings: HubSettings, args: argparse.Namespace) -> int:
    connectors = build_connectors(settings)
    if args.if_empty and seeding.is_seeded(connectors):
        print("already seeded; leaving the data as it is")
        return 0
    report = seeding.seed(
        connectors, args.scale, args.seed, through_month=date.fromisoformat(f"{args.through}-01")
    )
    print(report)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hub", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve GraphQL (and GraphiQL) over HTTP")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    migration = commands.add_parser("migrate", help="apply migrations to every agency database")
    migration.add_argument("--new", metavar="MESSAGE", help="autogenerate a new revision instead")
    migration.set_defaults(run=_migrate)

    seed = commands.add_parser("seed", help="load deterministic synthetic data")
    seed.add_argument("--scale", choices=["demo", "small", "medium", "large"], default="demo")
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--through", default="2026-10", help="last month with attendance (YYYY-MM)")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if data is present")
    seed.set_defaults(run=_seed)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return int(args.run(HubSettings(), args))


if __name__ == "__main__":
    sys.exit(main())
