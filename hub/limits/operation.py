"""Depth, aliases, root fields, directives and cost of an operation, checked as one
graphql-core validation rule built once at start-up (so the validation cache hits: a rule
class made per request would be a new cache key every time).

One walk measures everything. Each fragment is measured once and its measure reused at
every spread, so a fragment bomb (F0 spreads F1 twice, F1 spreads F2 twice, …) costs
the walk linear time while its cost estimate grows as the execution would. A fragment
cycle measures as empty here; `NoFragmentCycles` reports it.

Cost: every field costs 1, plus its selections times a multiplier. A field with a
`first` argument multiplies by it (a variable counts as the maximum page size, no
argument as the default); the lists inside a connection (`nodes`, `edges`) are that
page, so they multiply by 1; any other list field multiplies by the default page size.
A field that declares its cost (`kernel.costs`: a derived aggregate, `_entities`) adds
its weight each time it resolves, and multiplies by the argument it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

from hub.limits import Limits, refusal
from kernel import errors
from kernel.context import PageLimits
from kernel.costs import COST_KEY, Cost, declared_cost

PAGE_ARGUMENT = "first"
CONNECTION_MARKER = "pageInfo"


@dataclass(frozen=True)
class Measure:
    """What a selection set adds up to; `fields` counts its own top-level fields."""

    depth: int = 0
    cost: int = 0
    aliases: int = 0
    directives: int = 0
    fields: int = 0

    def __add__(self, other: Measure) -> Measure:
        return Measure(
            max(self.depth, other.depth),
            self.cost + other.cost,
            self.aliases + other.aliases,
            self.directives + other.directives,
            self.fields + other.fields,
        )


EMPTY = Measure()


class _Walk:
    """Measures one document; fragments are memoised by name."""

    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, limits: Limits, pages: PageLimits
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.pages = pages
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, Measure] = {}

    def operation(self, node: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root)

    def selections(self, node: SelectionSetNode | None, parent: GraphQLNamedType | None) -> Measure:
        total = EMPTY
        for selection in node.selections if node else ():
            directives = len(selection.directives or ())
            if isinstance(selection, FieldNode):
                part = self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                part = self.selections(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                part = self.fragment(selection.name.value)
            else:
                part = EMPTY
            total = total + part + Measure(directives=directives)
        return total

    def fragment(self, name: str) -> Measure:
        if name not in self.measured:
            self.measured[name] = EMPTY  # a cycle stops here
            definition = self.fragments.get(name)
            if definition:
                condition = self.schema.get_type(definition.type_condition.name.value)
                measure = self.selections(definition.selection_set, condition)
                directives = len(definition.directives or ())
                self.measured[name] = measure + Measure(directives=directives)
        return self.measured[name]

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Measure:
        definition = (
            parent.fields.get(node.name.value)
            if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
            else None
        )
        inner = self.selections(
            node.selection_set, get_named_type(definition.type) if definition else None
        )
        declared = _declared(definition)
        weight = declared.weight if declared else 0
        multiplier = (
            self.multiplier(node, definition, parent, declared) if node.selection_set else 1
        )
        return Measure(
            depth=inner.depth + 1,
            cost=1 + weight + multiplier * inner.cost,
            aliases=inner.aliases + (1 if node.alias else 0),
            directives=inner.directives,
            fields=1,
        )

    def multiplier(
        self,
        node: FieldNode,
        definition: Any,
        parent: GraphQLNamedType | None,
        declared: Cost | None = None,
    ) -> int:
        if definition is None:
            return 1
        if declared is not None and declared.per is not None:
            given = next(
                (a.value for a in node.arguments or () if a.name.value == declared.per), None
            )
            if isinstance(given, ListValueNode):
                return len(given.values)
            if isinstance(given, IntValueNode):
                return max(0, int(given.value))
            return self.pages.maximum if isinstance(given, VariableNode) else 1
        if PAGE_ARGUMENT in definition.args:
            given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
            if isinstance(given, IntValueNode):
                return max(0, min(int(given.value), self.pages.maximum))
            if isinstance(given, VariableNode):
                return self.pages.maximum
            return self.pages.default
        is_list = isinstance(get_nullable_type(definition.type), GraphQLList)
        in_connection = isinstance(parent, GraphQLObjectType) and CONNECTION_MARKER in parent.fields
        return self.pages.default if is_list and not in_connection else 1


def _declared(definition: Any) -> Cost | None:
    """A field's declared cost: on the GraphQL field itself (`_entities`), or in the
    metadata of the strawberry field it was built from."""
    extensions = getattr(definition, "extensions", None) or {}
    found = extensions.get(COST_KEY)
    if isinstance(found, Cost):
        return found
    return declared_cost(getattr(extensions.get("strawberry-definition"), "metadata", None))


def _checks(limits: Limits, measure: Measure) -> list[tuple[str, int, int, str]]:
    """(code, limit, measured, what) for each limit of one operation."""
    return [
        (errors.QUERY_TOO_DEEP, limits.max_depth, measure.depth, "depth"),
        (errors.TOO_MANY_ALIASES, limits.max_aliases, measure.aliases, "aliases"),
        (errors.TOO_MANY_ROOT_FIELDS, limits.max_root_fields, measure.fields, "root fields"),
        (errors.TOO_MANY_DIRECTIVES, limits.max_directives, measure.directives, "directives"),
        (errors.QUERY_TOO_COSTLY, limits.max_cost, measure.cost, "cost"),
    ]


def measure_document(
    schema: GraphQLSchema, document: DocumentNode, limits: Limits, pages: PageLimits
) -> list[tuple[OperationDefinitionNode, Measure]]:
    """Each operation of the document with its measure (also used to size the defaults)."""
    walk = _Walk(schema, document, limits, pages)
    return [
        (d, walk.operation(d))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]


def limits_rule(limits: Limits, pages: PageLimits) -> type[ASTValidationRule]:
    """The validation rule class for these limits; call once, at start-up."""

    class OperationLimitsRule(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.schema = context.schema

        def enter_document(self, node: DocumentNode, *_: object) -> object:
            for operation, measure in measure_document(self.schema, node, limits, pages):
                for code, limit, measured, what in _checks(limits, measure):
                    if measured > limit:
                        message = f"operation {what} {measured} is over the limit of {limit}"
                        self.report_error(refusal.limit_error(code, limit, message, operation))
            return self.SKIP

    return OperationLimitsRule
