"""Fill every agency's database from the synthetic world, fast enough for a million workers.

The world is generated once and streamed: each batch goes to every agency's `seed.rows_for`
and its rows straight to that agency's database, in transactions of about a million rows
(committing every batch made SQLite rewrite the same index pages to its WAL over and over,
a quarter slower at scale large). The ORM is bypassed: SQLite gets `executemany` of plain
INSERTs on the raw connection with `synchronous=OFF` (a crashed load is simply re-run),
PostgreSQL gets `COPY ... FROM STDIN`. Tables must exist already (migrations create them);
seeding only deletes and inserts rows.

Provenance: each importable table gets one batch in its agency's registry (outcome
`seeded`, channel `seed`, as of the last day of the world's last month), and its rows that
batch's id, as if the agency had sent the world in one file per table.
"""

from __future__ import annotations

import importlib
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, Table, inspect, select

from connectors.base import Connector
from hub.importing import agency_tables
from ingest.batches import SEEDED
from ingest.staging import bound_values
from kernel.scalars import month_end
from synthetic.world import DEFAULT_THROUGH_MONTH, WorldBatch, generate

__all__ = ["DEFAULT_THROUGH_MONTH", "SeedReport", "has_data", "is_seeded", "seed"]

_ROWS_PER_TRANSACTION = 1_000_000
_BATCH_COUNTS = (
    "rows_read", "rows_valid", "rows_rejected", "rows_inserted", "rows_updated",
    "rows_unchanged", "errors", "warnings",
)  # fmt: skip
TableRows = tuple[Table, list[dict[str, Any]]]


@dataclass(frozen=True)
class SeedReport:
    scale: str
    seed: int
    through_month: date
    rows: dict[str, int] = field(default_factory=dict)  # by table name
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        lines = [f"{table:28} {count:>12,}" for table, count in self.rows.items()]
        lines.append(
            f"seeded {self.total_rows:,} rows (scale {self.scale}, seed {self.seed}, through"
            f" {self.through_month:%Y-%m}) in {self.seconds:.1f} s"
        )
        return "\n".join(lines)


def seed(
    connectors: Sequence[Connector],
    scale: str,
    seed: int,
    *,
    through_month: date = DEFAULT_THROUGH_MONTH,
    replace: bool = True,
) -> SeedReport:
    """Load the world at `scale` into every connector's tables.

    With `replace`, existing rows of the connectors' tables are deleted first; without it the
    tables are assumed empty (as after migrations), since the same world's keys would collide.
    """
    started = time.perf_counter()
    rows: Counter[str] = Counter()
    source = f"synthetic world (scale {scale}, seed {seed}, through {through_month:%Y-%m})"
    with ExitStack() as stack:
        writers = [stack.enter_context(_writer(connector)) for connector in connectors]
        if replace:
            for connector, writer in zip(connectors, writers, strict=True):
                writer.clear(connector.metadata.sorted_tables)
        for connector, writer in zip(connectors, writers, strict=True):
            writer.register_batches(connector, source, month_end(through_month))
        for batch in generate(scale, seed, through_month):
            for connector, writer in zip(connectors, writers, strict=True):
                for table, table_rows in _seed_rows(connector)(batch):
                    if table_rows:
                        writer.write(table, table_rows)
                        rows[table.name] += len(table_rows)
                writer.commit(when_over=_ROWS_PER_TRANSACTION)
        for connector, writer in zip(connectors, writers, strict=True):
            writer.count_batches(rows)
            writer.commit()
            writer.analyze(connector.metadata.sorted_tables)
    return SeedReport(scale, seed, through_month, dict(rows), time.perf_counter() - started)


def _seed_rows(connector: Connector) -> Callable[[WorldBatch], Iterable[TableRows]]:
    """The agency's `seed.rows_for`: its rows of one batch of the synthetic world."""
    module = importlib.import_module(f"{type(connector).__module__}.seed")
    rows_for: Callable[[WorldBatch], Iterable[TableRows]] = module.rows_for
    return rows_for


def has_data(connectors: Sequence[Connector]) -> list[str]:
    """The tables (of existing ones) that hold at least one row."""
    found = []
    for connector in connectors:
        engine = connector.database.sync_engine()
        try:
            with engine.connect() as connection:
                present = set(inspect(connection).get_table_names())
                for table in connector.metadata.sorted_tables:
                    if (
                        table.name in present
                        and connection.execute(select(1).select_from(table).limit(1)).first()
                    ):
                        found.append(table.name)
        finally:
            engine.dispose()
    return found


def is_seeded(connectors: Sequence[Connector]) -> bool:
    """Whether every table of every connector exists and holds at least one row.

    Every table gets rows from the first batch, so a load interrupted later still counts as
    seeded: re-run `seed` (it replaces) to be sure of a complete world.
    """
    for connector in connectors:
        engine = connector.database.sync_engine()
        try:
            with engine.connect() as connection:
                present = set(inspect(connection).get_table_names())
                for table in connector.metadata.sorted_tables:
                    if table.name not in present:
                        return False
                    if connection.execute(select(1).select_from(table).limit(1)).first() is None:
                        return False
        finally:
            engine.dispose()
    return True


class _Writer(ABC):
    """Bulk writes to one database over its raw DBAPI connection, one transaction a batch."""

    mark = "?"  # the driver's parameter marker (sqlite3; psycopg's below)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.raw = engine.raw_connection()
        self.connection: Any = self.raw.driver_connection
        self.pending = 0  # rows written since the last commit
        self._quote = engine.dialect.identifier_preparer.quote
        self._batches: Table | None = None
        self._batch_of: dict[str, int] = {}  # table name → its seed batch

    def statement_parts(self, table: Table, columns: Sequence[str]) -> tuple[str, str]:
        """The quoted table name and column list."""
        return self._quote(table.name), ", ".join(self._quote(column) for column in columns)

    @abstractmethod
    def clear(self, tables: Sequence[Table]) -> None: ...

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        batch_id = self._batch_of.get(table.name)
        if batch_id is not None:
            for row in rows:
                row["batch_id"] = batch_id
        self.insert(table, rows)
        self.pending += len(rows)

    def register_batches(self, connector: Connector, source: str, as_of: date) -> None:
        """One `seeded` batch per importable table of the agency (none without any)."""
        declared = agency_tables(connector)
        if declared is None:
            return
        self._batches = declared.batches
        now = datetime.now(UTC)
        for importable in declared:
            values = {
                "table_name": importable.name, "channel": "seed", "submitted_by": "hub seed",
                "source": source, "sha256": "", "as_of": as_of, "started_at": now,
                "finished_at": now, "outcome": SEEDED, "seconds": "{}",
            }  # fmt: skip
            for count in _BATCH_COUNTS:
                values[count] = 0
            names = ", ".join(self._quote(name) for name in values)
            marks = ", ".join([self.mark] * len(values))
            cursor = self.connection.cursor()
            cursor.execute(
                f"INSERT INTO {self._quote(declared.batches.name)} ({names}) VALUES ({marks})"
                " RETURNING id",
                bound_values(declared.batches, self.engine.dialect, values),
            )
            self._batch_of[importable.table.name] = int(cursor.fetchone()[0])
            cursor.close()

    def count_batches(self, rows: Counter[str]) -> None:
        """The seed batches' row counts, once every row is in."""
        if self._batches is None:
            return
        table = self._quote(self._batches.name)
        for name, batch_id in self._batch_of.items():
            count = rows.get(name, 0)
            self.connection.execute(
                f"UPDATE {table} SET rows_read = {self.mark}, rows_valid = {self.mark},"
                f" rows_inserted = {self.mark} WHERE id = {self.mark}",
                (count, count, count, batch_id),
            )

    @abstractmethod
    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None: ...

    def commit(self, *, when_over: int = 0) -> None:
        """Commit, or with `when_over` only once more rows than that are pending."""
        if self.pending >= when_over:
            self.connection.commit()
            self.pending = 0

    def analyze(self, tables: Sequence[Table]) -> None:
        """Fresh planner statistics: after a bulk load PostgreSQL has none until autovacuum
        gets round to it, and a one-row join then takes 70x longer."""
        for table in tables:
            self.connection.execute(f"ANALYZE {self._quote(table.name)}")
        self.connection.commit()

    def close(self) -> None:
        self.raw.close()
        self.engine.dispose()


class _SqliteWriter(_Writer):
    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # Per connection, so it ends with this one; a crash mid-load only means re-seeding.
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-262144")  # 256 MiB for index pages
        self._statements: dict[tuple[str, tuple[str, ...]], tuple[str, Callable[..., Any]]] = {}

    def clear(self, tables: Sequence[Table]) -> None:
        for table in reversed(tables):
            self.connection.execute(f"DELETE FROM {self._quote(table.name)}")
        self.commit()

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        sql, to_values = self._prepared(table, tuple(rows[0]))
        self.connection.executemany(sql, map(to_values, rows))

    def _prepared(
        self, table: Table, columns: tuple[str, ...]
    ) -> tuple[str, Callable[[dict[str, Any]], Sequence[Any]]]:
        """The INSERT for these columns and a row-to-values function applying the column
        types' bind processors (dates become ISO strings exactly as SQLAlchemy stores them)."""
        key = (table.name, columns)
        if key not in self._statements:
            name, column_list = self.statement_parts(table, columns)
            sql = f"INSERT INTO {name} ({column_list}) VALUES ({', '.join('?' * len(columns))})"
            self._statements[key] = (sql, _row_values(table, columns, self.engine))
        return self._statements[key]


class _PostgresWriter(_Writer):
    mark = "%s"

    def clear(self, tables: Sequence[Table]) -> None:
        names = ", ".join(self._quote(table.name) for table in tables)
        self.connection.execute(f"TRUNCATE {names} RESTART IDENTITY")
        self.commit()

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        columns = tuple(rows[0])
        name, column_list = self.statement_parts(table, columns)
        values = _getter(columns)
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY {name} ({column_list}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(values(row))


@contextmanager
def _writer(connector: Connector) -> Iterator[_Writer]:
    engine = connector.database.sync_engine()
    writer = _SqliteWriter(engine) if connector.database.is_sqlite else _PostgresWriter(engine)
    try:
        yield writer
    finally:
        writer.close()


def _getter(columns: Sequence[str]) -> Callable[[dict[str, Any]], Sequence[Any]]:
    """A row's values in column order, always as a sequence."""
    if len(columns) == 1:
        (column,) = columns
        return lambda row: (row[column],)
    return itemgetter(*columns)


def _row_values(
    table: Table, columns: Sequence[str], engine: Engine
) -> Callable[[dict[str, Any]], Sequence[Any]]:
    values = _getter(columns)
    dialect = engine.dialect
    processors = [
        (position, processor)
        for position, column in enumerate(columns)
        if (processor := table.c[column].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    if not processors:
        return values

    def processed(row: dict[str, Any]) -> Sequence[Any]:
        converted = list(values(row))
        for position, processor in processors:
            converted[position] = processor(converted[position])
        return converted

    return processed
