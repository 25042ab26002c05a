"""Early removal from the serious list on application (信用修复): its decision deadline."""

import json
from datetime import date

import pytest
from sqlmodel import select

from supervision.audit.models import AuditEntry
from supervision.calendar import working_days_after
from supervision.enforcement import decisions, queries
from supervision.enforcement import schemas as s
from supervision.enforcement.models import EntryState, ListEntry, ListEvent
from supervision.enforcement.rulebook import RulebookError, load_rulebook
from supervision.errors import Conflict
from tests.enforcement.conftest import REVIEWER, at, count, listed
from tests.enforcement.test_rulebook import _copy
from tests.pages.conftest import browser  # noqa: F401

REMOVAL_FIELDS = (
    "state",
    "removal_applied_on",
    "removal_deadline",
    "removed_on",
    "removal_no",
    "removal_reason",
    "removal_evidence",
    "removal_late",
)


def serious(session, book, uscc: str) -> ListEntry:
    """Listed on 10 January 2025 under the 2025 rules; early removal from 10 January 2026."""
    return listed(
        session,
        book,
        uscc,
        "2025-01-06",
        "2025-01-10",
        kind="serious",
        reason="serious_violation",
        no="昌市监严列〔2025〕1号",
    )


def application(applied_on: str, decided_on: str | None = None) -> s.RemovalCreate:
    return s.RemovalCreate(
        applied_on=date.fromisoformat(applied_on),
        decided_on=date.fromisoformat(decided_on) if decided_on else None,
        decision_no="昌市监严移〔2026〕1号",
        reason="已履行行政处罚决定并作出信用承诺",
        evidence=[
            s.CorrectionEvidence(kind="penalty_performed", reference="罚没款缴款书"),
            s.CorrectionEvidence(kind="credit_repair_commitment", reference="信用承诺书"),
        ],
    )


def removed_event(session, entry: ListEntry) -> dict:
    event = session.exec(
        select(ListEvent).where(ListEvent.entry_id == entry.id, ListEvent.kind == "removed")
    ).one()
    return queries.events_of(session, entry)[event.seq - 1].detail


def test_the_rulebook_gives_the_decision_deadline(book) -> None:
    assert book.regime("2025").serious_removal_decide_within_working_days == 15
    assert book.regime("2024").serious_removal_decide_within_working_days == 15
    # No early removal under the 2014 rules, so no deadline for deciding one.
    assert book.regime("2014").serious_early_removal_after_years is None
    assert book.regime("2014").serious_removal_decide_within_working_days is None


def test_early_removal_decided_in_time(session, book, make_entity) -> None:
    entry = serious(session, book, make_entity("R0000001"))
    # 15 working days from 2 February 2026 cross the Spring Festival and end on Saturday 28
    # February, a make-up working day (调休).
    deadline = date(2026, 2, 28)
    assert working_days_after(date(2026, 2, 2), 15) == deadline
    done = decisions.remove(
        session,
        entry.id,
        application("2026-02-02", "2026-02-28"),
        user=REVIEWER,
        clock=at("2026-03-02"),
        book=book,
    )
    assert done.state == EntryState.removed and done.removed_on == deadline
    assert done.removal_applied_on == date(2026, 2, 2)
    assert done.removal_deadline == deadline and done.removal_late is False
    assert removed_event(session, done)["late"] is False
    out = queries.entry_out(session, done, book)
    assert (out.removal_deadline, out.removal_late) == (deadline, False)


def test_early_removal_decided_late_is_flagged(session, book, make_entity) -> None:
    entry = serious(session, book, make_entity("R0000002"))
    done = decisions.remove(
        session,
        entry.id,
        application("2026-02-02", "2026-03-02"),
        user=REVIEWER,
        clock=at("2026-03-02"),
        book=book,
    )
    assert done.state == EntryState.removed  # late, but removed all the same
    assert done.removal_deadline == date(2026, 2, 28) and done.removal_late is True
    assert removed_event(session, done)["late"] is True
    audit = session.exec(
        select(AuditEntry)
        .where(AuditEntry.action == "enforcement.remove", AuditEntry.object_key == str(entry.id))
        .order_by(AuditEntry.id.desc())
    ).first()
    assert audit is not None and json.loads(audit.payload)["late"] is True


@pytest.mark.parametrize(
    ("fact_on", "decided_on", "applied_on", "said"),
    [
        # One day short of a year after the listing decision (2025 rules).
        ("2025-01-06", "2025-01-10", "2026-01-09", "1年"),
        # The 2014 rules allow no early removal at all.
        ("2016-03-01", "2016-03-08", "2018-03-08", "不允许提前移出"),
    ],
)
def test_refused_early_removal_changes_nothing(
    session, book, make_entity, fact_on, decided_on, applied_on, said
) -> None:
    reason = "serious_violation" if fact_on >= "2024" else "abnormal_3_years"
    entry = listed(
        session, book, make_entity("R0000003"), fact_on, decided_on, kind="serious", reason=reason
    )
    before = {f: getattr(entry, f) for f in REMOVAL_FIELDS}
    counts = (count(session, ListEvent), count(session, AuditEntry))
    with pytest.raises(Conflict) as err:
        decisions.remove(
            session,
            entry.id,
            application(applied_on, applied_on),
            user=REVIEWER,
            clock=at("2026-03-02"),
            book=book,
        )
    assert said in err.value.zh
    assert entry not in session.dirty
    assert {f: getattr(entry, f) for f in REMOVAL_FIELDS} == before
    assert before["state"] == EntryState.listed and before["removal_deadline"] is None
    assert (count(session, ListEvent), count(session, AuditEntry)) == counts
    session.refresh(entry)
    assert {f: getattr(entry, f) for f in REMOVAL_FIELDS} == before


def test_the_staff_page_shows_the_deadline_and_lateness(
    browser,  # noqa: F811
    session,
    book,
    make_entity,
) -> None:
    on_time = serious(session, book, make_entity("R0000004"))
    late = serious(session, book, make_entity("R0000005"))
    for entry, decided in ((on_time, "2026-02-27"), (late, "2026-03-02")):
        decisions.remove(
            session,
            entry.id,
            application("2026-02-02", decided),
            user=REVIEWER,
            clock=at("2026-03-02"),
            book=book,
        )
    session.commit()
    reviewer = browser("reviewer")
    page = reviewer.get(f"/staff/enforcement/{on_time.id}")
    assert page.status_code == 200
    assert "（期限 2026年2月28日）" in page.text and "逾期移出" not in page.text
    page = reviewer.get(f"/staff/enforcement/{late.id}")
    assert "（期限 2026年2月28日）" in page.text and "逾期移出" in page.text
    overview = reviewer.get("/staff/enforcement").text
    assert overview.count("逾期移出") >= 1


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        # Early removal without its decision deadline.
        ("2025.yaml", "serious_removal_decide_within_working_days: 15\n", ""),
        # A deadline where early removal does not exist.
        (
            "2014.yaml",
            "serious_removal_decide_within_working_days: null",
            "serious_removal_decide_within_working_days: 15",
        ),
        (
            "2024.yaml",
            "serious_removal_decide_within_working_days: 15",
            "serious_removal_decide_within_working_days: 0",
        ),
        (
            "2024.yaml",
            "serious_removal_decide_within_working_days: 15",
            "serious_removal_decide_within_working_days: fifteen",
        ),
    ],
)
def test_malformed_decision_deadline_is_refused(data_dir, tmp_path, file, old, new) -> None:
    data = _copy(data_dir, tmp_path)
    path = data / "rulebook" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulebookError) as err:
        load_rulebook(data)
    assert err.value.file == f"rulebook/{file}"
    assert err.value.key == "serious_removal_decide_within_working_days"
    assert f"rulebook/{file}" in err.value.zh and f"rulebook/{file}" in err.value.en
