"""Many proposals decided as one act: each entity its own decision, number, event and audit
row; a refused entity stops the whole act (nothing half-applied) unless it is skipped."""

from datetime import date

import pytest
from sqlmodel import Session, func, select

from supervision.audit.models import AuditEntry
from supervision.enforcement import decisions, service
from supervision.enforcement import schemas as s
from supervision.enforcement.models import EntryState, ListEntry, ListEvent
from supervision.enforcement.rulebook import rulebook
from supervision.errors import Conflict
from tests.conftest import post_login
from tests.factories import small_city


@pytest.fixture
def proposals(session: Session, clock, data_dir):
    from supervision.accounts.service import UserCreate, create_user

    usccs = small_city(session, clock, entities=120)
    book = rulebook(data_dir)
    planner = create_user(
        session,
        UserCreate(username="p1", display_name="计划", password="pass-word-1", role="planner"),
        actor="test",
        clock=clock,
    )
    reviewer = create_user(
        session,
        UserCreate(username="r1", display_name="审核", password="pass-word-1", role="reviewer"),
        actor="test",
        clock=clock,
    )
    ids = [
        service.propose(
            session,
            s.ProposalCreate(
                list_kind="abnormal", uscc=u, reason_code="annual_report", fact_on=date(2026, 7, 1)
            ),
            user=planner,
            clock=clock,
            book=book,
        ).id
        for u in usccs[:100]
    ]
    session.flush()
    return ids, reviewer, book


def _count(session: Session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_bulk_listing_gives_every_entity_its_own_numbered_decision(
    session, clock, proposals
) -> None:
    ids, reviewer, book = proposals
    audit_before = _count(session, AuditEntry)
    data = s.BulkDecisionCreate(
        entry_ids=ids,
        decision="list",
        reason="未按期公示2025年度年度报告",
        decision_no_prefix="昌市监异列〔2026〕",
        first_number=101,
        decided_on=date(2026, 7, 15),
    )
    out = decisions.decide_many(session, data, user=reviewer, clock=clock, book=book)
    assert len(out.decided) == 100 and not out.refused
    entries = session.exec(
        select(ListEntry).where(ListEntry.id.in_(ids)).order_by(ListEntry.id)
    ).all()
    assert all(e.state == EntryState.listed and e.decided_on == date(2026, 7, 15) for e in entries)
    assert [e.decision_no for e in entries] == [
        f"昌市监异列〔2026〕{101 + k}号" for k in range(100)
    ]
    assert all(e.legal_basis for e in entries)  # the reason's basis from the rulebook
    assert (
        _count(session, ListEvent, ListEvent.entry_id.in_(ids), ListEvent.kind == "listed") == 100
    )
    # One audit row per decision, and one for the act.
    assert _count(session, AuditEntry) == audit_before + 101
    # The numbers are never used twice.
    more = s.BulkDecisionCreate(**{**data.model_dump(), "entry_ids": ids[:1]})
    with pytest.raises(Conflict):
        decisions.decide_many(session, more, user=reviewer, clock=clock, book=book)


def test_one_refused_entity_stops_the_act_and_is_named(session, clock, proposals) -> None:
    ids, reviewer, book = proposals
    first = s.DecisionCreate(decision="reject", reason="已补报", decided_on=date(2026, 7, 10))
    decisions.decide(session, ids[5], first, user=reviewer, clock=clock, book=book)
    data = s.BulkDecisionCreate(
        entry_ids=ids + [999_999],
        decision="list",
        reason="未按期公示年度报告",
        decision_no_prefix="昌市监异列〔2026〕",
        first_number=1,
        decided_on=date(2026, 7, 15),
    )
    savepoint = session.begin_nested()
    with pytest.raises(decisions.BulkRefused) as refused:
        decisions.decide_many(session, data, user=reviewer, clock=clock, book=book)
    savepoint.rollback()
    why = {entry_id: reason for entry_id, _, reason in refused.value.refused}
    assert set(why) == {ids[5], 999_999} and "已作出决定" in why[ids[5]]
    assert (
        _count(session, ListEntry, ListEntry.id.in_(ids), ListEntry.state == EntryState.listed) == 0
    )
    # Skipping the refused ones decides the rest.
    out = decisions.decide_many(
        session,
        s.BulkDecisionCreate(**{**data.model_dump(), "skip_refused": True}),
        user=reviewer,
        clock=clock,
        book=book,
    )
    assert len(out.decided) == 99 and len(out.refused) == 2
    # A date before the facts is refused per entity too.
    early = s.BulkDecisionCreate(
        entry_ids=[ids[5]], decision="reject", reason="x", decided_on=date(2026, 6, 1)
    )
    with pytest.raises(decisions.BulkRefused):
        decisions.decide_many(session, early, user=reviewer, clock=clock, book=book)


def test_the_reviewer_decides_a_whole_filter_from_the_queue_page(
    app, session, clock, proposals
) -> None:
    import re

    from fastapi.testclient import TestClient

    from supervision.accounts.service import UserCreate, create_user
    from tests.conftest import TEST_PASSWORD

    ids, _, _ = proposals
    create_user(
        session,
        UserCreate(
            username="queue-reviewer", display_name="审核", password=TEST_PASSWORD, role="reviewer"
        ),
        actor="test",
        clock=clock,
    )
    session.commit()
    page = TestClient(app, follow_redirects=False)
    assert (
        post_login(page, {"username": "queue-reviewer", "password": TEST_PASSWORD}).status_code
        == 303
    )
    queue = page.get("/staff/enforcement")
    assert "待决定的列入建议（100）" in queue.text
    assert "第 1 / 2 页，共 100 条" in queue.text
    assert queue.text.count('name="entry"') == 50
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', queue.text).group(1)
    filtered = page.get("/staff/enforcement", params={"reason_code": "unreachable"})
    assert "待决定的列入建议（0）" in filtered.text
    body = {
        "csrf_token": token,
        "select": "filter",
        "reason_code": "annual_report",
        "decision": "list",
        "reason": "未按期公示年度报告",
        "decision_no_prefix": "昌市监异列〔2026〕",
        "first_number": "500",
        "decided_on": "2026-07-15",
    }
    r = page.post("/staff/enforcement/bulk", data=body)
    assert r.status_code == 400 and "我已核对" in r.text  # the confirmation is required
    assert _count(session, ListEntry, ListEntry.state == EntryState.listed) == 0
    r = page.post("/staff/enforcement/bulk", data={**body, "confirm": "yes"})
    assert r.status_code == 303, r.text
    assert (
        _count(session, ListEntry, ListEntry.id.in_(ids), ListEntry.state == EntryState.listed)
        == 100
    )
    after = page.get("/staff/enforcement")
    assert "待决定的列入建议（0）" in after.text
    # Ticked ones that were already decided: refused per entity, nothing written.
    r = page.post(
        "/staff/enforcement/bulk",
        data={
            **body,
            "confirm": "yes",
            "select": "ticked",
            "entry": [str(ids[0]), str(ids[1])],
            "first_number": "900",
        },
    )
    assert (
        r.status_code == 409 and "已作出决定，不能再次决定" in r.text and f">{ids[0]}</a>" in r.text
    )


def test_without_a_prefix_the_years_series_continues(session, clock, proposals) -> None:
    ids, reviewer, book = proposals
    first = s.BulkDecisionCreate(
        entry_ids=ids[:3],
        decision="list",
        reason="未按期公示年度报告",
        decided_on=date(2026, 7, 15),
    )
    decisions.decide_many(session, first, user=reviewer, clock=clock, book=book)
    more = s.BulkDecisionCreate(
        entry_ids=ids[3:5],
        decision="list",
        reason="未按期公示年度报告",
        decided_on=date(2026, 7, 16),
    )
    out = decisions.decide_many(session, more, user=reviewer, clock=clock, book=book)
    assert [n for _, _, n in out.decided] == ["异列〔2026〕4号", "异列〔2026〕5号"]
