"""Traces leave a real `hub serve` by OTLP over HTTP when HUB_OTEL_ENDPOINT is set: a
receiver on this machine gets the request's spans, named as the hub names them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conftest import _free_port, serving

HUB = [sys.executable, "-m", "hub.cli"]


def test_spans_are_exported_by_otlp_http(data_dir: Path) -> None:
    """`data_dir`: as `hub migrate` leaves one (a copy of the one migrated once)."""
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        received.append(message)
        return Response(b"", media_type="application/x-protobuf")

    receiver = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "OTEL_"))}
    env |= {"HUB_DATA_DIR": str(data_dir), "AUTHLIB_INSECURE_TRANSPORT": "1"}
    with serving(receiver) as collector:
        env["HUB_OTEL_ENDPOINT"] = collector
        port = _free_port()
        process = subprocess.Popen(
            [*HUB, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "hub serve did not start"
                time.sleep(0.2)
            answer = httpx.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}
            )
            assert answer.status_code == 401
        finally:
            process.send_signal(signal.SIGINT)  # the spans still queued are sent on the way out
            process.wait(timeout=30)
    spans = [
        span
        for message in received
        for resource in message.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    names = {span.name for span in spans}
    assert {"GET /healthz", "POST /graphql"} <= names, names
    services = {
        attribute.value.string_value
        for message in received
        for resource in message.resource_spans
        for attribute in resource.resource.attributes
        if attribute.key == "service.name"
    }
    assert services == {"wage-hub"}
