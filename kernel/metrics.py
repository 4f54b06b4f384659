"""The hub's Prometheus metrics, declared once where every layer can count into them
(prometheus-client; `GET /metrics` serves them, `hub.telemetry`).

Labels name only what the hub itself defines — a route as written, a root field of the
graph, a registered client id, an agency, an error code, an import table — never what a
caller sent: no ID number, card number, case number, query string or header value can
become a label.

With several worker processes (`hub serve --workers N`), `PROMETHEUS_MULTIPROC_DIR` is
set before they start and each writes its values there; gauges then add up over the live
processes (`livesum`) or take the largest (`max`).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS: Final = Counter(
    "hub_http_requests",
    "HTTP requests answered, by route (as written), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION: Final = Histogram(
    "hub_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
OPERATIONS: Final = Counter(
    "hub_graphql_operations",
    "GraphQL operations, by root fields asked, client and outcome (ok or the first error code).",
    ["operation", "client", "outcome"],
)
OPERATION_DURATION: Final = Histogram(
    "hub_graphql_operation_duration_seconds",
    "Time from parsing to the result of one operation, by root fields asked and client.",
    ["operation", "client"],
    buckets=LATENCY_BUCKETS,
)
CONNECTOR_CALLS: Final = Counter(
    "hub_connector_calls",
    "Calls to an agency's records (its database, or its service), by agency, transport "
    "and outcome (ok, unavailable, timeout, error).",
    ["agency", "transport", "outcome"],
)
CONNECTOR_RETRIES: Final = Counter(
    "hub_connector_retries",
    "Retries of a call to a remote agency after a transient failure.",
    ["agency"],
)
CONNECTOR_DURATION: Final = Histogram(
    "hub_connector_call_duration_seconds",
    "Time of one call to an agency's records, retries included.",
    ["agency", "transport"],
    buckets=LATENCY_BUCKETS,
)
BREAKER_STATE: Final = Gauge(
    "hub_connector_breaker_state",
    "A remote agency's circuit: 0 closed, 1 half-open, 2 open (the largest over processes).",
    ["agency"],
    multiprocess_mode="max",
)
AUDIT_QUEUE: Final = Gauge(
    "hub_audit_queue_depth",
    "Audit records waiting for the writer (summed over live processes).",
    multiprocess_mode="livesum",
)
AUDIT_COMMIT: Final = Histogram(
    "hub_audit_commit_duration_seconds",
    "Time of one audit writer transaction (a batch of records).",
    buckets=LATENCY_BUCKETS,
)
AUDIT_RECORDS: Final = Counter("hub_audit_records", "Audit records committed.")
LIMIT_REFUSALS: Final = Counter(
    "hub_limit_refusals",
    "Requests or operations refused by a limit, by code (RATE_LIMITED is a rate limit's "
    "429; QUERY_TOO_COSTLY, REQUEST_TIMEOUT, ...).",
    ["code"],
)
WEBHOOK_DELIVERIES: Final = Counter(
    "hub_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, refused, unreachable, withheld, "
    "error); never by receiver.",
    ["outcome"],
)
WEBHOOK_DURATION: Final = Histogram(
    "hub_webhook_delivery_duration_seconds",
    "Time of one delivery attempt, the receiver's answer included.",
    buckets=LATENCY_BUCKETS,
)
IMPORTS: Final = Counter(
    "hub_imports",
    "Imports of an agency's table, by agency, table, channel (cli, http) and outcome.",
    ["agency", "table", "channel", "outcome"],
)
IMPORT_ROWS: Final = Counter(
    "hub_import_rows",
    "Rows read by imports, by agency and table.",
    ["agency", "table"],
)
IMPORT_DURATION: Final = Histogram(
    "hub_import_duration_seconds",
    "Time of one import, by agency and table.",
    ["agency", "table"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0),
)
