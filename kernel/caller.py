"""Who is asking, and what their grant allows: built once per request by the
authentication backend, read by resolvers through the request context."""

from __future__ import annotations

from dataclasses import dataclass, field

RowLimitValues = tuple[tuple[str, tuple[str, ...]], ...]
"""A grant's row limits by kind (`(("regions", ("4101",)),)`), sorted by kind: hashable,
and compared as text like scopes (`kernel.limits` says what each kind means)."""


@dataclass(frozen=True)
class Caller:
    client_id: str
    agency: str = ""
    scopes: frozenset[str] = frozenset()
    limits: RowLimitValues = ()
    """The rows the client may see beyond its scopes; empty means no limit."""
    purpose: str = ""
    purpose_reference: str | None = None
    user: str | None = None
    """The person acting through the client (a web desk session, or a token the desk
    issued to them), as X-Road records a user id beside the member; None for a system."""
    credential: str | None = field(default=None, repr=False, compare=False)
    """The bearer token the caller presented: what the hub exchanges for a token an
    agency's service accepts on the caller's behalf (`auth.exchange`). Never logged."""
    actors: tuple[str, ...] = ()
    """Who acts for the caller here, nearest first (an exchanged token's `act` chain:
    the hub, an agency's service): empty when the caller asked in person."""

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def missing(self, scopes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(scope for scope in scopes if scope not in self.scopes)

    def limit(self, kind: str) -> tuple[str, ...]:
        """The values of one kind of limit the grant carries; empty when it carries none."""
        for name, values in self.limits:
            if name == kind:
                return values
        return ()

    @property
    def limited(self) -> bool:
        return bool(self.limits)


def row_limit_values(limits: dict[str, tuple[str, ...]] | None) -> RowLimitValues:
    """A grant's limits in the caller's form: kinds sorted, empty kinds dropped."""
    return tuple(sorted((name, tuple(values)) for name, values in (limits or {}).items() if values))
