"""zombie dates: entity opened / ceased trading / revoked on; tax filings

Revision ID: 0006
Revises: 0004

No index on the new entity columns: they are read only by the monthly zombie and
compulsory-deregistration scans, which visit the whole registry anyway, and every index costs
the million-row import. Tax filings are found by their primary key (uscc, year).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opened_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("ceased_trading_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("revoked_on", sa.Date(), nullable=True))

    op.create_table(
        "tax_filing",
        sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("filed", sa.Boolean(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["uscc"], ["entity.uscc"], name=op.f("fk_tax_filing_uscc_entity")),
        sa.PrimaryKeyConstraint("uscc", "year", name=op.f("pk_tax_filing")),
    )


def downgrade() -> None:
    op.drop_table("tax_filing")
    with op.batch_alter_table("entity", schema=None) as batch_op:
        batch_op.drop_column("revoked_on")
        batch_op.drop_column("ceased_trading_on")
        batch_op.drop_column("opened_on")
