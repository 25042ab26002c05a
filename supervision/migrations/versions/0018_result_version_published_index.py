"""result_version (status, completed_on): the published results checked in a period, found by
index — the risk-feedback rule of a pool query reads them once, at any registry size

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("result_version") as batch_op:
        batch_op.create_index(
            "ix_result_version_status_completed", ["status", "completed_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("result_version") as batch_op:
        batch_op.drop_index("ix_result_version_status_completed")
