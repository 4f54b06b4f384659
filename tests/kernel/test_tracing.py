"""Spans in a process with no tracer provider make nothing current and cost little; once a
provider is installed, every span is the SDK's (`tests/hub/test_telemetry.py` checks what
the hub records then)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from kernel.tracing import tracer

outer = trace.get_current_span()
with tracer.start_as_current_span("untraced", attributes={"hub.agency": "bank"}) as span:
    span.set_attributes({"hub.outcome": "ok"})
    assert not span.is_recording()
    assert trace.get_current_span() is outer  # nothing made current
assert not tracer.installed()

trace.set_tracer_provider(TracerProvider())
assert tracer.installed()
with tracer.start_as_current_span("traced") as span:
    assert span.is_recording()
    assert trace.get_current_span() is span
assert trace.get_current_span() is outer
print("ok")
"""


def test_untraced_spans_change_nothing_and_a_provider_turns_them_on() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
