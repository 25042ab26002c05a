"""batch templates: recurring batches the scheduler creates (e.g. quarterly)

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("code_prefix", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("cadence", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("ceremony_day", sa.Integer(), nullable=False),
        sa.Column("ceremony_time", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("freeze_hours_before", sa.Integer(), nullable=False),
        sa.Column("create_days_before", sa.Integer(), nullable=False),
        sa.Column("window_days_after", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_batch_template_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_template")),
        sa.UniqueConstraint(
            "plan_id", "code_prefix", name=op.f("uq_batch_template_plan_id_code_prefix")
        ),
    )
    op.create_index(op.f("ix_batch_template_plan_id"), "batch_template", ["plan_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_batch_template_plan_id"), table_name="batch_template")
    op.drop_table("batch_template")
