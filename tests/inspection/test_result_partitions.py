"""Results carry their entity's province; on PostgreSQL they are partitioned by it, a line
refers to its version by (id, province), and a results query naming the province reads that
partition only."""

import json

from sqlalchemy import text
from sqlmodel import Session, select

from supervision.inspection.models import ResultLine, ResultVersion
from supervision.planning.models import Task
from supervision.registry.models import Entity
from tests.inspection.conftest import record_and_submit


def test_a_result_takes_its_entity_province_and_keeps_it(
    client, draw_batch, member, session: Session, clock
) -> None:
    task_id = draw_batch()[0]
    record_and_submit(client, task_id, member(task_id), "2026-09-02")
    version = session.exec(select(ResultVersion).where(ResultVersion.task_id == task_id)).one()
    lines = session.exec(select(ResultLine).where(ResultLine.version_id == version.id)).all()
    assert version.province == "65" and lines and {line.province for line in lines} == {"65"}
    # The entity re-registered in another province: a later version of the same task stays
    # with the first (a task's versions are one key: task and seq).
    task = session.get(Task, task_id)
    entity = session.get(Entity, task.entity_id)
    entity.region_code = "440300"
    session.add(entity)
    session.flush()
    later = ResultVersion(
        task_id=task_id,
        seq=2,
        codebook_version=version.codebook_version,
        created_at=clock.now(),
        created_by="tester",
        updated_at=clock.now(),
    )
    session.add(later)
    session.flush()
    assert later.province == "65"
    if session.get_bind().dialect.name != "postgresql":
        return
    placed = session.execute(
        text("SELECT DISTINCT tableoid::regclass::text FROM result_version WHERE task_id = :t"),
        {"t": task_id},
    ).scalars()
    assert list(placed) == ["result_version_p65"]
    cur = session.connection().connection.driver_connection.cursor()
    cur.execute(
        "EXPLAIN (FORMAT JSON) SELECT id FROM result_version "
        "WHERE province = '65' AND status = 'published'"
    )
    plan = cur.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: set[str] = set()

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    assert found == {"result_version_p65"}
