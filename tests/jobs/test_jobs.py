"""Scheduled jobs: once per slot, failures recorded, deadline warnings on a walking clock."""

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from supervision.clock import FixedClock
from supervision.db import transaction
from supervision.jobs.catalog import all_jobs
from supervision.jobs.models import JobRun
from supervision.jobs.runner import Job, make_scheduler, run_job, runner_name
from supervision.planning import drawing, freeze, service
from supervision.planning import schemas as s
from supervision.settings import Settings
from tests.factories import DICE, IMMEDIATE, batch_body, small_city


def test_a_slot_runs_once_and_failures_are_recorded(fresh_engine) -> None:
    clock = FixedClock(datetime(2026, 11, 26, 1, tzinfo=UTC))
    calls: list[int] = []
    job = Job("counting", lambda session, clock, settings: calls.append(1) or {"n": len(calls)})
    first = run_job(fresh_engine, job, clock, Settings())
    assert first.status == "ok" and json.loads(first.detail)["n"] == 1
    assert json.loads(first.detail)["runner"] == runner_name()  # who ran it, on the jobs page
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
        body = batch_body(
            window_start="2026-09-07", window_end="2026-09-25", ceremony_at=clock.now().isoformat()
        )
        service.create_batch(session, "P", s.BatchCreate(**body), actor="t", clock=clock)
        freeze.freeze_batch(
            session, body["code"], actor="t", clock=clock, storage=storage, rules=IMMEDIATE
        )
        drawing.enter_entropy(
            session, body["code"], [DICE], actor="t", clock=clock, storage=storage, rules=IMMEDIATE
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


def test_inbox_messages_are_mailed_once_when_smtp_is_configured(fresh_engine, monkeypatch) -> None:
    """Failures land in the admins' inbox; with an SMTP server they are mailed, once each, to
    the users who have an address; without one nothing is sent."""
    import smtplib

    from supervision.accounts.models import User
    from supervision.inbox.models import Message
    from supervision.inbox.service import send_mail

    sent: list = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, mail):
            sent.append((mail["To"], mail["Subject"], mail.get_content()))

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    clock = FixedClock(datetime(2026, 11, 26, 1, tzinfo=UTC))
    with transaction(fresh_engine) as session:
        for name, email in (("admin1", "admin1@example.gov.cn"), ("admin2", None)):
            session.add(
                User(
                    username=name,
                    display_name=name,
                    password_hash="x",
                    role="admin",
                    created_at=clock.now(),
                    email=email,
                )
            )

    def boom(session, clock, settings):
        raise RuntimeError("数据源不可用")

    run_job(fresh_engine, Job("boom", boom, description="导入税务数据"), clock, Settings())
    with Session(fresh_engine) as session:
        messages = session.exec(select(Message)).all()
        assert sorted(m.username for m in messages) == ["admin1", "admin2"]
        assert all("导入税务数据" in m.subject and "数据源不可用" in m.body for m in messages)
    with transaction(fresh_engine) as session:
        assert send_mail(session, clock, Settings()) == {"sent": 0, "skipped": 0}  # no SMTP
    assert sent == []
    settings = Settings(smtp_host="127.0.0.1", smtp_port=2525)
    with transaction(fresh_engine) as session:
        assert send_mail(session, clock, settings)["sent"] == 1
    with transaction(fresh_engine) as session:
        assert send_mail(session, clock, settings)["sent"] == 0  # once
    assert sent[0] == ("connect", "127.0.0.1", 2525)
    assert sent[1][0] == "admin1@example.gov.cn" and "导入税务数据" in sent[1][1]
    assert "/staff/jobs" in sent[1][2]


def test_a_slot_missed_while_nobody_led_is_caught_up_once(fresh_engine) -> None:
    from supervision.jobs.runner import catch_up

    calls: list[str] = []
    ran_before = Job(
        "daily", lambda s, c, st: calls.append("daily") or {}, cron={"hour": 7, "minute": 30}
    )
    never_ran = Job(
        "fresh", lambda s, c, st: calls.append("fresh") or {}, cron={"hour": 7, "minute": 30}
    )
    settings = Settings(scheduler_catch_up_hours=12)
    # It ran on the 24th; the scheduler was down over the 25th and 26th 07:30 slots.
    run_job(
        fresh_engine, ran_before, FixedClock(datetime(2026, 11, 23, 23, 31, tzinfo=UTC)), settings
    )
    assert calls == ["daily"]
    back = FixedClock(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))  # 11:00 in China
    assert catch_up(fresh_engine, back, settings, [ran_before, never_ran]) == ["daily"]
    assert calls == ["daily", "daily"]  # once, for the latest slot (coalesced), not twice
    assert catch_up(fresh_engine, back, settings, [ran_before, never_ran]) == []
    with Session(fresh_engine) as session:
        row = session.exec(select(JobRun).where(JobRun.slot == "2026-11-26")).one()
        assert json.loads(row.detail)["caught_up"].startswith("2026-11-26T07:30")
    # Past the catch-up window, a missed slot is left to the next one.
    late = FixedClock(datetime(2026, 11, 27, 23, 0, tzinfo=UTC))  # 07:00 on the 28th
    assert catch_up(fresh_engine, late, Settings(scheduler_catch_up_hours=1), [ran_before]) == []


def test_a_tick_job_failing_tick_after_tick_tells_the_admins_once(fresh_engine) -> None:
    from supervision.accounts.models import User
    from supervision.inbox.models import Message

    clock = FixedClock(datetime(2026, 11, 26, 1, tzinfo=UTC))
    with transaction(fresh_engine) as session:
        session.add(
            User(
                username="a",
                display_name="a",
                password_hash="x",
                role="admin",
                created_at=clock.now(),
            )
        )

    def boom(session, clock, settings):
        raise RuntimeError("邮件服务器拒绝连接")

    job = Job("mail", boom, cron={}, tick=True)
    for _ in range(3):
        assert run_job(fresh_engine, job, clock, Settings()).status == "failed"
        clock.advance(seconds=60)
    with Session(fresh_engine) as session:
        assert len(session.exec(select(JobRun).where(JobRun.job == "mail")).all()) == 3
        assert len(session.exec(select(Message)).all()) == 1
