"""Months of the synthetic world: the calendar of its history and attendance day masks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from synthetic.stories import add_months


@dataclass(frozen=True, slots=True)
class Month:
    """A month of the world's history: its position (0: the oldest) and first and last days."""

    index: int
    first: date
    last: date

    def pay_date(self, pay_day: int) -> date:
        """Wages for this month fall due on the pay day of the next month."""
        return add_months(self.first, 1).replace(day=pay_day)

    def span(self, entry: date, exit_date: date | None) -> int:
        """The day mask of this month's days between entry and exit (0: none)."""
        if entry > self.last or (exit_date is not None and exit_date < self.first):
            return 0
        low = entry.day if entry > self.first else 1
        high = exit_date.day if exit_date is not None and exit_date < self.last else self.last.day
        return (1 << high) - (1 << (low - 1))


def calendar(through_month: date, months: int) -> tuple[Month, ...]:
    """The last `months` months up to and including the through month, oldest first."""
    firsts = [add_months(through_month, k - months + 1) for k in range(months)]
    return tuple(Month(k, first, last_day(first)) for k, first in enumerate(firsts))


def last_day(month: date) -> date:
    """The last day of the month that starts on `month`."""
    return add_months(month, 1) - timedelta(days=1)


def attendance_pools(rng: random.Random) -> dict[int, tuple[int, ...]]:
    """Day masks of 15-26 days for each month length: drawing one is cheaper than sampling."""
    return {
        length: tuple(
            sum(1 << day for day in rng.sample(range(length), rng.randint(15, 26)))
            for _ in range(256)
        )
        for length in range(28, 32)
    }


def days_mask(rng: random.Random, month: Month, days: int) -> int:
    """A mask of exactly `days` days of the month (for the stories' exact counts)."""
    return sum(1 << day for day in rng.sample(range(month.last.day), days))
