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


def upgrade() -> None:
    with op.batch_alter_table("court_case_party", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_court_case_party_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("court_dispute_case", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_court_dispute_case_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("court_judgment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_court_judgment_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("court_mediation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_court_mediation_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("court_mediation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_mediation_batch_id"))

    with op.batch_alter_table("court_judgment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_judgment_batch_id"))

    with op.batch_alter_table("court_dispute_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_dispute_case_batch_id"))

    with op.batch_alter_table("court_case_party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_court_case_party_batch_id"))
