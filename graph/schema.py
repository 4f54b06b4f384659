"""The executable schema: the merged graph plus the hub's error policy.

Every error leaves with an `extensions.code` a client can match on. Expected errors
(bad input, unknown fields) are not logged; anything unexpected is logged once with its
traceback under a reference, and the caller sees only that reference. With
`hide_suggestions` (production) no message carries graphql-core's "Did you mean …?",
which would otherwise spell out field and type names to a caller probing the schema.
Every error, with its code, goes to the `error_observer` the hub gives (limits record
their refusals there).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLObjectType
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import BatchingConfig, StrawberryConfig
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType

from graph.executor import HubExecutor
from graph.gates import gate_fields
from graph.hooks import KeptHooksRunner
from graph.merged import compose_query
from kernel import errors
from kernel.access import fast_resolver
from kernel.composition import GraphContribution
from kernel.context import OPERATION_NOTES, Disclosures, OperationNotes
from kernel.scalars import SCALAR_MAP

logger = logging.getLogger("hub.errors")
ExtensionFactory = type[SchemaExtension] | Callable[[], SchemaExtension]
ErrorObserver = Callable[[str, GraphQLError, ExecutionContext | None], None]

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _observe_nothing(code: str, error: GraphQLError, context: ExecutionContext | None) -> None:
    """The default observer: a schema built without the hub (tests, the SDL printer)."""


class HubSchema(strawberry.Schema):
    hide_suggestions: bool = False
    error_observer: ErrorObserver = staticmethod(_observe_nothing)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Strawberry's, with the operation's disclosures noted apart and passed on to the
        request's record as the result carries them (`kernel.context.OperationNotes`):
        what an error nulled, or a timeout stopped, was not disclosed. Every way the hub
        runs an operation comes here: over HTTP (one or a batch), the web desk's pages,
        the webhook bodies."""
        disclosures = getattr(context_value, "disclosures", None)
        notes = OperationNotes(disclosures) if isinstance(disclosures, Disclosures) else None
        token = OPERATION_NOTES.set(notes)
        try:
            result = await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        finally:
            OPERATION_NOTES.reset(token)
        if notes is not None:
            notes.settle(result.data, result.errors)
        return result

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        """Strawberry's runner, with each extension class's hooks found once
        (`graph.hooks`)."""
        return KeptHooksRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(
        self, errors_: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors_:
            code = errors.error_code(error)
            extensions: dict[str, Any] = {**(error.extensions or {}), "code": code}
            if isinstance(error.original_error, errors.HubError):
                extensions.update(error.original_error.details)
            if code == errors.TOO_MANY_TOKENS:
                extensions["limit"] = errors.token_limit(error)
            if self.hide_suggestions:
                error.message = SUGGESTION.sub("", error.message)
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
            self.error_observer(code, error, execution_context)


def build_schema(
    extensions: Sequence[ExtensionFactory] = (),
    *,
    extra: Sequence[GraphContribution] = (),
    mutation: type | None = None,
    subscription: type | None = None,
    hide_suggestions: bool = False,
    error_observer: ErrorObserver = _observe_nothing,
    batch_max: int = 0,
    fast_fields: bool = True,
) -> HubSchema:
    """The merged graph, with `extra` root fields (and the hub's `mutation` and `subscription`
    types, when given); `extensions` are the hub's
    per-operation steps (limits, audit), passed as classes or factories, in the order they
    wrap execution. `batch_max` > 0 lets a request hold that many operations as a JSON
    array. `fast_fields`: plain scoped fields resolved without strawberry's per-field
    machinery (`kernel.access.fast_resolver`); off only to compare the two paths."""
    query = compose_query(extra)
    gate_fields([query])
    schema = HubSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP,
            batching_config=BatchingConfig(max_operations=batch_max) if batch_max else None,
        ),
        extensions=list(extensions),
        execution_context_class=HubExecutor,
    )
    schema.hide_suggestions = hide_suggestions
    schema.error_observer = error_observer
    if fast_fields:
        _resolve_fast(schema)
    return schema


def _resolve_fast(schema: HubSchema) -> None:
    """Gives every field `fast_resolver` can answer that resolver, in the executable schema
    strawberry built (the SDL is unchanged)."""
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType):
            continue
        for graphql_field in named.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and (fast := fast_resolver(field)) is not None:
                graphql_field.resolve = fast
