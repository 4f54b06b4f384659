"""The hub's OpenTelemetry tracer. Spans cost next to nothing until `hub.telemetry`
installs a provider (only when an OTLP endpoint is configured).

A span's attributes name what the hub defines — a route, a root field, a client id, an
agency, a wave's number, an outcome — never a value a caller sent.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import AbstractContextManager
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.environment_variables import OTEL_PYTHON_TRACER_PROVIDER

_GLOBAL_KNOWN: Final = hasattr(trace, "_TRACER_PROVIDER")
"""The API keeps the installed provider there (None until one is)."""


class HubTracer:
    """The API's tracer, except that with no provider installed `start_as_current_span`
    makes nothing current and yields the invalid span (attributes set on it go nowhere, as
    on any span of an untraced process): the API's no-op tracer would make the current
    span current again (attach, detach, a context manager and a generator a span, a dozen
    spans a request), which changes nothing. Once a provider is installed (it is once per
    process), every call goes to the API's tracer. `start_span` always does: the edge's
    span carries a caller's incoming trace context on to the agencies even untraced."""

    def __init__(self, name: str) -> None:
        self._tracer = trace.get_tracer(name)
        self._installed = False
        self._from_environment = OTEL_PYTHON_TRACER_PROVIDER in os.environ

    def installed(self) -> bool:
        if not self._installed:
            if _GLOBAL_KNOWN and trace._TRACER_PROVIDER is None and not self._from_environment:
                # none installed: `get_tracer_provider` would look its environment
                # variable up in os.environ on every call (a dozen spans a request)
                return False
            provider = trace.get_tracer_provider()
            self._installed = not isinstance(provider, trace.ProxyTracerProvider)
        return self._installed

    def start_as_current_span(
        self, name: str, **options: Any
    ) -> AbstractContextManager[trace.Span]:
        if self.installed():
            return self._tracer.start_as_current_span(name, **options)
        return _UNTRACED

    def start_span(self, name: str, **options: Any) -> trace.Span:
        return self._tracer.start_span(name, **options)


_UNTRACED: Final = contextlib.nullcontext(trace.INVALID_SPAN)
"""What an untraced process's spans are: nothing to record, nothing made current."""


tracer: Final = HubTracer("wage-hub")
