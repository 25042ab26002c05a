"""On PostgreSQL the registry is partitioned by province: a batch confined to one province reads
that partition only (its plan inspected), identity stays global, an entity whose region moves
to another province moves partition and keeps its id and everything that refers to it."""

import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from supervision.clock import FixedClock
from supervision.planning.pool import driver_statement, pool_statement
from supervision.planning.service import get_batch
from supervision.registry.importer import import_entities
from supervision.registry.models import Entity
from supervision.registry.partitions import (
    DEFAULT_PARTITION,
    ENTITY_REFERENCES,
    partition_name,
    provinces,
)
from tests.factories import batch_body
from tests.registry.test_importer import NOW, entity_row, refs, to_csv  # noqa: F401

PARTITIONED = "the registry is partitioned on PostgreSQL only"


@pytest.fixture(autouse=True)
def _postgres_only(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip(PARTITIONED)


def _elsewhere(session: Session, n: int) -> list[str]:
    """`n` entities registered in Shenzhen (province 44, not in the reference regions)."""
    base = session.exec(select(Entity).order_by(Entity.id).limit(1)).one()
    usccs = []
    for k in range(n):
        uscc = f"91440300MA{k:07d}X"
        session.add(
            Entity(
                **base.model_dump(exclude={"id", "uscc", "region_code", "province", "name"}),
                uscc=uscc,
                name=f"深圳市测试{k}号有限公司",
                region_code="440300",
            )
        )
        usccs.append(uscc)
    session.flush()
    return usccs


def _relations(session: Session, stmt) -> set[str]:
    """The tables the statement's plan reads (partitions by their own names)."""
    sql, params = driver_statement(session.connection(), stmt)
    cur = session.connection().connection.driver_connection.cursor()
    cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
    plan = cur.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: set[str] = set()

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _entity_partitions(relations: set[str]) -> set[str]:
    return {r for r in relations if r.startswith("entity_p") or r == DEFAULT_PARTITION}


def test_the_registry_is_partitioned_by_province(session: Session, planner) -> None:
    rows = session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'entity'::regclass ORDER BY 1"
        )
    ).scalars()
    assert set(rows) == {*map(partition_name, provinces()), DEFAULT_PARTITION}
    assert provinces() == ["65"]
    _elsewhere(session, 2)
    placed = dict(
        session.execute(
            text(
                "SELECT province, array_agg(DISTINCT tableoid::regclass::text) FROM entity "
                "GROUP BY province"
            )
        ).all()
    )
    assert placed == {"65": ["entity_p65"], "44": [DEFAULT_PARTITION]}
    # Every foreign key that referred to the entity refers to the global key table.
    for table, name, _column, _referred in ENTITY_REFERENCES:
        target = session.execute(
            text("SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = :n"),
            {"n": name},
        ).scalar_one()
        assert target == "entity_key", (table, name)
    keys = session.execute(text("SELECT count(*) FROM entity_key")).scalar_one()
    assert keys == session.execute(text("SELECT count(*) FROM entity")).scalar_one()


def test_a_batch_confined_to_one_province_reads_only_its_partition(
    client, planner, session: Session
) -> None:
    elsewhere = _elsewhere(session, 5)
    session.commit()
    for code, regions in (("CJ-2026-P65", ["6523"]), ("CJ-2026-P65B", ["652301", "6523"])):
        body = batch_body(code, filters={"statuses": ["active"], "region_codes": regions})
        r = client.post("/api/v1/plans/CJ-2026/batches", json=body, headers=planner)
        assert r.status_code == 201, r.text
        stmt = pool_statement(session, get_batch(session, code))
        assert _entity_partitions(_relations(session, stmt)) == {"entity_p65"}, code
        pool = [row[0] for row in session.execute(stmt)]
        expected = session.exec(
            select(Entity.uscc)
            .where(Entity.region_code.startswith("6523"), Entity.status == "active")
            .order_by(Entity.uscc)
        ).all()
        assert pool == expected and len(pool) > 100
    # Regions of two provinces, or none: every partition, and the other province's entities.
    for code, regions in (("CJ-2026-TWO", ["6523", "4403"]), ("CJ-2026-ALL", [])):
        body = batch_body(code, filters={"statuses": ["active"], "region_codes": regions})
        r = client.post("/api/v1/plans/CJ-2026/batches", json=body, headers=planner)
        assert r.status_code == 201, r.text
        stmt = pool_statement(session, get_batch(session, code))
        assert _entity_partitions(_relations(session, stmt)) == {"entity_p65", DEFAULT_PARTITION}
        pool = {row[0] for row in session.execute(stmt)}
        assert set(elsewhere) <= pool


def test_a_credit_code_is_unique_across_provinces(session: Session, planner) -> None:
    uscc = session.exec(select(Entity.uscc).limit(1)).one()
    base = session.exec(select(Entity).where(Entity.uscc == uscc)).one()
    session.add(
        Entity(**base.model_dump(exclude={"id", "region_code", "province"}), region_code="440300")
    )
    with pytest.raises(IntegrityError, match="uq_entity_key_uscc"):
        session.flush()


def test_an_entity_that_moves_province_moves_partition_and_keeps_its_id(
    session: Session, planner
) -> None:
    entity = session.exec(select(Entity).order_by(Entity.id).limit(1)).one()
    entity_id = entity.id
    entity.region_code = "440300"
    session.add(entity)
    session.flush()
    where = session.execute(
        text("SELECT tableoid::regclass::text, province FROM entity WHERE id = :i"),
        {"i": entity_id},
    ).one()
    assert tuple(where) == (DEFAULT_PARTITION, "44")
    assert (
        session.execute(
            text("SELECT uscc FROM entity_key WHERE id = :i"), {"i": entity_id}
        ).scalar_one()
        == entity.uscc
    )


@pytest.mark.usefixtures("refs")
def test_the_importer_moves_an_entity_registered_in_another_province(session: Session) -> None:
    """A registration export that gives an entity a region of another province: the row moves
    to that province's partition, same id, counted as changed; new rows of both provinces land
    in their own partitions."""
    clock = FixedClock(NOW)
    first = import_entities(
        session,
        io.BytesIO(to_csv([entity_row(1), entity_row(2)])),
        filename="t.csv",
        actor="tester",
        clock=clock,
    )
    assert first.inserted == 2
    ids = dict(session.execute(text("SELECT uscc, id FROM entity")).all())
    moved = entity_row(1, 行政区划代码="440300")
    again = import_entities(
        session,
        io.BytesIO(to_csv([moved, entity_row(2), entity_row(3, 行政区划代码="440300")])),
        filename="t.csv",
        actor="tester",
        clock=clock,
    )
    assert (again.inserted, again.updated) == (1, 1), again.to_dict()
    rows = session.execute(
        text("SELECT uscc, id, province, tableoid::regclass::text FROM entity ORDER BY uscc")
    ).all()
    by_uscc = {r[0]: r[1:] for r in rows}
    assert by_uscc[moved["统一社会信用代码"]] == (
        ids[moved["统一社会信用代码"]],
        "44",
        DEFAULT_PARTITION,
    )
    assert by_uscc[entity_row(3)["统一社会信用代码"]][1:] == ("44", DEFAULT_PARTITION)
    assert by_uscc[entity_row(2)["统一社会信用代码"]][1:] == ("65", "entity_p65")
    assert session.execute(text("SELECT count(*) FROM entity_key")).scalar_one() == 3
