"""row limits as data: a client's regions, courts and bank become one JSON column of named
limits, so a new kind of limit needs no new column

Revision ID: 5d0c7a19e2b4
Revises: 953dbccbb92e
Create Date: 2026-12-02 01:00:00.000000

"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d0c7a19e2b4"
down_revision: str | Sequence[str] | None = "953dbccbb92e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

clients = sa.table(
    "auth_client",
    sa.column("client_id", sa.String),
    sa.column("regions", sa.Text),
    sa.column("courts", sa.Text),
    sa.column("bank", sa.String),
    sa.column("limits", sa.Text),
)


def upgrade() -> None:
    op.add_column(
        "auth_client", sa.Column("limits", sa.Text(), nullable=False, server_default="{}")
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(clients)).all():
        limits = {
            name: values
            for name, values in (
                ("bank", [row.bank] if row.bank else []),
                ("courts", row.courts.split()),
                ("regions", row.regions.split()),
            )
            if values
        }
        connection.execute(
            clients.update()
            .where(clients.c.client_id == row.client_id)
            .values(limits=json.dumps(limits, ensure_ascii=False))
        )
    with op.batch_alter_table("auth_client") as batch:
        batch.drop_column("regions")
        batch.drop_column("courts")
        batch.drop_column("bank")


def downgrade() -> None:
    with op.batch_alter_table("auth_client") as batch:
        batch.add_column(sa.Column("regions", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("courts", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("bank", sa.String(length=100), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(clients.c.client_id, clients.c.limits)).all():
        limits = json.loads(row.limits)
        connection.execute(
            clients.update()
            .where(clients.c.client_id == row.client_id)
            .values(
                regions=" ".join(limits.get("regions", [])),
                courts=" ".join(limits.get("courts", [])),
                bank=(limits.get("bank") or [None])[0],
            )
        )
    with op.batch_alter_table("auth_client") as batch:
        batch.drop_column("limits")
