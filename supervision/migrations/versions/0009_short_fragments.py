"""short name fragments: an index one- and two-character searches can use; tasks by state

Revision ID: 0009
Revises: 0008

No trigram index can serve a fragment shorter than three characters, and scanning a million
names for "馕" or "天山" on every search is too slow. So:

SQLite: a second, contentless FTS5 table holding each name with its characters separated by
spaces (the ``unicode61`` tokenizer then makes every character a token), kept by triggers like
the trigram index: "天山" is the phrase query "天 山" — adjacent characters — which is exactly
"the name contains 天山". The spacing is plain SQL (one ``substr`` per position, up to the
name's 200 characters), so every writer keeps the index in step inside its transaction.
PostgreSQL: a GIN index on the name's characters (``string_to_array(name, NULL)``): a short
fragment's characters are looked up there, then checked in order with ``strpos``.

Both: an index on (batch, state) for the counts of a batch's tasks by state.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NAME_LENGTH = 200


def spaced(column: str) -> str:
    """SQL for the characters of ``column`` separated by spaces (trailing ones do no harm)."""
    return " || ' ' || ".join(f"substr({column}, {i}, 1)" for i in range(1, NAME_LENGTH + 1))


def upgrade() -> None:
    op.create_index("ix_task_batch_state", "task", ["batch_id", "state"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_entity_name_chars ON entity USING gin (string_to_array(name, NULL))"
        )
        return
    op.execute(
        "CREATE VIRTUAL TABLE entity_fts_chars USING fts5("
        "chars, content='', tokenize='unicode61 remove_diacritics 0')"
    )
    op.execute(
        "CREATE TRIGGER entity_fts_chars_ai AFTER INSERT ON entity BEGIN "
        f"INSERT INTO entity_fts_chars(rowid, chars) VALUES (new.id, {spaced('new.name')}); END"
    )
    op.execute(
        "CREATE TRIGGER entity_fts_chars_ad AFTER DELETE ON entity BEGIN "
        "INSERT INTO entity_fts_chars(entity_fts_chars, rowid, chars) "
        f"VALUES ('delete', old.id, {spaced('old.name')}); END"
    )
    op.execute(
        "CREATE TRIGGER entity_fts_chars_au AFTER UPDATE OF name ON entity BEGIN "
        "INSERT INTO entity_fts_chars(entity_fts_chars, rowid, chars) "
        f"VALUES ('delete', old.id, {spaced('old.name')}); "
        f"INSERT INTO entity_fts_chars(rowid, chars) VALUES (new.id, {spaced('new.name')}); END"
    )
    op.execute(f"INSERT INTO entity_fts_chars(rowid, chars) SELECT id, {spaced('name')} FROM entity")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_entity_name_chars")
    else:
        for trigger in ("entity_fts_chars_ai", "entity_fts_chars_ad", "entity_fts_chars_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS entity_fts_chars")
    op.drop_index("ix_task_batch_state", table_name="task")
