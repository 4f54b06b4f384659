"""ingest: the batch that last wrote each row, indexed

A refresh of the warning facts and a sweep of the warnings after an import read the rows
of the batches written since (`graph.facts.changes`): without the index, a scan of every
row the agency ever sent, however few the import wrote.

Revision ID: cb9d4b90298e
Revises: b4c9fad701e6
Create Date: 2026-12-02 19:56:30.054597

"""

from collections.abc import Sequence

from alembic import op

revision: str = "cb9d4b90298e"
down_revision: str | Sequence[str] | None = "b4c9fad701e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "ps_identity",
    "ps_residence",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_batch_id", table, ["batch_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_batch_id", table_name=table)
