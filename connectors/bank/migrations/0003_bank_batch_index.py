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


def upgrade() -> None:
    with op.batch_alter_table("bank_allocation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_allocation_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("bank_disbursement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_disbursement_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("bank_payroll_card", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_payroll_card_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("bank_wage_account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bank_wage_account_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bank_wage_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_wage_account_batch_id"))

    with op.batch_alter_table("bank_payroll_card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_payroll_card_batch_id"))

    with op.batch_alter_table("bank_disbursement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_disbursement_batch_id"))

    with op.batch_alter_table("bank_allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_allocation_batch_id"))
