"""The courts' and mediation committees' rows from the synthetic world: wage disputes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table

from connectors.court.models import CaseParty, DisputeCase, Judgment, Mediation
from synthetic.world import WorldBatch, seed_table


def rows_for(batch: WorldBatch) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    yield (
        seed_table(DisputeCase),
        [
            {
                "case_number": c.case_number,
                "court_name": c.court_name,
                "court_code": c.court_code,
                "region_code": c.region_code,
                "kind": c.kind,
                "cause": c.cause,
                "claim_amount_fen": c.claim_amount_fen,
                "status": c.status,
                "filed_on": c.filed_on,
                "closed_on": c.closed_on,
                "project_code": c.project_code,
                "disputed_from": c.disputed_months[0],
                "disputed_to": c.disputed_months[-1],
            }
            for c in batch.cases
        ],
    )
    yield (
        seed_table(CaseParty),
        [
            {
                "case_number": c.case_number,
                "role": p.role,
                "name": p.name,
                "id_number": p.id_number,
                "uscc": p.uscc,
                "party_key": p.id_number or p.uscc or p.name,
            }
            for c in batch.cases
            for p in c.parties
        ],
    )
    yield (
        seed_table(Mediation),
        [
            {
                "case_number": c.case_number,
                "committee": m.committee,
                "mediator": m.mediator,
                "held_on": m.held_on,
                "outcome": m.outcome,
                "agreed_amount_fen": m.agreed_amount_fen,
            }
            for c in batch.cases
            for m in c.mediations
        ],
    )
    yield (
        seed_table(Judgment),
        [
            {
                "case_number": c.case_number,
                "judged_on": c.judgment.judged_on,
                "awarded_amount_fen": c.judgment.awarded_amount_fen,
                "enforced_amount_fen": c.judgment.enforced_amount_fen,
                "summary": c.judgment.summary,
            }
            for c in batch.cases
            if c.judgment is not None
        ],
    )
