"""Operation limits, trusted documents and rate limits: what keeps hostile or heavy
requests from reaching the connectors.

    refusal.py        the limit codes, and `record`: the one place every refusal passes
    operation.py      depth, aliases, root fields, directives and cost (a validation rule)
    requests.py       the /graphql request body: size, content type, JSON, batches,
                      document size, variables, trusted documents (ASGI middleware)
    documents.py      trusted documents by SHA-256 (`hub documents add FILE`)
    rates.py          token buckets per client, in process or in Redis (ASGI middleware)
    introspection.py  introspection only with the `schema:introspect` scope (production)
    pipeline.py       the schema extensions, built once at start-up
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Every limit of one request (`HUB_LIMITS_*`): the request body's, checked by
    `requests.py`, the operation's, checked by `operation.py`, the time to answer, and
    the time a client may take to send its request (`hub/serving.py`, `auth/bodies.py`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    max_body_bytes: int = Field(
        default=262_144, ge=1_024, description="A larger /graphql request body is a 413."
    )
    max_document_bytes: int = Field(
        default=20_000, ge=100, description="DOCUMENT_TOO_LARGE above this many UTF-8 bytes."
    )
    max_tokens: int = Field(default=2_000, ge=10, description="TOO_MANY_TOKENS above this.")
    max_depth: int = Field(default=10, ge=1, description="QUERY_TOO_DEEP above this.")
    max_aliases: int = Field(default=15, ge=0, description="TOO_MANY_ALIASES above this.")
    max_root_fields: int = Field(default=10, ge=1, description="TOO_MANY_ROOT_FIELDS above.")
    max_directives: int = Field(default=10, ge=0, description="TOO_MANY_DIRECTIVES above.")
    max_cost: int = Field(default=200_000, ge=1, description="QUERY_TOO_COSTLY above this.")
    max_variable_depth: int = Field(default=8, ge=1, description="VARIABLES_TOO_DEEP above.")
    max_variable_values: int = Field(
        default=1_000, ge=1, description="VARIABLES_TOO_LARGE above this many JSON values."
    )
    batch_max: int = Field(
        default=0, ge=0, le=20, description="Operations in one JSON-array request; 0 refuses."
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="REQUEST_TIMEOUT after this long."
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A request's head (line and headers) must arrive within this long of "
        "the connection opening or the previous response: else 408 and the connection "
        "closes (`hub serve`, `hub connector serve`).",
    )
    body_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="A request's body must arrive within this long of its first read: "
        "else 408 request_timeout.",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle kept-alive connection closes after this long."
    )
    worker_start_seconds: float = Field(
        default=120.0,
        gt=0,
        description="`hub serve --workers N`: how long a new worker may take to import the "
        "hub and answer its first health check before it is restarted (uvicorn's own 5 s "
        "killed workers still importing on a loaded machine); the wait is logged.",
    )
