"""The schema extensions of the hub, built once at start-up from the settings.

Order matters only in `on_operation`, which runs first for all of them: the token limit
sets the parser option the parser cache passes on, and the validation rules are added
before the validation cache looks them up. The rule classes are created here, once, so
every request presents the same tuple of rules and the validation cache hits.
"""

from __future__ import annotations

import functools

from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from graph.schema import ExtensionFactory
from hub.limits import refusal
from hub.limits.introspection import IntrospectionGate
from hub.limits.literals import SoundLiterals
from hub.limits.operation import limits_rule
from hub.settings import HubSettings
from kernel.caller import Caller

CACHE_SIZE = 1_000
"""Distinct documents kept parsed and validated (each a few kB)."""


def schema_extensions(settings: HubSettings) -> list[ExtensionFactory]:
    rules = [limits_rule(settings.limits, settings.pages), SoundLiterals]
    extensions: list[ExtensionFactory] = [
        functools.partial(MaxTokensLimiter, max_token_count=settings.limits.max_tokens),
        functools.partial(AddValidationRules, rules),
        functools.partial(ParserCache, maxsize=CACHE_SIZE),
        functools.partial(ValidationCache, maxsize=CACHE_SIZE),
    ]
    if settings.env == "production":
        extensions.insert(0, IntrospectionGate)
    return extensions


def observe_error(code: str, error: GraphQLError, context: ExecutionContext | None) -> None:
    """The schema's error observer: a limit's error is a refusal, recorded as such."""
    if code in refusal.LIMIT_CODES:
        caller = getattr(context.context, "caller", None) if context else None
        client_id = caller.client_id if isinstance(caller, Caller) else None
        refusal.record(code, (error.extensions or {}).get("limit"), client_id)
