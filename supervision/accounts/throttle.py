"""Throttling sign-ins: too many failures for one account, or from one address, within a
window → refused with the time to wait, whatever the password; the lockout is audited.

A failure must be remembered even though the sign-in that failed is refused: the caller commits
the refusal's transaction all the same (the web layer's `api.deps.keep_refused_writes`) — the
one refusal in the product that leaves a row behind, on purpose, and nothing else.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from supervision.accounts.models import LoginFailure
from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.errors import TooManyAttempts
from supervision.settings import Settings

NAME_LENGTH = 64


@dataclass(frozen=True)
class Policy:
    per_account: int = 10  # failures of one account name within the window
    per_address: int = 30  # failures from one address (any names) within the window
    window: timedelta = timedelta(minutes=15)


def policy_of(settings: Settings) -> Policy:
    """The throttle the settings ask for (`login_*`)."""
    return Policy(
        per_account=settings.login_max_failures,
        per_address=settings.login_max_failures_per_address,
        window=timedelta(minutes=settings.login_window_minutes),
    )


def _key(text: str) -> str:
    return text[:NAME_LENGTH].replace("\x00", "")


def _count_since(
    session: Session, column, value: str, since: datetime
) -> tuple[int, datetime | None]:
    n, first = session.exec(
        select(func.count(), func.min(LoginFailure.at)).where(
            column == value, LoginFailure.at >= since
        )
    ).one()
    return n, first


def check(
    session: Session, username: str, address: str, *, clock: Clock, policy: Policy = Policy()
) -> None:
    """Refuse a sign-in while the account or the address is locked out (429, with how long
    to wait, in Chinese); checked before the password is even looked at."""
    now = clock.now()
    since = now - policy.window
    for column, value, limit, who in (
        (LoginFailure.username, _key(username), policy.per_account, "该账号"),
        (LoginFailure.address, _key(address), policy.per_address, "本机地址"),
    ):
        n, first = _count_since(session, column, value, since)
        if n >= limit and first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=now.tzinfo)
            wait = max(1, math.ceil((first + policy.window - now).total_seconds()))
            minutes = max(1, math.ceil(wait / 60))
            raise TooManyAttempts(
                f"{who}登录失败次数过多（{policy.window.seconds // 60}分钟内{n}次），"
                f"请于{minutes}分钟后再试",
                f"too many failed sign-ins; try again in {minutes} minute(s)",
                retry_after=wait,
            )


def record_failure(
    session: Session, username: str, address: str, *, clock: Clock, policy: Policy = Policy()
) -> None:
    """Remember a failed sign-in; the failure that reaches a limit writes the lockout to the
    audit log."""
    now = clock.now()
    name, addr = _key(username), _key(address)
    session.add(LoginFailure(username=name, address=addr, at=now))
    session.flush()
    since = now - policy.window
    for column, value, limit, kind in (
        (LoginFailure.username, name, policy.per_account, "account"),
        (LoginFailure.address, addr, policy.per_address, "address"),
    ):
        n, _ = _count_since(session, column, value, since)
        if n == limit:
            record_change(
                session,
                "system",
                "account.lockout",
                kind,
                value,
                {"failures": n, "window_minutes": policy.window.seconds // 60},
                clock,
            )


def clear(session: Session, username: str) -> None:
    """A successful sign-in forgets the account's failures (the address's stay counted)."""
    session.execute(delete(LoginFailure).where(col(LoginFailure.username) == _key(username)))


def purge(session: Session, clock: Clock, policy: Policy = Policy()) -> int:
    """Failures older than the window are of no more use (the daily job)."""
    result = session.execute(
        delete(LoginFailure).where(col(LoginFailure.at) < clock.now() - policy.window)
    )
    return result.rowcount or 0
