"""The per-request context every resolver receives: limits, the caller (filled in by the
auth layer), one set of batched loaders per connector, created on first use, and the
record of what the request disclosed, which the audit log persists."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
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


Coordinate = tuple[str, str]
"""A field by its type and name: `("Worker", "name")`."""


@dataclass
class Disclosures:
    """What one request disclosed, noted where it happens: the field guard notes each data
    field it let through, masked or refused (with the scopes the field needs); the entity
    gate notes each entity it let through, by key. Noting is a set or dict insert, so it
    costs nothing next to resolving the field. During an operation the notes go to its
    `OperationNotes` first (`notes_of`), which keeps what the result carries."""

    fields: dict[Coordinate, tuple[str, ...]] = field(default_factory=dict)
    masked: set[Coordinate] = field(default_factory=set)
    denied: set[Coordinate] = field(default_factory=set)
    entities: set[tuple[str, str]] = field(default_factory=set)

    @property
    def any(self) -> bool:
        return bool(self.fields or self.masked or self.entities)

    def read(self, coordinate: Coordinate, scopes: tuple[str, ...], path: object) -> None:
        self.fields[coordinate] = scopes

    def mask(self, coordinate: Coordinate, path: object) -> None:
        self.masked.add(coordinate)

    def deny(self, coordinate: Coordinate) -> None:
        self.denied.add(coordinate)

    def disclose(self, entities: Iterable[tuple[str, str]], path: object) -> None:
        self.entities.update(entities)


class OperationNotes:
    """One operation's notes, each with the response path (graphql-core's `info.path`) it
    was taken at. A field is noted as it resolves, but an error below it can still null
    it: a refused non-null field nulls its record, and the record's other fields, its
    project's name, its employer, were resolved and noted already. `settle` passes on
    to the request's `Disclosures` only what the result carries: a field whose object is
    in the data and which did not fail itself, an entity whose field holds a value.
    Refusals pass on as they are (nothing was disclosed by them)."""

    __slots__ = ("_entities", "_masked", "_read", "target")

    def __init__(self, target: Disclosures) -> None:
        self.target = target
        self._read: list[tuple[Coordinate, tuple[str, ...], Any]] = []
        self._masked: list[tuple[Coordinate, Any]] = []
        self._entities: list[tuple[list[tuple[str, str]], Any]] = []

    def read(self, coordinate: Coordinate, scopes: tuple[str, ...], path: object) -> None:
        self._read.append((coordinate, scopes, path))

    def mask(self, coordinate: Coordinate, path: object) -> None:
        self._masked.append((coordinate, path))

    def deny(self, coordinate: Coordinate) -> None:
        self.target.denied.add(coordinate)

    def disclose(self, entities: Iterable[tuple[str, str]], path: object) -> None:
        self._entities.append((list(entities), path))

    def settle(self, data: Any, errors: Sequence[Any] | None) -> None:
        """Passes the notes `data` carries on to the request's record; without errors
        nothing was nulled, so all of them."""
        target = self.target
        carried = _Carried(data, errors) if errors else None
        for coordinate, scopes, path in self._read:
            if carried is None or carried.field(path):
                target.fields[coordinate] = scopes
        for coordinate, path in self._masked:
            if carried is None or carried.field(path):
                target.masked.add(coordinate)
        for entities, path in self._entities:
            if carried is None or carried.value(path):
                target.entities.update(entities)


_ABSENT = object()


class _Carried:
    """Whether a response path is in an answer's data."""

    def __init__(self, data: Any, errors: Sequence[Any]) -> None:
        self.data = data
        self.failed = {tuple(error.path) for error in errors if error.path}

    def _at(self, keys: Sequence[str | int]) -> Any:
        value = self.data
        for key in keys:
            if isinstance(value, dict):
                value = value.get(key, _ABSENT)
            elif isinstance(value, list) and isinstance(key, int) and key < len(value):
                value = value[key]
            else:
                return _ABSENT
        return value

    def field(self, path: Any) -> bool:
        """The field is in its object in the data, and did not fail itself."""
        keys = path.as_list()
        if tuple(keys) in self.failed:
            return False
        parent = self._at(keys[:-1])
        return isinstance(parent, dict) and keys[-1] in parent

    def value(self, path: Any) -> bool:
        """The field is in the data, with a value."""
        return self._at(path.as_list()) not in (None, _ABSENT)


OPERATION_NOTES: ContextVar[OperationNotes | None] = ContextVar("operation_notes", default=None)
"""The running operation's notes (`graph.schema.HubSchema.execute` sets them)."""


def notes_of(info: Any) -> Disclosures | OperationNotes:
    """Where a resolver notes what it discloses: its operation's notes, or the request's
    record directly outside one (a subscription, offline work)."""
    disclosures: Disclosures = info.context.disclosures
    notes = OPERATION_NOTES.get()
    return notes if notes is not None and notes.target is disclosures else disclosures


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
