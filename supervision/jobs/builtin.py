"""The jobs the product runs every day."""

from typing import Any

from sqlmodel import Session, col, select

from supervision.audit.service import verify_chain
from supervision.clock import Clock
from supervision.inspection.service import deadline_of
from supervision.jobs.runner import Job, register
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
                }
            )
    return {"today": today.isoformat(), "warnings": warnings}


def audit_chain(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    report = verify_chain(session)
    if not report.ok:
        raise RuntimeError(f"audit chain broken at row {report.first_bad_id}: {report.reason}")
    return {"entries": report.entries}


register(
    Job(
        "publication_deadlines",
        publication_deadlines,
        {"hour": 7, "minute": 30},
        "公示期限预警：20个工作日内未公示的批次",
    )
)
register(Job("audit_chain", audit_chain, {"hour": 2, "minute": 0}, "审计日志哈希链校验"))


# ---- consequences (the rulebook decides what each proposes; people decide the proposals) ---


def _book(settings: Settings):
    from supervision.enforcement.rulebook import rulebook

    return rulebook(settings.data_dir)


def enforcement_results(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    from supervision.enforcement import service

    return {
        "proposed": service.propose_from_results(session, clock, _book(settings), actor="scheduler")
    }


def enforcement_annual_reports(
    session: Session, clock: Clock, settings: Settings
) -> dict[str, Any]:
    """From 1 July: entities without last year's annual report are proposed for listing."""
    from supervision.enforcement import service

    today = clock.today()
    if (today.month, today.day) < (7, 1):
        return {"skipped": "before 1 July"}
    created = service.propose_annual_report_listings(
        session, clock, today.year, book=_book(settings), actor="scheduler"
    )
    return {"reporting_year": today.year - 1, "proposed": created}


def enforcement_escalation(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    from supervision.enforcement import service

    out = service.escalate(session, clock, _book(settings), actor="scheduler")
    out["expired"] = service.expire_serious(session, clock, actor="scheduler")
    return out


def enforcement_zombies(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    from supervision.enforcement import zombies

    book = _book(settings)
    return {
        **zombies.all_zombie_candidates(session, clock, book, actor="scheduler"),
        "compulsory_deregistration": zombies.deregistration_candidates(
            session, clock, book, actor="scheduler"
        ),
    }


register(
    Job(
        "enforcement_results",
        enforcement_results,
        {"hour": 6, "minute": 0},
        "根据已公示检查结果提出经营异常名录列入建议",
    )
)
register(
    Job(
        "enforcement_annual_reports",
        enforcement_annual_reports,
        {"hour": 6, "minute": 10},
        "7月1日起：未报送上一年度年报的列入建议",
    )
)
register(
    Job(
        "enforcement_escalation",
        enforcement_escalation,
        {"hour": 6, "minute": 20},
        "届满提醒、严重违法名单建议或吊销候选；严重违法名单期满移出",
    )
)
register(
    Job(
        "enforcement_zombies",
        enforcement_zombies,
        {"day": 1, "hour": 6, "minute": 30},
        "每月：僵死企业（连续未年报、成立后未开业、自行停业）与强制注销候选",
    )
)
