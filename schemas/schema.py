"""The executable schema: the merged graph plus the hub's error policy.

Every error leaves with an `extensions.code` a client can match on. Expected errors
(bad input, unknown fields) are not logged; anything unexpected is logged once with its
traceback under a reference, and the caller sees only that reference.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schemas import errors, graph
from schemas.jurisdiction import gate_entity_fields
from schemas.scalars import SCALAR_MAP

logger = logging.getLogger("hub.errors")
ExtensionFactory = type[SchemaExtension] | Callable[[], SchemaExtension]


def error_code(error: GraphQLError) -> str:
    existing = (error.extensions or {}).get("code")
    if isinstance(existing, str):
        return existing
    original = error.original_error
    if isinstance(original, errors.HubError):
        return original.code
    if isinstance(error, GraphQLSyntaxError):
        return errors.GRAPHQL_PARSE_FAILED
    if error.message.startswith("Variable '$"):
        return errors.BAD_USER_INPUT
    if original is None or isinstance(original, GraphQLError):
        return errors.GRAPHQL_VALIDATION_FAILED if error.path is None else errors.BAD_USER_INPUT
    return errors.INTERNAL_SERVER_ERROR


class HubSchema(strawberry.Schema):
    def process_errors(
        self, errors_: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors_:
            code = error_code(error)
            extensions: dict[str, Any] = {**(error.extensions or {}), "code": code}
            if isinstance(error.original_error, errors.HubError):
                extensions.update(error.original_error.details)
            if code == errors.INTERNAL_SERVER_ERROR:
                reference = uuid.uuid4().hex[:12]
                logger.error(
                    "unexpected error %s at %s",
                    reference,
                    error.path,
                    exc_info=error.original_error,
                )
                error.message = f"Internal error; quote reference {reference} to the operator"
                extensions["reference"] = reference
            error.extensions = extensions


def build_schema(extensions: Sequence[ExtensionFactory] = ()) -> HubSchema:
    """The merged graph; `extensions` are the hub's per-operation steps (limits, audit),
    passed as classes or factories, in the order they wrap execution."""
    gate_entity_fields([graph.Query])
    return HubSchema(
        query=graph.Query,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=list(extensions),
    )
