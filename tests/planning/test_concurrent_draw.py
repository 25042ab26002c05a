"""Two entropy submissions racing each other: exactly one draw, the other refused.

On PostgreSQL both transactions are open and past the "already drawn?" check before either
inserts its draw (a barrier on the INSERT holds them), so the unique constraint on the draw's
batch is what refuses the second. SQLite takes its write lock when a writing transaction
begins (BEGIN IMMEDIATE), so two such transactions cannot both be open: there the second
waits for the first and its check sees the draw.
"""

import threading
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session, func, select

from supervision.db import transaction
from supervision.errors import Conflict
from supervision.planning import drawing, freeze, service
from supervision.planning import schemas as s
from supervision.planning.models import Draw, Task
from tests.factories import IMMEDIATE, batch_body, small_city


def _frozen_batch(fresh_engine, clock, storage: Path) -> None:
    with transaction(fresh_engine) as session:
        small_city(session, clock)
        service.create_plan(
            session,
            s.PlanCreate(code="P", year=2026, name="计划", authority="局"),
            actor="t",
            clock=clock,
        )
        service.create_batch(session, "P", s.BatchCreate(**batch_body()), actor="t", clock=clock)
        freeze.freeze_batch(
            session, "CJ-2026-T01", actor="t", clock=clock, storage=storage, rules=IMMEDIATE
        )


def _assert_one_draw(fresh_engine) -> None:
    with Session(fresh_engine) as session:
        assert session.exec(select(func.count()).select_from(Draw)).one() == 1
        draw = session.exec(select(Draw)).one()
        tasks = session.exec(select(func.count()).select_from(Task)).one()
        assert tasks == draw.selected_count


def test_concurrent_entropy_gives_one_draw(fresh_engine, clock, tmp_path: Path) -> None:
    storage = tmp_path / "files"
    _frozen_batch(fresh_engine, clock, storage)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(entropy: str) -> None:
        barrier.wait()
        try:
            with transaction(fresh_engine) as session:
                drawing.enter_entropy(
                    session,
                    "CJ-2026-T01",
                    [entropy],
                    actor=entropy,
                    clock=clock,
                    storage=storage,
                    rules=IMMEDIATE,
                )
            outcomes.append("drawn")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=submit, args=(e,)) for e in ("1 2 3", "4 5 6")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["drawn", "refused"]
    _assert_one_draw(fresh_engine)


def test_the_unique_constraint_refuses_the_second_of_two_open_transactions(
    fresh_engine, clock, tmp_path: Path
) -> None:
    if fresh_engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writing transactions: two cannot be open at once")
    storage = tmp_path / "files"
    _frozen_batch(fresh_engine, clock, storage)
    barrier = threading.Barrier(2, timeout=60)
    inserts: list[str] = []

    @event.listens_for(fresh_engine, "before_cursor_execute")
    def _hold_draw_insert(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith("INSERT INTO DRAW "):
            inserts.append(threading.current_thread().name)
            barrier.wait()  # both transactions are open and past the pre-check

    outcomes: list[str] = []

    def submit(entropy: str) -> None:
        try:
            with transaction(fresh_engine) as session:
                drawing.enter_entropy(
                    session,
                    "CJ-2026-T01",
                    [entropy],
                    actor=entropy,
                    clock=clock,
                    storage=storage,
                    rules=IMMEDIATE,
                )
            outcomes.append("drawn")
        except Conflict as exc:
            outcomes.append(f"refused: {exc.zh}")

    threads = [threading.Thread(target=submit, args=(e,)) for e in ("1 2 3", "4 5 6")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    event.remove(fresh_engine, "before_cursor_execute", _hold_draw_insert)
    assert len(inserts) == 2, inserts  # both reached the INSERT: the check let both through
    assert sorted(outcomes) == ["drawn", "refused: 该批次已抽取，熵值只能录入一次"]
    _assert_one_draw(fresh_engine)
