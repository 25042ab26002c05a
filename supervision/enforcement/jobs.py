"""The enforcement domain's scheduled work: the rulebook proposes, people decide."""

from typing import Any

from sqlmodel import Session

from supervision.clock import Clock
from supervision.enforcement import decisions, escalation, service, zombies
from supervision.enforcement.rulebook import rulebook
from supervision.jobs.runner import Job
from supervision.settings import Settings


def enforcement_results(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    return {
        "proposed": service.propose_from_results(
            session, clock, rulebook(settings.data_dir), actor="scheduler"
        )
    }


def enforcement_annual_reports(
    session: Session, clock: Clock, settings: Settings
) -> dict[str, Any]:
    """From 1 July: entities without last year's annual report are proposed for listing."""
    today = clock.today()
    if (today.month, today.day) < (7, 1):
        return {"skipped": "before 1 July"}
    created = service.propose_annual_report_listings(
        session, clock, today.year, book=rulebook(settings.data_dir), actor="scheduler"
    )
    return {"reporting_year": today.year - 1, "proposed": created}


def enforcement_escalation(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    out = escalation.escalate(session, clock, rulebook(settings.data_dir), actor="scheduler")
    out["expired"] = decisions.expire_serious(session, clock, actor="scheduler")
    return out


def enforcement_zombies(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    book = rulebook(settings.data_dir)
    return {
        **zombies.all_zombie_candidates(session, clock, book, actor="scheduler"),
        "compulsory_deregistration": zombies.deregistration_candidates(
            session, clock, book, actor="scheduler"
        ),
    }


OBJECTION_WARN_WORKING_DAYS = 2


def enforcement_objections(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    """Open objections whose acceptance (5 working days) or verification (20) deadline is near
    or past (68号 Art. 16)."""
    from supervision.calendar import default_calendar

    today = clock.today()
    warnings = [
        {
            "entry": c.entry_id,
            "uscc": c.uscc,
            "step": "受理" if c.stage == "filed" else "核实",
            "due": c.due.isoformat() if c.due else None,
            "working_days_left": c.working_days_left,
            "overdue": c.overdue,
            "provisional": c.provisional,
        }
        for c in decisions.objection_clocks(
            session, today, default_calendar(settings.data_dir), book=rulebook(settings.data_dir)
        )
        if c.overdue
        or (c.working_days_left is not None and c.working_days_left <= OBJECTION_WARN_WORKING_DAYS)
    ]
    return {"today": today.isoformat(), "warnings": warnings}


JOBS = [
    Job(
        "enforcement_results",
        enforcement_results,
        {"hour": 6, "minute": 0},
        "根据已公示检查结果提出经营异常名录列入建议",
    ),
    Job(
        "enforcement_annual_reports",
        enforcement_annual_reports,
        {"hour": 6, "minute": 10},
        "7月1日起：未报送上一年度年报的列入建议",
    ),
    Job(
        "enforcement_escalation",
        enforcement_escalation,
        {"hour": 6, "minute": 20},
        "届满提醒、严重违法名单建议或吊销候选；严重违法名单期满移出",
    ),
    Job(
        "enforcement_objections",
        enforcement_objections,
        {"hour": 7, "minute": 40},
        "异议期限预警：5个工作日内受理、20个工作日内核实",
    ),
    Job(
        "enforcement_zombies",
        enforcement_zombies,
        {"day": 1, "hour": 6, "minute": 30},
        "每月：僵死企业（连续未年报、成立后未开业、自行停业）与强制注销候选",
    ),
]
