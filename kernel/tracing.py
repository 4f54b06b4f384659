"""The hub's OpenTelemetry tracer. Spans cost next to nothing until `hub.telemetry`
installs a provider (only when an OTLP endpoint is configured).

A span's attributes name what the hub defines — a route, a root field, a client id, an
agency, a wave's number, an outcome — never a value a caller sent.
"""

from __future__ import annotations

from typing import Final

from opentelemetry import trace

tracer: Final = trace.get_tracer("wage-hub")
