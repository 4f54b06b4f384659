"""Which codes mean a limit refused, and `record`, through which every refusal passes
(the codes themselves are in `kernel/errors.py`).

Refusals come from two layers: the HTTP middleware (`requests.py`, `rates.py`) refuses
before GraphQL parses anything; the schema (parse options, validation rules, the
timeout) refuses before any resolver runs. Both call `record`, which logs the refusal;
the audit log records each refused request on its own, with the code the response
carries (`audit/middleware.py`).
"""

from __future__ import annotations

import logging
from typing import Final

from graphql import GraphQLError, Node

from kernel.errors import (
    INTROSPECTION_DISABLED,
    PERSISTED_QUERY_HASH_MISMATCH,
    PERSISTED_QUERY_NOT_FOUND,
    REQUEST_TIMEOUT,
    SIZE_LIMIT_CODES,
    TRUSTED_DOCUMENT_REQUIRED,
)
from kernel.metrics import LIMIT_REFUSALS

LIMIT_CODES: Final = SIZE_LIMIT_CODES | {
    REQUEST_TIMEOUT,
    INTROSPECTION_DISABLED,
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_HASH_MISMATCH,
    TRUSTED_DOCUMENT_REQUIRED,
}
"""GraphQL error codes that mean "refused by a limit" (HTTP refusals use their own
`error` strings, e.g. `request_too_large`, `rate_limited`)."""

log = logging.getLogger("hub.refusals")


def limit_error(
    code: str, limit: object, message: str, nodes: Node | list[Node] | None = None
) -> GraphQLError:
    """A GraphQL error naming the limit and its value, as clients match on them."""
    return GraphQLError(message, nodes, extensions={"code": code, "limit": limit})


def record(code: str, limit: object, client_id: str | None) -> None:
    """Every refusal ends here. Logged at INFO: a refusal is expected behaviour, not a
    fault of the hub."""
    log.info("refused %s (limit %s) for client %s", code, limit, client_id or "-")
    LIMIT_REFUSALS.labels(code).inc()
