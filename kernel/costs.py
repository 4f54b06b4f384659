"""What a field costs when its resolver does more than its selection shows, declared next
to the field and read by the operation limit (`hub/limits/operation.py`):

    @scoped_resolver(STATS_READ, metadata=costs(REGION_ASSESSMENT))
    async def warning_summary(...)

The unit is the operation limit's: one resolved field. By default a field costs 1 plus its
selections times their multiplier (a page's `first`, the default page for other lists).
A declaration adds what resolving the field once does besides — a derived aggregate that
assesses every project of a region — and can name the argument whose length multiplies
its selections (`_entities`: one entity per representation). The weights are measured,
not guessed: a region's assessment costs what resolving that many fields costs
(`tests/hub/limits/test_costs.py` checks them against each other on the demo).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

COST_KEY: Final = "cost"


@dataclass(frozen=True)
class Cost:
    weight: int = 0
    """Added each time the field resolves, for the work its resolver does."""
    per: str | None = None
    """An argument whose length multiplies the selections: a literal list's length, or
    the largest page (`HUB_PAGES_MAXIMUM`) when it is a variable."""


REGION_ASSESSMENT: Final = 5_000
"""Assessing the nine measures of every project under construction in a region (a
district, a city, a province as the caller's jurisdiction allows): ~25 ms on the demo's
district, where one resolved field of a nested page takes ~9 µs — about 2,800 fields;
declared with room for larger regions. An upper bound: where the warning facts cover
the month (`graph.facts`) the aggregates read precomputed counts instead."""
PROJECT_ASSESSMENT: Final = 50
"""One project's nine measures in one month (batched with its page's)."""


def costs(weight: int = 0, *, per: str | None = None) -> Mapping[str, Any]:
    """Field metadata declaring its cost (`strawberry.field(metadata=...)`)."""
    return {COST_KEY: Cost(weight, per)}


def declared_cost(metadata: Mapping[str, Any] | None) -> Cost | None:
    found = (metadata or {}).get(COST_KEY)
    return found if isinstance(found, Cost) else None
