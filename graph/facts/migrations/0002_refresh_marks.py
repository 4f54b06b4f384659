"""what the last refresh saw, for incremental refreshes

Revision ID: 2b8d4e6f1a39
Revises: 7f3a9c1e5b20
Create Date: 2026-12-02 08:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2b8d4e6f1a39"
down_revision: str | Sequence[str] | None = "7f3a9c1e5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warning_fact_source",
        sa.Column("agency", sa.String(length=32), nullable=False),
        sa.Column("last_batch", sa.Integer(), nullable=False),
        sa.Column("unseen", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("agency"),
    )
    op.create_table(
        "warning_fact_owner",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("row_key", sa.String(length=32), nullable=False),
        sa.Column("project_code", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("source", "row_key"),
    )


def downgrade() -> None:
    op.drop_table("warning_fact_owner")
    op.drop_table("warning_fact_source")
