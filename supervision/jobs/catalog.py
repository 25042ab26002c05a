"""Every domain's scheduled jobs, for the composition roots (the app factory and the CLI)."""

from supervision.accounts.jobs import JOBS as ACCOUNT_JOBS
from supervision.audit.jobs import JOBS as AUDIT_JOBS
from supervision.enforcement.jobs import JOBS as ENFORCEMENT_JOBS
from supervision.inbox.jobs import JOBS as INBOX_JOBS
from supervision.inspection.jobs import JOBS as INSPECTION_JOBS
from supervision.jobs.runner import Job
from supervision.planning.jobs import JOBS as PLANNING_JOBS


def all_jobs() -> dict[str, Job]:
    """The jobs by name, in the order they are listed (planning, audit, inspection,
    enforcement, accounts, the inbox's mail)."""
    jobs = (
        *PLANNING_JOBS,
        *AUDIT_JOBS,
        *INSPECTION_JOBS,
        *ENFORCEMENT_JOBS,
        *ACCOUNT_JOBS,
        *INBOX_JOBS,
    )
    return {job.name: job for job in jobs}
