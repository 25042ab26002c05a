"""The migrations build exactly the schema the models describe, and downgrade cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from supervision.db import is_sqlite
from supervision.models import metadata


def test_models_match_migrations(engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": is_sqlite(engine)}
        )
        assert compare_metadata(ctx, metadata) == []


def test_downgrade_to_base_and_back(fresh_engine) -> None:
    from alembic import command

    from supervision.migrate import alembic_config

    cfg = alembic_config()
    with fresh_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        command.upgrade(cfg, "head")
