"""warning facts per project and month

Revision ID: 7f3a9c1e5b20
Revises:
Create Date: 2026-12-02 00:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7f3a9c1e5b20"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warning_fact",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("project_code", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("no_data", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("month", "project_code"),
    )
    op.create_index(
        "ix_warning_fact_region",
        "warning_fact",
        ["month", "region_code", "project_code"],
        unique=False,
    )
    op.create_table(
        "warning_fact_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )


def downgrade() -> None:
    op.drop_table("warning_fact_month")
    op.drop_index("ix_warning_fact_region", table_name="warning_fact")
    op.drop_table("warning_fact")
