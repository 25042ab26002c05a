"""Time is injected: every rule that depends on "today" takes a Clock.

Convention: datetimes are timezone-aware (stored as UTC); "today" is the date in China
(UTC+8), where the bureau and its working-day calendar live.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def as_utc(at: datetime) -> datetime:
    """A stored moment made aware: a naive one is UTC, as stored (SQLite returns them naive)."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def china_day(at: datetime) -> date:
    """The day a stored moment falls on in China (a naive moment is UTC, as stored)."""
    return as_utc(at).astimezone(CHINA_TZ).date()


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(CHINA_TZ).date()


class FixedClock:
    """A clock tests can set and walk forward."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def today(self) -> date:
        return self.at.astimezone(CHINA_TZ).date()

    def advance(self, **kwargs: float) -> None:
        self.at = self.at + timedelta(**kwargs)
