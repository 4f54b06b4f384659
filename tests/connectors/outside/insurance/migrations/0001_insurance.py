"""the fund's policies

Revision ID: 7a11c0ffee01
Revises:
Create Date: 2026-12-02 00:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a11c0ffee01"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insurance_policy",
        sa.Column("policy_no", sa.String(length=32), nullable=False),
        sa.Column("fund_code", sa.String(length=16), nullable=False),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=False),
        sa.Column("insured_from", sa.Date(), nullable=False),
        sa.Column("insured_workers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("policy_no"),
    )
    op.create_index("ix_insurance_policy_fund_code", "insurance_policy", ["fund_code"])
    op.create_index("ix_insurance_policy_enterprise_uscc", "insurance_policy", ["enterprise_uscc"])


def downgrade() -> None:
    op.drop_table("insurance_policy")
