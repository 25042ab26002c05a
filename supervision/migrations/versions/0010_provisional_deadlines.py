"""provisional deadlines: a deadline counted on a provisional working-day calendar says so

Revision ID: 0010
Revises: 0009

A deadline reaching into a year whose official holiday arrangement is not yet announced is
counted on the statutory holidays alone and marked provisional; entering the arrangement
counts every such deadline again. Existing rows were counted on announced calendars only
(a deadline the calendar could not count was left empty), so they are not provisional.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = {
    "list_entry": ("decide_by_provisional", "removal_deadline_provisional"),
    "result_version": ("deadline_provisional",),
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in columns:
                batch_op.add_column(
                    sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
                )


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in columns:
                batch_op.drop_column(name)
