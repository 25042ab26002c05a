"""The scheduler as the administrator sees it (every job, its next run, its last runs and
failures, who leads) and every staff member's inbox."""

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from api.deps import ClockDep, SessionDep, SettingsDep
from api.pages.render import CsrfChecked, PageRoute, redirect, render
from api.roles import AdminPage, StaffPage, page_context
from supervision.clock import as_utc
from supervision.inbox import service as inbox
from supervision.jobs.catalog import all_jobs
from supervision.jobs.models import JobRun
from supervision.jobs.runner import HEARTBEAT, Job, next_run
from supervision.planning.models import Batch, CeremonyAttempt
from supervision.settings import Settings

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
RECENT_RUNS = 60
RECENT_ATTEMPTS = 30


def _schedule(job: Job, settings: Settings) -> str:
    if job.tick:
        return f"每 {settings.scheduler_tick_seconds} 秒"
    cron = job.cron
    parts = []
    if "day_of_week" in cron:
        parts.append(f"每周{cron['day_of_week']}")
    elif "day" in cron:
        parts.append(f"每月{cron['day']}日")
    else:
        parts.append("每天")
    parts.append(f"{int(cron.get('hour', 0)):02d}:{int(cron.get('minute', 0)):02d}")
    return " ".join(parts) + "（北京时间）"


def summary(detail: dict[str, Any]) -> str:
    """One line of a run's outcome in Chinese: its error, its steps and why, what it caught up."""
    if "error" in detail:
        return str(detail["error"])
    bits = []
    if detail.get("caught_up"):
        bits.append("停机期间错过，恢复后补跑")
    for step in detail.get("steps", []):
        action = {"freeze": "定时冻结", "beacon": "信标抽取", "template": "按模板创建"}.get(
            step.get("action"), ""
        )
        if step.get("ok") is True:
            bits.append(f"{step['batch']} {action}完成")
        else:
            bits.append(f"{step['batch']} {action}未执行：{step.get('why', '')}")
    if "warnings" in detail:
        bits.append(f"{len(detail['warnings'])} 个批次公示期限临近或已过")
    if "leader" in detail:
        bits.append(f"主调度进程 {detail['leader']}")
    return "；".join(bits) or "完成"


def _run_view(row: JobRun) -> dict[str, Any]:
    detail = json.loads(row.detail)
    started = as_utc(row.started_at)
    finished = as_utc(row.finished_at) if row.finished_at else None
    return {
        "job": row.job,
        "slot": row.slot,
        "started_at": started,
        "seconds": (finished - started).total_seconds() if finished and started else None,
        "status": row.status,
        "runner": detail.get("runner", ""),
        "summary": summary(detail),
    }


def jobs_view(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    jobs = [*all_jobs().values(), HEARTBEAT]
    rows = []
    for job in jobs:
        last = session.exec(
            select(JobRun).where(JobRun.job == job.name).order_by(col(JobRun.id).desc()).limit(1)
        ).first()
        failure = session.exec(
            select(JobRun)
            .where(JobRun.job == job.name, JobRun.status == "failed")
            .order_by(col(JobRun.id).desc())
            .limit(1)
        ).first()
        rows.append(
            {
                "name": job.name,
                "description": job.description or job.name,
                "schedule": _schedule(job, settings),
                "next": next_run(job, settings, now),
                "last": _run_view(last) if last else None,
                "failure": _run_view(failure) if failure else None,
            }
        )
    beat = rows[-1]["last"]
    stale = timedelta(seconds=3 * settings.scheduler_tick_seconds + 5)
    leader = None
    if beat and beat["started_at"] and now - beat["started_at"] <= stale:
        leader = beat
    recent = session.exec(
        select(JobRun)
        .where(JobRun.job != HEARTBEAT.name)
        .order_by(col(JobRun.id).desc())
        .limit(RECENT_RUNS)
    ).all()
    attempts = session.exec(
        select(CeremonyAttempt, Batch.code)
        .join(Batch, col(Batch.id) == CeremonyAttempt.batch_id)
        .order_by(col(CeremonyAttempt.id).desc())
        .limit(RECENT_ATTEMPTS)
    ).all()
    return {
        "jobs": rows,
        "leader": leader,
        "last_beat": beat,
        "runs": [_run_view(r) for r in recent],
        "attempts": [
            {"batch": code, "action": a.action, "at": a.at, "ok": a.ok, "message": a.message}
            for a, code in attempts
        ],
    }


@router.get("/staff/jobs")
def jobs_page(
    request: Request, session: SessionDep, user: AdminPage, clock: ClockDep, settings: SettingsDep
) -> Response:
    return render(
        request, "staff/jobs.html", jobs_view(session, settings, clock.now()), title="定时任务"
    )


@router.get("/staff/inbox")
def inbox_page(request: Request, session: SessionDep, user: StaffPage) -> Response:
    return render(
        request,
        "staff/inbox.html",
        {
            "messages": inbox.messages(session, user.username),
            "unread": inbox.unread_count(session, user.username),
        },
        title="消息",
    )


@router.post("/staff/inbox/read")
def inbox_read(
    request: Request,
    session: SessionDep,
    user: StaffPage,
    clock: ClockDep,
    _csrf: None = CsrfChecked,
) -> Response:
    n = inbox.mark_read(session, user.username, clock)
    return redirect("/staff/inbox", f"已将 {n} 条消息标为已读")
