"""Modules imported when first used, not when their importer is.

Every `hub` process imports the hub, and a library only some of them use (Alembic to
migrate, reportlab for a dossier's PDF, the Redis client where Redis is configured,
psycopg for PostgreSQL) would otherwise cost every process its import, the test suite's
dozens of processes and each `hub serve` worker included. The importer names such a
module at its top, where the type checker and the layering test see it:

    if TYPE_CHECKING:
        import reportlab.platypus as platypus
    else:
        platypus = deferred("reportlab.platypus")

and the first attribute read imports it (through `importlib`, so under the import
system's locks: two threads reading at once import it once). Not for what a process
always needs, and not to dodge an import cycle: the layering test reads the names
given here as imports.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Deferred:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<deferred module {self._name!r} ({state})>"


def deferred(name: str) -> Any:
    """A stand-in for module `name` that imports it when an attribute is first read."""
    return _Deferred(name)
