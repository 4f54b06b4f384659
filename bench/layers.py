"""`python -m bench.layers --backend sqlite`: where a request's CPU goes, layer by layer.

The served app (`hub.app.create_app`, production settings, the bench's data set) answers
each workload's requests one at a time over ASGI, in this process; each layer a request
passes (the edge, the audit middleware, the source guard, the caller, the rate limit,
the request limits, the GraphQL view, strawberry's schema, graphql-core's execution) is
timed by the CPU time of the event loop's thread while it runs, and a layer's own share
is that minus the next layer's. With one request at a time nothing else runs in that
thread meanwhile, so the shares add up to the request (tasks a layer starts, the
loaders' waves and fields, count in the layer that awaits them). The other threads'
CPU (SQLite's readers, the audit writer) is the process's CPU minus that thread's.

A profile samples; this counts, so a change of a few per cent in one layer shows on a
loaded shared machine where hub ÷ floor over HTTP cannot (its rounds vary by tens of
per cent). Written to `bench/results/layers-<backend>-<scale>.{json,md}`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import strawberry.schema.schema as strawberry_schema
import uvloop

from audit.middleware import AuditMiddleware
from auth.middleware import CallerMiddleware
from bench.__main__ import DATA_ROOT
from bench.dataset import BENCH_CLIENT, BENCH_PURPOSE, Dataset, prepare
from bench.floor import Floor
from bench.report import machine, write_result
from bench.server import RATE_LIMITS
from bench.workloads import Call, sample_calls
from graph.schema import HubSchema
from hub.app import HubGraphQL, create_app
from hub.edge import Edge
from hub.limits.rates import RateLimitMiddleware
from hub.limits.requests import RequestLimitsMiddleware
from hub.limits.sources import SourceGuard

WORKLOADS = ("worker", "dossier", "project", "dashboard")
LAYERS: tuple[tuple[type, str, str], ...] = (
    (Edge, "__call__", "edge: request id, span, access log, metrics"),
    (AuditMiddleware, "__call__", "audit middleware: the record, its commit awaited"),
    (SourceGuard, "__call__", "source guard"),
    (CallerMiddleware, "__call__", "caller: token, purpose"),
    (RateLimitMiddleware, "__call__", "rate limit"),
    (RequestLimitsMiddleware, "__call__", "request limits: body, trusted documents"),
    (HubGraphQL, "__call__", "GraphQL view: body, context, JSON answer"),
    (HubSchema, "execute", "strawberry: extensions, parse and validation caches"),
)
EXECUTION = "graphql-core execution: fields, loaders, waves"
Timed = defaultdict[str, float]


def _timed(function: Callable[..., Awaitable[Any]], label: str, spent: Timed) -> Any:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return await function(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - started

    return timed


def _instrument(spent: Timed) -> None:
    """Each layer's entry point timed; graphql-core's execute as strawberry calls it."""
    for cls, method, label in LAYERS:
        setattr(cls, method, _timed(getattr(cls, method), label, spent))
    execute = strawberry_schema.execute

    def timed_execute(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        result = execute(*args, **kwargs)
        spent[EXECUTION] += time.thread_time() - started
        if not hasattr(result, "__await__"):
            return result
        return _timed(lambda: result, EXECUTION, spent)()

    strawberry_schema.execute = timed_execute


async def _measure(dataset: Dataset, secret: str, requests: int) -> dict[str, Any]:
    floor = Floor(dataset)
    await floor.open()
    try:
        calls = await sample_calls(floor, dataset.seed)
    finally:
        await floor.close()
    spent: Timed = defaultdict(float)
    _instrument(spent)
    app = create_app()  # its settings from the environment `main` set
    measured: dict[str, Any] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 5000)),
            base_url="http://127.0.0.1:1",
        ) as client,
    ):
        form = {"grant_type": "client_credentials"}
        answer = await client.post("/oauth/token", data=form, auth=(BENCH_CLIENT, secret))
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        headers["X-Purpose"] = BENCH_PURPOSE

        async def ask(call: Call) -> None:
            body = {"query": call.document, "variables": call.variables}
            response = await client.post("/graphql", json=body, headers=headers)
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(f"{call.workload} {call.variables}: {response.text}")

        for name in WORKLOADS:
            sampled = calls[name]
            for call in sampled[:50]:  # warm: caches, loaders' plans
                await ask(call)
            spent.clear()
            thread, process = time.thread_time(), time.process_time()
            for index in range(requests):
                await ask(sampled[index % len(sampled)])
            thread, process = time.thread_time() - thread, time.process_time() - process
            labels = [label for _, _, label in LAYERS] + [EXECUTION]
            inner = [*labels[1:], None]
            per_request = {
                label: 1000 * (spent[label] - (spent[below] if below else 0)) / requests
                for label, below in zip(labels, inner, strict=True)
            }
            measured[name] = {
                "loop_thread_ms": 1000 * thread / requests,
                "process_ms": 1000 * process / requests,
                "client_ms": 1000 * (thread - spent[labels[0]]) / requests,
                "layers_ms": per_request,
            }
    return measured


def markdown(result: dict[str, Any]) -> str:
    box = result["machine"]
    workloads = result["workloads"]
    lines = [
        f"### CPU per request by layer, {result['backend']}, scale `{result['scale']}`",
        "",
        f"Machine: {box['nproc']} cores ({box['cpu']}), {box['ram_gib']} GiB RAM, Python"
        f" {box['python']}; measured {result['measured_at']}, load"
        f" {result['load'][0]:.1f} → {result['load'][1]:.1f}. One process, the hub app over"
        f" ASGI, {result['requests']} requests a workload one at a time; ms of CPU per"
        " request (`python -m bench.layers`).",
        "",
        "| layer (its own share) | " + " | ".join(workloads) + " |",
        "|---|" + "---:|" * len(workloads),
    ]
    first = next(iter(workloads.values()))
    for label in first["layers_ms"]:
        cells = " | ".join(f"{w['layers_ms'][label]:.3f}" for w in workloads.values())
        lines.append(f"| {label} | {cells} |")
    rows = (
        ("the event loop's thread, whole request", "loop_thread_ms"),
        ("… of which the bench's own HTTP client (not in a served hub)", "client_ms"),
        ("other threads (the audit writer; SQLite's readers)", None),
        ("the process", "process_ms"),
    )
    for title, key in rows:
        values = (
            w[key] if key else w["process_ms"] - w["loop_thread_ms"] for w in workloads.values()
        )
        lines.append(f"| {title} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    return "\n".join([*lines, ""])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.layers", description=__doc__)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=400, help="requests a workload")
    args = parser.parse_args()
    dataset = Dataset.at(DATA_ROOT, args.backend, args.scale, args.seed)
    manifest = prepare(dataset)
    os.environ.update(
        {
            **dataset.environment(),
            "HUB_ENV": "production",
            "HUB_ISSUER": "https://127.0.0.1:1",
            "HUB_TOKEN_TTL_SECONDS": "86400",
            "HUB_RATE_LIMITS": json.dumps(RATE_LIMITS),
        }
    )
    load = os.getloadavg()[0]
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # as uvicorn runs it
        measured = runner.run(_measure(dataset, manifest["secret"], args.requests))
    result = {
        "backend": args.backend,
        "scale": args.scale,
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load": [load, os.getloadavg()[0]],
        "requests": args.requests,
        "workloads": measured,
    }
    write_result(f"layers-{args.backend}-{args.scale}", result, markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
