"""The accounts' scheduled work: forget what is no longer needed."""

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_
from sqlmodel import Session, col

from supervision.accounts import throttle
from supervision.accounts.models import ApiToken
from supervision.clock import Clock
from supervision.jobs.runner import Job
from supervision.settings import Settings

# An expired or revoked token is kept a while (an audit reader may ask what it was), then
# removed: only its digest was ever stored.
TOKEN_KEEP = timedelta(days=30)


def accounts_purge(session: Session, clock: Clock, settings: Settings) -> dict[str, Any]:
    """Remove tokens expired or revoked more than 30 days ago, and sign-in failures older
    than the throttle's window."""
    cutoff = clock.now() - TOKEN_KEEP
    tokens = session.execute(
        delete(ApiToken).where(
            or_(
                col(ApiToken.expires_at) < cutoff,
                col(ApiToken.revoked) & (col(ApiToken.created_at) < cutoff),
            )
        )
    ).rowcount
    failures = throttle.purge(session, clock, throttle.policy_of(settings))
    return {"tokens": tokens or 0, "login_failures": failures}


JOBS = [
    Job(
        "accounts_purge",
        accounts_purge,
        {"hour": 3, "minute": 30},
        "清理过期令牌与超出时限的登录失败记录",
    )
]
