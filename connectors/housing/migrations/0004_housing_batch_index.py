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


def upgrade() -> None:
    with op.batch_alter_table("housing_attendance_month", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_housing_attendance_month_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("housing_enterprise", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_housing_enterprise_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("housing_labour_contract", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_housing_labour_contract_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("housing_project", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_housing_project_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("housing_project_worker", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_housing_project_worker_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("housing_registration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_housing_registration_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("housing_skill_certificate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_housing_skill_certificate_batch_id"), ["batch_id"], unique=False
        )

    with op.batch_alter_table("housing_team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_housing_team_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("housing_worker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_housing_worker_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("housing_worker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_worker_batch_id"))

    with op.batch_alter_table("housing_team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_team_batch_id"))

    with op.batch_alter_table("housing_skill_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_skill_certificate_batch_id"))

    with op.batch_alter_table("housing_registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_registration_batch_id"))

    with op.batch_alter_table("housing_project_worker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_project_worker_batch_id"))

    with op.batch_alter_table("housing_project", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_project_batch_id"))

    with op.batch_alter_table("housing_labour_contract", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_labour_contract_batch_id"))

    with op.batch_alter_table("housing_enterprise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_enterprise_batch_id"))

    with op.batch_alter_table("housing_attendance_month", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_housing_attendance_month_batch_id"))
