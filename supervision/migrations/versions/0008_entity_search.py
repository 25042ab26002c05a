"""entity search: a name index any fragment of a Chinese name finds

Revision ID: 0008
Revises: 0007

A plain index on the name serves exact names and the ordered scan that fragments shorter
than three characters fall back to (no trigram index can serve those).
SQLite: an FTS5 table over ``entity.name`` with the ``trigram`` tokenizer (external content,
so the names are stored once), kept in step by triggers — an import's rows are indexed in
the import's own transaction, and a rolled-back import leaves no trace in the index.
PostgreSQL: ``pg_trgm`` and a GIN index on the name, which the planner uses for
``ILIKE '%…%'`` and for similarity (typo-tolerant) search alike.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_entity_name", "entity", ["name"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_entity_name_trgm ON entity USING gin (name gin_trgm_ops)")
        return
    op.execute(
        "CREATE VIRTUAL TABLE entity_fts USING fts5("
        "name, content='entity', content_rowid='id', tokenize='trigram')"
    )
    # How many names hold each trigram: the typo-tolerant retry keeps to the rare ones.
    op.execute("CREATE VIRTUAL TABLE entity_fts_vocab USING fts5vocab('entity_fts', 'row')")
    op.execute(
        "CREATE TRIGGER entity_fts_ai AFTER INSERT ON entity BEGIN "
        "INSERT INTO entity_fts(rowid, name) VALUES (new.id, new.name); END"
    )
    op.execute(
        "CREATE TRIGGER entity_fts_ad AFTER DELETE ON entity BEGIN "
        "INSERT INTO entity_fts(entity_fts, rowid, name) VALUES ('delete', old.id, old.name); END"
    )
    op.execute(
        "CREATE TRIGGER entity_fts_au AFTER UPDATE OF name ON entity BEGIN "
        "INSERT INTO entity_fts(entity_fts, rowid, name) VALUES ('delete', old.id, old.name); "
        "INSERT INTO entity_fts(rowid, name) VALUES (new.id, new.name); END"
    )
    op.execute("INSERT INTO entity_fts(entity_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_entity_name_trgm")
    else:
        for trigger in ("entity_fts_ai", "entity_fts_ad", "entity_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS entity_fts_vocab")
        op.execute("DROP TABLE IF EXISTS entity_fts")
    op.drop_index("ix_entity_name", table_name="entity")
