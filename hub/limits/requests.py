"""The /graphql request body, checked before GraphQL parses anything (ASGI middleware).

    over HUB_LIMITS_MAX_BODY_BYTES               413 request_too_large
    a POST that is not application/json         415 unsupported_media_type
    not UTF-8 JSON, or not an operation object  400 invalid_json / invalid_request
    (members of the wrong type, no document, a
    string with a lone surrogate, a number past
    64 bits: `kernel.inputs`)
    not all there within the body timeout       408 request_timeout
    a JSON array (batch) while HUB_LIMITS_BATCH_MAX=0 400 batching_disabled
    more operations than HUB_LIMITS_BATCH_MAX       400 too_many_operations
    a refused operation inside a batch          400 operation_refused (index and code)

and, for a single operation, HTTP 200 with a GraphQL error naming the limit:
DOCUMENT_TOO_LARGE, VARIABLES_TOO_DEEP, VARIABLES_TOO_LARGE, BAD_USER_INPUT for a NUL
character in any string of the body, and for trusted documents
PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_HASH_MISMATCH, TRUSTED_DOCUMENT_REQUIRED.
A persisted query sent by hash alone is replaced by its registered text here, so the
GraphQL view only ever sees full documents.

An endpoint that takes operations over GET too (`operations_via_get`: the event stream,
which a browser's EventSource opens with a GET) has its query string held to the same
rules: `query`, `operationName`, and `variables` and `extensions` as JSON; the checked
operation replaces the query string.
"""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import parse_qsl, urlencode

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.bodies import read_body, replayed
from auth.middleware import Refusal
from hub.limits import Limits, refusal
from hub.limits.documents import DocumentStore, document_hash
from kernel import errors
from kernel.errors import MalformedInput
from kernel.inputs import parse_json

JSON_CONTENT_TYPE = "application/json"
SHAPE: dict[str, tuple[type, ...]] = {
    "query": (str, type(None)),
    "variables": (dict, type(None)),
    "operationName": (str, type(None)),
    "extensions": (dict, type(None)),
}
"""The JSON type of each member of an operation (GraphQL over HTTP): refused here as
JSON, where the GraphQL view would answer in plain text."""
BODY_MAX_DEPTH: Final = 64
"""Nesting of the whole body; the variables' own, smaller limit answers in GraphQL."""


class OperationRefused(Exception):
    """One operation refused by a limit: answered as a GraphQL error (HTTP 200)."""

    def __init__(self, code: str, limit: object, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.limit = limit
        self.message = message

    def body(self) -> dict[str, object]:
        error = refusal.limit_error(self.code, self.limit, self.message)
        return {"data": None, "errors": [error.formatted]}


def _variables_shape(variables: object) -> tuple[int, int]:
    """(nesting depth, number of JSON values), without recursion: the JSON parser
    accepted the nesting, and this walk must not be the one to overflow."""
    depth = values = 0
    stack: list[tuple[object, int]] = [(variables, 0)]
    while stack:
        value, level = stack.pop()
        values += 1
        depth = max(depth, level)
        if isinstance(value, dict):
            stack.extend((item, level + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, level + 1) for item in value)
    return depth, values


class RequestLimitsMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limits: Limits,
        documents: DocumentStore,
        *,
        require_trusted_documents: bool = False,
        operations_via_get: bool = False,
    ) -> None:
        self.app = app
        self.limits = limits
        self.require_trusted_documents = require_trusted_documents
        self.documents = documents
        self.methods = {"POST", "GET"} if operations_via_get else {"POST"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.methods:
            await self.app(scope, receive, send)
            return
        caller = scope.get("caller")
        client_id = getattr(caller, "client_id", None)
        try:
            if scope["method"] == "GET":
                await self.app(self._checked_query_string(scope), receive, send)
                return
            body = await self._checked(scope, receive)
        except Refusal as refused:
            refusal.record(str(refused.body["error"]), refused.body.get("limit"), client_id)
            await refused.send(send)
            return
        except OperationRefused as refused:
            refusal.record(refused.code, refused.limit, client_id)
            await JSONResponse(refused.body())(scope, receive, send)
            return
        await self.app(_with_length(scope, len(body)), replayed(body, receive), send)

    async def _checked(self, scope: Scope, receive: Receive) -> bytes:
        """The body to pass on (a persisted query's text filled in), or a refusal."""
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if content_type.partition(";")[0].strip().lower() != JSON_CONTENT_TYPE:
            raise Refusal(
                415, errors.UNSUPPORTED_MEDIA_TYPE, "send the operation as application/json"
            )
        body = await read_body(
            scope,
            receive,
            max_bytes=self.limits.max_body_bytes,
            timeout_seconds=self.limits.body_timeout_seconds,
        )
        data = self._parse(body)
        if isinstance(data, list):
            return json.dumps(self._batch(data), ensure_ascii=False).encode()
        return json.dumps(self._operation(data), ensure_ascii=False).encode()

    def _checked_query_string(self, scope: Scope) -> Scope:
        """The scope with its query string replaced by the checked operation's."""
        found: dict[str, object] = {}
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if name in ("variables", "extensions"):
                found[name] = self._parse(value.encode("latin-1"))
            elif name in SHAPE:
                found[name] = value
        operation = self._operation(found)
        pairs = [
            (name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
            for name, value in operation.items()
            if value is not None
        ]
        return {**scope, "query_string": urlencode(pairs).encode("ascii")}

    @staticmethod
    def _parse(body: bytes) -> object:
        try:
            return parse_json(body, max_depth=BODY_MAX_DEPTH)
        except MalformedInput as error:
            if error.details.get("nul"):  # a value GraphQL can name: BAD_USER_INPUT
                raise OperationRefused(errors.BAD_USER_INPUT, None, error.message) from error
            raise malformed(error) from error

    def _batch(self, operations: list[object]) -> list[dict[str, object]]:
        if self.limits.batch_max == 0:
            raise Refusal(
                400, errors.BATCHING_DISABLED, "send one operation per request (batching is off)"
            )
        if not 0 < len(operations) <= self.limits.batch_max:
            raise Refusal(
                400,
                errors.TOO_MANY_OPERATIONS,
                f"a batch holds 1 to {self.limits.batch_max} operations",
                limit=self.limits.batch_max,
            )
        checked = []
        for index, operation in enumerate(operations):
            try:
                checked.append(self._operation(operation))
            except OperationRefused as refused:
                raise Refusal(
                    400,
                    errors.OPERATION_REFUSED,
                    f"operation {index}: {refused.message}",
                    code=refused.code,
                    limit=refused.limit,
                ) from refused
        return checked

    def _operation(self, operation: object) -> dict[str, object]:
        if not isinstance(operation, dict):
            raise Refusal(400, errors.INVALID_REQUEST, "an operation is a JSON object")
        for member, kinds in SHAPE.items():
            if not isinstance(operation.get(member), kinds):
                raise Refusal(400, errors.INVALID_REQUEST, f"`{member}` has the wrong JSON type")
        query = self._document(operation)
        if not query:
            raise Refusal(400, errors.INVALID_REQUEST, "the operation has no `query` document")
        limits = self.limits
        if len(query.encode("utf-8")) > limits.max_document_bytes:
            raise OperationRefused(
                errors.DOCUMENT_TOO_LARGE,
                limits.max_document_bytes,
                f"the document is over {limits.max_document_bytes} bytes",
            )
        depth, values = _variables_shape(operation.get("variables"))
        if depth > limits.max_variable_depth:
            raise OperationRefused(
                errors.VARIABLES_TOO_DEEP,
                limits.max_variable_depth,
                f"variables nest {depth} deep, over the limit of {limits.max_variable_depth}",
            )
        if values > limits.max_variable_values:
            raise OperationRefused(
                errors.VARIABLES_TOO_LARGE,
                limits.max_variable_values,
                f"variables hold {values} values, over the limit of {limits.max_variable_values}",
            )
        return {**operation, "query": query}

    def _document(self, operation: dict[str, object]) -> str | None:
        """The operation's document: its `query`, or the registered one its persisted-query
        hash names; None when it has neither."""
        query = operation.get("query")
        extensions = operation.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if isinstance(digest, str):
            if isinstance(query, str):
                if document_hash(query) != digest:
                    raise OperationRefused(
                        errors.PERSISTED_QUERY_HASH_MISMATCH,
                        None,
                        "the document's SHA-256 is not the persistedQuery hash",
                    )
            else:
                query = self.documents.get(digest)
                if query is None:
                    raise OperationRefused(
                        errors.PERSISTED_QUERY_NOT_FOUND,
                        None,
                        "PersistedQueryNotFound: no document is registered with this hash",
                    )
        if not isinstance(query, str):
            return None
        if self.require_trusted_documents and self.documents.get(document_hash(query)) is None:
            raise OperationRefused(
                errors.TRUSTED_DOCUMENT_REQUIRED,
                "required",
                "this hub runs only registered documents (hub documents add)",
            )
        return query


def malformed(error: MalformedInput) -> Refusal:
    """A body the hub will not read, as its 400: `invalid_json` when it is not UTF-8 JSON
    at all, `invalid_request` when its content breaks a rule."""
    code = errors.INVALID_JSON if error.details.get("syntax") else errors.INVALID_REQUEST
    return Refusal(400, code, error.message)


def _with_length(scope: Scope, length: int) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}
