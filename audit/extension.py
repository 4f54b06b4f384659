"""The GraphQL side of an audit record: which operation ran, the hash of its normalised
document, its variables with personal values hashed, and the error codes it ended with.

A schema extension, because `on_operation` runs for every operation, also those that fail
to parse or validate. What was disclosed is noted by the field guard and the entity gate
as the request resolves (`kernel.context.Disclosures`), not walked here.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    print_ast,
)
from graphql.utilities import type_from_ast
from strawberry.extensions import SchemaExtension

from audit.record import AuditTrail, Operation, SubjectHasher
from kernel.errors import error_code

DOCUMENTS_KEPT = 1_000


@functools.lru_cache(maxsize=DOCUMENTS_KEPT)
def document_sha256(query: str) -> str:
    """SHA-256 of the document printed canonically (comments, spacing and commas gone),
    so one query sent two ways hashes the same; the raw text if it does not parse."""
    try:
        normalised = print_ast(parse(query, no_location=True))
    except GraphQLError:
        normalised = query
    return hashlib.sha256(normalised.encode()).hexdigest()


def _operation_node(document: Any, name: str | None) -> OperationDefinitionNode | None:
    for definition in getattr(document, "definitions", ()):
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name and definition.name.value == name)
        ):
            return definition
    return None


def _variables(
    hasher: SubjectHasher,
    schema: GraphQLSchema,
    node: OperationDefinitionNode | None,
    values: dict[str, Any] | None,
) -> dict[str, Any]:
    declared = {
        definition.variable.name.value: type_from_ast(schema, definition.type)
        for definition in ((node.variable_definitions or ()) if node else ())
    }
    return {
        name: hasher.variables(value, declared.get(name))  # type: ignore[arg-type]
        for name, value in (values or {}).items()
    }


class AuditExtension(SchemaExtension):
    """Built per operation by `audit_extension(hasher)`; the trail comes with the request."""

    def __init__(self, *, hasher: SubjectHasher) -> None:
        self.hasher = hasher

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        trail = getattr(context.context, "per_request", {}).get(AuditTrail)
        if not isinstance(trail, AuditTrail):
            return
        node = _operation_node(context.graphql_document, context.operation_name)
        operation_type = node.operation.value if node else None
        trail.operations.append(
            Operation(
                name=context.operation_name or (node.name.value if node and node.name else None),
                type=operation_type,
                document_sha256=document_sha256(context.query) if context.query else None,
                variables=_variables(self.hasher, context.schema._schema, node, context.variables),
            )
        )
        trail.codes.update(error_code(error) for error in context.pre_execution_errors or ())
        trail.graphql_done = True


def audit_extension(hasher: SubjectHasher) -> functools.partial[AuditExtension]:
    return functools.partial(AuditExtension, hasher=hasher)
