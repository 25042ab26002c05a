"""Provisional working-day calendars: a deadline reaching into a year whose official holiday
arrangement is not yet announced is counted on the statutory holidays, shown as provisional,
and counted again — with an audit row — when the arrangement is entered."""

import shutil
from datetime import date
from pathlib import Path

import chinese_calendar
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from supervision.audit.models import AuditEntry
from supervision.calendar.announce import announce_year, parse_arrangement
from supervision.calendar.workdays import (
    LIBRARY_LAST_YEAR,
    CalendarNotCovered,
    WorkdayCalendar,
    default_calendar,
    load_calendar,
    statutory_arrangement,
)
from supervision.enforcement import decisions
from supervision.enforcement import schemas as es
from supervision.errors import Invalid
from tests.enforcement.conftest import REVIEWER, at, proposed

# Test data only — NOT the official 2027 arrangement: one make-up workday, Saturday 2 January.
ANNOUNCED = b"""\
year: 2027
status: announced
source: test notice (not the official 2027 arrangement)
holidays:
  - {name: New Year, date: 2027-01-01}
workdays:
  - {name: make-up, date: 2027-01-02}
"""


def test_2027_is_counted_on_the_statutory_holidays() -> None:
    """《全国年节及纪念日放假办法》（2024年修订）第二条、第六条."""
    arrangement = statutory_arrangement(2027)
    off = {span.date: span.name for span in arrangement.holidays}
    assert arrangement.status == "provisional"
    # Spring Festival: New Year's Eve (5 Feb) to the 3rd day (8 Feb); 6 and 7 Feb are a
    # weekend, made up on the next working days.
    for day in ("2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"):
        assert off[date.fromisoformat(day)] == "春节"
    assert off[date(2027, 2, 9)] == off[date(2027, 2, 10)] == "春节（补假）"
    assert off[date(2027, 4, 5)] == "清明节"
    assert off[date(2027, 6, 9)] == "端午节" and off[date(2027, 9, 15)] == "中秋节"
    # Labour Day (Sat 1, Sun 2 May) and National Day (1–3 Oct, Fri–Sun): made up after.
    assert off[date(2027, 5, 3)] == off[date(2027, 5, 4)] == "劳动节（补假）"
    assert off[date(2027, 10, 4)] == off[date(2027, 10, 5)] == "国庆节（补假）"
    assert len(off) == 19


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_statutory_days_agree_with_the_official_calendar(year: int) -> None:
    """Every statutory holiday the provisional arrangement computes for a year the official
    arrangement is known (the 2024 revision's first years) is a day off in it."""
    for span in statutory_arrangement(year).holidays:
        if "补假" not in span.name:
            assert chinese_calendar.is_holiday(span.date), (span.date, span.name)


def test_provisional_years_and_years_never_guessed() -> None:
    cal = WorkdayCalendar()
    assert LIBRARY_LAST_YEAR < 2027 and cal.is_provisional(2027) and not cal.is_provisional(2026)
    assert cal.provisional_between(date(2026, 12, 20), date(2027, 1, 18))
    assert not cal.provisional_between(date(2026, 3, 1), date(2026, 3, 20))
    assert "法定节假日推算" in cal.source_of(2027)
    with pytest.raises(CalendarNotCovered):
        cal.is_workday(date(2003, 12, 31))  # a past year is never guessed
    with pytest.raises(CalendarNotCovered):
        cal.working_days_after(date(2099, 12, 30), 5)


def test_a_file_cannot_claim_to_be_provisional(tmp_path: Path) -> None:
    (tmp_path / "2027.yaml").write_text("year: 2027\nstatus: provisional\n", encoding="utf-8")
    with pytest.raises(Exception, match="provisional"):
        load_calendar(tmp_path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"year: 2028\nstatus: announced\nsource: x\n", "2028"),
        (b"year: 2027\nstatus: pending\n", "announced"),
        (b"year: 2027\nstatus: announced\n", "source"),
        (b"\xff\xfe not yaml", "UTF-8"),
        (b"year: [", "YAML"),
        (
            b"year: 2027\nstatus: announced\nsource: x\nholidays: [{name: a, date: 2026-01-01}]",
            "2026",
        ),
        (b"x" * (70 * 1024), "KB"),
    ],
)
def test_a_wrong_arrangement_is_refused_clearly(text: bytes, words: str) -> None:
    with pytest.raises(Invalid) as e:
        parse_arrangement(text, 2027)
    assert words in e.value.zh + e.value.en


@pytest.fixture
def data_dir_copy(data_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(data_dir, target)
    return target


def test_a_deadline_in_2027_is_provisional_until_the_arrangement_is_entered(
    session, book, make_entity, data_dir_copy
) -> None:
    """A check ending on 2026-12-20 (a Sunday): the listing it proposes is due within 10
    working days of the verification (《企业经营异常名录管理暂行办法》第八条), in January 2027,
    counted provisionally; entering a 2027 arrangement with a make-up workday moves it, and
    the move is on the audit log."""
    calendar = default_calendar(data_dir_copy)
    uscc = make_entity("P0000001")
    entry = proposed(session, book, uscc, "2026-12-20")
    # Dec 21–25 (5), 28–31 (9), 1 Jan off, Mon 4 Jan (10): provisional.
    assert entry.decide_by == date(2027, 1, 4) and entry.decide_by_provisional
    # Decided late against the provisional date: the lateness is provisional too.
    data = es.DecisionCreate(decision="list", reason="经核查属实", decision_no="异列〔2027〕1号")
    decisions.decide(session, entry.id, data, user=REVIEWER, clock=at("2027-01-04"), book=book)
    assert entry.decision_late is False
    other = proposed(session, book, make_entity("P0000002"), "2026-12-20")

    result = announce_year(
        session, data_dir_copy, 2027, ANNOUNCED, book=book, actor="admin-t", clock=at("2026-12-07")
    )
    session.flush()
    # Saturday 2 January is now worked: the tenth working day is that Saturday.
    assert other.decide_by == date(2027, 1, 2) and not other.decide_by_provisional
    assert entry.decide_by == date(2027, 1, 2) and entry.decision_late is True
    assert result.checked == 2 and len(result.moved) == 2 and result.still_provisional == 0
    rows = session.exec(
        select(AuditEntry).where(AuditEntry.action.in_(["calendar.announce", "calendar.recount"]))
    ).all()
    assert [r.action for r in rows] == ["calendar.announce", "calendar.recount", "calendar.recount"]
    assert '"from":"2027-01-04"' in rows[1].payload and '"to":"2027-01-02"' in rows[1].payload
    # The file is in place, and the calendar now reads it as announced.
    assert (data_dir_copy / "calendar" / "2027.yaml").read_bytes() == ANNOUNCED
    assert default_calendar(data_dir_copy).covers(2027) and not calendar.covers(2027)


def test_a_refused_arrangement_changes_nothing(session, book, make_entity, data_dir_copy) -> None:
    entry = proposed(session, book, make_entity("P0000003"), "2026-12-20")
    before = (data_dir_copy / "calendar" / "2027.yaml").read_bytes()
    with pytest.raises(Invalid):
        announce_year(
            session,
            data_dir_copy,
            2027,
            b"year: 2027\nstatus: pending\n",
            book=book,
            actor="admin-t",
            clock=at("2026-12-07"),
        )
    assert entry.decide_by == date(2027, 1, 4) and entry.decide_by_provisional
    assert (data_dir_copy / "calendar" / "2027.yaml").read_bytes() == before


def test_the_cli_enters_an_arrangement(tmp_path: Path, data_dir_copy, monkeypatch) -> None:
    from supervision.cli import app
    from supervision.db import make_engine
    from supervision.migrate import upgrade
    from supervision.settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(make_engine(url))
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", url)
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(data_dir_copy))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        status = runner.invoke(app, ["calendar", "status", "--first", "2026", "--last", "2027"])
        assert status.exit_code == 0 and "2027  暂定" in status.output
        (tmp_path / "bad.yaml").write_bytes(b"year: 2027\nstatus: pending\n")
        bad = runner.invoke(app, ["calendar", "set", "2027", str(tmp_path / "bad.yaml")])
        assert bad.exit_code == 1 and "announced" in bad.output
        (tmp_path / "2027.yaml").write_bytes(ANNOUNCED)
        ok = runner.invoke(app, ["calendar", "set", "2027", str(tmp_path / "2027.yaml")])
        assert ok.exit_code == 0, ok.output
        assert "已录入" in ok.output
        status = runner.invoke(app, ["calendar", "status", "--first", "2027", "--last", "2027"])
        assert "正式" in status.output and "test notice" in status.output
    finally:
        get_settings.cache_clear()


def test_an_objections_clock_follows_the_arrangement_once_entered(
    session, book, make_entity, data_dir_copy
) -> None:
    """Filed on Monday 28 December 2026: 5 working days to accept reach into 2027 — counted
    provisionally (29–31 December, 1 January off, 4 and 5 January: Tuesday 5 January), then
    on the arrangement entered (Saturday 2 January worked: Monday 4 January)."""
    from tests.enforcement.conftest import listed

    entry = listed(session, book, make_entity("P0000009"), "2026-12-01", "2026-12-08")
    decisions.file_objection(
        session,
        entry.id,
        es.ObjectionCreate(filed_on=date(2026, 12, 28), grounds="异议"),
        user=REVIEWER,
        clock=at("2026-12-28"),
        book=book,
    )
    cal = default_calendar(data_dir_copy)
    (clock,) = decisions.objection_clocks(session, date(2026, 12, 28), cal, book=book)
    assert (clock.due, clock.provisional) == (date(2027, 1, 5), True)
    announce_year(
        session, data_dir_copy, 2027, ANNOUNCED, book=book, actor="admin-t", clock=at("2026-12-28")
    )
    cal = default_calendar(data_dir_copy)
    (clock,) = decisions.objection_clocks(session, date(2026, 12, 28), cal, book=book)
    assert (clock.due, clock.provisional) == (date(2027, 1, 4), False)


def test_a_removal_deadline_is_counted_again_from_its_verified_correction(
    session, book, make_entity, data_dir_copy
) -> None:
    """An unreachable entry: applied for on 28 December, verified on 29 December 2026; its 5
    working days reach into 2027 (provisional: 30, 31 Dec, 4, 5, 6 Jan), then on the entered
    arrangement (2 Jan worked: 5 Jan)."""
    from tests.enforcement.conftest import listed

    entry = listed(session, book, make_entity("P0000010"), "2026-12-01", "2026-12-08")
    removal = es.RemovalCreate(
        applied_on=date(2026, 12, 28),
        verified_on=date(2026, 12, 29),
        decided_on=date(2026, 12, 31),
        decision_no="昌市监异移〔2026〕99号",
        reason="经核查可以联系",
        evidence=[es.CorrectionEvidence(kind="contact_restored", reference="实地核查记录")],
    )
    cal = default_calendar(data_dir_copy)
    decisions.remove(
        session, entry.id, removal, user=REVIEWER, clock=at("2026-12-31"), book=book, calendar=cal
    )
    assert (entry.removal_deadline, entry.removal_deadline_provisional) == (date(2027, 1, 6), True)
    announce_year(
        session, data_dir_copy, 2027, ANNOUNCED, book=book, actor="admin-t", clock=at("2026-12-31")
    )
    assert (entry.removal_deadline, entry.removal_deadline_provisional) == (date(2027, 1, 5), False)
    assert entry.removal_late is False
