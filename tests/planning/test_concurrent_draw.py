"""Two entropy submissions racing each other: exactly one draw, the other refused."""

import threading
from pathlib import Path

from sqlmodel import Session, func, select

from supervision.db import transaction
from supervision.errors import Conflict
from supervision.planning import schemas as s
from supervision.planning import service
from supervision.planning.models import Draw, Task
from tests.factories import batch_body, small_city


def test_concurrent_entropy_gives_one_draw(fresh_engine, clock, tmp_path: Path) -> None:
    storage = tmp_path / "files"
    with transaction(fresh_engine) as session:
        small_city(session, clock)
        service.create_plan(
            session,
            s.PlanCreate(code="P", year=2026, name="计划", authority="局"),
            actor="t",
            clock=clock,
        )
        service.create_batch(session, "P", s.BatchCreate(**batch_body()), actor="t", clock=clock)
        service.freeze_batch(session, "CJ-2026-T01", actor="t", clock=clock, storage=storage)

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(entropy: str) -> None:
        barrier.wait()
        try:
            with transaction(fresh_engine) as session:
                service.enter_entropy(
                    session, "CJ-2026-T01", [entropy], actor=entropy, clock=clock, storage=storage
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
    with Session(fresh_engine) as session:
        assert session.exec(select(func.count()).select_from(Draw)).one() == 1
        draw = session.exec(select(Draw)).one()
        tasks = session.exec(select(func.count()).select_from(Task)).one()
        assert tasks == draw.selected_count
