"""Working days on the real Chinese calendar: weekends, public holidays and make-up workdays.

A day is a working day when the State Council's arrangement for its year says so: a listed
make-up workday (调休上班) is worked even on a weekend, a listed holiday (放假调休) is off even
on a weekday, and every other day follows the week. The arrangement of a year comes from
`data/calendar/<year>.yaml` when that file is announced (an override, also for years the
library lacks), otherwise from the chinesecalendar library.

A year neither covers yet (2027, as of December 2026: the State Council announces each year's
arrangement in the autumn before) is counted on a **provisional** arrangement computed from the
statutory holidays of 《全国年节及纪念日放假办法》 (2024 revision) — lunar dates from the
lunardate library, Qingming from chinesecalendar's solar terms, a holiday falling on a weekend
made up on the next working day (Art. 6) — and every deadline counted on it says so
(`provisional_between`). When the year's official arrangement is entered
(`supervision calendar set`), every stored provisional deadline is counted again
(`supervision.calendar.recount`). A past year the library lacks (before its first year) and
a year after 2099 raise `CalendarNotCovered`: those are never guessed.

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
from lunardate import LunarDate
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
# The lunar library's range: provisional arrangements can be computed for these years.
PROVISIONAL_FIRST_YEAR, PROVISIONAL_LAST_YEAR = 1900, 2099
PROVISIONAL_SOURCE = (
    "按《全国年节及纪念日放假办法》（2024年修订）法定节假日推算的暂定安排，"
    "待国务院办公厅公布当年放假安排后重新计算"
)


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
    # "provisional" is never written in a file: it marks an arrangement computed by
    # `statutory_arrangement` for a year nobody has announced yet.
    status: Literal["pending", "announced", "provisional"]
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


def statutory_arrangement(year: int) -> YearArrangement:
    """A provisional arrangement for ``year`` from the statutory holidays alone.

    《全国年节及纪念日放假办法》 (国务院令第798号 revision, in force 2025-01-01) Art. 2: New Year's
    Day 1 day; Spring Festival 4 days (New Year's Eve to the 3rd day of the first lunar month);
    Qingming 1; Labour Day 2 (1–2 May); Dragon Boat 1 (5th of the 5th lunar month);
    Mid-Autumn 1 (15th of the 8th lunar month); National Day 3 (1–3 October). Art. 6: a
    holiday falling on a Saturday or Sunday is made up on a working day — here the next weekday
    not already off (the same for a holiday falling on another holiday). The make-up working
    weekends (调休上班) of a real arrangement cannot be foreseen and are not guessed.
    """
    if not PROVISIONAL_FIRST_YEAR <= year <= PROVISIONAL_LAST_YEAR:
        raise CalendarNotCovered(year)
    new_year = LunarDate(year, 1, 1).to_solar_date()
    qingming = next(
        d
        for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 8))
        if name == "清明"
    )
    statutory = [
        ("元旦", [date(year, 1, 1)]),
        ("春节", [new_year + timedelta(days=k) for k in range(-1, 3)]),
        ("清明节", [qingming]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [LunarDate(year, 5, 5).to_solar_date()]),
        ("中秋节", [LunarDate(year, 8, 15).to_solar_date()]),
        ("国庆节", [date(year, 10, 1 + k) for k in range(3)]),
    ]
    off: dict[date, str] = {}
    owed: list[tuple[str, date]] = []
    for name, days in statutory:
        for day in days:
            if day.weekday() >= 5 or day in off:
                owed.append((name, day))
            off.setdefault(day, name)
    for name, day in owed:
        make_up = day + timedelta(days=1)
        while make_up.weekday() >= 5 or make_up in off:
            make_up += timedelta(days=1)
        off[make_up] = f"{name}（补假）"
    spans = tuple(
        HolidaySpan(name=name, date=day) for day, name in sorted(off.items()) if day.year == year
    )
    return YearArrangement(
        year=year, status="provisional", source=PROVISIONAL_SOURCE, holidays=spans
    )


@dataclass(frozen=True)
class WorkdayCalendar:
    """The library's years plus the announced overrides; pending files are remembered by name;
    any other year (within 1900–2099) is counted on a provisional arrangement."""

    overrides: dict[int, YearArrangement] = field(default_factory=dict)
    pending: dict[int, str] = field(default_factory=dict)
    _provisional: dict[int, dict[date, bool]] = field(
        default_factory=dict, compare=False, repr=False
    )

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

    def is_provisional(self, year: int) -> bool:
        """A future year without an official arrangement yet: counted provisionally. (A past
        year the library lacks is not guessed: it raises `CalendarNotCovered`.)"""
        return not self.covers(year) and LIBRARY_LAST_YEAR < year <= PROVISIONAL_LAST_YEAR

    def provisional_between(self, start: date, end: date) -> bool:
        """Whether counting from ``start`` to ``end`` reaches into a provisional year."""
        low, high = sorted((start, end))
        return any(self.is_provisional(y) for y in range(low.year, high.year + 1))

    def provisional_years(self, start: int, end: int) -> list[int]:
        return [y for y in range(start, end + 1) if self.is_provisional(y)]

    def arrangement(self, year: int) -> YearArrangement | None:
        """The announced override or the provisional arrangement of ``year`` (None for a year
        the library covers)."""
        if year in self.overrides:
            return self.overrides[year]
        return statutory_arrangement(year) if self.is_provisional(year) else None

    def source_of(self, year: int) -> str:
        if year in self.overrides:
            return f"data/calendar/{year}.yaml: {self.overrides[year].source}"
        if self.covers(year):
            return f"chinesecalendar {LIBRARY_VERSION}"
        if not self.is_provisional(year):
            raise CalendarNotCovered(year, self.pending.get(year))
        return PROVISIONAL_SOURCE

    def is_workday(self, day: date) -> bool:
        if day.year in self.overrides:
            listed = self._override_days.get(day)  # type: ignore[attr-defined]
            return listed if listed is not None else day.weekday() < 5
        if self.covers(day.year):
            return chinese_calendar.is_workday(day)
        if not self.is_provisional(day.year):
            raise CalendarNotCovered(day.year, self.pending.get(day.year))
        days = self._provisional.get(day.year)
        if days is None:
            arrangement = statutory_arrangement(day.year)
            days = {d: False for span in arrangement.holidays for d in span.days()}
            self._provisional[day.year] = days
        return days.get(day, day.weekday() < 5)

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
        if arrangement.status == "provisional":
            raise ReferenceDataError(
                f"calendar/{path.name}",
                "status",
                "status 只能是 pending 或 announced（暂定安排由系统推算，不写入文件）",
                "status must be pending or announced (provisional arrangements are computed)",
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
