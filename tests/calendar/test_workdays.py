"""Working days on the real 2026 arrangement, the override files, and uncovered years."""

import random
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from supervision.calendar import (
    CalendarNotCovered,
    WorkdayCalendar,
    default_calendar,
    load_calendar,
    working_days_after,
    working_days_between,
)
from supervision.registry.reference import ReferenceDataError

DATA = Path(__file__).resolve().parents[2] / "data"


def test_the_library_has_the_2026_arrangement() -> None:
    """国办发明电〔2025〕N号 (2025-11-04): what the deadline tests below rely on."""
    for day in (date(2026, 10, 1) + timedelta(i) for i in range(7)):
        assert chinese_calendar.get_holiday_detail(day) == (True, "National Day")
    for day in (date(2026, 9, 20), date(2026, 10, 10)):  # Sunday and Saturday, worked
        assert day.weekday() >= 5 and chinese_calendar.is_workday(day)
    for day in (date(2026, 2, 15) + timedelta(i) for i in range(9)):
        assert chinese_calendar.get_holiday_detail(day) == (True, "Spring Festival")
    for day in (date(2026, 2, 14), date(2026, 2, 28)):  # both Saturdays, worked
        assert day.weekday() == 5 and chinese_calendar.is_workday(day)


def test_deadline_across_national_day_and_its_make_up_day() -> None:
    # Check ends Fri 25 Sep (itself the Mid-Autumn holiday). Counting: 28, 29, 30 Sep (3);
    # 1–7 Oct off; 8, 9 Oct (5); Sat 10 Oct worked (6); 12–16 (11); 19–23 (16); 26–29 (20).
    assert working_days_after(date(2026, 9, 25), 20) == date(2026, 10, 29)
    # Without the holidays it would have been 23 Oct: the calendar matters.
    assert _weekdays_only(date(2026, 9, 25), 20) == date(2026, 10, 23)
    # The make-up Sunday 20 Sep is the first working day after Fri 18 Sep.
    assert working_days_after(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert working_days_after(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert working_days_after(date(2026, 10, 9), 1) == date(2026, 10, 10)
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 11)) == 3  # 8, 9, 10 Oct


def test_deadline_of_a_check_ending_just_before_the_spring_festival() -> None:
    # Check ends Fri 13 Feb. Sat 14 Feb is worked (1); 15–23 Feb off; 24–27 Feb (5);
    # Sat 28 Feb worked (6); 2–6 Mar (11); 9–13 Mar (16); 16–19 Mar (20).
    assert working_days_after(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert working_days_after(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert working_days_after(date(2026, 2, 13), 20) == date(2026, 3, 19)
    assert _weekdays_only(date(2026, 2, 13), 20) == date(2026, 3, 13)
    # Ending on the holiday's eve (Sat 14 Feb, a working day) moves it by one.
    assert working_days_after(date(2026, 2, 14), 20) == date(2026, 3, 20)


def test_counting_forth_and_back_agree() -> None:
    rng = random.Random(2026)
    for _ in range(200):
        start = date(2026, 1, 1) + timedelta(rng.randrange(300))
        n = rng.randrange(0, 40)
        end = working_days_after(start, n)
        assert working_days_between(start, end) == n
        assert end == start or default_calendar().is_workday(end)


def test_a_year_never_guessed_is_a_clear_error() -> None:
    """A past year the library lacks, or one beyond the lunar library's range, is never
    guessed (a future year without an arrangement is counted provisionally instead: see
    test_provisional.py)."""
    with pytest.raises(CalendarNotCovered) as e:
        working_days_after(date(2003, 12, 30), 1)
    assert e.value.year == 2003
    assert e.value.status == 409 and "年" in e.value.zh
    with pytest.raises(CalendarNotCovered) as e:
        WorkdayCalendar().is_workday(date(2100, 5, 1))
    assert "2100" in e.value.zh and "no data/calendar/2100.yaml" in e.value.en
    with pytest.raises(CalendarNotCovered):
        working_days_after(date.max, 1)
    # A future year is counted, provisionally.
    assert working_days_after(date(2026, 12, 31), 20) == date(2027, 1, 29)
    assert working_days_after(date(2026, 12, 1), 5) == date(2026, 12, 8)


def test_the_shipped_2027_file_is_pending_and_2027_provisional() -> None:
    cal = load_calendar(DATA / "calendar")
    assert 2027 in cal.pending and 2027 not in cal.overrides
    assert not cal.covers(2027) and cal.is_provisional(2027)


ANNOUNCED_2027 = """\
# Test data only — NOT the official 2027 arrangement.
year: 2027
status: announced
source: test fixture
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
  - {name: 测试假日, date: 2027-01-20}
workdays:
  - {name: 测试调休, date: 2027-01-09}
"""


def test_an_announced_override_extends_the_calendar(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text(ANNOUNCED_2027, encoding="utf-8")
    cal = load_calendar(tmp_path)
    assert cal.covers(2027) and "test fixture" in cal.source_of(2027)
    assert not cal.is_workday(date(2027, 1, 1))  # a Friday off
    assert cal.is_workday(date(2027, 1, 9))  # a Saturday worked
    assert not cal.is_workday(date(2027, 1, 20))  # a Wednesday off
    assert cal.is_workday(date(2027, 1, 4))  # unlisted Monday
    # 2026-12-31 (Thu): 4–8 Jan (5), Sat 9 Jan (6), 11–15 (11), 18, 19, 21, 22 (15), 25–29 (20).
    assert working_days_after(date(2026, 12, 31), 20, calendar=cal) == date(2027, 1, 29)
    # The data folder a deployment configures is the one read.
    data_dir = tmp_path / "data"
    (data_dir / "calendar").mkdir(parents=True)
    (data_dir / "calendar" / "2027.yaml").write_text(ANNOUNCED_2027, encoding="utf-8")
    assert default_calendar(data_dir).covers(2027) and not default_calendar(DATA).covers(2027)


def test_an_override_takes_precedence_over_the_library(tmp_path: Path) -> None:
    (tmp_path / "2026.yaml").write_text(
        "year: 2026\nstatus: announced\nsource: test\nholidays:\n  - {name: x, date: 2026-10-29}\n",
        encoding="utf-8",
    )
    cal = load_calendar(tmp_path)
    # Only the file's list counts for its year: National Day is not in it.
    assert cal.is_workday(date(2026, 10, 1)) and not cal.is_workday(date(2026, 10, 29))


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("2027.yaml", "year: 2028\nstatus: pending\n", "2028.yaml"),
        ("2027.yaml", "year: 2027\nstatus: announced\n", "source"),
        (
            "2027.yaml",
            "year: 2027\nstatus: announced\nsource: t\nworkdays:\n  - {name: x, date: 2027-01-06}\n",
            "not a weekend day",
        ),
        (
            "2027.yaml",
            "year: 2027\nstatus: announced\nsource: t\nholidays:\n  - {name: x, date: 2028-01-01}\n",
            "not in 2027",
        ),
        (
            "2027.yaml",
            "year: 2027\nstatus: announced\nsource: t\nholidays:\n"
            "  - {name: x, from: 2027-01-09, to: 2027-01-10}\n"
            "workdays:\n  - {name: y, date: 2027-01-09}\n",
            "both a holiday and a workday",
        ),
        ("2027.yaml", "year: 2027\nstatus: maybe\n", "status"),
    ],
)
def test_bad_override_files_name_file_and_key(
    tmp_path: Path, name: str, text: str, words: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError) as e:
        load_calendar(tmp_path)
    assert f"calendar/{name}" in e.value.zh
    assert words in e.value.zh + e.value.en


def _weekdays_only(day: date, n: int) -> date:
    while n:
        day += timedelta(1)
        n -= day.weekday() < 5
    return day
