"""Scheduled jobs: once per slot, failures recorded, deadline warnings on a walking clock."""

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from supervision.clock import FixedClock
from supervision.db import transaction
from supervision.jobs.catalog import all_jobs
from supervision.jobs.models import JobRun
from supervision.jobs.runner import Job, make_scheduler, run_job
from supervision.planning import drawing, freeze, service
from supervision.planning import schemas as s
from supervision.settings import Settings
from tests.factories import DICE, batch_body, small_city


def test_a_slot_runs_once_and_failures_are_recorded(fresh_engine) -> None:
    clock = FixedClock(datetime(2026, 11, 26, 1, tzinfo=UTC))
    calls: list[int] = []
    job = Job("counting", lambda session, clock, settings: calls.append(1) or {"n": len(calls)})
    first = run_job(fresh_engine, job, clock, Settings())
    assert first.status == "ok" and first.detail == '{"n": 1}'
    assert run_job(fresh_engine, job, clock, Settings()) is None  # same day: skipped
    clock.advance(days=1)
    assert run_job(fresh_engine, job, clock, Settings()).status == "ok"
    assert len(calls) == 2

    def boom(session, clock, settings):
        raise RuntimeError("数据源不可用")

    failed = run_job(fresh_engine, Job("boom", boom), clock, Settings())
    assert failed.status == "failed" and "数据源不可用" in failed.detail


def test_deadline_warning_appears_near_the_deadline(fresh_engine, tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 9, 1, 1, tzinfo=UTC))
    storage = tmp_path / "files"
    with transaction(fresh_engine) as session:
        small_city(session, clock)
        service.create_plan(
            session,
            s.PlanCreate(code="P", year=2026, name="计划", authority="局"),
            actor="t",
            clock=clock,
        )
        body = batch_body(window_start="2026-09-07", window_end="2026-09-25")
        service.create_batch(session, "P", s.BatchCreate(**body), actor="t", clock=clock)
        freeze.freeze_batch(session, body["code"], actor="t", clock=clock, storage=storage)
        drawing.enter_entropy(
            session, body["code"], [DICE], actor="t", clock=clock, storage=storage
        )
    job = all_jobs()["publication_deadlines"]
    # Due 20 working days after 25 Sep across the National Day week: 29 Oct 2026.
    early = run_job(fresh_engine, job, FixedClock(datetime(2026, 10, 9, 1, tzinfo=UTC)), Settings())
    assert '"warnings": []' in early.detail
    near = run_job(fresh_engine, job, FixedClock(datetime(2026, 10, 26, 1, tzinfo=UTC)), Settings())
    assert '"due": "2026-10-29"' in near.detail and '"overdue": false' in near.detail
    late = run_job(fresh_engine, job, FixedClock(datetime(2026, 10, 30, 1, tzinfo=UTC)), Settings())
    assert '"overdue": true' in late.detail
    with Session(fresh_engine) as session:
        assert len(session.exec(select(JobRun)).all()) == 3


def test_scheduler_knows_every_job(fresh_engine) -> None:
    sched = make_scheduler(
        fresh_engine,
        FixedClock(datetime(2026, 1, 1, tzinfo=UTC)),
        Settings(),
        all_jobs().values(),
        blocking=False,
    )
    assert {j.id for j in sched.get_jobs()} >= {"publication_deadlines", "audit_chain"}
