"""Scheduled jobs: what runs, when, and the guarantee that a slot runs once.

Each job is a function of (session, clock, settings) returning a JSON-able summary. A run
first claims its (job, slot) row in a transaction of its own — the unique key refuses a
second claim from another process — and on PostgreSQL also holds an advisory lock for the
job's duration. The job's own work commits or rolls back as one transaction.

Only one scheduler schedules at a time: the leader (`Leadership`), elected on PostgreSQL by a
session-level advisory lock held on a dedicated connection (on SQLite by a file lock beside
the database). When the leader dies its connection closes, the lock is released, and a
standby takes over at its next poll. A new leader first catches up, once, the latest slot of
each daily job missed while nobody led (within `scheduler_catch_up_hours`), and says so.

Daily jobs run on their cron (slot: the China date). Tick jobs (`tick=True`: the ceremonies,
the heartbeat) run every `scheduler_tick_seconds` (slot: the tick's moment); a tick that found
nothing to do (`{"idle": true}`) leaves no row behind.

Each domain with scheduled work lists its jobs in its own `jobs.py`; the composition roots
(the app factory, the CLI) pass them in, through `supervision.jobs.catalog`.
"""

import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from supervision.clock import CHINA_TZ, Clock, china_day
from supervision.db import is_sqlite, transaction
from supervision.inbox.service import notify
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
    tick: bool = False  # runs every scheduler tick instead of on its cron


def daily_slot(clock: Clock) -> str:
    return clock.today().isoformat()


def tick_slot(at: datetime, seconds: int) -> str:
    """The tick a moment belongs to, as a UTC timestamp (fits the 32-character slot)."""
    epoch = int(at.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


LEADER_KEY = _lock_key("supervision.scheduler.leader")


def run_job(
    engine: Engine,
    job: Job,
    clock: Clock,
    settings: Settings,
    slot: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobRun | None:
    """Run `job` for `slot` (default: today, or this tick) unless that slot already ran;
    returns the row (None when the slot had run, or for an idle tick)."""
    if slot is None:
        slot = (
            tick_slot(clock.now(), settings.scheduler_tick_seconds)
            if job.tick
            else daily_slot(clock)
        )
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
    detail = {**detail, "runner": runner_name(), **(extra or {})}
    with transaction(engine) as session:
        row = session.get(JobRun, run_id)
        if job.tick and status == "ok" and detail.get("idle"):
            session.delete(row)  # an idle tick: nothing to keep
            return None
        row.finished_at = clock.now()
        row.status = status
        row.detail = json.dumps(detail, ensure_ascii=False, default=str)
        session.add(row)
        if status == "failed" and not (job.tick and _failed_before(session, job, run_id)):
            # A tick job failing tick after tick (an SMTP server down, say) tells once.
            _tell_admins(session, job, slot, detail["error"], clock)
    with Session(engine) as session:
        return session.get(JobRun, run_id)


def _failed_before(session: Session, job: Job, run_id: int) -> bool:
    last = session.exec(
        select(JobRun.status)
        .where(JobRun.job == job.name, JobRun.id < run_id)
        .order_by(JobRun.id.desc())
        .limit(1)
    ).first()
    return last == "failed"


def _tell_admins(session: Session, job: Job, slot: str, error: str, clock: Clock) -> None:
    notify(
        session,
        ("admin",),
        kind="job_failed",
        subject=f"定时任务“{job.description or job.name}”运行失败（{slot}）",
        body=error,
        link="/staff/jobs",
        clock=clock,
    )


def recent_runs(session: Session, limit: int = 50) -> list[JobRun]:
    return list(session.exec(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def trigger_of(job: Job, settings: Settings):
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if job.tick:
        return IntervalTrigger(seconds=settings.scheduler_tick_seconds, timezone=CHINA_TZ)
    return CronTrigger(timezone=CHINA_TZ, **job.cron)


def next_run(job: Job, settings: Settings, now: datetime) -> datetime | None:
    """When the job runs next (for the jobs page)."""
    if job.tick:
        step = settings.scheduler_tick_seconds
        return datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)
    return trigger_of(job, settings).get_next_fire_time(None, now.astimezone(CHINA_TZ))


def last_missed_slot(job: Job, settings: Settings, now: datetime) -> tuple[str, datetime] | None:
    """The latest daily slot whose fire time lies within the catch-up window before now."""
    if job.tick:
        return None
    window = timedelta(hours=settings.scheduler_catch_up_hours)
    trigger = trigger_of(job, settings)
    fire = trigger.get_next_fire_time(None, (now - window).astimezone(CHINA_TZ))
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    if latest is None:
        return None
    return china_day(latest).isoformat(), latest


def catch_up(engine: Engine, clock: Clock, settings: Settings, jobs: Iterable[Job]) -> list[str]:
    """Run, once each, the latest slot of every daily job missed while nobody was leading."""
    ran = []
    now = clock.now()
    for job in jobs:
        missed = last_missed_slot(job, settings, now)
        if missed is None:
            continue
        slot, due = missed
        with Session(engine) as session:
            runs = select(JobRun.id).where(JobRun.job == job.name)
            # A job that never ran has missed nothing (a new installation); one that ran this
            # slot already is done.
            if (
                session.exec(runs.limit(1)).first() is None
                or session.exec(runs.where(JobRun.slot == slot)).first()
            ):
                continue
        row = run_job(engine, job, clock, settings, slot, extra={"caught_up": due.isoformat()})
        if row is not None:
            ran.append(job.name)
    if ran:
        with transaction(engine) as session:
            notify(
                session,
                ("admin",),
                kind="caught_up",
                subject=f"调度服务恢复后补跑了 {len(ran)} 项错过的定时任务",
                body="、".join(ran),
                link="/staff/jobs",
                clock=clock,
            )
    return ran


def make_scheduler(
    engine: Engine, clock: Clock, settings: Settings, jobs: Iterable[Job], *, blocking: bool
):
    """An APScheduler 3 scheduler with the given jobs, each on its cron (or every tick), in
    China time. A slot missed while running late is coalesced into one run."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=CHINA_TZ)
    for job in jobs:
        scheduler.add_job(
            run_job,
            trigger_of(job, settings),
            args=(engine, job, clock, settings),
            id=job.name,
            name=job.description or job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(settings.scheduler_catch_up_hours * 3600) or 1,
        )
    return scheduler


class Leadership:
    """Who schedules. PostgreSQL: `pg_try_advisory_lock` on a dedicated connection, held for
    the connection's life (a killed leader's lock goes with its connection). SQLite: an
    exclusive file lock beside the database file, released by the kernel when the holder
    dies."""

    def __init__(self, engine: Engine, lock_dir: Any = None) -> None:
        self.engine = engine
        self.connection = None
        self.lock_file = None
        self.lock_dir = lock_dir

    def try_acquire(self) -> bool:
        if self.held():
            return True
        if is_sqlite(self.engine):
            return self._file_lock()
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}
            ).scalar()
        except Exception:  # the database is unreachable: stay a standby
            log.warning("leader election: database unreachable", exc_info=True)
            return False
        if got:
            self.connection = connection
            return True
        connection.close()
        return False

    def held(self) -> bool:
        """Still the leader: the lock's connection answers (PostgreSQL), or the file is ours."""
        if self.lock_file is not None:
            return True
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            return True
        except Exception:
            log.warning("leader election: lost the lock's connection", exc_info=True)
            self.release()
            return False

    def release(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # already gone
                pass
            self.connection = None
        if self.lock_file is not None:
            self.lock_file.close()
            self.lock_file = None

    def _file_lock(self) -> bool:
        import fcntl
        from pathlib import Path

        database = self.engine.url.database
        folder = Path(self.lock_dir or (Path(database).parent if database else "."))
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / "scheduler.lock").open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.lock_file = handle
        return True


def heartbeat(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    """The leader's sign of life, every tick: the jobs page shows who leads and since when.
    Only the last day of heartbeats is kept."""
    session.execute(
        delete(JobRun).where(
            JobRun.job == HEARTBEAT_NAME, JobRun.started_at < clock.now() - timedelta(days=1)
        )
    )
    return {"leader": runner_name()}


HEARTBEAT_NAME = "scheduler.heartbeat"


HEARTBEAT = Job(
    "scheduler.heartbeat",
    heartbeat,
    cron={},
    description="调度服务心跳（当前主调度进程）",
    tick=True,
)


def lead(
    engine: Engine,
    clock: Clock,
    settings: Settings,
    jobs: Iterable[Job],
    *,
    poll_seconds: float = 2.0,
    stop: threading.Event | None = None,
) -> None:
    """Stand by until elected, then schedule until the lock is lost or `stop` is set; then
    stand by again. Runs in the foreground (`supervision scheduler`) or in a thread (the app's
    embedded scheduler)."""
    jobs = [*jobs, HEARTBEAT]
    stop = stop or threading.Event()
    leadership = Leadership(engine)
    while not stop.is_set():
        if not leadership.try_acquire():
            stop.wait(poll_seconds)
            continue
        log.info("scheduler %s is the leader", runner_name())
        caught = catch_up(engine, clock, settings, jobs)
        if caught:
            log.info("caught up: %s", ", ".join(caught))
        scheduler = make_scheduler(engine, clock, settings, jobs, blocking=False)
        scheduler.start()
        try:
            while not stop.is_set() and leadership.held():
                stop.wait(poll_seconds)
        finally:
            scheduler.shutdown(wait=True)
            leadership.release()
    leadership.release()
