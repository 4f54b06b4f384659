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


def upgrade() -> None:
    with op.batch_alter_table("hr_blacklist_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hr_blacklist_entry_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("hr_complaint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hr_complaint_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("hr_credit_grade", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hr_credit_grade_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("hr_injury_insurance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hr_injury_insurance_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("hr_wage_deposit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hr_wage_deposit_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hr_wage_deposit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hr_wage_deposit_batch_id"))

    with op.batch_alter_table("hr_injury_insurance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hr_injury_insurance_batch_id"))

    with op.batch_alter_table("hr_credit_grade", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hr_credit_grade_batch_id"))

    with op.batch_alter_table("hr_complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hr_complaint_batch_id"))

    with op.batch_alter_table("hr_blacklist_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hr_blacklist_entry_batch_id"))
