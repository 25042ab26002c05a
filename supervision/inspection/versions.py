"""A task's result versions, the append-only history of its result (reads)."""

from sqlmodel import Session, col, select

from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import (
    Task,
)

# ---- versions ------------------------------------------------------------------------------


def versions(session: Session, task: Task) -> list[ResultVersion]:
    return list(
        session.exec(
            select(ResultVersion)
            .where(ResultVersion.task_id == task.id)
            .order_by(ResultVersion.seq)
        )
    )


def current_version(session: Session, task: Task) -> ResultVersion | None:
    return session.exec(
        select(ResultVersion)
        .where(ResultVersion.task_id == task.id)
        .order_by(col(ResultVersion.seq).desc())
        .limit(1)
    ).first()


def published_version(session: Session, task: Task) -> ResultVersion | None:
    return session.exec(
        select(ResultVersion)
        .where(ResultVersion.task_id == task.id, ResultVersion.status == ResultStatus.published)
        .order_by(col(ResultVersion.seq).desc())
        .limit(1)
    ).first()


def lines_of(session: Session, version: ResultVersion) -> list[ResultLine]:
    return list(
        session.exec(
            select(ResultLine).where(ResultLine.version_id == version.id).order_by(ResultLine.id)
        )
    )
