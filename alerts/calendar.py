"""Working days for work-order deadlines: Monday to Friday, less the public holidays, plus
the weekend days worked in their place (调休上班), as the State Council schedules them
each year (`alerts/holidays/<year>.toml`), and as an operator's own file adds to them
(`HUB_ALERTS_HOLIDAYS_FILE`: a province's local days off, a year the hub ships none for).

A calendar file:

    source = "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）"
    years = [2026]          # the years it gives in full (optional in an operator's file)
    off = [{ name = "春节", from = 2026-02-15, to = 2026-02-23 }, …]
    work = [{ name = "春节调休", date = 2026-02-14 }, …]

Days are China's (UTC+8): a deadline is the same time of day, there, `days` working days
on. A year no file gives in full is counted Monday to Friday (with the operator's days
off and on, if any), and a warning says so once per year.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CHINA = timezone(timedelta(hours=8), "CST")
"""China Standard Time: no daylight saving, so a fixed offset."""
OFFICIAL = Path(__file__).resolve().parent / "holidays"


class CalendarError(ValueError):
    """A calendar file that cannot be read: named, with what is wrong."""


@dataclass
class WorkingDays:
    off: set[date] = field(default_factory=set)
    work: set[date] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)
    _warned: set[int] = field(default_factory=set, repr=False)

    @classmethod
    def load(cls, extra: Path | None = None, official: Path = OFFICIAL) -> WorkingDays:
        """The shipped calendars, then the operator's file (which wins where they differ)."""
        calendar = cls()
        for path in sorted(official.glob("*.toml")):
            calendar.add_file(path)
        if extra is not None:
            calendar.add_file(extra)
        return calendar

    def add_file(self, path: Path) -> None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise CalendarError(f"holiday calendar {path}: {error}") from error
        try:
            self.add(
                off=_days(data.get("off", []), ranged=True),
                work=_days(data.get("work", []), ranged=False),
                years=[int(y) for y in data.get("years", [])],
                source=str(data.get("source", path.name)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CalendarError(
                f"holiday calendar {path}: {error!r} (see docs/warnings.md, work orders)"
            ) from error

    def add(
        self, off: Iterable[date] = (), work: Iterable[date] = (), years: Iterable[int] = (),
        source: str = "",
    ) -> None:  # fmt: skip
        """Days off and on, the later call winning where the two disagree."""
        for day in off:
            self.work.discard(day)
            self.off.add(day)
        for day in work:
            self.off.discard(day)
            self.work.add(day)
        self.years.update(years)
        if source:
            self.sources.append(source)

    def is_working(self, day: date) -> bool:
        if day.year not in self.years and day.year not in self._warned:
            self._warned.add(day.year)
            log.warning(
                "no holiday calendar for %d: its working days are Monday to Friday "
                "(add the State Council's schedule with HUB_ALERTS_HOLIDAYS_FILE)",
                day.year,
            )
        if day in self.work:
            return True
        if day in self.off:
            return False
        return day.weekday() < 5

    def add_days(self, start: datetime, days: int) -> datetime:
        """`days` working days after `start` (China's dates), at the same time of day,
        in `start`'s time zone."""
        local = start.astimezone(CHINA)
        current = local
        left = days
        while left > 0:
            current += timedelta(days=1)
            if self.is_working(current.date()):
                left -= 1
        return current.astimezone(start.tzinfo)


def _days(entries: Any, *, ranged: bool) -> list[date]:
    days: list[date] = []
    for entry in entries:
        if ranged and "from" in entry:
            first, last = _date(entry["from"]), _date(entry["to"])
            if last < first:
                raise ValueError(f"{entry.get('name', '')}: ends before it starts")
            days += [first + timedelta(n) for n in range((last - first).days + 1)]
        else:
            days.append(_date(entry["date"]))
    return days


def _date(value: Any) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{value!r} is not a date (write it as 2026-02-15, unquoted)")
    return value
