"""entity.province; on PostgreSQL the registry partitioned by province

Revision ID: 0019
Revises: 0018

Both: `entity.province` — the region code's first two digits — filled from the region code.
SQLite stops there (a plain column on a plain table).

PostgreSQL (`supervision.registry.partitions` explains the shape): the narrow `entity_key
(id, uscc)` takes over global identity and every foreign key that referred to `entity`; then
`entity` is rebuilt as `PARTITION BY LIST (province)`, one partition per province of
`data/regions.csv` and a default one, its rows copied over, its indexes made again on the
partitioned table (each partition gets its own), the id sequence kept, and statement triggers
keep `entity_key` in step with later writes.
"""

from alembic import op

from supervision.registry.partitions import ENTITY_REFERENCES, KEY_TRIGGERS, rebuild

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The entity's secondary indexes, made again on the rebuilt table.
INDEXES = (
    "CREATE INDEX ix_entity_unit_status ON entity (supervising_unit, status)",
    "CREATE INDEX ix_entity_region ON entity (region_code)",
    "CREATE INDEX ix_entity_industry ON entity (industry_code)",
    "CREATE INDEX ix_entity_legal_rep_id_no ON entity (legal_rep_id_no)",
    "CREATE INDEX ix_entity_name ON entity (name)",
    "CREATE INDEX ix_entity_name_trgm ON entity USING gin (name gin_trgm_ops)",
    "CREATE INDEX ix_entity_name_chars ON entity USING gin (string_to_array(name, NULL))",
)


def _repoint(target: str) -> None:
    """Point the foreign keys that referred to the entity at `target` (entity or entity_key)."""
    for table, name, column, referred in ENTITY_REFERENCES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} "
            f"FOREIGN KEY ({column}) REFERENCES {target} ({referred})"
        )


KEYS = {"pk_entity": "id", "uq_entity_uscc": "uscc"}


def _rebuild_entity(partitioned: bool) -> None:
    """Replace `entity` with a copy of itself, partitioned by province or plain."""
    checks = {"ck_entity_province": "province = substr(region_code, 1, 2)"}
    rebuild(
        op,
        "entity",
        partitioned=partitioned,
        keys=KEYS,
        indexes=INDEXES,
        checks=checks if partitioned else None,
    )


def upgrade() -> None:
    # Plain ALTER TABLE on both: a batch rebuild on SQLite would lose the name index's
    # triggers. SQLite needs a default to add a NOT NULL column; every writer sets it.
    if op.get_bind().dialect.name != "postgresql":
        op.execute("ALTER TABLE entity ADD COLUMN province VARCHAR(2) NOT NULL DEFAULT ''")
        op.execute("UPDATE entity SET province = substr(region_code, 1, 2)")
        return
    op.execute("ALTER TABLE entity ADD COLUMN province VARCHAR(2)")
    op.execute("UPDATE entity SET province = substr(region_code, 1, 2)")
    op.execute("ALTER TABLE entity ALTER COLUMN province SET NOT NULL")
    op.execute(
        "CREATE TABLE entity_key (id integer NOT NULL, uscc varchar(18) NOT NULL, "
        "CONSTRAINT pk_entity_key PRIMARY KEY (id), "
        "CONSTRAINT uq_entity_key_uscc UNIQUE (uscc))"
    )
    op.execute("INSERT INTO entity_key (id, uscc) SELECT id, uscc FROM entity")
    _repoint("entity_key")
    _rebuild_entity(partitioned=True)
    op.execute(KEY_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("entity_key_insert", "entity_key_update", "entity_key_delete"):
            op.execute(f"DROP TRIGGER {name} ON entity")
            op.execute(f"DROP FUNCTION {name}()")
        _rebuild_entity(partitioned=False)
        _repoint("entity")
        op.execute("DROP TABLE entity_key")
    op.execute("ALTER TABLE entity DROP COLUMN province")
