"""ingest: the batch that last wrote each row, indexed

A refresh of the warning facts and a sweep of the warnings after an import read the rows
of the batches written since (`graph.facts.changes`): without the index, a scan of every
row the agency ever sent, however few the import wrote.

Revision ID: 0b00a52b5e20
Revises: 5dfbd00908ad
Create Date: 2026-12-02 19:56:29.634409

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0b00a52b5e20"
down_revision: str | Sequence[str] | None = "5dfbd00908ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "bank_allocation",
    "bank_disbursement",
    "bank_payroll_card",
    "bank_wage_account",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_batch_id", table, ["batch_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_batch_id", table_name=table)
