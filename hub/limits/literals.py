"""String literals in a document obey the rules of every other text the hub takes
(`kernel.inputs`): a GraphQL escape such as `"\\u0000"` is decoded by the parser, after
the body's own check, so it is checked again here, before any resolver runs."""

from __future__ import annotations

from graphql import ASTValidationRule, GraphQLError, StringValueNode

from kernel import errors
from kernel.inputs import text_fault


class SoundLiterals(ASTValidationRule):
    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        fault = text_fault(node.value)
        if fault is not None:
            self.report_error(
                GraphQLError(
                    f"a string literal holds {fault}",
                    node,
                    extensions={"code": errors.BAD_USER_INPUT},
                )
            )
