"""recusal note: a recusal's free-text explanation kept internal

Revision ID: 0007
Revises: 0006

The published draw event carries the recusal's category; the explanation an officer types
is internal and lives beside the event, outside the hash chain. Events recorded before this
revision keep the reason they were published with (history is never rewritten).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("draw_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("draw_event", schema=None) as batch_op:
        batch_op.drop_column("note")
