"""What a record type belongs to and whom it is about, and which arguments name an entity:
declared next to the type, enforced in one place (`graph.gates`).

    @belongs_to(Entity.PROJECT, "project_code")      # a disbursement is the project's:
    @discloses(Entity.WORKER, "worker_id_number")    # seen only where the project is, and
    @scoped_type(WAGE_READ)                          # showing it discloses the worker
    @strawberry.type(name="Disbursement")
    class DisbursementRecord: ...

`belongs_to`: a record follows the visibility of the entity it belongs to (row limits:
`kernel.limits`), wherever it is reached from — a wage account reached from its holder
is still its project's. `discloses`: the record carries that person's data, so every
request that returns it notes the person for the audit log and the person's access
report, even when no Worker is selected. `names`: an argument or filter field that names
an entity by its key; for a caller who cannot see that entity, the field answers as if
the entity did not exist. Arguments of the key scalars (`IdNumber`, `USCC`,
`CaseNumber`) name their entity without saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeVar

import strawberry

from kernel.composition import Entity
from kernel.scalars import USCC, CaseNumber, IdNumber

TypeT = TypeVar("TypeT", bound=type)
NAMES_KEY: Final = "names_entity"
KEY_SCALARS: Final[Mapping[object, Entity]] = MappingProxyType(
    {IdNumber: Entity.WORKER, USCC: Entity.ENTERPRISE, CaseNumber: Entity.DISPUTE_CASE}
)
"""Scalars whose values are an entity's key: an argument of one names that entity."""


@dataclass(frozen=True)
class Owner:
    entity: Entity
    attribute: str
    """The record's attribute holding the entity's key (None: the record names none)."""

    def key(self, record: object) -> Any:
        return getattr(record, self.attribute)


_BELONGS: Final = "__hub_belongs_to__"
_DISCLOSES: Final = "__hub_discloses__"


def belongs_to(entity: Entity, attribute: str) -> Callable[[TypeT], TypeT]:
    """The record is the entity's: whoever cannot see the entity does not see the record."""

    def declare(cls: TypeT) -> TypeT:
        setattr(cls, _BELONGS, Owner(entity, attribute))
        return cls

    return declare


def discloses(entity: Entity, attribute: str) -> Callable[[TypeT], TypeT]:
    """The record carries data about the entity (a person): returning it discloses them."""

    def declare(cls: TypeT) -> TypeT:
        setattr(cls, _DISCLOSES, (*cls.__dict__.get(_DISCLOSES, ()), Owner(entity, attribute)))
        return cls

    return declare


def owner_of(cls: type) -> Owner | None:
    found = cls.__dict__.get(_BELONGS)
    return found if isinstance(found, Owner) else None


def disclosed_by(cls: type) -> tuple[Owner, ...]:
    found = cls.__dict__.get(_DISCLOSES, ())
    return tuple(found) if isinstance(found, tuple) else ()


def names(entity: Entity, **field_kwargs: Any) -> Any:
    """An input field (or argument) whose value is `entity`'s key, e.g. a filter's
    `projectCode`: `project_code: str | None = names(Entity.PROJECT, default=None)`."""
    metadata = {**field_kwargs.pop("metadata", {}), NAMES_KEY: entity}
    return strawberry.field(metadata=metadata, **field_kwargs)


def naming(entity: Entity, **argument_kwargs: Any) -> Any:
    """The same for a resolver's argument:
    `project_code: Annotated[str | None, naming(Entity.PROJECT)] = None`."""
    return strawberry.argument(metadata={NAMES_KEY: entity}, **argument_kwargs)
