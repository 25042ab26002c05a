"""Publication deadlines: 20 working days after the check ends, on the working-day calendar."""

from dataclasses import dataclass
from datetime import date

from supervision.calendar import CalendarNotCovered, WorkdayCalendar, default_calendar
from supervision.clock import china_day
from supervision.inspection import schemas as s
from supervision.inspection.models import ResultVersion
from supervision.planning.models import (
    Batch,
)

# 《企业公示信息抽查办法》 Art. 12: results are published within 20 working days of the end of
# the check (batch.window_end).
PUBLICATION_WORKING_DAYS = 20


# ---- deadlines and publication -------------------------------------------------------------


@dataclass
class Deadline:
    due: date | None
    days_left: int | None
    working_days_left: int | None
    overdue: bool
    note: str | None = None
    provisional: bool = False  # counted on a provisional calendar (see calendar.workdays)

    def out(self) -> s.DeadlineStaff:
        return s.DeadlineStaff(**self.__dict__)


def publication_due(batch: Batch, calendar: WorkdayCalendar | None = None) -> date:
    """20 working days after the end of the check; raises CalendarNotCovered naming the year."""
    return (calendar or default_calendar()).working_days_after(
        batch.window_end, PUBLICATION_WORKING_DAYS
    )


def deadline_of(
    batch: Batch, today: date, *, done: bool, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """The publication deadline as shown to people; `done` when nothing is left to publish."""
    cal = calendar or default_calendar()
    try:
        due = publication_due(batch, cal)
    except CalendarNotCovered as e:
        return Deadline(None, None, None, False, f"{e.zh} / {e.en}")
    provisional = cal.provisional_between(batch.window_end, due)
    if done:
        return Deadline(due, None, None, False, provisional=provisional)
    try:
        left = cal.working_days_between(today, due)
    except CalendarNotCovered:
        left = None
    return Deadline(due, (due - today).days, left, today > due, provisional=provisional)


def lateness(
    batch: Batch, published_on: date, calendar: WorkdayCalendar | None = None
) -> tuple[date | None, bool | None, bool]:
    """(deadline, late, provisional) of a publication on `published_on`.

    Late means published after the 20th working day. A deadline counted on a provisional
    calendar makes the lateness provisional too (counted again when the year is announced).
    Where the calendar cannot count at all (a year before the library's), a publication up
    to the last covered day is still known to be on time; otherwise None.
    """
    cal = calendar or default_calendar()
    try:
        due = publication_due(batch, cal)
        return due, published_on > due, cal.provisional_between(batch.window_end, due)
    except CalendarNotCovered:
        pass
    try:
        counted = cal.working_days_between(batch.window_end, published_on)
        late = counted > PUBLICATION_WORKING_DAYS or (
            counted == PUBLICATION_WORKING_DAYS and not cal.is_workday(published_on)
        )
        return None, late, False
    except CalendarNotCovered:
        return None, None, False


def china_date(version: ResultVersion) -> date:
    return china_day(version.published_at)


def is_late(
    version: ResultVersion, batch: Batch, calendar: WorkdayCalendar | None = None
) -> bool | None:
    """As recorded at publication, or counted now if the calendar could not tell then."""
    if version.late is not None:
        return version.late
    return lateness(batch, china_date(version), calendar)[1]
