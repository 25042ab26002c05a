"""How dates and digests are written for people, the same on pages and in PDFs.

Dates in Chinese (2026年12月1日), moments in China time (2026年12月1日 10:00), and a hex
digest in groups of eight for reading aloud at a ceremony.
"""

from datetime import UTC, date, datetime

from supervision.clock import CHINA_TZ

EMPTY = "—"


def _parsed(value: str | date | datetime) -> date | datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _china(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(CHINA_TZ)


def cn_date(value: str | date | datetime | None) -> str:
    """2026年12月1日 (a moment is shown as its date in China)."""
    if value is None:
        return EMPTY
    value = _parsed(value)
    if isinstance(value, datetime):
        value = _china(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def cn_datetime(value: str | date | datetime | None) -> str:
    """2026年11月26日 10:00 (China time); a plain date is shown as a date."""
    if value is None:
        return EMPTY
    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return cn_date(parsed)
    local = _china(parsed)
    return f"{cn_date(local.date())} {local:%H:%M}"


def hash_groups(value: str | None, size: int = 8) -> list[str]:
    """A hex digest in groups of ``size`` characters."""
    return [value[i : i + size] for i in range(0, len(value), size)] if value else []
