"""what the last evaluation saw, and each state row's project: incremental evaluations

Revision ID: 9c4e2a7b5d13
Revises: 6ddbbeaa9eb3
Create Date: 2026-12-02 13:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4e2a7b5d13"
down_revision: str | Sequence[str] | None = "6ddbbeaa9eb3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_lock", schema=None) as batch_op:
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("marks", sa.Text(), nullable=True))
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_code", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_alert_state_project", ["kind", "project_code"], unique=False)
    # the project of the rows kept so far: the subject of a level, the value of a filing,
    # the middle part of an unpaid month's or a blacklist hit's subject
    state = sa.table(
        "alert_state",
        sa.column("kind", sa.String),
        sa.column("subject", sa.String),
        sa.column("value", sa.String),
        sa.column("project_code", sa.String),
    )
    connection = op.get_bind()
    connection.execute(
        state.update().where(state.c.kind == "level").values(project_code=state.c.subject)
    )
    connection.execute(
        state.update().where(state.c.kind == "filing").values(project_code=state.c.value)
    )
    rows = connection.execute(
        sa.select(state.c.kind, state.c.subject).where(state.c.kind.in_(["unpaid", "blacklist"]))
    ).all()
    if rows:
        connection.execute(
            state.update()
            .where(state.c.kind == sa.bindparam("k"), state.c.subject == sa.bindparam("s"))
            .values(project_code=sa.bindparam("p")),
            [{"k": kind, "s": subject, "p": subject.split("|")[1]} for kind, subject in rows],
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_state_project")
        batch_op.drop_column("project_code")
    with op.batch_alter_table("alert_lock", schema=None) as batch_op:
        batch_op.drop_column("marks")
        batch_op.drop_column("day")
