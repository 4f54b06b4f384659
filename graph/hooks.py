"""Strawberry's extension hooks, entered as strawberry enters them, but found once per
extension class instead of once per request.

For each operation strawberry makes a context manager per step (operation, parsing,
validation, execution) that asks every extension whether it has the step's hook and
wraps the hook it finds: `contextlib.contextmanager` of a method bound anew, whose
`functools.wraps` copies the function's attributes each time. The hub's three
extensions' twelve look-ups cost a worker look-up more than its parse and validation
from the caches (bench.layers). Here the wrapping is made once per class and hook, and a
request only binds it to its extension. Entering, nesting and exceptions are strawberry's
own (`ExtensionContextManagerBase`); a hook that is not a generator function goes to
strawberry's look-up, unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

_OTHER: Any = object()
"""Not a generator function: strawberry's own look-up, every time."""
_WRAPPED: dict[Callable[..., Any], tuple[Callable[..., Any], bool] | Any] = {}
"""Each hook function met (by identity: one replaced is met anew), wrapped as a context
manager to call with its extension, and whether it is async."""


def _wrapped(hook: Callable[..., Any]) -> tuple[Callable[..., Any], bool] | Any:
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    return _OTHER


class _KeptHooks(ExtensionContextManagerBase):
    __slots__ = ()

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        hook = getattr(type(extension), self.HOOK_NAME)
        if hook is self.default_hook:
            return None
        found = _WRAPPED.get(hook)
        if found is None:
            found = _WRAPPED[hook] = _wrapped(hook)
        if found is _OTHER:
            return super().get_hook(extension)
        made, is_async = found
        return WrappedHook(extension, functools.partial(made, extension), is_async)


class _Operation(_KeptHooks, OperationContextManager):
    __slots__ = ()


class _Parsing(_KeptHooks, ParsingContextManager):
    __slots__ = ()


class _Validation(_KeptHooks, ValidationContextManager):
    __slots__ = ()


class _Executing(_KeptHooks, ExecutingContextManager):
    __slots__ = ()


class KeptHooksRunner(SchemaExtensionsRunner):
    """Strawberry's runner, its steps' hooks found once per extension class."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
