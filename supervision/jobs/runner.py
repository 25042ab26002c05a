"""Scheduled jobs: what runs, when, and the guarantee that a slot runs once.

Each job is a function of (session, clock, settings) returning a JSON-able summary. A run
first claims its (job, slot) row in a transaction of its own — the unique key refuses a
second claim from another process — and on PostgreSQL also holds an advisory lock for the
job's duration, so one scheduler process at scale and the embedded one in `make run` behave
alike. The job's own work commits or rolls back as one transaction.

Each domain with scheduled work lists its jobs in its own `jobs.py`; the composition roots
(the app factory, the CLI) pass them in, through `supervision.jobs.catalog`.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from supervision.clock import Clock
from supervision.db import is_sqlite, transaction
from supervision.jobs.models import JobRun
from supervision.settings import Settings

log = logging.getLogger("supervision.jobs")
JobFn = Callable[[Session, Clock, Settings], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn
    cron: dict[str, Any] = field(default_factory=lambda: {"hour": 7, "minute": 30})
    description: str = ""


def daily_slot(clock: Clock) -> str:
    return clock.today().isoformat()


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def run_job(
    engine: Engine, job: Job, clock: Clock, settings: Settings, slot: str | None = None
) -> JobRun | None:
    """Run `job` for `slot` (default: today) unless that slot already ran; returns the row."""
    slot = slot or daily_slot(clock)
    try:
        with transaction(engine) as session:
            claim = JobRun(job=job.name, slot=slot, started_at=clock.now())
            session.add(claim)
            session.flush()
            run_id = claim.id
    except IntegrityError:
        log.info("job %s already ran for slot %s", job.name, slot)
        return None
    status, detail = "ok", {}
    try:
        with transaction(engine) as session:
            if not is_sqlite(engine):
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(job.name)}
                )
            detail = job.run(session, clock, settings)
    except Exception as exc:  # a failed job is recorded, and the scheduler keeps going
        log.exception("job %s failed", job.name)
        status, detail = "failed", {"error": f"{type(exc).__name__}: {exc}"}
    with transaction(engine) as session:
        row = session.get(JobRun, run_id)
        row.finished_at = clock.now()
        row.status = status
        row.detail = json.dumps(detail, ensure_ascii=False, default=str)
        session.add(row)
    with Session(engine) as session:
        return session.get(JobRun, run_id)


def recent_runs(session: Session, limit: int = 50) -> list[JobRun]:
    return list(session.exec(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def make_scheduler(
    engine: Engine, clock: Clock, settings: Settings, jobs: Iterable[Job], *, blocking: bool
):
    """An APScheduler 3 scheduler with the given jobs, each on its cron, in China time."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    from supervision.clock import CHINA_TZ

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=CHINA_TZ)
    for job in jobs:
        scheduler.add_job(
            run_job,
            CronTrigger(timezone=CHINA_TZ, **job.cron),
            args=(engine, job, clock, settings),
            id=job.name,
            name=job.description or job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
    return scheduler
