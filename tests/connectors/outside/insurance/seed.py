"""The fund's rows from the synthetic world: every enterprise insured by its city's fund."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table

from connectors.insurance.models import Policy
from synthetic.world import WorldBatch, seed_table


def rows_for(batch: WorldBatch) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    yield (
        seed_table(Policy),
        [
            {
                "policy_no": f"P{e.uscc}",
                "fund_code": f"F{e.region_code[:4]}",
                "enterprise_uscc": e.uscc,
                "insured_from": e.graded_on,
                "insured_workers": 10,
            }
            for e in batch.enterprises
        ],
    )
