"""Where an importable table lands: a `TableSpec` (what the file holds) bound to the
agency's database table (what is stored), with the natural key rows are upserted by, the
references each row must (or should) resolve, and the entities an import writes about.

An agency declares its importable tables in its own package (`connectors/bank/tables.py`):

    DISBURSEMENTS = Importable(spec, Disbursement.__table__, key=(...), references=(...))
    TABLES = AgencyTables("bank", INGEST_BANK, batches=ImportBatch.__table__,
                          tables=(ACCOUNTS, DISBURSEMENTS, ...))

Values go from the file's typed row (spec order) to the database row (`columns` order)
through `to_db`, and back through `from_db` for exports; both default to matching by
name, so most tables need neither. An `Importable` pickles by reference (its agency's
module and its name), so a parsing worker process finds the same declaration.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Table

from ingest.tables import TableSpec
from ingest.validate import TypedRow

DbRow = tuple[object, ...]
"""A row's values in `Importable.columns` order, as Python values (dates, ints, str)."""

ERROR: Final = "error"
WARNING: Final = "warning"


@dataclass(frozen=True, slots=True)
class Reference:
    """Each row's `columns` must name a row of `table` (`keys` there, in order).

    Within the importing agency's own database a missing row is an error (the row is not
    loaded: a disbursement from an account the bank does not hold); in another agency's
    it is a warning (agencies load independently: "worker not known to housing"). Rows
    whose referring columns are all empty are not checked.
    """

    columns: tuple[str, ...]
    table: str
    keys: tuple[str, ...]
    what_en: str
    what_zh: str
    agency: str | None = None
    """None: the importing agency itself; else the agency whose database holds `table`."""


@dataclass(frozen=True, slots=True)
class Importable:
    """One importable table of one agency."""

    spec: TableSpec
    table: Table
    key: tuple[str, ...]
    """Database columns of the natural key: a unique constraint (or the primary key)."""
    columns: tuple[str, ...] = ()
    """Database columns an import writes, in order; by default the spec's columns the
    table has (`batch_id` is written by the engine)."""
    to_db: Callable[[TypedRow], DbRow] | None = None
    from_db: Callable[[Mapping[str, Any]], TypedRow] | None = None
    references: tuple[Reference, ...] = ()
    entities: tuple[tuple[str, str], ...] = ()
    """(entity kind, database column) pairs an import writes about, for the audit log:
    ("Worker", "worker_id_number"), ("Project", "project_code")."""
    period: str | None = None
    """A database column holding the month each row is for: the batch's default as-of is
    the last day of its latest month."""
    export_order: tuple[str, ...] = ()
    """Database columns exports are ordered by (default: the primary key)."""
    _written: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        columns = self.columns or tuple(
            name for name in self.spec.column_names if name in self.table.c
        )
        object.__setattr__(self, "_written", columns)
        for name in (*columns, *self.key, *(c for _, c in self.entities)):
            if name not in self.table.c:
                raise ValueError(f"{self.table.name} has no column {name!r}")
        if not set(self.key) <= set(columns):
            raise ValueError(f"{self.table.name}: the key must be among the written columns")
        if "batch_id" not in self.table.c:
            raise ValueError(f"{self.table.name} has no batch_id column (batch_field())")
        for reference in self.references:
            unknown = set(reference.columns) - set(columns)
            if unknown or len(reference.columns) != len(reference.keys):
                raise ValueError(f"{self.table.name}: reference {reference.table} is malformed")

    @property
    def agency(self) -> str:
        return self.spec.agency

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def written(self) -> tuple[str, ...]:
        """The database columns an import writes, in order."""
        return self._written

    def db_row(self) -> Callable[[TypedRow], DbRow]:
        """The file's typed row → the database row."""
        if self.to_db is not None:
            return self.to_db
        positions = [self.spec.column_names.index(name) for name in self.written]
        return lambda values: tuple([values[position] for position in positions])

    def typed_row(self) -> Callable[[Mapping[str, Any]], TypedRow]:
        """A stored row (by column name) → the file's typed row, for exports."""
        if self.from_db is not None:
            return self.from_db
        names = self.spec.column_names
        present = [name if name in self.table.c else None for name in names]
        return lambda row: tuple(row[name] if name is not None else None for name in present)

    def __reduce__(self) -> tuple[Callable[[str, str, str], Importable], tuple[str, str, str]]:
        return (find_importable, (_MODULES[self.agency], self.agency, self.name))


_MODULES: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class AgencyTables:
    """An agency's importable tables, its ingest scope and its batch registry."""

    agency: str
    scope: str
    batches: Table
    tables: tuple[Importable, ...]
    module: str = ""

    def __post_init__(self) -> None:
        names = [table.name for table in self.tables]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.agency}: two importable tables share a name")
        for table in self.tables:
            if table.agency != self.agency:
                raise ValueError(f"{table.name} is declared for {table.agency}, not {self.agency}")
        if self.module:
            _MODULES[self.agency] = self.module

    def __iter__(self) -> Iterator[Importable]:
        return iter(self.tables)

    def get(self, name: str) -> Importable | None:
        return next((table for table in self.tables if table.name == name), None)

    @property
    def names(self) -> Sequence[str]:
        return [table.name for table in self.tables]


def find_importable(module: str, agency: str, name: str) -> Importable:
    """The declaration an `Importable` was pickled as (in a parsing worker process)."""
    tables: AgencyTables = importlib.import_module(module).TABLES
    found = tables.get(name)
    if found is None or tables.agency != agency:
        raise LookupError(f"{module} declares no table {agency}.{name}")
    return found
