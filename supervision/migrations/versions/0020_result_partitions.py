"""results partitioned by province on PostgreSQL: result_version and result_line gain the
province of the task's entity; result_version is partitioned by it

Revision ID: 0020
Revises: 0019

Both: `result_version.province` — the province of the task's entity when its first version
was made (every version of a task keeps it) — and `result_line.province`, its version's.
SQLite stops there.

PostgreSQL: `result_version` is rebuilt as `PARTITION BY LIST (province)` like the registry
(`supervision.registry.partitions.rebuild`); a result line refers to its version by
`(version_id, province)`, the key a partitioned table can hold.
"""

from alembic import op

from supervision.registry.partitions import rebuild

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

KEYS = {"pk_result_version": "id", "uq_result_version_task_id_seq": "task_id, seq"}
INDEXES = (
    "CREATE INDEX ix_result_version_task_id ON result_version (task_id)",
    "CREATE INDEX ix_result_version_status_completed ON result_version (status, completed_on)",
)
LINE_FK = "fk_result_line_version_id_result_version"
TASK_FK = "fk_result_version_task_id_task"


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    column = "VARCHAR(2)" if pg else "VARCHAR(2) NOT NULL DEFAULT ''"
    op.execute(f"ALTER TABLE result_version ADD COLUMN province {column}")
    op.execute(f"ALTER TABLE result_line ADD COLUMN province {column}")
    op.execute(
        "UPDATE result_version SET province = (SELECT e.province FROM task t "
        "JOIN entity e ON e.id = t.entity_id WHERE t.id = result_version.task_id)"
    )
    op.execute(
        "UPDATE result_line SET province = (SELECT v.province FROM result_version v "
        "WHERE v.id = result_line.version_id)"
    )
    if not pg:
        return
    for table in ("result_version", "result_line"):
        op.execute(f"ALTER TABLE {table} ALTER COLUMN province SET NOT NULL")
    op.execute(f"ALTER TABLE result_line DROP CONSTRAINT {LINE_FK}")
    rebuild(op, "result_version", partitioned=True, keys=KEYS, indexes=INDEXES)
    op.execute(
        f"ALTER TABLE result_version ADD CONSTRAINT {TASK_FK} "
        "FOREIGN KEY (task_id) REFERENCES task (id)"
    )
    op.execute(
        f"ALTER TABLE result_line ADD CONSTRAINT {LINE_FK} FOREIGN KEY (version_id, province) "
        "REFERENCES result_version (id, province)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE result_line DROP CONSTRAINT {LINE_FK}")
        rebuild(op, "result_version", partitioned=False, keys=KEYS, indexes=INDEXES)
        op.execute(
            f"ALTER TABLE result_version ADD CONSTRAINT {TASK_FK} "
            "FOREIGN KEY (task_id) REFERENCES task (id)"
        )
        op.execute(
            f"ALTER TABLE result_line ADD CONSTRAINT {LINE_FK} FOREIGN KEY (version_id) "
            "REFERENCES result_version (id)"
        )
    op.execute("ALTER TABLE result_line DROP COLUMN province")
    op.execute("ALTER TABLE result_version DROP COLUMN province")
