"""blacklist: look-up by responsible person (warnings name enterprises whose legal
representative is listed)

Revision ID: 5c1e0b7d2a90
Revises: da01949a0e6c
Create Date: 2026-12-02 04:40:00.000000

"""

from collections.abc import Sequence

from alembic import op

revision: str = "5c1e0b7d2a90"
down_revision: str | Sequence[str] | None = "da01949a0e6c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hr_blacklist_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hr_blacklist_entry_responsible_person"),
            ["responsible_person"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("hr_blacklist_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hr_blacklist_entry_responsible_person"))
