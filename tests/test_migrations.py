"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from supervision.db import is_sqlite
from supervision.models import metadata
from supervision.registry.partitions import ENTITY_REFERENCES, POSTGRES_ONLY
from supervision.registry.search import INDEX_OBJECTS


def _modelled(obj, name, type_, reflected, compare_to) -> bool:
    """The search index (FTS5 tables, the trigram index) lives outside the models."""
    return not (reflected and compare_to is None and str(name).startswith(INDEX_OBJECTS))


# On PostgreSQL the registry's partitioned shape differs from the plain one the models describe
# in these objects only; tests/registry/test_partitions.py checks that shape itself.
PARTITIONED_SHAPE = {name for _, name, _, _ in ENTITY_REFERENCES} | {
    "uq_entity_uscc",
    "pk_entity",
    "pk_result_version",
    "uq_result_version_task_id_seq",
    "fk_result_line_version_id_result_version",
}


def _modelled_partitioned(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and reflected and compare_to is None:
        if str(name).startswith(POSTGRES_ONLY):
            return False
    if type_ == "index" and str(obj.table.name).startswith(POSTGRES_ONLY):
        return False
    if type_ == "foreign_key_constraint" and obj.referred_table.name.startswith(POSTGRES_ONLY):
        return False  # a reference to a partitioned table, as PostgreSQL lists it per partition
    kinds = ("foreign_key_constraint", "unique_constraint", "index")
    if type_ in kinds and name in PARTITIONED_SHAPE:
        return False
    return _modelled(obj, name, type_, reflected, compare_to)


def test_models_match_migrations(engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": is_sqlite(engine),
                "include_object": _modelled if is_sqlite(engine) else _modelled_partitioned,
            },
        )
        assert compare_metadata(ctx, metadata) == []


def _schema(conn) -> dict:
    """Every table's columns, keys, indexes and constraints, as plain comparable data."""
    insp = inspect(conn)
    out = {}
    for table in sorted(insp.get_table_names()):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
        }
    return out


def test_downgrade_to_base_and_back(fresh_engine) -> None:
    from alembic import command

    from supervision.migrate import alembic_config

    cfg = alembic_config()
    with fresh_engine.begin() as conn:
        before = _schema(conn)
        assert "entity" in before and "draw" in before  # the head schema was there to begin with
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        assert set(_schema(conn)) <= {"alembic_version"}  # every table dropped
        command.upgrade(cfg, "head")
        assert _schema(conn) == before


def test_result_lines_gain_the_implied_parent_2(fresh_engine) -> None:
    """0011: a line holding B, C, 6 or D gains 2 (their parent on the record form) and keeps
    every code it had; other lines are untouched; downgrading takes 2 away again."""
    from alembic import command
    from sqlalchemy import text

    from supervision.migrate import alembic_config

    cfg = alembic_config()
    with fresh_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
        # Lines without their version and item (checked again only at commit, after the
        # rows are gone).
        if is_sqlite(fresh_engine):
            conn.execute(text("PRAGMA defer_foreign_keys = ON"))
        else:
            conn.execute(text("SET session_replication_role = replica"))
        for n, codes in enumerate(("A,B", "A,6", "1", "A,3", "A,C,D"), start=1):
            conn.execute(
                text(
                    "INSERT INTO result_line (id, version_id, item_code, codes, methods, "
                    "problems, handling, follow_up, proof_json, evidence) "
                    "VALUES (:id, :id, 'X', :codes, '', '', '', '', '{}', '')"
                ),
                {"id": n, "codes": codes},
            )
        command.upgrade(cfg, "0011")
        after = [r[0] for r in conn.execute(text("SELECT codes FROM result_line ORDER BY id"))]
        assert after == ["A,2,B", "A,2,6", "1", "A,3", "A,2,C,D"]
        command.downgrade(cfg, "0010")
        back = [r[0] for r in conn.execute(text("SELECT codes FROM result_line ORDER BY id"))]
        assert back == ["A,B", "A,6", "1", "A,3", "A,C,D"]
        conn.execute(text("DELETE FROM result_line"))
        if not is_sqlite(fresh_engine):
            conn.execute(text("SET session_replication_role = DEFAULT"))
        command.upgrade(cfg, "head")
