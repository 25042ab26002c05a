"""The audit log's scheduled work: the hash chain checked end to end every night against every
published head, then the day's head published (anchored)."""

from typing import Any

from sqlmodel import Session

from supervision.audit.service import anchor_head, anchors, verify_chain
from supervision.clock import Clock
from supervision.jobs.runner import Job
from supervision.settings import Settings


def audit_chain(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    """Check the chain end to end against every head published so far, then publish
    today's."""
    report = verify_chain(session, anchors(session))
    if not report.ok:
        raise RuntimeError(f"audit chain broken at row {report.first_bad_id}: {report.reason}")
    head = anchor_head(session, clock)
    return {
        "entries": report.entries,
        "anchors_checked": report.anchors_checked,
        "anchored": head.hash if head else None,
    }


JOBS = [
    Job(
        "audit_chain",
        audit_chain,
        {"hour": 2, "minute": 0},
        "审计日志哈希链校验，并公布当日链头（锚点）",
    )
]
