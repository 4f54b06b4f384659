"""national call queue: one index the runner's claim reads instead of the calls' rows

Revision ID: 7b3e9c41d0a2
Revises: 1ff2d1f77885
Create Date: 2026-12-04 20:00:00.000000

The claim asks, for the unfinished calls, each submitter's oldest (`NationalRegistry.claim`).
On SQLite those columns come after `data` in the row, so reading them walked every waiting
call's body (overflow pages, tens of KiB an attendance call) at every claim; this index
holds every column the claim reads (state, appid, received_at, serial, attempts,
lease_until), and replaces the index on state alone, its prefix.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7b3e9c41d0a2"
down_revision: str | Sequence[str] | None = "1ff2d1f77885"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_national_call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_national_call_state"))
        batch_op.create_index(
            "ix_auth_national_call_queue",
            ["state", "appid", "received_at", "serial", "attempts", "lease_until"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_national_call", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_national_call_queue")
        batch_op.create_index(batch_op.f("ix_auth_national_call_state"), ["state"], unique=False)
