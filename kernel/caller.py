"""Who is asking, and what their grant allows: built once per request by the
authentication backend, read by resolvers through the request context."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    client_id: str
    agency: str = ""
    scopes: frozenset[str] = frozenset()
    regions: tuple[str, ...] = ()
    """Region code prefixes the client may see projects in; empty means everywhere."""
    courts: tuple[str, ...] = ()
    """Court codes (e.g. 豫0183) whose cases the client holds: a court or mediation committee."""
    bank: str | None = None
    """The bank whose wage accounts the client may see (matched against the bank's name)."""
    purpose: str = ""
    purpose_reference: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def missing(self, scopes: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(scope for scope in scopes if scope not in self.scopes)
