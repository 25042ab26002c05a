"""The inspection domain's scheduled work: warnings before the publication deadline."""

from typing import Any

from sqlmodel import Session, col, select

from supervision.accounts.models import Role
from supervision.clock import Clock
from supervision.inbox.service import notify
from supervision.inspection.deadlines import deadline_of
from supervision.jobs.runner import Job
from supervision.planning.models import Batch, BatchState, Task, TaskState
from supervision.settings import Settings

WARN_WORKING_DAYS = 5
OPEN_TASK_STATES = [
    s
    for s in TaskState
    if s not in (TaskState.published, TaskState.withdrawn, TaskState.unassigned)
]


def publication_deadlines(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    """Batches with results still to publish whose 20-working-day deadline is near or past."""
    today = clock.today()
    warnings: list[dict[str, Any]] = []
    batches = session.exec(
        select(Batch).where(col(Batch.state).in_([BatchState.drawn, BatchState.in_progress]))
    )
    for batch in batches:
        open_tasks = session.exec(
            select(Task.id).where(Task.batch_id == batch.id, col(Task.state).in_(OPEN_TASK_STATES))
        ).all()
        if not open_tasks:
            continue
        d = deadline_of(batch, today, done=False)
        if d.due is None:
            warnings.append({"batch": batch.code, "open": len(open_tasks), "note": d.note})
        elif d.overdue or (
            d.working_days_left is not None and d.working_days_left <= WARN_WORKING_DAYS
        ):
            warnings.append(
                {
                    "batch": batch.code,
                    "open": len(open_tasks),
                    "due": d.due.isoformat(),
                    "working_days_left": d.working_days_left,
                    "overdue": d.overdue,
                    "provisional": d.provisional,
                }
            )
    if warnings:
        lines = [
            f"{w['batch']}：{w['open']} 项未公示"
            + (f"，期限 {w['due']}" if w.get("due") else "")
            + ("（已逾期）" if w.get("overdue") else "")
            for w in warnings
        ]
        notify(
            session,
            (Role.planner, Role.reviewer),
            kind="deadline",
            subject=f"{len(warnings)} 个批次的结果公示期限临近或已过",
            body="\n".join(lines),
            link="/staff/batches",
            clock=clock,
        )
    return {"today": today.isoformat(), "warnings": warnings}


JOBS = [
    Job(
        "publication_deadlines",
        publication_deadlines,
        {"hour": 7, "minute": 30},
        "公示期限预警：20个工作日内未公示的批次",
    )
]
