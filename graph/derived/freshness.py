"""How current each agency's data is, and what follows: a month for which an agency has
sent nothing is "no data" for that agency, never a lapse.

Every import registers a batch with an as-of day (`ingest.batches`): the day through which
the sender says the table is complete — the last day of the latest month for monthly
tables (attendance, payroll, allocations), the day of the import for the others, unless
the sender says otherwise. A table covers a month when its as-of is on or after the
month's last day. Derived answers use only tables that cover the month they are about:
the rest is reported as not assessable, naming the agency (`noDataFrom`).

`dataAsOf` shows, per agency and per table, the as-of day the graph works with. It is
public: freshness says nothing about any person or enterprise, and every caller needs it
to read the other answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import strawberry

from connectors.base import discover
from kernel.access import public, public_type
from kernel.context import Info
from kernel.scalars import month_end

Source = tuple[str, str]
"""(agency, table): `("bank", "disbursements")`."""


@dataclass(frozen=True)
class Freshness:
    """(agency, table) → the day its data is complete through."""

    as_of: Mapping[Source, date]

    def covers(self, source: Source, month: date) -> bool:
        day = self.as_of.get(source)
        return day is not None and day >= month_end(month)

    def missing(self, sources: Iterable[Source], month: date) -> list[Source]:
        """The sources that do not cover the month."""
        return [source for source in sources if not self.covers(source, month)]

    def describe(self, missing: Iterable[Source]) -> str:
        parts = []
        for agency, table in missing:
            day = self.as_of.get((agency, table))
            parts.append(
                f"{agency} {table} only through {day.isoformat()}"
                if day
                else f"no {table} from {agency}"
            )
        return "no data: " + "; ".join(parts)


async def freshness(info: Info) -> Freshness:
    """Every agency's tables' as-of days, as the process keeps them (`AsOfKept`)."""
    classes = [connector.loaders for connector in discover()]
    names = [connector.name for connector in discover()]
    loaders = [info.context.loaders(cls) for cls in classes]
    at_hand = [each.as_of_now() for each in loaders]  # usually all: no task, no gather
    found = [days for days in at_hand if days is not None]
    if len(found) < len(loaders):
        found = list(await asyncio.gather(*(each.as_of() for each in loaders)))
    return Freshness(
        {
            (agency, table): day
            for agency, tables in zip(names, found, strict=True)
            for table, day in tables.items()
        }
    )


@public_type
@strawberry.type(description="数据截止日期: how current one table of an agency is.")
class TableAsOf:
    table: str = strawberry.field(description="the importable table (see the data dictionary)")
    as_of: date = strawberry.field(description="its data is complete through this day")


@strawberry.type(description="数据截止日期: how current an agency's data is.")
class AgencyAsOf:
    agency: str = public(description="the agency's connector name")
    title: str = public(description="its Chinese name")
    as_of: date | None = public(
        description="the latest day any of its tables is complete through; null before "
        "it has sent anything"
    )
    tables: list[TableAsOf] = public(description="per table, oldest first")


async def _data_as_of(info: Info) -> list[AgencyAsOf]:
    fresh = await freshness(info)
    by_day = sorted(fresh.as_of.items(), key=lambda item: (item[1], item[0]))
    agencies = []
    for connector in discover():
        tables = [
            TableAsOf(table=table, as_of=day)
            for (agency, table), day in by_day
            if agency == connector.name
        ]
        agencies.append(
            AgencyAsOf(
                agency=connector.name,
                title=connector.title,
                as_of=max((t.as_of for t in tables), default=None),
                tables=tables,
            )
        )
    return agencies


@strawberry.type
class FreshnessQuery:
    data_as_of: list[AgencyAsOf] = public(
        resolver=_data_as_of,
        description="How current each agency's data is: a month after a table's as-of day "
        "is 'no data' for it in derived answers, not a lapse.",
    )
