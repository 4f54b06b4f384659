"""Warning roll-ups for dashboards: counts per colour at any region level (province,
city, district) and over a range of months in one query, and the project list sorted by
colour. Built on `compliance` (the nine measures per project and month), kept apart from
it so the rule and its roll-ups change independently; counts come from the warning facts
(`graph.facts`) for the months they cover.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Annotated

import strawberry

from connectors.housing.loaders import ProjectFilter
from graph.derived.compliance import (
    UNDER_CONSTRUCTION,
    RegionWarnings,
    WarningLevel,
    _regions,
    warning_counts,
)
from kernel.access import scoped_resolver, scoped_type
from kernel.context import Info
from kernel.costs import REGION_ASSESSMENT, costs
from kernel.errors import BadUserInput
from kernel.scalars import RegionCodePrefix, YearMonth, months_between
from kernel.scopes import STATS_READ

MAX_TREND_MONTHS = 24


@strawberry.enum(description="行政区划层级: the digits of a GB/T 2260 code that name the region")
class RegionLevel(enum.Enum):
    PROVINCE = 2
    CITY = 4
    DISTRICT = 6


@scoped_type(STATS_READ)
@strawberry.type(description="One month of a warning trend, with its counts per region")
class WarningMonth:
    month: YearMonth
    none: int
    blue: int
    yellow: int
    red: int
    no_data: int = strawberry.field(
        description="of those, projects with measures not assessed for lack of an agency's "
        "data for the month"
    )
    regions: list[RegionWarnings] = strawberry.field(
        description="the month's counts per region, at the trend's level"
    )

    @scoped_resolver(STATS_READ)
    def total(self) -> int:
        return self.none + self.blue + self.yellow + self.red


def _criteria(info: Info, prefix: str | None) -> ProjectFilter:
    return ProjectFilter(
        region_prefix=prefix, statuses=(UNDER_CONSTRUCTION,), within_regions=_regions(info)
    )


def _region_warnings(code: str, counts: Counter[WarningLevel | None]) -> RegionWarnings:
    """`counts[None]`: projects with measures not assessed for lack of data."""
    return RegionWarnings(
        region_code=code,
        none=counts[WarningLevel.NONE],
        blue=counts[WarningLevel.BLUE],
        yellow=counts[WarningLevel.YELLOW],
        red=counts[WarningLevel.RED],
        no_data=counts[None],
    )


async def roll_up(
    info: Info, month: date, prefix: str | None, level: RegionLevel
) -> list[RegionWarnings]:
    """Projects under construction per warning level, per region at `level`."""
    counts = await warning_counts(info, _criteria(info, prefix), month, level.value)
    return [_region_warnings(code, c) for code, c in sorted(counts.items())]


def _month_total(month: date, regions: Sequence[RegionWarnings]) -> WarningMonth:
    return WarningMonth(
        month=month,
        none=sum(r.none for r in regions),
        blue=sum(r.blue for r in regions),
        yellow=sum(r.yellow for r in regions),
        red=sum(r.red for r in regions),
        no_data=sum(r.no_data for r in regions),
        regions=list(regions),
    )


@strawberry.type
class WarningRollupQuery:
    @scoped_resolver(
        STATS_READ,
        description="三色预警汇总: projects under construction per colour, per region at the "
        "given level (province, city or district) under the prefix",
        metadata=costs(REGION_ASSESSMENT),
    )
    async def warning_rollup(
        self,
        info: Info,
        month: YearMonth,
        region_code_prefix: RegionCodePrefix | None = None,
        level: RegionLevel = RegionLevel.DISTRICT,
    ) -> list[RegionWarnings] | None:
        return await roll_up(info, month, region_code_prefix, level)

    @scoped_resolver(
        STATS_READ,
        description=f"三色预警趋势: the roll-up for every month from `from` to `to` (at most "
        f"{MAX_TREND_MONTHS} months), in one query",
        metadata=costs(REGION_ASSESSMENT * MAX_TREND_MONTHS),  # the longest it may span
    )
    async def warning_trend(
        self,
        info: Info,
        since: Annotated[YearMonth, strawberry.argument(name="from")],
        to: YearMonth,
        region_code_prefix: RegionCodePrefix | None = None,
        level: RegionLevel = RegionLevel.DISTRICT,
    ) -> list[WarningMonth] | None:
        span = (to.year - since.year) * 12 + to.month - since.month + 1
        if span < 1:
            raise BadUserInput("`to` must not be before `from`")
        if span > MAX_TREND_MONTHS:
            raise BadUserInput(f"a trend spans at most {MAX_TREND_MONTHS} months, not {span}")
        months = months_between(since, to)
        return [
            _month_total(month, await roll_up(info, month, region_code_prefix, level))
            for month in months
        ]
