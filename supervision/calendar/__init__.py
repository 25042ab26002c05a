"""The Chinese working-day calendar: public holidays and weekend make-up workdays (调休)."""

from supervision.calendar.workdays import (
    CalendarNotCovered,
    WorkdayCalendar,
    default_calendar,
    is_workday,
    load_calendar,
    working_days_after,
    working_days_between,
)

__all__ = [
    "CalendarNotCovered",
    "WorkdayCalendar",
    "default_calendar",
    "is_workday",
    "load_calendar",
    "working_days_after",
    "working_days_between",
]
