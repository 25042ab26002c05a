"""Real timelines under both regimes, walked with an injected clock."""

from datetime import date

import pytest
from sqlmodel import select

from supervision.calendar import working_days_after
from supervision.enforcement import decisions, escalation, service, zombies
from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    CandidateKind,
    EnforcementCandidate,
    EntryState,
    ListEntry,
    ListEvent,
    ListKind,
)
from supervision.enforcement.restrictions import restrictions
from supervision.errors import Conflict, Invalid
from supervision.registry.models import AnnualReport
from tests.enforcement.conftest import ADMIN, REVIEWER, at, listed, proposed


def events(session, entry) -> list[str]:
    return [
        e.kind
        for e in session.exec(
            select(ListEvent).where(ListEvent.entry_id == entry.id).order_by(ListEvent.seq)
        )
    ]


def test_2016_listing_escalates_under_2014_rules_after_its_60_day_reminder(
    session, book, make_entity
) -> None:
    uscc = make_entity("A0000001")
    entry = listed(session, book, uscc, "2016-03-01", "2016-03-08")
    assert entry.rulebook == "2014" and entry.state == EntryState.listed
    assert entry.decide_by == date(2016, 3, 15)  # 10 working days after the fact
    assert entry.decision_late is False

    clock = at("2019-01-06")  # 61 days before the three years are up: too early to remind
    assert escalation.escalate(session, clock, book)["reminders"] == 0
    clock.advance(days=1)  # 2019-01-07: 60 days before 2019-03-08
    assert escalation.escalate(session, clock, book)["reminders"] == 1
    assert escalation.escalate(session, clock, book) == {
        "reminders": 0,
        "serious_proposals": 0,
        "revocation_candidates": 0,
    }
    reminder = session.exec(
        select(ListEvent).where(ListEvent.entry_id == entry.id, ListEvent.kind == "reminder")
    ).one()
    assert reminder.event_on == date(2019, 1, 7) and "2019-03-08" in reminder.detail

    clock.advance(days=60)  # 2019-03-08: three years, and the reminder has run 60 days
    assert clock.today() == date(2019, 3, 8)
    assert escalation.escalate(session, clock, book)["serious_proposals"] == 1
    assert escalation.escalate(session, clock, book)["serious_proposals"] == 0  # once only
    serious = session.exec(select(ListEntry).where(ListEntry.list_kind == ListKind.serious)).one()
    assert (serious.uscc, serious.reason_code, serious.rulebook) == (
        uscc,
        "abnormal_3_years",
        "2014",
    )
    assert serious.source_ref == f"entry:{entry.id}" and serious.state == EntryState.proposed
    assert events(session, entry) == ["proposed", "listed", "reminder", "escalated"]

    # 83号: the provincial authority decides the move, within 10 working days of the
    # three-year mark (8 March 2019 → 22 March); the county's reviewer may not.
    assert serious.decide_by == date(2019, 3, 22)
    decision = s.DecisionCreate(
        decision="list", reason="届满3年仍未履行", decision_no="新市监严列〔2019〕1号"
    )
    with pytest.raises(Conflict, match="新疆维吾尔自治区市场监督管理局决定"):
        decisions.decide(session, serious.id, decision, user=REVIEWER, clock=clock, book=book)
    # An administrator acting for it decides, on record; the 2014 list runs five years.
    decided = decisions.decide(session, serious.id, decision, user=ADMIN, clock=clock, book=book)
    assert decided.expires_on == date(2024, 3, 8) and decided.decision_late is False
    assert decided.authority == "新疆维吾尔自治区市场监督管理局"
    listed_event = session.exec(
        select(ListEvent).where(ListEvent.entry_id == serious.id, ListEvent.kind == "listed")
    ).one()
    assert "新疆维吾尔自治区市场监督管理局" in listed_event.detail  # acting_for
    on = date(2020, 1, 1)
    assert restrictions(session, book, uscc, "procurement", on).restricted


def test_a_2019_listing_reaching_three_years_in_2022_goes_through_44_not_83(
    session, book, make_entity
) -> None:
    """《市场监督管理严重违法失信名单管理办法》（市场监管总局令第44号，2021年9月1日起施行）
    replaced 原工商总局令第83号: a 2019 abnormal listing whose three years end in 2022 is moved
    under 44号 — 3 years on the serious list (not 5), early removal after 1 year, and a county
    listing needs the prior approval of the level above (not a provincial decision)."""
    uscc = make_entity("A0000009")
    entry = listed(session, book, uscc, "2019-03-01", "2019-03-08", no="昌市监异列〔2019〕9号")
    assert entry.rulebook == "2014"  # listed under the 2014 rules
    clock = at("2022-01-07")  # 60 days before 8 March 2022
    assert escalation.escalate(session, clock, book)["reminders"] == 1
    clock.advance(days=60)
    assert escalation.escalate(session, clock, book)["serious_proposals"] == 1
    serious = session.exec(select(ListEntry).where(ListEntry.list_kind == ListKind.serious)).one()
    assert serious.rulebook == "2021" and serious.decide_by is None  # no 10-day provincial rule
    decision = s.DecisionCreate(
        decision="list", reason="届满3年仍未履行", decision_no="昌市监严列〔2022〕1号"
    )
    # The county may not list before the level above agrees — not even an administrator.
    for who in (REVIEWER, ADMIN):
        with pytest.raises(Conflict, match="昌吉回族自治州市场监督管理局同意"):
            decisions.decide(session, serious.id, decision, user=who, clock=clock, book=book)
    grant = s.ApprovalCreate(approved=True, note="同意")
    with pytest.raises(Conflict, match="管理员"):
        decisions.approve(session, serious.id, grant, user=REVIEWER, clock=clock, book=book)
    decisions.approve(session, serious.id, grant, user=ADMIN, clock=clock, book=book)
    decided = decisions.decide(session, serious.id, decision, user=REVIEWER, clock=clock, book=book)
    assert decided.authority == "昌吉市市场监督管理局"  # the county lists, with approval
    assert decided.expires_on == date(2025, 3, 8)  # 3 years under 44号, not 5
    assert "总局令第44号" in decided.legal_basis
    assert events(session, serious) == ["proposed", "approval_granted", "listed"]
    # Early removal on application after one year is possible under 44号.
    assert book.regime("2021").serious_early_removal_after_years == 1


def test_reminder_given_late_delays_the_move_by_60_days(session, book, make_entity) -> None:
    uscc = make_entity("A0000002")
    listed(session, book, uscc, "2016-03-01", "2016-03-08")
    clock = at("2019-03-10")  # nobody ran the job before the three years were up
    assert escalation.escalate(session, clock, book)["reminders"] == 1
    clock.advance(days=59)
    assert escalation.escalate(session, clock, book)["serious_proposals"] == 0
    clock.advance(days=1)
    assert escalation.escalate(session, clock, book)["serious_proposals"] == 1


def test_same_facts_in_2025_give_a_revocation_candidate_not_a_move(
    session, book, make_entity
) -> None:
    # Listed for the missed 2023 report, never corrected; found unreachable in 2025; no
    # annual reports for 2023 and 2024 (《企业信息公示暂行条例》（2024）第十八条).
    uscc = make_entity("A0000003", reports=(2021, 2022))
    listed(session, book, uscc, "2024-07-01", "2024-07-08", reason="annual_report")
    entry = listed(session, book, uscc, "2025-04-01", "2025-04-08", no="昌市监异列〔2025〕3号")
    assert entry.rulebook == "2025"
    # Unreachable alone (reports missing, but never listed for them) is not enough, nor is a
    # listing for the reports without the unreachable finding; nor an individual business.
    only_unreachable = make_entity("A0000005", reports=(2021, 2022))
    listed(session, book, only_unreachable, "2025-04-01", "2025-04-08")
    only_reports = make_entity("A0000006", reports=(2021, 2022))
    listed(session, book, only_reports, "2024-07-01", "2024-07-08", reason="annual_report")
    shop = make_entity("A0000007", reports=(2021, 2022), entity_type="individual")
    listed(session, book, shop, "2025-04-01", "2025-04-08", reason="annual_report")
    listed(session, book, shop, "2025-04-01", "2025-04-08")
    # A 2021-regime listing (2014 rules with 44号) whose three years fall in the new regime is
    # not moved either.
    old = make_entity("A0000004", reports=(2021, 2022, 2023, 2024))
    listed(session, book, old, "2022-01-04", "2022-01-10")

    clock = at("2025-06-30")  # the 2024 reports are not yet due: only 2022–2023 count
    out = escalation.escalate(session, clock, book)
    assert out == {"reminders": 0, "serious_proposals": 0, "revocation_candidates": 0}
    clock.advance(days=1)  # 2025-07-01: 2023 and 2024 both missed
    out = escalation.escalate(session, clock, book)
    assert out == {"reminders": 0, "serious_proposals": 0, "revocation_candidates": 1}
    cand = session.exec(select(EnforcementCandidate)).one()
    assert (cand.kind, cand.uscc, cand.basis_key) == (
        CandidateKind.revocation,
        uscc,
        "missed:2023-2024",
    )
    assert "unreachable" in cand.evidence and "第十八条" in cand.evidence
    clock.advance(days=400)  # a year later: still no move to the serious list
    escalation.escalate(session, clock, book)
    assert (
        session.exec(select(ListEntry).where(ListEntry.list_kind == ListKind.serious)).all() == []
    )
    # A person decides.
    done = zombies.decide_candidate(
        session,
        cand.id,
        s.CandidateDecisionCreate(decision="revocation_proposal", note="提请吊销营业执照"),
        user=REVIEWER,
        clock=clock,
    )
    assert done.state == "decided" and done.decision == "revocation_proposal"


def test_annual_report_listing_and_removal_within_five_working_days(
    session, book, make_entity
) -> None:
    filed = make_entity("B0000001", reports=(2025,))
    missing = make_entity("B0000002", reports=(2024,))
    young = make_entity("B0000003", established="2026-02-01")  # no report due for 2025
    clock = at("2026-07-01")
    assert service.propose_annual_report_listings(session, clock, 2026, book=book) == 1
    assert service.propose_annual_report_listings(session, clock, 2026, book=book) == 0
    entry = session.exec(select(ListEntry)).one()
    assert entry.uscc == missing and entry.source_ref == "year:2025"
    assert entry.decide_by == working_days_after(date(2026, 6, 30), 10) == date(2026, 7, 14)
    assert events(session, entry) == ["proposed"]
    assert filed != young

    before = date(2026, 7, 5)
    assert not restrictions(session, book, missing, "credit_certificate", before).restricted
    decisions.decide(
        session,
        entry.id,
        s.DecisionCreate(
            decision="list", reason="未报送2025年度报告", decision_no="昌市监异列〔2026〕88号"
        ),
        user=REVIEWER,
        clock=at("2026-07-10"),
        book=book,
    )
    during = restrictions(session, book, missing, "credit_certificate", date(2026, 7, 20))
    assert during.restricted and during.reasons[0].decision_no == "昌市监异列〔2026〕88号"
    assert during.reasons[0].until is None and "昌吉市" in during.reasons[0].measure_basis

    session.add(AnnualReport(uscc=missing, year=2025, filed_on=date(2026, 8, 1)))
    session.flush()
    removal = s.RemovalCreate(
        applied_on=date(2026, 8, 3),
        decision_no="昌市监异移〔2026〕5号",
        reason="已补报年度报告",
        evidence=[s.CorrectionEvidence(kind="reports_filed", reference="2025年度报告 2026-08-01")],
    )
    done = decisions.remove(
        session, entry.id, removal, user=REVIEWER, clock=at("2026-08-07"), book=book
    )
    assert done.removal_deadline == date(2026, 8, 10) and done.removal_late is False
    assert not restrictions(
        session, book, missing, "credit_certificate", date(2026, 8, 7)
    ).restricted
    # History is kept: the restriction on a past day is still answered.
    assert restrictions(session, book, missing, "procurement", date(2026, 8, 6)).restricted
    assert events(session, entry) == ["proposed", "listed", "removed"]


def test_late_decisions_are_flagged_and_the_calendar_skips_holidays(
    session, book, make_entity
) -> None:
    uscc = make_entity("B0000004")
    entry = proposed(session, book, uscc, "2026-09-21")
    assert entry.decide_by == date(2026, 10, 12)  # the National Day week is not counted
    late = decisions.decide(
        session,
        entry.id,
        s.DecisionCreate(decision="list", reason="无法联系", decision_no="昌市监异列〔2026〕99号"),
        user=REVIEWER,
        clock=at("2026-10-13"),
        book=book,
    )
    assert late.decision_late is True
    removal = s.RemovalCreate(
        applied_on=date(2026, 10, 14),
        verified_on=date(2026, 10, 14),
        decision_no="昌市监异移〔2026〕9号",
        reason="已办理住所变更登记",
        evidence=[s.CorrectionEvidence(kind="new_address_registered", reference="变更登记通知书")],
    )
    done = decisions.remove(
        session, entry.id, removal, user=REVIEWER, clock=at("2026-10-22"), book=book
    )
    assert done.removal_deadline == date(2026, 10, 21) and done.removal_late is True
    assert events(session, entry)[-1] == "removed"


def test_an_unreachable_entry_is_removed_counting_from_the_verified_correction(
    session, book, make_entity
) -> None:
    """DOMAIN §10 (68号 Art. 11): removing an "unreachable" entry runs its 5 working days from
    the day the correction was verified, not from the application."""
    uscc = make_entity("B0000005")
    entry = listed(session, book, uscc, "2026-09-01", "2026-09-08")
    removal = s.RemovalCreate(
        applied_on=date(2026, 11, 2),  # Monday: the entity says it can be reached again
        verified_on=date(2026, 11, 6),  # Friday: the station checked the address
        decision_no="昌市监异移〔2026〕11号",
        reason="经核查可以联系",
        evidence=[s.CorrectionEvidence(kind="contact_restored", reference="实地核查记录")],
    )
    done = decisions.remove(
        session, entry.id, removal, user=REVIEWER, clock=at("2026-11-12"), book=book
    )
    # From the application it would be Monday 9 November (and 12 November late); from the
    # verification it is Friday 13 November.
    assert done.removal_deadline == date(2026, 11, 13) and done.removal_late is False
    assert done.removal_verified_on == date(2026, 11, 6)
    # An annual-report listing still counts from the application.
    assert book.regime("2025").reason("annual_report").removal_counts_from == "application"


def test_instant_information_is_listed_only_after_an_unheeded_written_order(
    session, book, make_entity
) -> None:
    """《企业经营异常名录管理暂行办法》（工商总局令第68号）第七条: the entity is first ordered in
    writing to publish within 10 days; only if it has not by the end of that period may it be
    listed, within 10 working days of that end. Never an individual business (no such duty)."""
    uscc = make_entity("B0000006")
    entry = proposed(session, book, uscc, "2026-09-10", reason="instant_info")
    assert entry.decide_by is None and "须先书面责令限期公示" in entry.note
    decision = s.DecisionCreate(
        decision="list", reason="逾期未公示", decision_no="昌市监异列〔2026〕120号"
    )
    with pytest.raises(Conflict, match="须先书面责令限期公示"):
        decisions.decide(
            session, entry.id, decision, user=REVIEWER, clock=at("2026-09-20"), book=book
        )
    decisions.record_order(
        session,
        entry.id,
        s.OrderCreate(order_no="昌市监责〔2026〕5号", ordered_on=date(2026, 9, 14)),
        user=REVIEWER,
        clock=at("2026-09-14"),
        book=book,
    )
    # Ordered 14 September: the period ends 24 September; the 10 working days run from then,
    # across the National Day holiday: 15 October.
    assert entry.fact_on == date(2026, 9, 24) and entry.decide_by == date(2026, 10, 15)
    assert entry.decide_by == working_days_after(date(2026, 9, 24), 10)
    with pytest.raises(Conflict, match="尚未届满"):
        decisions.decide(
            session, entry.id, decision, user=REVIEWER, clock=at("2026-09-24"), book=book
        )
    done = decisions.decide(
        session, entry.id, decision, user=REVIEWER, clock=at("2026-09-28"), book=book
    )
    assert done.state == EntryState.listed and done.decision_late is False
    assert events(session, entry) == ["proposed", "ordered", "listed"]
    with pytest.raises(Conflict):  # once only
        decisions.record_order(
            session,
            entry.id,
            s.OrderCreate(order_no="x"),
            user=REVIEWER,
            clock=at("2026-09-28"),
            book=book,
        )
    shop = make_entity("B0000007", entity_type="individual")
    with pytest.raises(Invalid, match="不适用于个体工商户"):
        proposed(session, book, shop, "2026-09-10", reason="instant_info")


def test_individual_businesses_follow_the_regime_in_force(session, book, make_entity) -> None:
    shop = make_entity("C0000001", entity_type="individual", established="2010-01-01")
    n = service.propose_annual_report_listings(session, at("2016-07-01"), 2016, book=book)
    assert n == 1
    assert session.exec(select(ListEntry.mode, ListEntry.rulebook)).one() == ("marked", "2014")
    n = service.propose_annual_report_listings(session, at("2026-07-01"), 2026, book=book)
    assert n == 1
    rows = session.exec(select(ListEntry.mode, ListEntry.rulebook).order_by(ListEntry.id)).all()
    assert rows[1] == ("listed", "2025") and shop


def test_serious_list_early_removal_after_one_year_and_automatic_removal(
    session, book, make_entity
) -> None:
    a = make_entity("D0000001")
    b = make_entity("D0000002")
    one = listed(
        session, book, a, "2025-01-06", "2025-01-10", kind="serious", reason="serious_violation"
    )
    two = listed(
        session, book, b, "2025-01-06", "2025-01-10", kind="serious", reason="serious_violation"
    )
    assert one.expires_on == date(2028, 1, 10)
    early = s.RemovalCreate(
        applied_on=date(2025, 12, 1),
        decision_no="昌市监严移〔2025〕1号",
        reason="已履行行政处罚并作出信用承诺",
        evidence=[s.CorrectionEvidence(kind="penalty_performed", reference="罚没款缴款书")],
    )
    with pytest.raises(Conflict, match="列入满1年后方可申请提前移出"):
        decisions.remove(session, one.id, early, user=REVIEWER, clock=at("2025-12-02"), book=book)
    session.refresh(one)
    assert one.state != EntryState.removed  # the refusal changed nothing
    early.applied_on = date(2026, 1, 12)
    done = decisions.remove(
        session, one.id, early, user=REVIEWER, clock=at("2026-01-15"), book=book
    )
    assert done.state == EntryState.removed
    # Decided within 15 working days of the application (信用修复; see test_serious_removal).
    assert done.removal_deadline == working_days_after(date(2026, 1, 12), 15)
    assert done.removal_late is False

    assert decisions.expire_serious(session, at("2028-01-09"), actor="t") == 0
    assert decisions.expire_serious(session, at("2028-01-10"), actor="t") == 1
    session.refresh(two)
    assert two.state == EntryState.removed and two.removed_on == date(2028, 1, 10)
    assert restrictions(session, book, b, "bidding", date(2028, 1, 9)).restricted
    assert not restrictions(session, book, b, "bidding", date(2028, 1, 10)).restricted


def test_upheld_objection_withdraws_the_listing(session, book, make_entity) -> None:
    uscc = make_entity("E0000001")
    entry = listed(session, book, uscc, "2026-03-02", "2026-03-09")
    decisions.file_objection(
        session,
        entry.id,
        s.ObjectionCreate(filed_on=date(2026, 3, 20), grounds="企业一直在登记住所经营"),
        user=REVIEWER,
        clock=at("2026-03-20"),
        book=book,
    )
    decisions.decide_objection(
        session,
        entry.id,
        s.ObjectionDecisionCreate(outcome="upheld", reason="复核确认可以联系"),
        user=REVIEWER,
        clock=at("2026-03-25"),
        book=book,
    )
    assert entry.state == EntryState.withdrawn
    assert not restrictions(session, book, uscc, "honours", date(2026, 3, 15)).restricted
    # Decided without a separate acceptance: accepted the same day, on record.
    assert events(session, entry) == [
        "proposed",
        "listed",
        "objection_filed",
        "objection_accepted",
        "objection_upheld",
    ]


def test_an_objections_clocks_are_tracked_and_warned(session, book, make_entity) -> None:
    """《企业经营异常名录管理暂行办法》（工商总局令第68号）第十六条: an objection within 30 days of
    the listing's publication; accepted or refused within 5 working days; an accepted one
    verified within 20 working days. The daily job warns of an acceptance coming due."""
    from supervision.enforcement.jobs import enforcement_objections
    from supervision.settings import Settings

    uscc = make_entity("E0000002")
    entry = listed(session, book, uscc, "2026-03-02", "2026-03-09")
    with pytest.raises(Invalid, match="30日内"):
        decisions.file_objection(
            session,
            entry.id,
            s.ObjectionCreate(filed_on=date(2026, 4, 9), grounds="逾期的异议"),
            user=REVIEWER,
            clock=at("2026-04-09"),
            book=book,
        )
    decisions.file_objection(
        session,
        entry.id,
        s.ObjectionCreate(filed_on=date(2026, 4, 8), grounds="企业一直在登记住所经营"),
        user=REVIEWER,
        clock=at("2026-04-08"),
        book=book,
    )
    # Filed Wed 8 April: 9, 10, 13, 14, 15 April → accept by Wed 15 April.
    (clock,) = decisions.objection_clocks(session, date(2026, 4, 13))
    assert (clock.stage, clock.due, clock.working_days_left, clock.overdue) == (
        "filed",
        date(2026, 4, 15),
        2,
        False,
    )
    settings = Settings()
    job = enforcement_objections(session, at("2026-04-13"), settings)
    assert [(w["entry"], w["step"], w["due"]) for w in job["warnings"]] == [
        (entry.id, "受理", "2026-04-15")
    ]
    assert enforcement_objections(session, at("2026-04-08"), settings)["warnings"] == []
    overdue = enforcement_objections(session, at("2026-04-16"), settings)["warnings"]
    assert overdue[0]["overdue"] is True
    # Accepted late (16 April): recorded as late; the verification clock runs 20 working days.
    decisions.accept_objection(
        session,
        entry.id,
        s.ObjectionAcceptanceCreate(accepted=True, decided_on=date(2026, 4, 16)),
        user=REVIEWER,
        clock=at("2026-04-16"),
        book=book,
    )
    (clock,) = decisions.objection_clocks(session, date(2026, 4, 16))
    # 20 working days after 16 April, across Labour Day (1–5 May off, 26 April and 9 May worked).
    assert clock.stage == "accepted" and clock.due == working_days_after(date(2026, 4, 16), 20)
    accepted = session.exec(
        select(ListEvent).where(
            ListEvent.entry_id == entry.id, ListEvent.kind == "objection_accepted"
        )
    ).one()
    assert '"late": true' in accepted.detail
    decisions.decide_objection(
        session,
        entry.id,
        s.ObjectionDecisionCreate(outcome="dismissed", reason="经核实仍无法联系"),
        user=REVIEWER,
        clock=at("2026-05-08"),
        book=book,
    )
    assert entry.state == EntryState.listed
    assert decisions.objection_clocks(session, date(2026, 5, 8)) == []
    # A refusal to accept (不予受理) needs its reason, and closes the objection.
    other = listed(session, book, make_entity("E0000003"), "2026-03-02", "2026-03-09")
    decisions.file_objection(
        session,
        other.id,
        s.ObjectionCreate(filed_on=date(2026, 3, 20), grounds="异议"),
        user=REVIEWER,
        clock=at("2026-03-20"),
        book=book,
    )
    refuse = s.ObjectionAcceptanceCreate(accepted=False)
    with pytest.raises(Invalid, match="理由"):
        decisions.accept_objection(
            session, other.id, refuse, user=REVIEWER, clock=at("2026-03-23"), book=book
        )
    refuse = s.ObjectionAcceptanceCreate(accepted=False, reason="异议人非该市场主体")
    decisions.accept_objection(
        session, other.id, refuse, user=REVIEWER, clock=at("2026-03-23"), book=book
    )
    assert events(session, other)[-1] == "objection_refused" and other.state == EntryState.listed
    assert decisions.objection_clocks(session, date(2026, 3, 23), entry_id=other.id) == []


def test_zombie_and_deregistration_candidates(session, book, make_entity) -> None:
    from datetime import UTC, datetime

    sleepy = make_entity("F0000001", reports=(2022, 2023))
    make_entity("F0000002", reports=(2024,))  # one missed year only
    make_entity("F0000003", reports=(2024, 2025))
    from sqlalchemy import update

    from supervision.registry.models import Entity

    revoked = make_entity("F0000004", status="revoked", updated=datetime(2023, 5, 1, tzinfo=UTC))
    recent = make_entity("F0000005", status="revoked", updated=datetime(2024, 5, 1, tzinfo=UTC))
    # The revocation date decides (tests/enforcement/test_zombie_rules.py), not the last change.
    for uscc, on in ((revoked, date(2023, 5, 1)), (recent, date(2024, 5, 1))):
        session.execute(update(Entity).where(Entity.uscc == uscc).values(revoked_on=on))
    clock = at("2026-11-26")
    assert zombies.zombie_candidates(session, clock, book) == 1
    assert zombies.zombie_candidates(session, clock, book) == 0
    assert zombies.deregistration_candidates(session, clock, book) == 1
    rows = zombies.list_candidates(session, kind=None, state="open")
    assert {(r.kind, r.uscc) for r in rows} == {
        (CandidateKind.zombie, sleepy),
        (CandidateKind.compulsory_deregistration, revoked),
    }
    zombie = next(r for r in rows if r.kind == CandidateKind.zombie)
    assert zombie.evidence["missing_annual_reports"] == [2024, 2025]


@pytest.mark.parametrize("year", ["2016-05-10", "2024-08-12", "2026-04-13"])
def test_an_individual_business_never_gets_an_instant_information_listing(
    session, book, make_entity, year
) -> None:
    """Instant information (即时信息, 《企业信息公示暂行条例》第十条/第十八条) is an enterprise's
    duty; an individual business has three listing reasons only (《个体工商户年度报告暂行办法》
    第十三条至第十五条: no annual report, a false report, unreachable) — under every regime."""
    shop = make_entity("K0000001", entity_type="individual")
    with pytest.raises(Exception) as refused:
        proposed(session, book, shop, year, reason="instant_info")
    assert "不适用于个体工商户" in str(refused.value)
    assert session.exec(select(ListEntry).where(ListEntry.uscc == shop)).first() is None
    company = make_entity("K0000002")
    assert proposed(session, book, company, year, reason="instant_info").reason_code == (
        "instant_info"
    )
    # The reasons an individual business does have still apply to it.
    assert proposed(session, book, shop, year, reason="unreachable").uscc == shop
