"""The floor served over HTTP: the same hand-written SQL behind one Starlette endpoint,
run by uvicorn in its own process exactly as `hub serve` is. A hub is reached over HTTP, so
this is the floor it can actually be held to; hub ÷ this floor is the cost of the hub's
own layers (auth, limits, GraphQL, scope checks, masking, the audit record), with the
transport on both sides.

`python -m bench.floor_server --backend sqlite --scale small --port 9000`
POST /floor {"workload": "dossier", "variables": {...}} → {"data": <the hub's data>}
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.dataset import Dataset
from bench.floor import Floor
from bench.workloads import FLOOR_ANSWERS


def create_app(dataset: Dataset) -> Starlette:
    floor = Floor(dataset)

    async def answer(request: Request) -> JSONResponse:
        body = await request.json()
        data = await FLOOR_ANSWERS[body["workload"]](floor, body["variables"])
        return JSONResponse({"data": data})

    async def release(request: Request) -> JSONResponse:
        """Closes every connection (reopened on the next request): PostgreSQL's
        connection slots are shared with the hub, which must not find them held."""
        await floor.close()
        return JSONResponse({"released": True})

    async def ready(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await floor.close()

    return Starlette(
        routes=[
            Route("/floor", answer, methods=["POST"]),
            Route("/floor/release", release, methods=["POST"]),
            Route("/readyz", ready),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_server", description=__doc__)
    parser.add_argument("--backend", required=True, choices=["sqlite", "postgres"])
    parser.add_argument("--scale", required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    dataset = Dataset.at(args.root, args.backend, args.scale, args.seed)
    # log_level as `hub serve` has it: both write an access log line per request
    uvicorn.run(create_app(dataset), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
