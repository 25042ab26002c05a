"""removal verified on: the day a correction was verified, where the removal deadline runs from it

Revision ID: 0012
Revises: 0011

Removing an "unreachable" or "false information" entry is decided within 5 working days of the
day the correction was verified, not of the application. Removals recorded before this revision
keep the deadline they were decided against (the column stays empty for them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("list_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removal_verified_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("list_entry", schema=None) as batch_op:
        batch_op.drop_column("removal_verified_on")
