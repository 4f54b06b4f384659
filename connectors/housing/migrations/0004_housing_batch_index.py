"""ingest: the batch that last wrote each row, indexed

A refresh of the warning facts and a sweep of the warnings after an import read the rows
of the batches written since (`graph.facts.changes`): without the index, a scan of every
row the agency ever sent, however few the import wrote.

Revision ID: e8cf4dc841f1
Revises: 84480268a556
Create Date: 2026-12-02 19:56:29.810688

"""

from collections.abc import Sequence

from alembic import op

revision: str = "e8cf4dc841f1"
down_revision: str | Sequence[str] | None = "84480268a556"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "housing_attendance_month",
    "housing_enterprise",
    "housing_labour_contract",
    "housing_project",
    "housing_project_worker",
    "housing_registration",
    "housing_skill_certificate",
    "housing_team",
    "housing_worker",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_batch_id", table, ["batch_id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_batch_id", table_name=table)
