"""What a running hub tells its operators (`hub.telemetry`): /metrics for `metrics:read`
only, counting the six questions; spans from the request through the limits, parsing,
validation, execution, each wave and each agency's load, to the audit commit, joined to a
caller's traceparent and passed on to a remote agency; JSON log lines with the request
id — and no ID number, card number, case number, query string or header value in any log
line, metric label or span attribute."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import io
import json
import logging
import logging.config
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import strawberry
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from strawberry.extensions import ParserCache

from auth.store import Grant
from conftest import SEED, RunningHub
from connectors.credentials import ClientCredentials
from connectors.remote import RemoteTransport
from connectors.resilience import RemotePolicy
from hub import telemetry
from hub.limits import Limits
from hub.serving import server_config
from kernel.scopes import CONNECTOR_LOAD, METRICS_READ
from kernel.tracing import tracer
from questions import ACCESS_REPORT, five_questions
from synthetic.stories import stories

OPERATOR = "ops-monitor"
ID_NUMBER = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}[01]\d[0-3]\d{3}[\dX](?!\d)")
LONG_NUMBER = re.compile(r"(?<![\d.])\d{16,19}(?![\d.])")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
REFERENCE = "（2026）豫0183民初1024号 张建国"


class _Switch(Sampler):
    """Samples while this module's tests run, and drops every span of the other tests the
    same process runs afterwards (the provider cannot be taken back)."""

    on = False

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        decision = Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP
        return SamplingResult(decision, attributes if self.on else None)

    def get_description(self) -> str:
        return "switch"


_exporter = InMemorySpanExporter()
_switch = _Switch()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans of this process go here (the provider is installed once per process)."""
    provider = telemetry.start_tracing(None, "wage-hub-test", exporter=_exporter, sampler=_switch)
    assert provider is not None
    _switch.on = True
    yield _exporter
    _switch.on = False
    telemetry.flush_traces()
    _exporter.clear()


def _operator(hub: RunningHub) -> str:
    if hub.auth.get_client(OPERATOR) is None:
        hub.secrets[OPERATOR] = hub.auth.add_client(
            OPERATOR, Grant(agency="hub", scopes=(METRICS_READ,), purposes=("operations",))
        )
    return hub.token(OPERATOR)


def _metrics(hub: RunningHub) -> str:
    response = httpx.get(
        f"{hub.url}/metrics", headers={"Authorization": f"Bearer {_operator(hub)}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def _samples(text: str) -> list[Sample]:
    """Every sample of an exposition, parsed once (parsing it again for each metric asked
    about was most of a count's CPU)."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def _sample(samples: list[Sample], name: str, **labels: str) -> float:
    total = 0.0
    for sample in samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
            total += sample.value
    return total


def test_metrics_need_the_metrics_scope(hub: RunningHub) -> None:
    assert httpx.get(f"{hub.url}/metrics").status_code == 401
    police = hub.token("police-xinmi")
    refused = httpx.get(f"{hub.url}/metrics", headers={"Authorization": f"Bearer {police}"})
    assert refused.status_code == 403
    assert 'scope="metrics:read"' in refused.headers["www-authenticate"]
    assert "hub_http_requests_total" in _metrics(hub)


def _ask_six(hub: RunningHub, client: httpx.Client) -> list[dict[str, Any]]:
    story = stories(SEED)
    answers = []
    for document, variables in five_questions(story).values():
        response = client.post("/graphql", json={"query": document, "variables": variables})
        assert response.status_code == 200, response.text
        answers.append(response.json())
    worker = story.dispute_worker_id
    response = client.post("/graphql", json={"query": ACCESS_REPORT, "variables": {"id": worker}})
    answers.append(response.json())
    return answers


def test_metrics_count_operations_connectors_and_the_audit_log(hub: RunningHub) -> None:
    earlier = _samples(_metrics(hub))
    _ask_six(hub, hub.client)

    def grew(name: str, **labels: str) -> float:
        return _sample(later, name, **labels) - _sample(earlier, name, **labels)

    deadline = time.monotonic() + 30  # a request is counted once its answer has left
    while True:
        after = _metrics(hub)
        later = _samples(after)
        if grew("hub_http_requests_total", route="/graphql", method="POST") >= 6:
            break
        assert time.monotonic() < deadline, "the six answers were never counted"
        time.sleep(0.05)

    client = "test-all-access"
    assert (
        grew("hub_graphql_operations_total", operation="disputeCase", client=client, outcome="ok")
        == 1
    )
    assert (
        grew("hub_graphql_operations_total", operation="project", client=client, outcome="ok") == 2
    )
    assert (
        grew(
            "hub_graphql_operations_total",
            operation="projectWarnings,warningSummary",
            client=client,
        )
        == 1
    )
    assert (
        grew(
            "hub_graphql_operation_duration_seconds_count", operation="accessReport", client=client
        )
        == 1
    )
    assert grew("hub_http_requests_total", route="/graphql", method="POST", status="200") == 6
    for agency in ("court", "housing", "hr", "bank", "public_security"):
        assert (
            grew("hub_connector_calls_total", agency=agency, transport="local", outcome="ok") >= 1
        ), agency
    assert grew("hub_audit_records_total") >= 6
    assert grew("hub_audit_commit_duration_seconds_count") >= 1
    assert "hub_audit_queue_depth" in after
    assert "hub_limit_refusals_total" in after or "hub_limit_refusals" in after


def _finished(
    spans: InMemorySpanExporter, mine: Callable[[ReadableSpan], bool], last: str
) -> list[ReadableSpan]:
    """The spans `mine` selects, once the one ending last (the server span ends after
    the answer has left) is among them."""
    deadline = time.monotonic() + 5
    while True:
        telemetry.flush_traces()
        found = [span for span in spans.get_finished_spans() if mine(span)]
        if any(span.name == last for span in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _span_text(span: ReadableSpan) -> str:
    return json.dumps(
        {
            "name": span.name,
            "attributes": dict(span.attributes or {}),
            "events": [(e.name, dict(e.attributes or {})) for e in span.events],
            "status": span.status.description,
        },
        ensure_ascii=False,
    )


def test_the_six_questions_leave_no_personal_data_in_logs_metrics_or_spans(
    hub: RunningHub, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spans.clear()
    token = hub.token("test-all-access")
    secret_values = [token, REFERENCE, hub.secrets["test-all-access"]]
    with httpx.Client(
        base_url=hub.url,
        timeout=30,
        headers={
            "Authorization": f"Bearer {token}",
            "X-Purpose": "testing",
            "X-Purpose-Reference": "UTF-8''" + quote(REFERENCE),
        },
    ) as client:
        answers = _ask_six(hub, client)
        story = stories(SEED)
        # a query string and paths that carry the caller's text
        client.post(
            f"/graphql?idNumber={story.dispute_worker_id}", json={"query": "{ __typename }"}
        )
        client.get(f"/desk/workers/{story.dispute_worker_id}")
        client.get(f"/no-such-path/{story.dispute_worker_id}")
    metrics = _metrics(hub)
    time.sleep(0.5)  # the last requests' server spans and access lines end after the answer
    telemetry.flush_traces()
    exported = [_span_text(span) for span in spans.get_finished_spans()]
    assert exported, "no spans were exported"

    answered = json.dumps(answers, ensure_ascii=False)
    personal = set(ID_NUMBER.findall(answered)) | set(LONG_NUMBER.findall(answered))
    personal |= {story.dispute_case_number, story.dispute_worker_id}
    assert len(personal) > 5
    formatter = telemetry.JsonFormatter()
    logs = [formatter.format(r) for r in caplog.records]
    logs += [f"{r.name} {r.getMessage()}" for r in caplog.records]
    assert any(r.name == "hub.access" for r in caplog.records)
    # A sample's value is a number the hub computed (a float's digits can look like an ID
    # number); names and labels are what could carry what a caller sent.
    labels = "\n".join(line.rsplit(" ", 1)[0] for line in metrics.splitlines())
    for where, texts in (("log", logs), ("metrics", [labels]), ("span", exported)):
        for text in texts:
            for value in personal | set(secret_values):
                assert value not in text, f"{where} holds {value!r}: {text[:300]}"
            assert not ID_NUMBER.search(text), f"{where}: {text[:300]}"
            assert "idNumber=" not in text, f"{where} holds a query string: {text[:300]}"


def test_a_request_is_one_trace_from_the_edge_to_the_audit_commit(
    hub: RunningHub, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    story = stories(SEED)
    document, variables = five_questions(story)["q1 dossier"]
    response = hub.client.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 200
    mine = _finished(spans, lambda s: f"{s.context.trace_id:032x}" == TRACE_ID, "POST /graphql")
    names = [span.name for span in mine]
    for expected in (
        "POST /graphql",
        "hub.limits",
        "graphql.operation",
        "graphql.parse",
        "graphql.validate",
        "graphql.execute",
        "hub.wave",
        "connector.load",
        "audit.commit",
    ):
        assert expected in names, (expected, names)
    agencies = {s.attributes.get("hub.agency") for s in mine if s.name == "connector.load"}
    assert {"court", "housing", "bank"} <= agencies
    waves = [s for s in mine if s.name == "hub.wave"]
    assert len(waves) >= 3  # the case, its parties, their records
    server = next(s for s in mine if s.name == "POST /graphql")
    assert server.attributes["http.response.status_code"] == 200
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"


def test_a_remote_agency_gets_the_traceparent(spans: InMemorySpanExporter) -> None:
    seen: list[httpx.Request] = []

    async def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 300})
        seen.append(request)
        return httpx.Response(200, json={"results": [[]]})

    async def run() -> str:
        http = httpx.AsyncClient(transport=httpx.MockTransport(service))
        tokens = ClientCredentials(http, "http://hub/oauth/token", "hub", "s", CONNECTOR_LOAD)
        transport = RemoteTransport(
            "housing", "http://housing/graphql", http, tokens, RemotePolicy()
        )
        try:
            with tracer.start_as_current_span("test.request") as span:
                await transport.call([{"loader": "worker", "keys": ["x"]}], None)
                return f"{span.get_span_context().trace_id:032x}"
        finally:
            await http.aclose()

    trace_id = asyncio.run(run())
    [load] = seen
    version, sent_trace, parent, flags = load.headers["traceparent"].split("-")
    assert (version, sent_trace) == ("00", trace_id)
    assert int(flags, 16) & 1  # sampled
    telemetry.flush_traces()
    call = next(s for s in spans.get_finished_spans() if s.name == "connector.call")
    assert f"{call.context.span_id:016x}" == parent  # the agency's spans join the call's
    assert call.attributes["hub.agency"] == "housing"
    assert call.attributes["hub.outcome"] == "ok"


def test_log_lines_are_json_with_the_request_id(
    hub: RunningHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.access")
    response = hub.client.post("/graphql", json={"query": "{ __typename }"})
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5  # the line is written once the answer has left
    while not (
        found := [
            r for r in caplog.records if r.name == "hub.access" and request_id in r.getMessage()
        ]
    ):
        assert time.monotonic() < deadline, "no access line"
        time.sleep(0.02)
    [record] = found
    line = json.loads(telemetry.JsonFormatter().format(record))
    assert line["logger"] == "hub.access"
    assert line["request_id"] == request_id
    assert line["message"].startswith("POST /graphql 200")
    assert line["time"].endswith("+00:00")


def test_the_log_configuration_writes_to_stderr_as_it_is_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn applies `log_config` once; when stderr is replaced later (a test's captured
    output, the command line run again in one process), lines follow it instead of
    writing to the closed stream."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    first, second = io.StringIO(), io.StringIO()
    try:
        monkeypatch.setattr(sys, "stderr", first)
        logging.config.dictConfig(telemetry.log_config(json_lines=True))
        first.close()
        monkeypatch.setattr(sys, "stderr", second)
        logging.getLogger("hub.access").info("GET /health 200")
    finally:
        handlers, level = saved
        root.handlers[:] = handlers
        root.setLevel(level)
    assert json.loads(second.getvalue())["message"] == "GET /health 200"


@strawberry.type
class _Query:
    ok: bool = True


class _Quiet(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Not logged: a log record would keep the error, and the suspended hook, alive."""


def test_a_malformed_document_ends_its_parse_span_without_a_detach_error(
    spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """ParserCache parses in its own hook, entered after this one's: a malformed document
    leaves the parse hook suspended, to be closed by the garbage collector elsewhere."""
    schema = _Quiet(_Query, extensions=[telemetry.OperationTelemetry, ParserCache])
    spans.clear()
    result = contextvars.copy_context().run(schema.execute_sync, "{ ok")
    assert result.errors
    del result  # its error's traceback holds the suspended hook
    gc.collect()
    telemetry.flush_traces()
    detach_errors = [r for r in caplog.records if r.name == "opentelemetry.context"]
    assert not detach_errors, detach_errors[0].getMessage()
    names = [s.name for s in spans.get_finished_spans()]
    assert "graphql.parse" in names
    assert "graphql.operation" in names


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _empty_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _one_request_served(access: logging.Handler) -> None:
    """The hub's server configuration on a free port, `access` given to `uvicorn.access`
    after it (as a later configuration in the process would), asked one request with a
    query string, then stopped."""
    server = uvicorn.Server(
        server_config(_empty_answer, Limits(), host="127.0.0.1", port=0, http="h11")
    )
    logging.getLogger("uvicorn.access").addHandler(access)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), task.exception()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient() as client:
        await client.get(f"http://127.0.0.1:{port}/?idNumber=1")
    server.should_exit = True
    await task


def test_uvicorn_s_own_access_line_stays_off_whatever_configures_logging() -> None:
    """uvicorn writes its access line (with the query string: the caller's text) whenever
    `uvicorn.access` has a handler, including when a later `dictConfig` in the process
    gives it one after the server started; the hub's configuration never does. Run in
    this process (a fresh interpreter spent 1.2 CPU s importing): the loggers it
    configures are put back as they were."""
    loggers = [
        logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    ]
    saved = [(lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]
    seen = _Seen()
    try:
        for json_lines in (True, False):
            logging.config.dictConfig(telemetry.log_config(json_lines=json_lines))
            assert not logging.getLogger("uvicorn.access").hasHandlers()
            assert logging.getLogger("uvicorn.error").hasHandlers()
        # and the hub's server writes none even when something else gives it a handler
        asyncio.run(_one_request_served(seen))
    finally:
        for lg, (handlers, level, propagate, disabled) in zip(loggers, saved, strict=True):
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate, lg.disabled = propagate, disabled
    assert seen.messages == [], seen.messages
