"""The per-request context every resolver receives: limits, the caller (filled in by the
auth layer), one set of batched loaders per connector, created on first use, and the
record of what the request disclosed, which the audit log persists."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import strawberry
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kernel.batching import Waves
from kernel.cursors import Cursors

LoadersT = TypeVar("LoadersT")
LoaderFactories = Mapping[type, Callable[[Waves, Any], object]]
"""Per connector: (waves, caller) → a request's loaders."""


class PageLimits(BaseModel):
    """List pages (`HUB_PAGES_DEFAULT`, `HUB_PAGES_MAXIMUM`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    default: int = Field(default=20, ge=1, description="Items in a page when `first` is left out.")
    maximum: int = Field(default=100, ge=1, description="The largest `first` a caller may ask for.")
    cursor_secret: SecretStr | None = Field(
        default=None,
        description="The secret page cursors are sealed with (16 bytes or more); give every "
        "replica the same one. Unset: a random key in the data directory (`keys/cursor.key`).",
    )


@dataclass
class Disclosures:
    """What one request disclosed, noted where it happens: the field guard notes each data
    field it let through, masked or refused (with the scopes the field needs); the entity
    gate notes each entity it let through, by key. Noting is a set or dict insert, so it
    costs nothing next to resolving the field."""

    fields: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    masked: set[tuple[str, str]] = field(default_factory=set)
    denied: set[tuple[str, str]] = field(default_factory=set)
    entities: set[tuple[str, str]] = field(default_factory=set)

    @property
    def any(self) -> bool:
        return bool(self.fields or self.masked or self.entities)


@dataclass
class RequestContext:
    limits: PageLimits
    loader_factories: LoaderFactories
    cursors: Cursors
    """Seals and opens this hub's page cursors (`kernel.cursors`)."""
    caller: object | None = None
    waves: Waves = field(default_factory=Waves)
    disclosures: Disclosures = field(default_factory=Disclosures)
    per_request: dict[type, object] = field(default_factory=dict)
    """Request-scoped helpers keyed by their class (e.g. the caller's jurisdiction)."""
    _loaders: dict[type, object] = field(default_factory=dict)

    def loaders(self, kind: type[LoadersT]) -> LoadersT:
        """This request's loaders of one connector; typed by their class, not a string key."""
        found = self._loaders.get(kind)
        if found is None:
            found = self._loaders[kind] = self.loader_factories[kind](self.waves, self.caller)
        return found  # type: ignore[return-value]


Info = strawberry.Info[RequestContext, Any]


@dataclass(frozen=True)
class _Offline:
    """The part of `strawberry.Info` the derived functions read: its context."""

    context: RequestContext


def offline_info(factories: LoaderFactories, cursors: Cursors, caller: object) -> Info:
    """An `info` for work outside any request (warning evaluation, the facts refresh), so
    it runs the graph's own rules: fresh loaders under `caller`, the default page limits."""
    context = RequestContext(
        limits=PageLimits(), loader_factories=factories, cursors=cursors, caller=caller
    )
    return cast(Info, _Offline(context))
