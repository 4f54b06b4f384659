"""ingest: the batch that last wrote each row, indexed

A refresh of the warning facts and a sweep of the warnings after an import read the rows
of the batches written since (`graph.facts.changes`): without the index, a scan of every
row the agency ever sent, however few the import wrote.

Revision ID: 828569b500f0
Revises: 036649e5be00
Create Date: 2026-12-02 19:56:29.696591

"""

from collections.abc import Sequence

from alembic import op

revision: str = "828569b500f0"
down_revision: str | Sequence[str] | None = "036649e5be00"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "court_case_party",
    "court_dispute_case",
    "court_judgment",
    "court_mediation",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_batch_id", table, ["batch_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_batch_id", table_name=table)
