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
"error_description": …}` (`auth.middleware.Refusal`). Every such code is a constant
below; no module spells one as a bare string (`tests/test_refusal_codes.py`):

    the request itself            400 INVALID_REQUEST, INVALID_JSON, EMPTY_BODY,
                                      BATCHING_DISABLED, TOO_MANY_OPERATIONS
                                  404 NOT_FOUND, UNKNOWN_TABLE · 405 METHOD_NOT_ALLOWED
                                  406 NOT_ACCEPTABLE · 408 BODY_TIMEOUT
                                  413 REQUEST_TOO_LARGE · 415 UNSUPPORTED_MEDIA_TYPE
    who is asking                 401 MISSING_AUTHORIZATION, INVALID_TOKEN (RFC 6750)
                                  403 INSUFFICIENT_SCOPE, DELEGATION_NOT_ALLOWED,
                                      UNKNOWN_CALLER, OPERATION_REFUSED
    why they ask                  400 MISSING_PURPOSE · 403 PURPOSE_NOT_GRANTED
    how often                     429 RATE_LIMITED, TOO_MANY_FAILURES
    what they send (imports)      400 UNREADABLE_FILE · 422 INVALID_ROWS
                                  409 IMPORT_IN_PROGRESS · 503 PARSER_STOPPED
    the hub cannot answer safely  503 AUDIT_UNAVAILABLE, TEMPORARILY_UNAVAILABLE
                                  500 INTERNAL_ERROR
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
EMPTY_BODY: Final = "empty_body"
"""400: a push with no rows in it."""
BATCHING_DISABLED: Final = "batching_disabled"
"""400: a list of operations while batching is off."""
TOO_MANY_OPERATIONS: Final = "too_many_operations"
"""400: a batch longer than HUB_LIMITS_BATCH_SIZE."""
UNKNOWN_TABLE: Final = "unknown_table"
"""404: a push to a table the agency does not have."""
UNSUPPORTED_MEDIA_TYPE: Final = "unsupported_media_type"
"""415: a Content-Type the endpoint does not read."""
NOT_ACCEPTABLE: Final = "not_acceptable"
"""406: an Accept header naming neither media type GraphQL answers in."""
MISSING_AUTHORIZATION: Final = "missing_authorization"
"""401: no bearer token."""
INVALID_TOKEN: Final = "invalid_token"
"""401: a token the hub refuses (signature, expiry, issuer, audience, revoked client)."""
INSUFFICIENT_SCOPE: Final = "insufficient_scope"
"""403: the grant lacks the scope the endpoint needs."""
DELEGATION_NOT_ALLOWED: Final = "delegation_not_allowed"
"""403: a client that may not act for another named one."""
UNKNOWN_CALLER: Final = "unknown_caller"
"""403: the client acted for is not an active client."""
OPERATION_REFUSED: Final = "operation_refused"
"""403: an operation the client's grant does not allow (e.g. a mutation)."""
MISSING_PURPOSE: Final = "missing_purpose"
"""400: no X-Purpose header."""
PURPOSE_NOT_GRANTED: Final = "purpose_not_granted"
"""403: a purpose outside the client's grant."""
RATE_LIMITED: Final = "rate_limited"
"""429: over the client's request rate; Retry-After says when to come back."""
UNREADABLE_FILE: Final = "unreadable_file"
"""400: an import whose file cannot be read at all (encoding, format, truncation)."""
INVALID_ROWS: Final = "invalid_rows"
"""422: an import refused for its rows; the report names each."""
IMPORT_IN_PROGRESS: Final = "import_in_progress"
"""409: another import holds the agency's database; nothing was written."""
PARSER_STOPPED: Final = "parser_stopped"
"""503: the file reader stopped (killed or out of time); nothing was written."""
AUDIT_UNAVAILABLE: Final = "audit_unavailable"
"""503: the audit record could not be written, so nothing is disclosed or imported."""
TEMPORARILY_UNAVAILABLE: Final = "temporarily_unavailable"
"""503: a store the answer needs did not answer (RFC 6749's code at the token endpoint)."""

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


class ConfigurationError(ValueError):
    """A setting that cannot work as given; the message names the setting and its fix, and
    the command line prints it as one line (no traceback)."""


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
