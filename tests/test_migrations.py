"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from supervision.db import is_sqlite
from supervision.models import metadata
from supervision.registry.search import INDEX_OBJECTS


def _modelled(obj, name, type_, reflected, compare_to) -> bool:
    """The search index (FTS5 tables, the trigram index) lives outside the models."""
    return not (reflected and compare_to is None and str(name).startswith(INDEX_OBJECTS))


def test_models_match_migrations(engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": is_sqlite(engine),
                "include_object": _modelled,
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
