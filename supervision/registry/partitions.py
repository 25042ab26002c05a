"""The registry partitioned by province on PostgreSQL; a plain table on SQLite.

On PostgreSQL `entity` is `PARTITION BY LIST (province)` — `province` is the region code's first
two digits (`registry.models.province_of`) — with one partition per province-level division of
the reference regions (`data/regions.csv`) and a default partition for any other. A unique
constraint on a partitioned table must contain the partition key, so:

- `entity` has unique indexes `(id, province)` and `(uscc, province)` (the importer's
  ON CONFLICT target; its leading column serves lookups by credit code) — indexes rather
  than constraints, which `pg_restore --clean` could not drop partition by partition;
- identity stays global in the narrow, unpartitioned `entity_key (id, uscc)`: it keeps `id`
  and `uscc` unique across provinces, and every foreign key that referred to the entity
  (tasks, conflict declarations, annual reports, tax filings, list entries, enforcement
  candidates) refers to it. Statement triggers keep it in step with every write to `entity`
  (an insert adds the new keys in one set; a credit-code change, which no service makes,
  follows; a delete removes the key; a move between partitions leaves it as it is);
- an entity whose region code moves to another province moves to that partition (PostgreSQL
  moves the row on update); its id and credit code stay, and so do the rows that refer to it.

A query that names the province (`province = '65'`) touches that partition only — a batch whose
regions all lie in one province adds that condition (`planning.pool.pool_conditions`).

The results (`result_version`) are partitioned the same way (migration 0020), by the province
of the task's entity when its first version was made; a result line refers to its version by
`(version_id, province)`.
"""

import csv
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

REGIONS_CSV = Path(__file__).resolve().parents[2] / "data" / "regions.csv"

DEFAULT_PARTITION = "entity_default"

# Tables that exist only in the partitioned (PostgreSQL) schema, by name or name prefix; the
# models describe the plain schema.
POSTGRES_ONLY = (
    "entity_key",
    "entity_p",
    DEFAULT_PARTITION,
    "result_version_p",
    "result_version_default",
)
# Tables partitioned by province on PostgreSQL.
PARTITIONED_TABLES = ("entity", "result_version")


def partitioned_table(relation: str) -> str:
    """The partitioned table a partition belongs to (`entity_p65` → `entity`), else itself."""
    for table in PARTITIONED_TABLES:
        if relation == f"{table}_default" or re.fullmatch(rf"{table}_p\d\d", relation):
            return table
    return relation


# (table, constraint, columns, referred column of entity_key)
ENTITY_REFERENCES = (
    ("task", "fk_task_entity_id_entity", "entity_id", "id"),
    ("conflict_declaration", "fk_conflict_declaration_entity_id_entity", "entity_id", "id"),
    ("annual_report", "fk_annual_report_uscc_entity", "uscc", "uscc"),
    ("tax_filing", "fk_tax_filing_uscc_entity", "uscc", "uscc"),
    ("list_entry", "fk_list_entry_uscc_entity", "uscc", "uscc"),
    ("enforcement_candidate", "fk_enforcement_candidate_uscc_entity", "uscc", "uscc"),
)


def provinces(path: Path = REGIONS_CSV) -> list[str]:
    """The province codes of the reference regions (the first two digits of each province)."""
    with path.open(encoding="utf-8", newline="") as f:
        return sorted({row["code"][:2] for row in csv.DictReader(f) if row["level"] == "province"})


def partition_name(province: str, table: str = "entity") -> str:
    return f"{table}_p{province}"


def is_partitioned(conn: Connection) -> bool:
    """Whether this database holds the registry in province partitions (PostgreSQL)."""
    return conn.dialect.name == "postgresql"


def rebuild(
    op: Any,
    table: str,
    *,
    partitioned: bool,
    keys: dict[str, str],
    indexes: tuple[str, ...],
    checks: dict[str, str] | None = None,
) -> None:
    """Replace `table` with a copy of itself, partitioned by province or plain (a migration's
    step, run through `op`). `keys`: name → columns of the unique keys — constraints on a plain
    table; on a partitioned one, unique indexes that hold the province too (`pg_restore
    --clean`, the backup's restore, cannot drop a partition's share of a constraint).
    `indexes`: the CREATE INDEX statements of the other indexes (each partition gets its own).
    """
    op.execute(f"ALTER TABLE {table} RENAME TO {table}_old")
    # (Renaming a constraint's index renames the constraint too.)
    for name in [*keys, *(stmt.split()[2] for stmt in indexes)]:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
    tail = " PARTITION BY LIST (province)" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS){tail}")
    if partitioned:
        for code in provinces():
            op.execute(
                f"CREATE TABLE {partition_name(code, table)} PARTITION OF {table} "
                f"FOR VALUES IN ('{code}')"
            )
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        for name, columns in keys.items():
            op.execute(f"CREATE UNIQUE INDEX {name} ON {table} ({columns}, province)")
    else:
        for name, columns in keys.items():
            kind = "PRIMARY KEY" if name.startswith("pk_") else "UNIQUE"
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} ({columns})")
    for name, check in (checks or {}).items():
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check})")
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}_old")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP TABLE {table}_old")
    for stmt in indexes:
        op.execute(stmt)


KEY_TRIGGERS = """
CREATE FUNCTION entity_key_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entity_key (id, uscc) SELECT id, uscc FROM new_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER entity_key_insert AFTER INSERT ON entity
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION entity_key_insert();

CREATE FUNCTION entity_key_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE entity_key SET uscc = NEW.uscc WHERE id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER entity_key_update AFTER UPDATE ON entity
    FOR EACH ROW WHEN (OLD.uscc IS DISTINCT FROM NEW.uscc)
    EXECUTE FUNCTION entity_key_update();

CREATE FUNCTION entity_key_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM entity_key k USING old_rows o WHERE k.id = o.id;
    RETURN NULL;
END $$;
CREATE TRIGGER entity_key_delete AFTER DELETE ON entity
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION entity_key_delete();
"""
