"""Listing batches costs a constant number of SQL statements, whatever their number."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import Session

from supervision.planning import freeze, queries, service
from supervision.planning import schemas as s
from tests.factories import IMMEDIATE, batch_body, small_city


@contextmanager
def counted(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = session.get_bind().engine

    def count(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _batches(session: Session, clock, storage, n: int, start: int) -> None:
    for i in range(start, start + n):
        code = f"CJ-2026-Q{i:02d}"
        service.create_batch(
            session, "P", s.BatchCreate(**batch_body(code)), actor="t", clock=clock
        )
        freeze.freeze_batch(session, code, actor="t", clock=clock, storage=storage, rules=IMMEDIATE)
    session.flush()


def test_listing_batches_costs_the_same_for_2_or_12(session: Session, clock, tmp_path) -> None:
    small_city(session, clock)
    service.create_plan(
        session,
        s.PlanCreate(code="P", year=2026, name="计划", authority="局"),
        actor="t",
        clock=clock,
    )
    storage = tmp_path / "files"
    _batches(session, clock, storage, 2, 1)
    session.expire_all()
    with counted(session) as few:
        two = queries.list_batches(session, None)
    _batches(session, clock, storage, 10, 3)
    session.expire_all()
    with counted(session) as many:
        twelve = queries.list_batches(session, None)
    assert len(two) == 2 and len(twelve) == 12
    assert all(b.commitments and b.item_codes for b in twelve)
    assert len(many) == len(few) <= 5, (len(few), len(many))
    with counted(session) as plans:
        queries.list_plans(session, None)
    assert len(plans) <= 2
