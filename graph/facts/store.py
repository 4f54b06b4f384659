"""The `warning_fact` table and its reads. One row per project under construction and
month: its warning level, whether a measure went unassessed for lack of data, and its
region (copied from housing, so a region's rows are one index range). `warning_fact_month`
records which months a refresh has covered: only those are read from here."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Date,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from connectors.loading import any_prefix, starts_with
from graph.facts.marks import Marks
from storage.columns import UTCDateTime
from storage.database import Database

WARN_EVERY_SECONDS: Final = 60.0
COVERED_SECONDS: Final = 5.0
"""A month found covered is taken as covered this long without asking again (a refresh
only ever adds covered months; a dashboard page then costs one statement less)."""
REGION_DIGITS: Final = 6
"""A region code's length: a prefix this long names one district."""
RED: Final = 3
"""The highest level (`WarningLevel.RED`): a severity cursor key is `RED - level`."""

log = logging.getLogger(__name__)
metadata = MetaData()

warning_fact = Table(
    "warning_fact",
    metadata,
    Column("month", Date, primary_key=True),
    Column("project_code", String(32), primary_key=True),
    Column("region_code", String(6), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("no_data", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_warning_fact_region", "month", "region_code", "project_code"),
)

warning_fact_month = Table(
    "warning_fact_month",
    metadata,
    Column("month", Date, primary_key=True),
    Column("refreshed_at", UTCDateTime, nullable=False),
)

warning_fact_source = Table(
    "warning_fact_source",
    metadata,
    Column("agency", String(32), primary_key=True),
    Column("last_batch", Integer, nullable=False),
    Column("unseen", Text, nullable=False),
    Column("as_of", Text, nullable=False),
)
"""What the last refresh of every project saw of each agency (`graph.facts.changes`)."""

warning_fact_owner = Table(
    "warning_fact_owner",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("row_key", String(32), primary_key=True),
    Column("project_code", String(32), nullable=False),
)
"""The project of each row that can move to another (a labour contract, a wage account),
as of the last refresh."""


@dataclass(frozen=True)
class Fact:
    project_code: str
    month: date
    region_code: str
    level: int
    no_data: bool
    detail: str
    """The rest of the answer (measures, amounts, agencies without data) as JSON, so a
    page is read whole from here (`compliance.fact_detail`)."""


@dataclass(frozen=True)
class Where:
    """Which projects a dashboard read covers: a month, a region prefix, the caller's
    regions (empty: no limit) and the wanted levels (empty: all)."""

    month: date
    prefix: str | None = None
    within: tuple[str, ...] = ()
    levels: tuple[int, ...] = ()

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [warning_fact.c.month == self.month]
        if self.prefix and len(self.prefix) == REGION_DIGITS:
            # A district: equality, so the index yields its rows in project order and a
            # page reads only its own rows (a range would sort every row of the district).
            found.append(warning_fact.c.region_code == self.prefix)
        elif self.prefix:
            found.append(starts_with(warning_fact.c.region_code, self.prefix))
        if self.within:
            found.append(any_prefix(warning_fact.c.region_code, self.within))
        if self.levels:
            found.append(warning_fact.c.level.in_(sorted(self.levels)))
        return found


def _severity_after(key: str) -> ColumnElement[bool]:
    """Rows after a severity cursor `<RED - level><code>`, in (level desc, code) order."""
    rank, code = int(key[0]), key[1:]
    level = RED - rank
    return or_(
        warning_fact.c.level < level,
        and_(warning_fact.c.level == level, warning_fact.c.project_code > code),
    )


class FactsSettings(BaseModel):
    """The warning facts (`HUB_FACTS_*`; their database is `HUB_FACTS_DB_URL`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    months: int = Field(
        default=12,
        ge=1,
        le=120,
        description="Months the facts keep current, up to the latest month any agency's "
        "table covers (older months already covered stay current too); a refresh costs "
        "each project under construction this many assessments.",
    )


class FactsStore:
    """The facts' database: a migration target of its own, read per request by the
    dashboard's resolvers and written by `graph.facts.refresh`."""

    name = "facts"
    metadata = metadata
    version_table = "alembic_version_facts"
    migrations = Path(__file__).resolve().parent / "migrations"

    def __init__(self, database: Database, settings: FactsSettings | None = None) -> None:
        self.database = database
        self.window = (settings or FactsSettings()).months
        self._migrated = False
        self._warned = -WARN_EVERY_SECONDS
        self._covered: dict[date, float] = {}

    def __repr__(self) -> str:
        return f"<FactsStore {self.database!r}>"

    async def covers(self, month: date) -> bool:
        """A refresh has covered the month. False, with a warning, while the facts'
        database is not migrated: the dashboard then assesses every project as before."""
        statement = select(literal(1)).where(warning_fact_month.c.month == bindparam("month"))
        if not self._migrated:
            probe = select(literal(1)).select_from(warning_fact_month).limit(1)
            try:
                await self.database.fetch(probe)
            except Exception:  # no such table: which error depends on the driver
                now = time.monotonic()
                if now - self._warned > WARN_EVERY_SECONDS:
                    self._warned = now
                    log.warning("the warning facts' database is not migrated: run `hub migrate`")
                return False
            self._migrated = True
        now = time.monotonic()
        if self._covered.get(month, -COVERED_SECONDS) > now - COVERED_SECONDS:
            return True
        covered = bool(await self.database.fetch(statement, {"month": month}, reused=True))
        if covered:
            self._covered[month] = now
        return covered

    async def page(
        self, where: Where, after: str | None, limit: int, by_severity: bool
    ) -> list[tuple[str, int, str]]:
        """(project code, level, detail) of one page, in code order or most severe first."""
        conditions = where.conditions()
        code, level, detail = (
            warning_fact.c.project_code,
            warning_fact.c.level,
            warning_fact.c.detail,
        )
        if after is not None:
            conditions.append(_severity_after(after) if by_severity else code > after)
        order = (level.desc(), code) if by_severity else (code,)
        statement = select(code, level, detail).where(*conditions).order_by(*order).limit(limit)
        rows = await self.database.fetch(statement)
        return [(row.project_code, row.level, row.detail) for row in rows]

    async def count(self, where: Where) -> int:
        statement = select(func.count()).select_from(warning_fact).where(*where.conditions())
        return int(await self.database.scalar(statement))

    async def counts(self, where: Where) -> list[tuple[str, int, int, int]]:
        """(region code, level, projects, of them with no data) per district and level."""
        no_data = func.sum(case((warning_fact.c.no_data, 1), else_=0)).label("no_data")
        projects = func.count().label("projects")
        statement = (
            select(warning_fact.c.region_code, warning_fact.c.level, projects, no_data)
            .where(*where.conditions())
            .group_by(warning_fact.c.region_code, warning_fact.c.level)
        )
        return [
            (r.region_code, r.level, int(r.projects), int(r.no_data or 0))
            for r in await self.database.fetch(statement)
        ]

    async def levels(
        self, months: Collection[date], projects: Collection[str] | None
    ) -> dict[tuple[str, date], int]:
        """The stored level of each (project, month) among those (all projects: None)."""
        statement = select(
            warning_fact.c.project_code, warning_fact.c.month, warning_fact.c.level
        ).where(warning_fact.c.month.in_(sorted(months)))
        chunks = [None] if projects is None else _chunks(sorted(projects), 500)
        found: dict[tuple[str, date], int] = {}
        for chunk in chunks:
            narrowed = (
                statement
                if chunk is None
                else statement.where(warning_fact.c.project_code.in_(chunk))
            )
            found.update(
                {(r.project_code, r.month): r.level for r in await self.database.fetch(narrowed)}
            )
        return found

    async def replace(
        self, months: Collection[date], projects: Collection[str] | None, facts: Sequence[Fact]
    ) -> None:
        """In one transaction: the rows of `projects` (every project: None) in `months`
        become `facts`; the months are marked covered when every project was refreshed.
        Written on the database's one-off engine (`Database.one_off_engine`: kept, not
        made and disposed for each refresh, which on PostgreSQL started a server backend
        and set up its dialect after every import) in a thread, so any loop (a
        command's, the server's) can call it."""
        await asyncio.to_thread(self._replace, sorted(months), projects, facts)

    def _replace(
        self, months: list[date], projects: Collection[str] | None, facts: Sequence[Fact]
    ) -> None:
        with self.database.one_off_engine().begin() as connection:
            for month in months:
                if projects is None:
                    connection.execute(delete(warning_fact).where(warning_fact.c.month == month))
                    continue
                for chunk in _chunks(sorted(projects), 500):
                    connection.execute(
                        delete(warning_fact).where(
                            warning_fact.c.month == month,
                            warning_fact.c.project_code.in_(chunk),
                        )
                    )
            rows = [dataclasses.asdict(f) for f in facts]
            for start in range(0, len(rows), 5_000):
                connection.execute(insert(warning_fact), rows[start : start + 5_000])
            if projects is None:
                connection.execute(
                    delete(warning_fact_month).where(warning_fact_month.c.month.in_(months))
                )
                now = datetime.now(UTC)
                connection.execute(
                    insert(warning_fact_month),
                    [{"month": month, "refreshed_at": now} for month in months],
                )

    async def marks(self) -> Marks | None:
        """What the last full or incremental refresh saw (None: none has recorded it)."""
        rows = await self.database.fetch(select(warning_fact_source))
        return Marks.from_rows(rows) if rows else None

    async def owners(self, source: str, keys: Collection[str]) -> dict[str, str]:
        """The project kept for each of these rows of `source` (a table's name)."""
        found: dict[str, str] = {}
        for chunk in _chunks(sorted(keys), 500):
            statement = select(warning_fact_owner.c.row_key, warning_fact_owner.c.project_code)
            rows = await self.database.fetch(
                statement.where(
                    warning_fact_owner.c.source == source,
                    warning_fact_owner.c.row_key.in_(chunk),
                )
            )
            found.update({row.row_key: row.project_code for row in rows})
        return found

    async def remember(self, marks: Marks, owners: Mapping[str, Mapping[str, str]]) -> None:
        """In one transaction: the marks replace the last ones, and the projects of the
        owned rows given (source → key → project) are kept."""
        await asyncio.to_thread(self._remember, marks, owners)

    def _remember(self, marks: Marks, owners: Mapping[str, Mapping[str, str]]) -> None:
        with self.database.one_off_engine().begin() as connection:
            connection.execute(delete(warning_fact_source))
            connection.execute(insert(warning_fact_source), marks.to_rows())
            owner = warning_fact_owner.c
            for source, kept in owners.items():
                for chunk in _chunks(sorted(kept), 500):
                    connection.execute(
                        delete(warning_fact_owner).where(
                            owner.source == source, owner.row_key.in_(chunk)
                        )
                    )
                rows = [
                    {"source": source, "row_key": key, "project_code": project}
                    for key, project in kept.items()
                ]
                for start in range(0, len(rows), 5_000):
                    connection.execute(insert(warning_fact_owner), rows[start : start + 5_000])

    async def rebuild_owners(self, every: Mapping[str, tuple[Database, Select[Any]]]) -> None:
        """Before a full rebuild, in one transaction: the marks are forgotten (a rebuild
        that fails leaves the next refresh a full one too) and each owned source's rows
        (source → the agency's database and a (key, project) query) are copied whole."""
        await asyncio.to_thread(self._rebuild_owners, every)

    def _rebuild_owners(self, every: Mapping[str, tuple[Database, Select[Any]]]) -> None:
        engine = self.database.sync_engine()
        try:
            with engine.begin() as connection:
                connection.execute(delete(warning_fact_source))
                for source, (database, statement) in every.items():
                    connection.execute(
                        delete(warning_fact_owner).where(warning_fact_owner.c.source == source)
                    )
                    _copy_owners(connection, source, database.sync_engine(), statement)
        finally:
            engine.dispose()

    async def months(self) -> list[date]:
        """The months the facts cover, oldest first."""
        statement = select(warning_fact_month.c.month).order_by(warning_fact_month.c.month)
        return [row[0] for row in await self.database.fetch(statement)]


def _copy_owners(
    connection: Connection, source: str, engine: Engine, statement: Select[Any]
) -> None:
    """Every (key, project) the query yields, read and written a chunk at a time."""
    try:
        with engine.connect() as reading:
            rows = reading.execution_options(stream_results=True, yield_per=10_000)
            for part in rows.execute(statement).partitions():
                connection.execute(
                    insert(warning_fact_owner),
                    [{"source": source, "row_key": k, "project_code": p} for k, p in part],
                )
    finally:
        engine.dispose()


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[start : start + size] for start in range(0, len(values), size)]
