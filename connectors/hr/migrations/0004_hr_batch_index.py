"""ingest: the batch that last wrote each row, indexed

A refresh of the warning facts and a sweep of the warnings after an import read the rows
of the batches written since (`graph.facts.changes`): without the index, a scan of every
row the agency ever sent, however few the import wrote.

Revision ID: 11123077ff23
Revises: 5c1e0b7d2a90
Create Date: 2026-12-02 19:56:29.973618

"""

from collections.abc import Sequence

from alembic import op

revision: str = "11123077ff23"
down_revision: str | Sequence[str] | None = "5c1e0b7d2a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "hr_blacklist_entry",
    "hr_complaint",
    "hr_credit_grade",
    "hr_injury_insurance",
    "hr_wage_deposit",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_batch_id", table, ["batch_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_batch_id", table_name=table)
