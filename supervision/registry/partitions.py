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
"""

import csv
from pathlib import Path

from sqlalchemy import Connection

REGIONS_CSV = Path(__file__).resolve().parents[2] / "data" / "regions.csv"

DEFAULT_PARTITION = "entity_default"

# Objects that exist only in the partitioned (PostgreSQL) schema, and the entity constraints
# whose columns differ there; the models describe the plain schema.
POSTGRES_ONLY = ("entity_key", "entity_p", DEFAULT_PARTITION)

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


def partition_name(province: str) -> str:
    return f"entity_p{province}"


def is_partitioned(conn: Connection) -> bool:
    """Whether this database holds the registry in province partitions (PostgreSQL)."""
    return conn.dialect.name == "postgresql"


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
