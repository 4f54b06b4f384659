"""The database side of an import: a temporary staging table, the checks that need the
database, and the one statement that applies the rows.

Rows go into `ingest_stage`, a temporary table of the importing connection (SQLite:
`executemany` into a temp table; PostgreSQL: `COPY ... FROM STDIN`), in transactions of
their own: nothing the agency's tables hold changes while the file is read. Then one
transaction checks references with set-based queries on the staged rows, registers the
batch, applies every row with

    INSERT INTO <table> (...) SELECT ... FROM ingest_stage ORDER BY row_no
    ON CONFLICT (<natural key>) DO UPDATE SET ... WHERE <some value differs>

and commits. A row sent again unchanged is not touched (it keeps the batch that wrote
it), a changed one takes the new values and the new batch; surrogate ids follow the
file's order. A process killed at any point leaves the agency's tables as they were: the
temporary table dies with the connection and the open transaction is rolled back.

Streamed (`start_applying`, what the engine does unless rows may be left out after the
checks): the apply transaction begins before the first row is staged, and each chunk of
`APPLY_ROWS` is upserted (the same statement, over its row numbers) once it is staged,
while the parsing process reads on: the apply, the largest step after the reading,
then overlaps it instead of following it. The checks run on the staged rows as before,
inside that transaction; an error rolls the whole of it back. A chunk that breaks a
rule of the table stops the applying and is kept for `apply` to raise (PostgreSQL: each
chunk under a savepoint, so the rest can still be staged and checked).

An entity column whose keys the audit log stores transformed (a worker's ID number as a
keyed hash: `entity_keys`) is staged transformed too, in a column of its own, as the rows
come in (the importing process mostly waits for the parser then): the audit records read
each entity's stored key back sorted, and so fill the audit log's entity index in its own
order, one pass through it. In the order of the ID numbers, the hashes land all over the
index, and each group of records rewrote most of its pages: at a million workers that
was 15 of the import's 31 CPU seconds on SQLite.

SQLite takes the database's write lock for the apply transaction (`BEGIN IMMEDIATE`), so
concurrent imports to one SQLite database run one after the other (streamed, the lock
is held from the first staged row); readers are not blocked (WAL). PostgreSQL imports
run concurrently; rows both change wait on each other.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Engine, Table
from sqlalchemy.engine import Dialect

from ingest.parsing import StagedRow
from ingest.targets import Importable, Reference
from kernel.deferred import deferred
from storage.database import Database

if TYPE_CHECKING:
    import psycopg
else:
    psycopg = deferred("psycopg")  # PostgreSQL's own driver, imported with its first stage

STAGE: Final = "ingest_stage"
MISSING: Final = "ingest_missing"
KEYS: Final = "ingest_keys"
"""Another database's temporary table of the keys it is asked about (PostgreSQL)."""
KEYS_PER_LOOKUP: Final = 1_000
FETCH_ROWS: Final = 10_000
APPLY_ROWS: Final = 50_000
"""Streamed: staged rows upserted by one statement. Each upsert costs SQLite more than its
rows (the index pages it changes again, written again): a million rows applied 5,000 at a
time took 39 % more CPU than one apply, 50,000 at a time 22 % (a table with this one's
indexes, rows in file order), and 300,000 rows at 25,000 no more than one."""
SQLITE_CACHE_KIB: Final = 65_536
"""The apply connection's page cache on SQLite (its default is 2 MiB): most of the index
pages a million rows touch stay in memory while they are inserted; 128 MiB put the
import's peak over 500 MiB with the audit writer's pages and the parsing process beside it."""

EntityKeys = Mapping[str, Callable[[str], str]]
"""Entity kinds whose keys the audit log stores transformed, each with its transform (the
kind "Worker": ID number → keyed hash); other kinds are stored as they are."""


def bound_values(table: Table, dialect: Dialect, values: Mapping[str, Any]) -> list[Any]:
    """`values` as the driver takes them, through the columns' bind processors."""
    out = []
    for name, value in values.items():
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        out.append(processor(value) if processor is not None and value is not None else value)
    return out


class Stage(ABC):
    """One import's connection to the agency's database."""

    mark: str
    conflicts: tuple[type[Exception], ...]
    """The driver's error for rows that break a rule of the table the staged checks do not
    know (a second account for one project): the import is refused, nothing written."""
    chunk_failures: tuple[type[Exception], ...]
    """What stops a streamed apply: `conflicts`, and on PostgreSQL a key the file has twice
    (which the duplicate check then reports)."""

    def __init__(
        self, database: Database, target: Importable, entity_keys: EntityKeys | None = None
    ) -> None:
        self.target = target
        self.engine: Engine = database.one_off_engine()  # its connection given back after
        self.pooled = self.engine.raw_connection()
        self.connection: Any = self.pooled.driver_connection
        self.dialect = self.engine.dialect
        self.quote: Callable[[str], str] = self.dialect.identifier_preparer.quote
        self.table = self.quote(target.table.name)
        self.columns = target.written
        self.quoted = [self.quote(name) for name in self.columns]
        # (position in a staged row, stage column, transform) of each transformed entity key
        self.keyed = tuple(
            (1 + self.columns.index(column), f"entity_{column}", transform)
            for kind, column in target.entities
            if entity_keys and (transform := entity_keys.get(kind)) is not None
        )
        self.staged_names = [*self.quoted, *(self.quote(name) for _, name, _ in self.keyed)]
        self.applying: int | None = None
        """Streamed: the batch id each chunk is applied under as it is staged."""
        self.applied = (0, 0)
        """Streamed: (inserted, updated) so far (SQLite: rows changed, and the table's row
        count before the first chunk)."""
        self.failure: Exception | None = None
        """Streamed: a chunk's conflict (`conflicts`); nothing more is applied after it."""
        self._unapplied: tuple[int, int] | None = None
        self._unapplied_rows = 0
        self._staged_rows = 0

    # --- staging ------------------------------------------------------------------------

    def _column_types(self) -> list[str]:
        return [
            *(
                f"{self.quote(name)} {self.target.table.c[name].type.compile(dialect=self.dialect)}"
                for name in self.columns
            ),
            *(f"{self.quote(name)} TEXT" for _, name, _ in self.keyed),
        ]

    def _with_keys(self, rows: list[StagedRow]) -> list[StagedRow]:
        """Rows with each transformed entity key appended (None stays None)."""
        for position, _, transform in self.keyed:
            rows = [
                (*row, None if row[position] is None else transform(str(row[position])))
                for row in rows
            ]
        return rows

    def entity_column(self, column: str) -> str:
        """The staged column holding an entity column's keys as the audit log stores them."""
        return next((name for _, name, _ in self.keyed if name == f"entity_{column}"), column)

    @abstractmethod
    def create(self) -> None:
        """The empty staging table."""

    def write(self, rows: list[StagedRow]) -> None:
        """Stage rows (row number first, in file order); streamed, apply them too, once
        `APPLY_ROWS` of them wait."""
        self._write(rows)
        self._staged_rows += len(rows)
        if self.applying is None or not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        assert isinstance(first, int)
        assert isinstance(last, int)
        self._unapplied = (self._unapplied[0] if self._unapplied else first, last)
        self._unapplied_rows += len(rows)
        if self._unapplied_rows >= APPLY_ROWS:
            self._apply_unapplied()

    def _apply_unapplied(self) -> None:
        if self._unapplied is None or self.applying is None:
            return
        (first, last), self._unapplied, self._unapplied_rows = self._unapplied, None, 0
        if self.failure is None:
            try:
                self._apply_chunk(self.applying, first, last)
            except self.chunk_failures as error:
                self.failure = error

    @abstractmethod
    def _write(self, rows: list[StagedRow]) -> None:
        """Stage rows (row number first)."""

    def start_applying(self, batches: Table, values: Mapping[str, Any]) -> int:
        """Streamed: begin the apply transaction and register the batch (`values`, which
        `update_batch` completes) before any row is staged; its id."""
        self._begin_applying()
        self.applying = self.register(batches, values)
        return self.applying

    @abstractmethod
    def _begin_applying(self) -> None:
        """The apply transaction, before the first row is staged."""

    @abstractmethod
    def _apply_chunk(self, batch_id: int, first: int, last: int) -> None:
        """Upsert the staged rows `first` to `last` (row numbers); add to `applied`."""

    def staged(self) -> None:
        """Every row is staged (streamed: the last ones applied now); what follows runs in
        the apply transaction."""
        self._apply_unapplied()
        self._staged()

    @abstractmethod
    def _staged(self) -> None:
        """The backend's part of `staged`."""

    # --- checks ----------------------------------------------------------------------------

    def _one(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, parameters)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return row[0] if row is not None else None

    def count(self) -> int:
        """The rows staged: counted as they are written and dropped, not asked for (a
        round trip on PostgreSQL for every import and every part of a national call)."""
        return self._staged_rows

    def latest(self, column: str) -> date | None:
        """The largest value of a date column among the staged rows."""
        value = self._one(f"SELECT max({self.quote(column)}) FROM {STAGE}")
        return date.fromisoformat(value) if isinstance(value, str) else value

    def unresolved(self, reference: Reference) -> Iterator[tuple[Any, ...]]:
        """(row number, *values) of staged rows whose reference this database lacks."""
        there = self.quote(reference.table)
        here = [f"s.{self.quote(column)}" for column in reference.columns]
        matches = " AND ".join(
            f"r.{self.quote(key)} = {column}"
            for key, column in zip(reference.keys, here, strict=True)
        )
        given = " OR ".join(f"{column} IS NOT NULL" for column in here)
        yield from self._stream(
            f"SELECT s.row_no, {', '.join(here)} FROM {STAGE} s WHERE ({given})"
            f" AND NOT EXISTS (SELECT 1 FROM {there} r WHERE {matches}) ORDER BY s.row_no"
        )

    def duplicates(self) -> Iterator[tuple[Any, ...]]:
        """(row number, first row, *key values) of staged rows whose stored key an earlier
        row has; empty key parts are equal, as a file's are (one sort, no join). Whether
        there is any is asked first with a grouping that stops at the first: it sorts the
        keys alone, where the window carries every row through (at a million rows on
        SQLite 1.0 CPU s against 2.6), and most files have none."""
        names = ", ".join(self.quote(name) for name in self.target.key)
        if self._one(f"SELECT 1 FROM {STAGE} GROUP BY {names} HAVING count(*) > 1 LIMIT 1") is None:
            return
        yield from self._stream(
            f"SELECT row_no, first, {names} FROM (SELECT row_no, {names}, min(row_no)"
            f" OVER (PARTITION BY {names}) AS first FROM {STAGE}) d"
            " WHERE row_no <> first ORDER BY row_no"
        )

    def distinct(self, column: str) -> Iterator[Any]:
        """Each value of a staged column once (none of the NULLs), in order."""
        quoted = self.quote(column)
        for (value,) in self._stream(
            f"SELECT DISTINCT {quoted} FROM {STAGE} WHERE {quoted} IS NOT NULL ORDER BY 1"
        ):
            yield value

    def written(self, column: str, batch_id: int) -> Iterator[Any]:
        """Each value of a staged column once, among the rows this batch inserted or
        changed (a row sent again unchanged keeps its earlier batch)."""
        quoted = self.quote(column)
        same = " AND ".join(
            f"t.{self.quote(name)} = s.{self.quote(name)}" for name in self.target.key
        )
        for (value,) in self._stream(
            f"SELECT DISTINCT s.{quoted} FROM {STAGE} s JOIN {self.table} t ON {same}"
            f" WHERE t.batch_id = {self.mark} AND s.{quoted} IS NOT NULL ORDER BY 1",
            [batch_id],
        ):
            yield value

    @abstractmethod
    def _stream(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """A query's rows a chunk at a time (never all in memory)."""

    def attach(self, name: str, database: Database) -> str | None:
        """Make another agency's database readable in this connection's queries, when the
        backend can (two SQLite files: ATTACH, before any transaction); its schema name."""
        return None

    def mark_missing_there(self, column: str, schema: str, table: str, key: str) -> None:
        """Remember the staged column's values an attached database's table lacks."""
        quoted = self.quote(column)
        self._execute(
            f"INSERT INTO {MISSING} (k) SELECT DISTINCT s.{quoted} FROM {STAGE} s"
            f" WHERE s.{quoted} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {schema}."
            f"{self.quote(table)} r WHERE r.{self.quote(key)} = s.{quoted})"
        )

    def mark_missing_by_copy(self, column: str, other: Any, table: str, key: str) -> bool:
        """Remember the staged column's values another database's table lacks, in bulk
        when the backends can (`other`: a driver connection to it); whether it was done."""
        return False

    def mark_missing(self, keys: Sequence[Any]) -> None:
        """Remember keys another agency lacks (`missing_rows` reports them)."""
        self._many(f"INSERT INTO {MISSING} (k) VALUES ({self.mark})", [(key,) for key in keys])

    def start_missing(self) -> None:
        self._execute(f"DROP TABLE IF EXISTS {MISSING}")
        self._execute(f"CREATE TEMPORARY TABLE {MISSING} (k TEXT PRIMARY KEY)")

    def missing_rows(self, column: str, limit: int) -> tuple[int, list[tuple[int, int, Any]]]:
        """How many keys were marked missing, and (first row, rows, key) for the first
        `limit` of them in row order."""
        total = int(self._one(f"SELECT count(*) FROM {MISSING}"))
        quoted = self.quote(column)
        found = list(
            self._stream(
                f"SELECT min(s.row_no), count(*), s.{quoted} FROM {STAGE} s JOIN {MISSING} m"
                f" ON s.{quoted} = m.k GROUP BY s.{quoted} ORDER BY 1 LIMIT {int(limit)}"
            )
        )
        return total, found

    def drop_rows(self, row_numbers: Sequence[int]) -> list[tuple[Any, ...]]:
        """Take rows out of the stage (rejected by a check); returns them as staged."""
        taken: list[tuple[Any, ...]] = []
        for start in range(0, len(row_numbers), KEYS_PER_LOOKUP):
            chunk = list(row_numbers[start : start + KEYS_PER_LOOKUP])
            marks = ", ".join([self.mark] * len(chunk))
            names = ", ".join(self.quoted)
            taken += self._stream(
                f"SELECT row_no, {names} FROM {STAGE} WHERE row_no IN ({marks}) ORDER BY row_no",
                chunk,
            )
            self._execute(f"DELETE FROM {STAGE} WHERE row_no IN ({marks})", chunk)
        self._staged_rows -= len(taken)
        return taken

    # --- the apply transaction -----------------------------------------------------------

    def register(self, batches: Table, values: Mapping[str, Any]) -> int:
        """A batch registry row; its id."""
        names = ", ".join(self.quote(name) for name in values)
        marks = ", ".join([self.mark] * len(values))
        cursor = self.connection.cursor()
        try:
            cursor.execute(
                f"INSERT INTO {self.quote(batches.name)} ({names}) VALUES ({marks}) RETURNING id",
                bound_values(batches, self.dialect, values),
            )
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def update_batch(self, batches: Table, batch_id: int, values: Mapping[str, Any]) -> None:
        assignments = ", ".join(f"{self.quote(name)} = {self.mark}" for name in values)
        self._execute(
            f"UPDATE {self.quote(batches.name)} SET {assignments} WHERE id = {self.mark}",
            [*bound_values(batches, self.dialect, values), batch_id],
        )

    def _upsert(self, batch_mark: str, differs: str, where: str = "true") -> str:
        names = ", ".join(self.quoted)
        key = ", ".join(self.quote(name) for name in self.target.key)
        others = [self.quote(name) for name in self.columns if name not in self.target.key]
        insert = (
            f"INSERT INTO {self.table} ({names}, batch_id)"
            f" SELECT {names}, {batch_mark} FROM {STAGE} WHERE {where} ORDER BY row_no"
        )
        if not others:
            return f"{insert} ON CONFLICT ({key}) DO NOTHING"
        assignments = ", ".join(f"{name} = excluded.{name}" for name in [*others, "batch_id"])
        changed = " OR ".join(f"{self.table}.{name} {differs} excluded.{name}" for name in others)
        return f"{insert} ON CONFLICT ({key}) DO UPDATE SET {assignments} WHERE {changed}"

    @abstractmethod
    def apply(self, batch_id: int) -> tuple[int, int]:
        """Upsert every staged row (streamed: what the chunks did, or raise the conflict
        that stopped them); (inserted, updated)."""

    def begin(self) -> None:  # noqa: B027 - PostgreSQL needs nothing here
        """A transaction after a rollback (PostgreSQL begins one by itself)."""

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        # given back: closed (SQLite: its ATTACHes go), or on PostgreSQL kept for the
        # next use, its session reset (`storage.pooling`)
        self.pooled.close()

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, parameters)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cursor = self.connection.cursor()
            try:
                cursor.executemany(sql, rows)
            finally:
                cursor.close()


class SqliteStage(Stage):
    mark = "?"
    conflicts = chunk_failures = (sqlite3.IntegrityError,)

    def __init__(
        self, database: Database, target: Importable, entity_keys: EntityKeys | None = None
    ) -> None:
        super().__init__(database, target, entity_keys)
        self.connection.isolation_level = None  # transactions are begun here, explicitly
        self._execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        self._execute("PRAGMA temp_store=FILE")
        self._insert = (
            f"INSERT INTO {STAGE} (row_no, {', '.join(self.staged_names)})"
            f" VALUES ({', '.join('?' * (len(self.staged_names) + 1))})"
        )
        self._chunk = self._upsert("?", "IS NOT", "row_no BETWEEN ? AND ?")

    def attach(self, name: str, database: Database) -> str | None:
        if not database.is_sqlite or not database.url.database:
            return None
        schema = f"lookup_{name}"
        self._execute(f"ATTACH DATABASE ? AS {schema}", [database.url.database])
        return schema

    def create(self) -> None:
        self._execute(f"DROP TABLE IF EXISTS temp.{STAGE}")
        self._execute(
            f"CREATE TEMPORARY TABLE {STAGE}"
            f" (row_no INTEGER PRIMARY KEY, {', '.join(self._column_types())})"
        )
        self._execute("BEGIN")

    def _write(self, rows: list[StagedRow]) -> None:
        self.connection.executemany(self._insert, self._with_keys(rows) if self.keyed else rows)

    def _staged(self) -> None:
        if self.applying is not None:
            return
        self._execute("COMMIT")
        # The write lock from the start: no other writer can slip in between the checks
        # and the apply (a deferred transaction would fail to upgrade if one did).
        self._execute("BEGIN IMMEDIATE")

    def _begin_applying(self) -> None:
        self._execute("COMMIT")
        self._execute("BEGIN IMMEDIATE")
        self.applied = (0, int(self._one(f"SELECT count(*) FROM {self.table}")))

    def _apply_chunk(self, batch_id: int, first: int, last: int) -> None:
        # a statement that fails is undone on its own; the transaction goes on
        changed = self._execute(self._chunk, [batch_id, first, last])
        self.applied = (self.applied[0] + changed, self.applied[1])

    def _stream(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, parameters)
            while rows := cursor.fetchmany(FETCH_ROWS):
                yield from rows
        finally:
            cursor.close()

    def apply(self, batch_id: int) -> tuple[int, int]:
        if self.applying is not None:
            if self.failure is not None:
                raise self.failure
            changed, before = self.applied
        else:
            before = int(self._one(f"SELECT count(*) FROM {self.table}"))
            changed = self._execute(self._upsert("?", "IS NOT"), [batch_id])
        inserted = int(self._one(f"SELECT count(*) FROM {self.table}")) - before
        return inserted, changed - inserted

    def begin(self) -> None:
        self._execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._execute("COMMIT")

    def rollback(self) -> None:
        if self.connection.in_transaction:
            self._execute("ROLLBACK")


class PostgresStage(Stage):
    mark = "%s"

    def __init__(
        self, database: Database, target: Importable, entity_keys: EntityKeys | None = None
    ) -> None:
        super().__init__(database, target, entity_keys)
        self.conflicts = (psycopg.errors.IntegrityError,)
        self.chunk_failures = (*self.conflicts, psycopg.errors.CardinalityViolation)
        self._chunk = self._upsert("%s", "IS DISTINCT FROM", "row_no BETWEEN %s AND %s")

    def create(self) -> None:
        self._execute(  # one round trip: no parameters, so both go as one simple query
            f"DROP TABLE IF EXISTS pg_temp.{STAGE};"
            f" CREATE TEMPORARY TABLE {STAGE} (row_no integer PRIMARY KEY,"
            f" {', '.join(self._column_types())})"
        )
        self._copy = f"COPY {STAGE} (row_no, {', '.join(self.staged_names)}) FROM STDIN"

    def _write(self, rows: list[StagedRow]) -> None:
        with self.connection.cursor() as cursor, cursor.copy(self._copy) as copy:
            for row in self._with_keys(rows) if self.keyed else rows:
                copy.write_row(row)

    def _staged(self) -> None:
        if self.applying is None:
            self.connection.commit()
        self._execute(f"ANALYZE {STAGE}")  # the planner's row count for the checks' joins

    def _begin_applying(self) -> None:
        self.connection.commit()  # the staging table's creation; the apply's begins here

    def _apply_chunk(self, batch_id: int, first: int, last: int) -> None:
        # under a savepoint: a conflict leaves the transaction usable for the checks
        self._execute("SAVEPOINT ingest_chunk")
        try:
            inserted, updated = self._counted(self._chunk, [batch_id, first, last])
        except self.chunk_failures:
            self._execute("ROLLBACK TO SAVEPOINT ingest_chunk")
            raise
        self._execute("RELEASE SAVEPOINT ingest_chunk")
        self.applied = (self.applied[0] + inserted, self.applied[1] + updated)

    def _stream(self, sql: str, parameters: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        with self.connection.cursor(name="ingest_stream") as cursor:
            cursor.itersize = FETCH_ROWS
            cursor.execute(sql, parameters or None)
            yield from cursor

    def apply(self, batch_id: int) -> tuple[int, int]:
        if self.applying is not None:
            if self.failure is not None:
                raise self.failure
            return self.applied
        return self._counted(self._upsert("%s", "IS DISTINCT FROM"), [batch_id])

    def _counted(self, upsert: str, parameters: Sequence[Any]) -> tuple[int, int]:
        """(inserted, updated) by an upsert."""
        row = self._one_row(
            f"WITH up AS ({upsert} RETURNING (xmax = 0) AS new)"
            " SELECT count(*) FILTER (WHERE new), count(*) FILTER (WHERE NOT new) FROM up",
            parameters,
        )
        return int(row[0]), int(row[1])

    def _one_row(self, sql: str, parameters: Sequence[Any]) -> tuple[Any, ...]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            found: tuple[Any, ...] = cursor.fetchone()
            return found

    def mark_missing_by_copy(self, column: str, other: Any, table: str, key: str) -> bool:
        """Two PostgreSQL databases: the distinct values copied into a temporary table of
        the other, one anti-join there, the missing ones copied back. At a million workers
        this took 8 s where a thousand keys a query, in key order, took 12."""
        if not isinstance(other, psycopg.Connection):
            return False
        quoted = self.quote(column)
        kind = self.target.table.c[column].type.compile(dialect=self.dialect)
        other.execute(f"CREATE TEMPORARY TABLE {KEYS} (k {kind}) ON COMMIT DROP")
        with self.connection.cursor() as here, other.cursor() as there:
            _pipe(
                here, f"SELECT DISTINCT {quoted} FROM {STAGE} WHERE {quoted} IS NOT NULL",
                there, f"{KEYS} (k)",
            )  # fmt: skip
            there.execute(f"ANALYZE {KEYS}")
            _pipe(
                there,
                f"SELECT k FROM {KEYS} WHERE NOT EXISTS (SELECT 1 FROM {table} r"
                f" WHERE r.{key} = {KEYS}.k)",
                here,
                f"{MISSING} (k)",
            )
        return True

    def drop_rows(self, row_numbers: Sequence[int]) -> list[tuple[Any, ...]]:
        names = ", ".join(self.quoted)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {STAGE} WHERE row_no = ANY(%s) RETURNING row_no, {names}",
                [list(row_numbers)],
            )
            taken = sorted(cursor.fetchall())
        self._staged_rows -= len(taken)
        return taken


def _pipe(source: Any, query: str, target: Any, table: str) -> None:
    """A query's rows on one PostgreSQL connection copied into a table on another, as the
    server writes them (no Python value per row)."""
    with (
        source.copy(f"COPY ({query}) TO STDOUT") as rows,
        target.copy(f"COPY {table} FROM STDIN") as into,
    ):
        for block in rows:
            into.write(block)


def open_stage(
    database: Database, target: Importable, entity_keys: EntityKeys | None = None
) -> Stage:
    kind = SqliteStage if database.is_sqlite else PostgresStage
    return kind(database, target, entity_keys)


def seconds_json(seconds: Mapping[str, float]) -> str:
    return json.dumps({phase: round(value, 3) for phase, value in seconds.items()})
