"""What a refresh of every project saw, kept with the facts so that the next refresh can
assess only what changed since (`graph.facts.changes`): per agency, the highest batch
number it had read and the lower ones it had not, and the as-of days of the tables an
assessment depends on."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any, Final

from sqlalchemy import ColumnElement, or_

UNSEEN_KEPT: Final = 1_000
"""An unseen batch number this far below the highest is taken as rolled back, not in
flight (PostgreSQL draws numbers outside transactions; a failed import leaves a gap)."""

Source = tuple[str, str]
"""(agency, table), as `graph.derived.freshness` names a source."""


@dataclass(frozen=True)
class Seen:
    """One agency's batches as a refresh saw them."""

    last: int
    unseen: tuple[int, ...] = ()

    def after(self, present: Iterable[int]) -> Seen:
        """Seen again, with `present`: the numbers after `last` (or unseen) that exist now."""
        found = set(present)
        last = max(found | {self.last})
        gaps = (set(self.unseen) | set(range(self.last + 1, last + 1))) - found
        return Seen(last, tuple(sorted(n for n in gaps if n > last - UNSEEN_KEPT)))

    def condition(self, column: ColumnElement[int]) -> ColumnElement[bool]:
        after = column > self.last
        return or_(after, column.in_(self.unseen)) if self.unseen else after


@dataclass(frozen=True)
class Marks:
    """What a refresh saw: each agency's batches and the assessed sources' as-of days."""

    seen: dict[str, Seen]
    as_of: dict[Source, date]

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "agency": agency,
                "last_batch": seen.last,
                "unseen": json.dumps(seen.unseen),
                "as_of": json.dumps(
                    {t: d.isoformat() for (a, t), d in sorted(self.as_of.items()) if a == agency}
                ),
            }
            for agency, seen in sorted(self.seen.items())
        ]

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> Marks:
        seen, as_of = {}, {}
        for row in rows:
            seen[row.agency] = Seen(row.last_batch, tuple(json.loads(row.unseen)))
            for table, day in json.loads(row.as_of).items():
                as_of[row.agency, table] = date.fromisoformat(day)
        return cls(seen, as_of)

    def to_json(self) -> str:
        """One text for a store that keeps them in a column (`alerts.store`)."""
        return json.dumps(self.to_rows(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Marks:
        return cls.from_rows(SimpleNamespace(**row) for row in json.loads(text))
