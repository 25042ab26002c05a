"""What the API shows of the scheduled jobs' runs (staff only)."""

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from supervision.jobs.models import JobRun


class JobRunPublic(BaseModel):
    job: str
    slot: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: JobRun) -> "JobRunPublic":
        return cls(
            job=row.job,
            slot=row.slot,
            started_at=row.started_at,
            finished_at=row.finished_at,
            status=row.status,
            detail=json.loads(row.detail),
        )
