"""GraphQL over HTTP (the GraphQL Foundation's specification): which media type a response
is written in, and its status code.

    Accept names application/graphql-response+json first (by q-value, then order)
        → that media type; a request that GraphQL refuses before executing it (the
          document does not parse, does not validate, a variable cannot be coerced, a
          limit refuses it) is 400 and has no `data` entry; one that executed is 200,
          its `data` there (null if a non-null root failed), field errors beside it
    Accept names application/json, */* or application/*, or is absent
        → application/json as before, 200 for every GraphQL response (older clients)
    Accept names only other types (a POST)
        → 406, naming the two it can have
    both media types are written in UTF-8 and say so (charset=utf-8)

A request that is not a well-formed GraphQL-over-HTTP request — a body that is not JSON,
`query`, `variables`, `extensions` or `operationName` of the wrong type, no body — is a
400 JSON refusal whatever the Accept header (the spec's "4xx" for it), as every layer in
front of GraphQL answers (401, 403, 413, 415, 429).

GET: refused with 405 (`Allow: POST`) for operations, deliberately. The spec lets a server
accept queries over GET, for HTTP caching; here every answer depends on the caller's
token, purpose and row limits and is `no-store`, so no cache could keep one, and a GET's
variables would put ID numbers and case numbers into URLs, which proxies and browsers
log. Trusted documents are sent by their hash in a POST instead (`extensions`).
"""

from __future__ import annotations

import json
from typing import Final

from graphql import GraphQLError
from starlette.responses import Response

from kernel import errors

GRAPHQL_RESPONSE: Final = "application/graphql-response+json"
JSON: Final = "application/json"
_EXECUTED_CODES: Final = frozenset(
    {
        errors.REQUEST_TIMEOUT,
        errors.INTERNAL_SERVER_ERROR,
        errors.CONNECTOR_UNAVAILABLE,
        errors.CONNECTOR_TIMEOUT,
    }
)
"""Errors without a path that come from executing, not from refusing the request."""


def _ranges(accept: str) -> list[tuple[str, float, int]]:
    found = []
    for position, part in enumerate(accept.split(",")):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            found.append((media.lower(), quality, position))
    return found


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in; None when the client accepts neither."""
    if accept is None or not accept.strip():
        return JSON  # the spec: treat a missing Accept as application/json
    candidates = [
        (quality, -position, GRAPHQL_RESPONSE if media == GRAPHQL_RESPONSE else JSON)
        for media, quality, position in _ranges(accept)
        if quality > 0 and media in (GRAPHQL_RESPONSE, JSON, "*/*", "application/*")
    ]
    # higher q first, then the earlier in the header (positions differ: no tie is left)
    return max(candidates)[2] if candidates else None


def refused_before_execution(data: object, found: list[GraphQLError]) -> bool:
    """Parse, validation, variable coercion or a limit refused the request: no data, and
    errors at no path."""
    if data is not None or not found:
        return False
    return all(
        error.path is None and errors.error_code(error) not in _EXECUTED_CODES for error in found
    )


def as_graphql_response(response: Response, refused: bool) -> Response:
    """strawberry's application/json answer as application/graphql-response+json."""
    status = response.status_code
    body = bytes(response.body)
    if refused and status == 200:
        content = json.loads(body)
        content.pop("data", None)
        body = json.dumps(content, ensure_ascii=False).encode()
        status = 400
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() not in ("content-length", "content-type")
    }
    return Response(
        body,
        status_code=status,
        headers=headers,
        media_type=f"{GRAPHQL_RESPONSE}; charset=utf-8",
    )
