"""Calendar-date arithmetic the rules count in: months, years, annual-report years.

Working days (holidays and make-up days) are in `workdays`; here only the civil calendar.
"""

from calendar import monthrange
from datetime import date

# 《企业信息公示暂行条例》 Art. 8: the annual report for a year is due by 30 June of the next.
REPORTING_DEADLINE = (6, 30)


def add_years(day: date, years: int) -> date:
    """The same day `years` later or earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later or earlier (31 August + 6 months → 28/29
    February; 31 March − 1 month → 28/29 February)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, monthrange(year, month0 + 1)[1]))


def last_due_years(today: date, n: int) -> list[int]:
    """The last n reporting years whose deadline (30 June of the next year) has passed."""
    last = today.year - 1 if today > date(today.year, *REPORTING_DEADLINE) else today.year - 2
    return list(range(last - n + 1, last + 1))
