"""result codes: the record form's parent code 2 over B, C, 6 and D

Revision ID: 0011
Revises: 0010

The national record form groups B, C, 6 and D under 2 违反工商行政管理相关规定 (itself under A).
Every code a result line already holds keeps its meaning; the implied parent 2 is added to the
lines holding one of them, as a line recorded from now on holds it (a sub-code implies the
codes above it). Downgrading removes it again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UNDER_2 = ("B", "C", "6", "D")
# The order in which the result form lists the codes (data/result_codes.yaml, version 2017).
ORDER = ["1", "A", "2", "B", "C", "6", "D", "3", "4", "5", "E", "F", "7", "8", "9", "10", "11", "12"]


def _ordered(codes: set[str]) -> str:
    known = [c for c in ORDER if c in codes]
    return ",".join(known + sorted(codes - set(ORDER)))


def _rewrite(add: bool) -> None:
    line = sa.table("result_line", sa.column("id", sa.Integer), sa.column("codes", sa.Text))
    bind = op.get_bind()
    rows = bind.execute(sa.select(line.c.id, line.c.codes)).all()
    for row_id, text in rows:
        codes = {c for c in (text or "").split(",") if c}
        if add and codes & set(UNDER_2) and "2" not in codes:
            new = _ordered(codes | {"2"})
        elif not add and "2" in codes:
            new = _ordered(codes - {"2"})
        else:
            continue
        bind.execute(sa.update(line).where(line.c.id == row_id).values(codes=new))


def upgrade() -> None:
    _rewrite(add=True)


def downgrade() -> None:
    _rewrite(add=False)
