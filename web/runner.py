"""The desk's GraphQL documents, and how pages run them: in process, against the hub's own
schema, as the signed-in person (their `Caller` on the request), so scopes, masking,
jurisdiction, the operation limits and the audit record apply exactly as over HTTP.

The documents are files (`web/documents/*.graphql`) that the hub registers as trusted
documents at start-up, so `HUB_TRUSTED_DOCUMENTS=required` keeps the desk working and a
developer can send the very same operations by hash.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from graphql import GraphQLError
from starlette.types import Scope

DOCUMENTS_DIR = Path(__file__).parent / "documents"
FORBIDDEN = "FORBIDDEN"


class GraphRunner(Protocol):
    """Runs one operation of a document for the request whose scope carries the caller
    (`scope["caller"]`) and the audit trail (`scope["audit"]`): the hub gives one."""

    async def __call__(
        self,
        scope: Scope,
        document: str,
        variables: Mapping[str, Any],
        operation_name: str | None = None,
    ) -> Answer: ...


@dataclass(frozen=True)
class Problem:
    message: str
    code: str
    path: tuple[str | int, ...]
    missing_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    data: dict[str, Any] | None
    problems: Sequence[Problem] = field(default_factory=tuple)

    @classmethod
    def of(cls, data: dict[str, Any] | None, errors: Sequence[GraphQLError] | None) -> Answer:
        return cls(
            data,
            tuple(
                Problem(
                    error.message,
                    str((error.extensions or {}).get("code", "")),
                    tuple(error.path or ()),
                    tuple((error.extensions or {}).get("missingScopes") or ()),
                )
                for error in errors or ()
            ),
        )

    def withheld(self, *names: str) -> tuple[str, ...]:
        """Scopes the person lacks for fields whose path ends in one of `names` (so a page
        can say "无权查看 — needs worker:identity" instead of showing nothing)."""
        found: list[str] = []
        for problem in self.problems:
            if problem.code == FORBIDDEN and problem.path and problem.path[-1] in names:
                found += [s for s in problem.missing_scopes if s not in found]
        return tuple(found)

    def failures(self) -> list[Problem]:
        """Errors other than a withheld field: bad input, limits, an agency down."""
        return [p for p in self.problems if p.code != FORBIDDEN]


@functools.cache
def documents() -> dict[str, str]:
    """Every desk document by file stem (`dossier`), read once."""
    return {
        path.stem: path.read_text(encoding="utf-8")
        for path in sorted(DOCUMENTS_DIR.glob("*.graphql"))
    }


def document(name: str) -> str:
    return documents()[name]
