"""web desk staff accounts and their server-side sessions

Revision ID: c4f1e8a27d90
Revises: 5d0c7a19e2b4
Create Date: 2026-12-10 00:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4f1e8a27d90"
down_revision: str | Sequence[str] | None = "5d0c7a19e2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_staff_user",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username"),
    )
    with op.batch_alter_table("auth_staff_user") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_staff_user_client_id"), ["client_id"], unique=False
        )
    op.create_table(
        "auth_staff_session",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("purpose_reference", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    with op.batch_alter_table("auth_staff_session") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_staff_session_username"), ["username"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_staff_session") as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_staff_session_username"))
    op.drop_table("auth_staff_session")
    with op.batch_alter_table("auth_staff_user") as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_staff_user_client_id"))
    op.drop_table("auth_staff_user")
