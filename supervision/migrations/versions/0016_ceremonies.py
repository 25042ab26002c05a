"""ceremonies: announced time, place and entropy source; scheduled freezes and beacon rounds; witnesses; inbox

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch") as b:
        b.add_column(sa.Column("ceremony_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        b.add_column(
            sa.Column(
                "ceremony_place",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
        b.add_column(
            sa.Column(
                "entropy_source",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="dice",
            )
        )
        b.add_column(
            sa.Column("beacon_chain", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        b.add_column(sa.Column("freeze_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("commitment") as b:
        b.add_column(sa.Column("beacon_json", sa.Text(), nullable=True))
    with op.batch_alter_table("draw") as b:
        b.add_column(sa.Column("witnesses_json", sa.Text(), nullable=False, server_default="[]"))
        b.add_column(sa.Column("late_reason", sa.Text(), nullable=True))
        b.add_column(sa.Column("beacon_json", sa.Text(), nullable=True))
    with op.batch_alter_table("app_user") as b:
        b.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    op.create_table(
        "ceremony_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_ceremony_attempt_batch_id_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ceremony_attempt")),
    )
    op.create_index(op.f("ix_ceremony_attempt_batch_id"), "ceremony_attempt", ["batch_id"])
    op.create_table(
        "inbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("read_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("emailed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_message")),
    )
    op.create_index("ix_inbox_message_user_read", "inbox_message", ["username", "read_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_message_user_read", table_name="inbox_message")
    op.drop_table("inbox_message")
    op.drop_index(op.f("ix_ceremony_attempt_batch_id"), table_name="ceremony_attempt")
    op.drop_table("ceremony_attempt")
    with op.batch_alter_table("app_user") as b:
        b.drop_column("email")
    with op.batch_alter_table("draw") as b:
        for name in ("beacon_json", "late_reason", "witnesses_json"):
            b.drop_column(name)
    with op.batch_alter_table("commitment") as b:
        b.drop_column("beacon_json")
    with op.batch_alter_table("batch") as b:
        for name in ("freeze_at", "beacon_chain", "entropy_source", "ceremony_place", "ceremony_at"):
            b.drop_column(name)
