"""Errors the hub reports to callers, and the codes they can match on.

    HubError                      base; carries a stable `code`
    ├── BadUserInput              BAD_USER_INPUT: an argument is malformed (checksum,
    │   │                         format, page size over the maximum, bad cursor, a NUL
    │   │                         character, a month out of range)
    │   └── MalformedInput        a body or wire message the hub will not read (not UTF-8
    │                             JSON, a lone surrogate, NUL, nesting or a number past
    │                             its bounds): an HTTP 400 `invalid_request` / `invalid_json`
    ├── Forbidden                 FORBIDDEN: the caller's grant lacks a scope the field
    │                             needs (`extensions.missingScopes` names it)
    ├── ConnectorUnavailable      CONNECTOR_UNAVAILABLE: an agency's service is down,
    │                             refused the call, answered garbage, or its circuit is
    │                             open (`extensions.connector` names the agency)
    └── ConnectorTimeout          CONNECTOR_TIMEOUT: an agency's service did not answer
                                  within its deadline

GraphQL-level failures that never reach a resolver get codes too (see
`graph.schema.HubSchema.process_errors`): GRAPHQL_PARSE_FAILED,
GRAPHQL_VALIDATION_FAILED, and INTERNAL_SERVER_ERROR for anything unexpected, whose
message is replaced so no stack trace, SQL or path leaves the hub.

Refusals before GraphQL runs are HTTP statuses with a JSON body `{"error": <code>,
"error_description": …}` (`auth.middleware.Refusal`); the codes added for the HTTP edge
are below (`INVALID_REQUEST` … `INTERNAL_ERROR`).
"""

from __future__ import annotations

import re
from typing import Final

from graphql import GraphQLError, GraphQLSyntaxError

BAD_USER_INPUT: Final = "BAD_USER_INPUT"
CONNECTOR_TIMEOUT: Final = "CONNECTOR_TIMEOUT"
CONNECTOR_UNAVAILABLE: Final = "CONNECTOR_UNAVAILABLE"
FORBIDDEN: Final = "FORBIDDEN"
GRAPHQL_PARSE_FAILED: Final = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED: Final = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR: Final = "INTERNAL_SERVER_ERROR"

# The limits' codes (hub/limits/), here so the audit log classifies them without the hub.
QUERY_TOO_DEEP: Final = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES: Final = "TOO_MANY_ALIASES"
TOO_MANY_ROOT_FIELDS: Final = "TOO_MANY_ROOT_FIELDS"
TOO_MANY_TOKENS: Final = "TOO_MANY_TOKENS"
TOO_MANY_DIRECTIVES: Final = "TOO_MANY_DIRECTIVES"
QUERY_TOO_COSTLY: Final = "QUERY_TOO_COSTLY"
DOCUMENT_TOO_LARGE: Final = "DOCUMENT_TOO_LARGE"
VARIABLES_TOO_DEEP: Final = "VARIABLES_TOO_DEEP"
VARIABLES_TOO_LARGE: Final = "VARIABLES_TOO_LARGE"
REQUEST_TIMEOUT: Final = "REQUEST_TIMEOUT"
INTROSPECTION_DISABLED: Final = "INTROSPECTION_DISABLED"
PERSISTED_QUERY_NOT_FOUND: Final = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH: Final = "PERSISTED_QUERY_HASH_MISMATCH"
TRUSTED_DOCUMENT_REQUIRED: Final = "TRUSTED_DOCUMENT_REQUIRED"

# HTTP refusals of the edge: the `error` member of a JSON refusal body.
INVALID_REQUEST: Final = "invalid_request"
"""400: the request is not one the hub reads (malformed body, unknown operation name)."""
INVALID_JSON: Final = "invalid_json"
"""400: the body is not UTF-8 JSON."""
METHOD_NOT_ALLOWED: Final = "method_not_allowed"
"""405: e.g. a query over GET (GraphiQL is the only thing GET serves)."""
NOT_FOUND: Final = "not_found"
"""404: e.g. GraphiQL in production."""
REQUEST_TOO_LARGE: Final = "request_too_large"
"""413: a body over its limit."""
BODY_TIMEOUT: Final = "request_timeout"
"""408: the body did not arrive within HUB_LIMITS_BODY_TIMEOUT_SECONDS."""
TOO_MANY_FAILURES: Final = "too_many_failures"
"""429: this source failed to authenticate too often; refused before any token is
verified or secret hashed (HUB_SOURCES_FAILURES)."""
INTERNAL_ERROR: Final = "internal_error"
"""500: anything unexpected outside GraphQL, logged under the request id."""

SIZE_LIMIT_CODES: Final = frozenset(
    {
        QUERY_TOO_DEEP,
        TOO_MANY_ALIASES,
        TOO_MANY_ROOT_FIELDS,
        TOO_MANY_TOKENS,
        TOO_MANY_DIRECTIVES,
        QUERY_TOO_COSTLY,
        DOCUMENT_TOO_LARGE,
        VARIABLES_TOO_DEEP,
        VARIABLES_TOO_LARGE,
    }
)
"""A document or its variables over a size or cost limit."""


class HubError(Exception):
    code: str = INTERNAL_SERVER_ERROR

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadUserInput(HubError):
    code = BAD_USER_INPUT


class MalformedInput(BadUserInput):
    """A request body or wire message refused before it is read (`kernel.inputs`)."""


class Forbidden(HubError):
    code = FORBIDDEN


class ConnectorUnavailable(HubError):
    code = CONNECTOR_UNAVAILABLE


class ConnectorTimeout(HubError):
    code = CONNECTOR_TIMEOUT


class MigrationRefused(Exception):
    """A store's database cannot be brought to its models' revision (`hub migrate`)."""


TOKEN_LIMIT = re.compile(r"Document contains more than (\d+) tokens\.")
"""graphql-core's message when the parser's `max_tokens` stops it."""


def token_limit(error: GraphQLError) -> int | None:
    """The parser's token limit, when that is what stopped it."""
    found = TOKEN_LIMIT.search(error.message) if isinstance(error, GraphQLSyntaxError) else None
    return int(found[1]) if found else None


def error_code(error: GraphQLError) -> str:
    existing = (error.extensions or {}).get("code")
    if isinstance(existing, str):
        return existing
    original = error.original_error
    if isinstance(original, HubError):
        return original.code
    if isinstance(error, GraphQLSyntaxError):
        return GRAPHQL_PARSE_FAILED if token_limit(error) is None else TOO_MANY_TOKENS
    if error.message.startswith(("Variable '$", "Expected value of type")):
        return BAD_USER_INPUT  # a scalar refused a variable's value or a literal
    if original is None or isinstance(original, GraphQLError):
        return GRAPHQL_VALIDATION_FAILED if error.path is None else BAD_USER_INPUT
    return INTERNAL_SERVER_ERROR
