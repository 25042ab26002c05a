"""Working days on the real Chinese calendar: weekends, public holidays and make-up workdays.

A day is a working day when the State Council's arrangement for its year says so: a listed
make-up workday (调休上班) is worked even on a weekend, a listed holiday (放假调休) is off even
on a weekday, and every other day follows the week. The arrangement of a year comes from
`data/calendar/<year>.yaml` when that file is announced (an override, also for years the
library lacks), otherwise from the chinesecalendar library. A year neither covers raises
`CalendarNotCovered` naming the year: a deadline is never counted on a guessed calendar.

`working_days_after` is the one function every deadline uses (e.g. publication within 20
working days of the end of the check, 《企业公示信息抽查办法》 Art. 12).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Literal

import chinese_calendar
import chinese_calendar.constants as cc_constants
from pydantic import BaseModel, ConfigDict, Field, model_validator

from supervision.errors import Conflict
from supervision.registry.reference import ReferenceDataError, read_yaml_model

CALENDAR_DIR = "calendar"


def _library_version() -> str:
    try:
        return version("chinesecalendar")
    except PackageNotFoundError:  # pragma: no cover - installed under its other name
        return getattr(chinese_calendar, "__version__", "?")


LIBRARY_VERSION = _library_version()
_LIBRARY_YEARS = {d.year for d in cc_constants.holidays} | {d.year for d in cc_constants.workdays}
LIBRARY_FIRST_YEAR = min(_LIBRARY_YEARS)
LIBRARY_LAST_YEAR = max(_LIBRARY_YEARS)


class CalendarNotCovered(Conflict):
    """Neither the library nor an announced override has the arrangement of `year`."""

    def __init__(self, year: int, pending_file: str | None = None) -> None:
        where = (
            f"data/calendar/{pending_file} 尚未录入（status: pending）"
            if pending_file
            else f"data/calendar/ 中也没有 {year}.yaml"
        )
        where_en = (
            f"data/calendar/{pending_file} is still pending"
            if pending_file
            else f"there is no data/calendar/{year}.yaml"
        )
        super().__init__(
            f"无法计算工作日：{year}年的放假调休安排尚未收录（chinesecalendar {LIBRARY_VERSION} "
            f"覆盖{LIBRARY_FIRST_YEAR}–{LIBRARY_LAST_YEAR}年，{where}）。请升级 chinesecalendar，"
            f"或按国务院办公厅通知录入 data/calendar/{year}.yaml",
            f"cannot count working days: the holiday arrangement for {year} is not available "
            f"(chinesecalendar {LIBRARY_VERSION} covers {LIBRARY_FIRST_YEAR}–{LIBRARY_LAST_YEAR}, "
            f"and {where_en}); upgrade chinesecalendar or enter the State Council's arrangement "
            f"in data/calendar/{year}.yaml",
            year=year,
        )
        self.year = year


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class HolidaySpan(_Spec):
    name: str
    # A single day (`date`) or a range (`from`/`to`, both included).
    date: dt.date | None = None
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_shape(self) -> HolidaySpan:
        single = self.date is not None
        span = self.from_ is not None and self.to is not None
        if single == span or (not span and (self.from_ or self.to)):
            raise ValueError("give either date, or from and to")
        if span and self.to < self.from_:
            raise ValueError("to is before from")
        return self

    def days(self) -> list[dt.date]:
        if self.date is not None:
            return [self.date]
        n = (self.to - self.from_).days
        return [self.from_ + timedelta(days=i) for i in range(n + 1)]


class MakeUpDay(_Spec):
    name: str
    date: dt.date


class YearArrangement(_Spec):
    """One year's arrangement as announced (a file in data/calendar/)."""

    year: int
    status: Literal["pending", "announced"]
    source: str = ""
    holidays: tuple[HolidaySpan, ...] = ()
    workdays: tuple[MakeUpDay, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> YearArrangement:
        off = [d for h in self.holidays for d in h.days()]
        on = [w.date for w in self.workdays]
        wrong = [d for d in off + on if d.year != self.year]
        if wrong:
            raise ValueError(f"{wrong[0].isoformat()} is not in {self.year}")
        both = sorted(set(off) & set(on))
        if both:
            raise ValueError(f"{both[0].isoformat()} is both a holiday and a workday")
        weekday = [d for d in on if d.weekday() < 5]
        if weekday:
            raise ValueError(f"make-up workday {weekday[0].isoformat()} is not a weekend day")
        if self.status == "announced" and not self.source:
            raise ValueError("an announced arrangement names its source (the notice)")
        return self


@dataclass(frozen=True)
class WorkdayCalendar:
    """The library's years plus the announced overrides; pending files are remembered by name."""

    overrides: dict[int, YearArrangement] = field(default_factory=dict)
    pending: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        days: dict[date, bool] = {}
        for arrangement in self.overrides.values():
            for span in arrangement.holidays:
                days.update(dict.fromkeys(span.days(), False))
            for w in arrangement.workdays:
                days[w.date] = True
        object.__setattr__(self, "_override_days", days)

    def covers(self, year: int) -> bool:
        return year in self.overrides or LIBRARY_FIRST_YEAR <= year <= LIBRARY_LAST_YEAR

    def source_of(self, year: int) -> str:
        if year in self.overrides:
            return f"data/calendar/{year}.yaml: {self.overrides[year].source}"
        if self.covers(year):
            return f"chinesecalendar {LIBRARY_VERSION}"
        raise CalendarNotCovered(year, self.pending.get(year))

    def is_workday(self, day: date) -> bool:
        if day.year in self.overrides:
            listed = self._override_days.get(day)  # type: ignore[attr-defined]
            return listed if listed is not None else day.weekday() < 5
        if not self.covers(day.year):
            raise CalendarNotCovered(day.year, self.pending.get(day.year))
        return chinese_calendar.is_workday(day)

    def working_days_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (`day` itself not counted); n = 0 gives `day`."""
        if n < 0:
            raise ValueError("n must not be negative")
        current = day
        while n:
            if current == date.max:
                raise CalendarNotCovered(current.year + 1)
            current += timedelta(days=1)
            if self.is_workday(current):
                n -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end (negative when end is before start)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1 for i in range(1, (end - start).days + 1) if self.is_workday(start + timedelta(i))
        )


def load_calendar(calendar_dir: Path) -> WorkdayCalendar:
    """Read every `<year>.yaml` of a folder; errors name the file and the key."""
    overrides: dict[int, YearArrangement] = {}
    pending: dict[int, str] = {}
    for path in sorted(calendar_dir.glob("*.yaml")) if calendar_dir.is_dir() else []:
        arrangement = read_yaml_model(path, YearArrangement, name=f"calendar/{path.name}")
        if path.stem != str(arrangement.year):
            raise ReferenceDataError(
                f"calendar/{path.name}",
                "year",
                f"文件名须为年份（{arrangement.year}.yaml）",
                f"the file must be named {arrangement.year}.yaml",
            )
        if arrangement.status == "announced":
            overrides[arrangement.year] = arrangement
        else:
            pending[arrangement.year] = path.name
    return WorkdayCalendar(overrides, pending)


@functools.lru_cache(maxsize=4)
def _cached(calendar_dir: Path, stamp: tuple[tuple[str, float], ...]) -> WorkdayCalendar:
    return load_calendar(calendar_dir)


def default_calendar(data_dir: Path | None = None) -> WorkdayCalendar:
    """The calendar of the configured data folder (re-read when a file there changes)."""
    if data_dir is None:
        from supervision.settings import get_settings

        data_dir = get_settings().data_dir
    folder = data_dir / CALENDAR_DIR
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    return _cached(folder, tuple((p.name, p.stat().st_mtime) for p in files))


def working_days_after(day: date, n: int, *, calendar: WorkdayCalendar | None = None) -> date:
    """The n-th working day after `day` on the Chinese calendar — every deadline uses this."""
    return (calendar or default_calendar()).working_days_after(day, n)


def working_days_between(start: date, end: date, *, calendar: WorkdayCalendar | None = None) -> int:
    return (calendar or default_calendar()).working_days_between(start, end)


def is_workday(day: date, *, calendar: WorkdayCalendar | None = None) -> bool:
    return (calendar or default_calendar()).is_workday(day)
