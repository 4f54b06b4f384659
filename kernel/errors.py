"""Errors the hub reports to callers, and the codes they can match on.

    HubError                      base; carries a stable `code`
    ├── BadUserInput              BAD_USER_INPUT: an argument is malformed (checksum,
    │                             format, page size over the maximum, bad cursor)
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
    if error.message.startswith("Variable '$"):
        return BAD_USER_INPUT
    if original is None or isinstance(original, GraphQLError):
        return GRAPHQL_VALIDATION_FAILED if error.path is None else BAD_USER_INPUT
    return INTERNAL_SERVER_ERROR
