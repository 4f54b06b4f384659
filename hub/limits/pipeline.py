"""The schema extension of the hub's limits, built once at start-up from the settings.

One extension does what five did (strawberry's `MaxTokensLimiter`, `AddValidationRules`,
`ParserCache`, `ValidationCache`, and the introspection gate): strawberry enters every
extension's hooks through context managers made per request, and those five cost a
worker look-up more CPU than parsing and validating it from the caches (bench.layers).
In `on_operation` it sets the token limit the cached parse passes to the parser, and the
validation rules the cached validation is keyed by. The rule classes are created here,
once, so every request presents the same tuple of rules and the validation cache hits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoUndefinedVariablesRule,
    NoUnusedVariablesRule,
    OperationDefinitionNode,
    VariablesInAllowedPositionRule,
    parse,
)
from graphql.validation import ASTValidationContext
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from graph.schema import ExtensionFactory
from hub.limits import refusal
from hub.limits.introspection import introspection_rules
from hub.limits.literals import SoundLiterals
from hub.limits.operation import limits_rule
from hub.settings import HubSettings
from kernel.caller import Caller

CACHE_SIZE = 1_000
"""Distinct documents kept parsed and validated (each a few kB)."""


_parsed = functools.lru_cache(CACHE_SIZE)(parse)
"""The parse cache, shared by every request and schema in the process: one document
object per text (and token limit) while it is kept."""


class _Same:
    """A document as a cache key by identity: the parse cache gives one object per text,
    and hashing a graphql-core document hashes its whole tree (a frozen dataclass's hash,
    not kept), 10 µs for a worker look-up's and 46 for a dossier's, each request. Holding
    the document keeps its id from being reused while the key is kept."""

    __slots__ = ("document",)

    def __init__(self, document: DocumentNode) -> None:
        self.document = document

    def __hash__(self) -> int:
        return id(self.document)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.document is self.document


@functools.lru_cache(CACHE_SIZE)
def _validated(
    schema: GraphQLSchema, same: _Same, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """The validation cache, keyed by schema, document object and rules."""
    return validate_document(schema, same.document, rules)


def _no_variable_anywhere(context: ASTValidationContext) -> bool:
    """Whether the document's text holds neither a `$` nor a `...`: then it has no
    variable, no variable definition and no fragment, so an operation's variable usages
    are none and finding them spends no fragment work. A `$` or `...` inside a string
    only sends the document the ordinary way."""
    location = context.document.loc
    if location is None:
        return False
    body = location.source.body
    return "$" not in body and "..." not in body


def _skipping_without_variables(
    rule: type[ASTValidationRule], hook: str
) -> type[ASTValidationRule]:
    """`rule` whose `hook` (where it walks an operation's variable usages) does nothing when
    the document has no variable and no fragment (`_no_variable_anywhere`)."""
    checked = getattr(rule, hook)

    def skipping(self: Any, operation: OperationDefinitionNode, *args: Any) -> None:
        if not _no_variable_anywhere(self.context):
            checked(self, operation, *args)

    return type(f"Skipping{rule.__name__}", (rule,), {hook: skipping})


_WITHOUT_VARIABLES: dict[type[ASTValidationRule], type[ASTValidationRule]] = {
    rule: _skipping_without_variables(rule, hook)
    for rule, hook in (
        (NoUndefinedVariablesRule, "enter_operation_definition"),
        (NoUnusedVariablesRule, "enter_operation_definition"),
        (VariablesInAllowedPositionRule, "leave_operation_definition"),
    )
}
"""The three specified rules that look at an operation's variable usages, which
graphql-core finds by walking the whole operation again with its types (a second walk
beside the validation's own: a fifth of validating a look-up of ten entities with their
links, which names no variable). In their place, rules that skip that walk when the
document has no variable and no fragment (`_no_variable_anywhere`), where each would
find no usage, so report nothing; any other document they check as graphql-core does."""


class DocumentChecks(SchemaExtension):
    """The token limit, the hub's validation rules (and, in production, the refusal of
    introspection to a caller without the scope), and the parse and validation caches."""

    def __init__(
        self, *, max_tokens: int, rules: tuple[type[ASTValidationRule], ...], introspection: bool
    ) -> None:
        """`introspection`: whether every caller may introspect (not in production)."""
        self.max_tokens = max_tokens
        self.rules = rules
        self.introspection = introspection

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        refused = () if self.introspection else introspection_rules(context.context)
        specified = tuple(_WITHOUT_VARIABLES.get(r, r) for r in context.validation_rules)
        context.validation_rules = (*specified, *refused, *self.rules)
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _parsed(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None  # strawberry validates only what parsed
        context.pre_execution_errors = _validated(
            context.schema._schema, _Same(document), context.validation_rules
        )
        yield


def schema_extensions(settings: HubSettings) -> list[ExtensionFactory]:
    rules: tuple[type[ASTValidationRule], ...] = (
        limits_rule(settings.limits, settings.pages),
        SoundLiterals,
    )
    checks = functools.partial(
        DocumentChecks,
        max_tokens=settings.limits.max_tokens,
        rules=rules,
        introspection=settings.env != "production",
    )
    return [checks]


def observe_error(code: str, error: GraphQLError, context: ExecutionContext | None) -> None:
    """The schema's error observer: a limit's error is a refusal, recorded as such."""
    if code in refusal.LIMIT_CODES:
        caller = getattr(context.context, "caller", None) if context else None
        client_id = caller.client_id if isinstance(caller, Caller) else None
        refusal.record(code, (error.extensions or {}).get("limit"), client_id)
