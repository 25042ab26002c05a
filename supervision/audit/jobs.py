"""The audit log's scheduled work: the hash chain checked end to end every night."""

from typing import Any

from sqlmodel import Session

from supervision.audit.service import verify_chain
from supervision.clock import Clock
from supervision.jobs.runner import Job
from supervision.settings import Settings


def audit_chain(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    report = verify_chain(session)
    if not report.ok:
        raise RuntimeError(f"audit chain broken at row {report.first_bad_id}: {report.reason}")
    return {"entries": report.entries}


JOBS = [Job("audit_chain", audit_chain, {"hour": 2, "minute": 0}, "审计日志哈希链校验")]
