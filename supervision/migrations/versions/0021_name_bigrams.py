"""PostgreSQL: an index of each name's adjacent character pairs, for two-character searches

Revision ID: 0021
Revises: 0020

A two-character fragment ("汤记") was found through the index of single characters (0009):
the names holding both characters, then `strpos` for their adjacency. At ten million names
two common characters share tens of thousands of names that hold them apart, each read from
the heap to be rejected — hundreds of milliseconds for one search. `name_bigrams(name)` is
the set of the name's adjacent pairs; a GIN index over it answers a two-character fragment
with one posting list, exactly.

SQLite is untouched: its character index is an FTS5 phrase query, adjacency included.
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# Immutable (an index expression), only built-in functions (a restore runs it with an empty
# search path). Duplicates are left in: GIN keeps one key per pair and row.
FUNCTION = (
    "CREATE FUNCTION name_bigrams(name text) RETURNS text[] "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
    "$$ SELECT array(SELECT substr(name, i, 2) FROM generate_series(1, length(name) - 1) AS i) $$"
)
INDEX = "CREATE INDEX ix_entity_name_bigrams ON entity USING gin (name_bigrams(name))"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the build of a large registry
    op.execute(INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_entity_name_bigrams")
    op.execute("DROP FUNCTION IF EXISTS name_bigrams(text)")
