"""Introspection in production: only for a caller holding `schema:introspect`. A
federation subgraph's `_service { sdl }` prints the whole schema too, so it is
introspection here.

A per-request choice between two fixed rule tuples (with or without the refusing rule),
so the validation cache still hits for both kinds of caller.
"""

from __future__ import annotations

from graphql import ASTValidationRule, FieldNode

from hub.limits import refusal
from kernel import errors
from kernel.caller import Caller
from kernel.scopes import SCHEMA_INTROSPECT

INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "_service"})
"""Every field that reads the schema rather than data (`_service`: a subgraph's SDL)."""


class IntrospectionRefused(ASTValidationRule):
    """`__typename` stays allowed: clients need it to read unions, and it names only the
    type they already asked for."""

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.name.value in INTROSPECTION_FIELDS:
            message = f"introspection needs the scope {SCHEMA_INTROSPECT}"
            self.report_error(
                refusal.limit_error(errors.INTROSPECTION_DISABLED, SCHEMA_INTROSPECT, message, node)
            )


def introspection_rules(context: object) -> tuple[type[ASTValidationRule], ...]:
    """The rule refusing introspection, unless the request's caller may introspect."""
    caller = getattr(context, "caller", None)
    if isinstance(caller, Caller) and caller.has(SCHEMA_INTROSPECT):
        return ()
    return (IntrospectionRefused,)
