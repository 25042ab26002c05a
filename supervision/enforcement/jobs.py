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
        "enforcement_zombies",
        enforcement_zombies,
        {"day": 1, "hour": 6, "minute": 30},
        "每月：僵死企业（连续未年报、成立后未开业、自行停业）与强制注销候选",
    ),
]
