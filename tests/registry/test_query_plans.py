"""The hot lookups use an index, never a scan of the registry or the big tables: each query
they run is captured as sent to the database and explained there (SQLite's EXPLAIN QUERY PLAN;
PostgreSQL's EXPLAIN with sequential scans priced out, so a scan in the plan means no index
could serve the query — the tables here are small, where a planner would otherwise scan)."""

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, select

from supervision.enforcement.restrictions import restrictions
from supervision.enforcement.rulebook import rulebook
from supervision.portal.record import entity_record
from supervision.registry import search
from supervision.registry.models import Entity
from supervision.registry.partitions import partitioned_table
from tests.factories import small_city

# Tables that grow with the registry: a lookup must never read them whole.
BIG = {"entity", "task", "task_member", "result_version", "list_entry", "draw_event"}


def _captured(session: Session, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []
    engine = session.get_bind()

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert statements, "the call ran no query"
    return statements


def _scans(session: Session, statement: str, parameters: Any) -> list[str]:
    raw = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        cur = raw.cursor()
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = cur.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        found: list[str] = []

        def walk(node: dict) -> None:
            relation = partitioned_table(node.get("Relation Name", ""))  # a partition's table
            if node.get("Node Type") == "Seq Scan" and relation in BIG:
                found.append(relation)
            for child in node.get("Plans", []):
                walk(child)

        walk(plan[0]["Plan"])
        return found
    rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
    return [
        detail.split()[1]
        for *_, detail in rows
        if detail.startswith("SCAN ")
        and detail.split()[1] in BIG
        and "USING INDEX" not in detail
        and "USING COVERING INDEX" not in detail
    ]


def test_hot_lookups_use_indexes(session: Session, clock, data_dir) -> None:
    small_city(session, clock, entities=300)
    session.flush()
    uscc, name = session.exec(select(Entity.uscc, Entity.name).limit(1)).one()
    book = rulebook(data_dir)
    measure = sorted(book.all_measure_codes())[0]
    calls = {
        "entity page": lambda: entity_record(
            session, uscc, data_dir=data_dir, on=date(2026, 11, 26)
        ),
        "restrictions": lambda: restrictions(session, book, uscc, measure, date(2026, 11, 26)),
        "search by code": lambda: search.search(session, uscc),
        "search by code prefix": lambda: search.search(session, uscc[:10]),
        "search by fragment": lambda: search.search(session, name[-4:]),
        "search by two characters": lambda: search.search(session, name[-2:]),
    }
    for label, call in calls.items():
        for statement, parameters in _captured(session, call):
            scans = _scans(session, statement, parameters)
            assert not scans, (label, scans, statement)


def test_the_check_sees_a_scan(session: Session, clock) -> None:
    """The detector itself: a query no index can serve is reported as a scan."""
    small_city(session, clock, entities=50)
    session.flush()
    # (On PostgreSQL one scan per partition of the registry.)
    assert set(_scans(session, "SELECT id FROM entity WHERE legal_rep = 'x'", {})) == {"entity"}


def _plan_text(session: Session, statement: str, parameters: Any) -> str:
    raw = session.connection().connection.driver_connection
    if session.get_bind().dialect.name == "postgresql":
        cur = raw.cursor()
        cur.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = cur.fetchone()[0]
        return plan if isinstance(plan, str) else json.dumps(plan, ensure_ascii=False)
    return " | ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters))


def test_two_characters_are_found_through_the_pair_index(session: Session, clock) -> None:
    """A two-character fragment asks PostgreSQL's index of adjacent pairs (one key, exact),
    not the index of single characters; SQLite asks its character index for the phrase."""
    small_city(session, clock, entities=300)
    session.flush()
    name = session.exec(select(Entity.name).limit(1)).one()
    statements = _captured(session, lambda: search.search(session, name[-2:]))
    plans = [_plan_text(session, s, p) for s, p in statements if "entity" in s]
    if session.get_bind().dialect.name == "postgresql":
        assert all("name_bigrams" in plan for plan in plans), plans
        assert not any("string_to_array" in plan for plan in plans), plans
        # One character still goes through the character index.
        statements = _captured(session, lambda: search.search(session, name[-1]))
        plans = [_plan_text(session, s, p) for s, p in statements if "string_to_array" in s]
        assert plans and all("string_to_array" in plan for plan in plans)
    else:
        assert all("entity_fts_chars MATCH" in s for s, _ in statements if "entity" in s)
        assert all("VIRTUAL TABLE INDEX" in plan for plan in plans), plans
