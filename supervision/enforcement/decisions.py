"""Decisions on the lists: listing or rejecting a proposal, objections, removals (which must
name their correction evidence), and the serious list's expiry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from supervision.accounts.models import Role, User
from supervision.audit.service import record_change, record_changes
from supervision.calendar import CalendarNotCovered, WorkdayCalendar, default_calendar
from supervision.calendar.dates import add_years
from supervision.clock import Clock
from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    EntryState,
    ListEntry,
    ListEvent,
    ListKind,
)
from supervision.enforcement.rulebook import Rulebook, rulebook
from supervision.enforcement.service import (
    add_event,
    add_events,
    count_deadline,
    dump_detail,
    get_entry,
    reason_or_refuse,
)
from supervision.errors import Conflict, DomainError, Invalid
from supervision.registry.models import AnnualReport

# ---- decisions -----------------------------------------------------------------------------


def _day(given: date | None, clock: Clock, not_before: date | None, what: str) -> date:
    day = given or clock.today()
    if day > clock.today():
        raise Invalid(f"{what}日期 {day} 晚于今天", f"{what} date {day} is in the future")
    if not_before and day < not_before:
        raise Invalid(
            f"{what}日期 {day} 早于 {not_before}", f"{what} date {day} is before {not_before}"
        )
    return day


# ---- who decides ---------------------------------------------------------------------------
# A move from the abnormal list to the serious list is decided by the authority its regime
# names: under 83号 the provincial authority (in a single bureau an administrator acting for
# it, recorded as such); under 44号 the listing authority, with the prior approval of the level
# above (an administrator acting for it grants or refuses it first).


def authority_step(entry: ListEntry, book: Rulebook) -> str:
    """ "local", "provincial" or "local_with_approval": who decides this proposal."""
    if entry.list_kind != ListKind.serious or entry.source != "escalation":
        return "local"
    move = book.regime(entry.rulebook).escalation.move_to_serious
    return move.decided_by if move is not None else "local"


def approval_state(session: Session, entry: ListEntry) -> str | None:
    """ "granted" or "refused" (the level above's last word on the proposal), or None."""
    last = session.exec(
        select(ListEvent.kind)
        .where(
            ListEvent.entry_id == entry.id,
            col(ListEvent.kind).in_(("approval_granted", "approval_refused")),
        )
        .order_by(col(ListEvent.seq).desc())
    ).first()
    return {"approval_granted": "granted", "approval_refused": "refused"}.get(last or "")


def _is_admin(user: Any) -> bool:
    return str(getattr(user, "role", "")) == Role.admin


def order_of(session: Session, entry: ListEntry) -> dict[str, Any] | None:
    """The written order (责令限期公示) recorded on an entry, if any: its event's detail."""
    detail = session.exec(
        select(ListEvent.detail).where(ListEvent.entry_id == entry.id, ListEvent.kind == "ordered")
    ).first()
    return json.loads(detail) if detail else None


def authority_refusal(
    session: Session,
    entry: ListEntry,
    decision: str,
    user: Any,
    book: Rulebook,
    decided_on: date | None = None,
) -> str | None:
    """Why ``user`` may not make this decision on this proposal now (None when they may):
    another authority decides it, its approval is missing, or — for a reason that needs a
    written order first — the order is missing or its period has not ended."""
    step = authority_step(entry, book)
    regime = book.regime(entry.rulebook)
    reason = regime.reason(entry.reason_code) if entry.list_kind == ListKind.abnormal else None
    if reason is not None and reason.order_days is not None and decision == "list":
        order = order_of(session, entry)
        if order is None:
            return f"“{reason.label}”须先书面责令限期公示（{reason.order_basis}），期满仍未公示方可列入"
        if decided_on is not None and decided_on <= date.fromisoformat(order["period_end"]):
            return f"责令公示的期限（至{order['period_end']}）尚未届满，不能列入"
    if step == "provincial" and not _is_admin(user):
        return (
            f"本记录依原工商总局令第83号由{regime.provincial_authority}决定："
            "须由代表省级部门的管理员作出决定"
        )
    if step == "local_with_approval" and decision == "list":
        if approval_state(session, entry) != "granted":
            return f"列入严重违法失信名单须事先报经{regime.level_above_authority}同意（总局令第44号），尚未取得同意"
    return None


def _apply_decision(
    entry: ListEntry, data: s.DecisionCreate, decided_on: date, *, user: User, book: Rulebook
) -> tuple[str, dict]:
    """Set a proposal's decision fields; returns the event's kind and detail. The caller has
    checked that it is a proposal, that the date is allowed and that this user may decide it
    (`authority_refusal`)."""
    regime = book.regime(entry.rulebook)
    reason = reason_or_refuse(regime, entry.list_kind, entry.reason_code, entry.fact_on)
    if data.decision == "list" and not data.decision_no:
        raise Invalid("列入决定须有决定书文号", "a listing decision needs its decision number")
    step = authority_step(entry, book)
    entry.decided_on = decided_on
    entry.decided_by = user.username
    entry.decision_reason = data.reason
    entry.decision_no = data.decision_no
    entry.decision_late = entry.decide_by is not None and decided_on > entry.decide_by
    if data.decision == "list":
        entry.state = EntryState.listed
        entry.legal_basis = data.legal_basis or reason.legal_basis
        default = regime.provincial_authority if step == "provincial" else regime.authority_default
        entry.authority = data.authority or default
        if entry.list_kind == ListKind.serious:
            entry.expires_on = add_years(decided_on, reason.years)
    else:
        entry.state = EntryState.rejected
    kind = "listed" if data.decision == "list" else "rejected"
    detail: dict[str, Any] = {
        "decision_no": data.decision_no,
        "reason": data.reason,
        "late": entry.decision_late,
    }
    if step == "provincial":
        detail["acting_for"] = regime.provincial_authority
    return kind, detail


def record_order(
    session: Session,
    entry_id: int,
    data: s.OrderCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
    calendar: WorkdayCalendar | None = None,
) -> ListEntry:
    """The written order to publish instant information within the rule's days (68号 Art. 7).
    The listing's fact becomes the end of the ordered period — not publishing by then — and
    its deadline runs from that day."""
    entry = get_entry(session, entry_id, for_update=True)
    regime = book.regime(entry.rulebook)
    reason = regime.reason(entry.reason_code) if entry.list_kind == ListKind.abnormal else None
    if entry.state != EntryState.proposed or reason is None or reason.order_days is None:
        raise Conflict(
            "只有待决定的、须先责令公示的列入建议可以登记责令通知",
            "only a pending proposal whose reason needs an order can record one",
        )
    if order_of(session, entry) is not None:
        raise Conflict("已登记责令公示通知", "the order was already recorded")
    ordered_on = _day(data.ordered_on, clock, entry.fact_on, "责令")
    period_end = ordered_on + timedelta(days=reason.order_days)
    entry.fact_on = period_end
    entry.decide_by, entry.decide_by_provisional = count_deadline(
        period_end, reason.list_within_working_days, calendar
    )
    session.add(entry)
    add_event(
        session,
        entry,
        "ordered",
        ordered_on,
        user.username,
        clock,
        order_no=data.order_no,
        period_end=period_end,
        decide_by=entry.decide_by,
        basis=reason.order_basis,
    )
    record_change(
        session,
        user.username,
        "enforcement.order",
        "list_entry",
        str(entry.id),
        {"order_no": data.order_no, "ordered_on": ordered_on, "period_end": period_end},
        clock,
    )
    return entry


def approve(
    session: Session,
    entry_id: int,
    data: s.ApprovalCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
) -> ListEntry:
    """The level above grants or refuses its approval of a serious-list proposal that needs it
    (44号): an administrator acting for it, recorded as such."""
    entry = get_entry(session, entry_id, for_update=True)
    if entry.state != EntryState.proposed or authority_step(entry, book) != "local_with_approval":
        raise Conflict("该记录不需要上一级审批", "this proposal needs no approval")
    regime = book.regime(entry.rulebook)
    if not _is_admin(user):
        raise Conflict(
            f"须由代表{regime.level_above_authority}的管理员审批",
            "only an administrator acting for the level above approves",
        )
    if not data.approved and not data.note:
        raise Invalid("不同意须写明理由", "a refusal needs its reason")
    on = _day(data.decided_on, clock, entry.fact_on, "审批")
    kind = "approval_granted" if data.approved else "approval_refused"
    add_event(
        session,
        entry,
        kind,
        on,
        user.username,
        clock,
        acting_for=regime.level_above_authority,
        reason=data.note,
    )
    record_change(
        session,
        user.username,
        f"enforcement.approval.{'grant' if data.approved else 'refuse'}",
        "list_entry",
        str(entry.id),
        {"on": on, "acting_for": regime.level_above_authority},
        clock,
    )
    return entry


def _audit(entry: ListEntry, data: s.DecisionCreate, user: User) -> tuple:
    return (
        user.username,
        f"enforcement.decide.{data.decision}",
        "list_entry",
        str(entry.id),
        {"decision_no": data.decision_no, "on": entry.decided_on, "late": entry.decision_late},
    )


def decide(
    session: Session,
    entry_id: int,
    data: s.DecisionCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
) -> ListEntry:
    """A reviewer lists (with decision number, date, reason, basis) or rejects a proposal."""
    entry = get_entry(session, entry_id, for_update=True)
    if entry.state != EntryState.proposed:
        raise Conflict(
            f"该拟列入记录已作出决定（{entry.state}），不能再次决定",
            f"the proposal was already decided ({entry.state})",
        )
    decided_on = _day(data.decided_on, clock, entry.fact_on, "决定")
    if data.decision == "list" and not data.decision_no:  # the request's own fault first
        raise Invalid("列入决定须有决定书文号", "a listing decision needs its decision number")
    why = authority_refusal(session, entry, data.decision, user, book, decided_on)
    if why:
        raise Conflict(why, "this decision belongs to another authority or needs its approval")
    kind, detail = _apply_decision(entry, data, decided_on, user=user, book=book)
    session.add(entry)
    session.flush()
    add_event(session, entry, kind, decided_on, user.username, clock, **detail)
    record_change(session, *_audit(entry, data, user), clock)
    return entry


# ---- objections (异议) ---------------------------------------------------------------------
# 68号 Art. 16 (figures in the rulebook's `objection`): filed within 30 days of the listing's
# publication (the decision is published the day it is made); the authority accepts or refuses
# it within 5 working days, and verifies an accepted one within 20 working days. Each step is
# an event carrying the next step's deadline, so the clocks are shown and warned about.

OBJECTION_EVENTS = ("objection_filed", "objection_accepted", "objection_refused")
OBJECTION_OUTCOMES = ("objection_upheld", "objection_dismissed")


def objection_events(session: Session, entry: ListEntry) -> list[ListEvent]:
    return list(
        session.exec(
            select(ListEvent)
            .where(ListEvent.entry_id == entry.id, col(ListEvent.kind).startswith("objection"))
            .order_by(ListEvent.seq)
        )
    )


def objection_stage(events: list[Any]) -> str | None:
    """ "filed" (waiting to be accepted), "accepted" (being verified), or None (nothing open),
    from an entry's objection events in order (rows or their staff view)."""
    last = events[-1].kind if events else None
    return {"objection_filed": "filed", "objection_accepted": "accepted"}.get(last or "")


def _pending_objection(session: Session, entry: ListEntry) -> bool:
    return objection_stage(objection_events(session, entry)) is not None


def _objection_rule(entry: ListEntry, book: Rulebook) -> Any:
    return book.regime(entry.rulebook).objection


def step_deadline(
    rulebook_name: str,
    event: ListEvent,
    book: Rulebook,
    calendar: WorkdayCalendar | None = None,
) -> tuple[date | None, bool]:
    """The deadline of the step an objection event opened (filed → accept, accepted →
    verify) and whether it is provisional — counted on the calendar as it stands now, so a
    deadline counted provisionally follows the year's arrangement once it is entered (the
    event records what was said at the time)."""
    rule = book.regime(rulebook_name).objection
    days = (
        rule.accept_within_working_days
        if event.kind == "objection_filed"
        else rule.verify_within_working_days
    )
    return count_deadline(event.event_on, days, calendar)


def file_objection(
    session: Session,
    entry_id: int,
    data: s.ObjectionCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
    calendar: WorkdayCalendar | None = None,
) -> ListEntry:
    """The entity's objection (异议), within the rule's days of the listing's publication;
    the acceptance clock starts."""
    entry = get_entry(session, entry_id, for_update=True)
    if entry.state != EntryState.listed:
        raise Conflict("只能对已列入的记录提出异议", "only a listed entry can be objected to")
    if _pending_objection(session, entry):
        raise Conflict("已有尚未处理的异议", "an objection is already pending")
    rule = _objection_rule(entry, book)
    filed_on = _day(data.filed_on, clock, entry.decided_on, "异议")
    if (filed_on - entry.decided_on).days > rule.within_days:
        raise Invalid(
            f"异议须在列入决定公示之日起{rule.within_days}日内提出（{rule.legal_basis}）",
            f"an objection must be filed within {rule.within_days} days of the publication",
        )
    accept_by, provisional = count_deadline(filed_on, rule.accept_within_working_days, calendar)
    add_event(
        session,
        entry,
        "objection_filed",
        filed_on,
        user.username,
        clock,
        grounds=data.grounds,
        accept_by=accept_by,
        provisional=provisional,
    )
    record_change(
        session,
        user.username,
        "enforcement.objection.file",
        "list_entry",
        str(entry.id),
        {"on": filed_on, "accept_by": accept_by, "provisional": provisional},
        clock,
    )
    return entry


def accept_objection(
    session: Session,
    entry_id: int,
    data: s.ObjectionAcceptanceCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
    calendar: WorkdayCalendar | None = None,
) -> ListEntry:
    """Accept (受理) a filed objection — the verification clock starts — or refuse to accept
    it (不予受理, with the reason); late when past the acceptance deadline."""
    entry = get_entry(session, entry_id, for_update=True)
    events = objection_events(session, entry)
    if entry.state != EntryState.listed or objection_stage(events) != "filed":
        raise Conflict("没有待受理的异议", "there is no objection waiting to be accepted")
    on = _day(data.decided_on, clock, events[-1].event_on, "受理")
    accept_by, _ = step_deadline(entry.rulebook, events[-1], book, calendar)
    late = accept_by is not None and on > accept_by
    rule = _objection_rule(entry, book)
    detail: dict[str, Any] = {"reason": data.reason, "late": late, "accept_by": accept_by}
    if data.accepted:
        verify_by, provisional = count_deadline(on, rule.verify_within_working_days, calendar)
        detail |= {"verify_by": verify_by, "provisional": provisional}
    elif not data.reason:
        raise Invalid("不予受理须写明理由", "a refusal to accept needs its reason")
    kind = "objection_accepted" if data.accepted else "objection_refused"
    add_event(session, entry, kind, on, user.username, clock, **detail)
    record_change(
        session,
        user.username,
        f"enforcement.objection.{'accept' if data.accepted else 'refuse'}",
        "list_entry",
        str(entry.id),
        {"on": on, "late": late, "verify_by": detail.get("verify_by")},
        clock,
    )
    return entry


def decide_objection(
    session: Session,
    entry_id: int,
    data: s.ObjectionDecisionCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
    calendar: WorkdayCalendar | None = None,
) -> ListEntry:
    """The verification's outcome. Upheld: the listing is withdrawn (it never restricts);
    dismissed: it stays. An objection not yet accepted is accepted on the same day first
    (on record); late when past the verification deadline."""
    entry = get_entry(session, entry_id, for_update=True)
    events = objection_events(session, entry)
    stage = objection_stage(events)
    if entry.state != EntryState.listed or stage is None:
        raise Conflict("没有待处理的异议", "there is no pending objection")
    on = _day(data.decided_on, clock, events[-1].event_on, "异议处理")
    if stage == "filed":
        accept = s.ObjectionAcceptanceCreate(accepted=True, reason="", decided_on=on)
        accept_objection(
            session, entry_id, accept, user=user, clock=clock, book=book, calendar=calendar
        )
        events = objection_events(session, entry)
    verify_by, _ = step_deadline(entry.rulebook, events[-1], book, calendar)
    late = verify_by is not None and on > verify_by
    if data.outcome == "upheld":
        entry.state = EntryState.withdrawn
        session.add(entry)
    add_event(
        session,
        entry,
        f"objection_{data.outcome}",
        on,
        user.username,
        clock,
        reason=data.reason,
        late=late,
    )
    record_change(
        session,
        user.username,
        f"enforcement.objection.{data.outcome}",
        "list_entry",
        str(entry.id),
        {"on": on, "late": late},
        clock,
    )
    return entry


@dataclass
class ObjectionClock:
    """One open objection's current clock, for the reviewer's queue and the daily job."""

    entry_id: int
    uscc: str
    stage: str  # filed (to accept) / accepted (to verify)
    since: date
    due: date | None
    provisional: bool
    working_days_left: int | None
    overdue: bool


def objection_clocks(
    session: Session,
    today: date,
    calendar: WorkdayCalendar | None = None,
    *,
    entry_id: int | None = None,
    book: Rulebook | None = None,
) -> list[ObjectionClock]:
    """Every open objection (or ``entry_id``'s) with its current step's deadline, soonest
    first (counted on the calendar as it stands now: see `step_deadline`)."""
    cal = calendar or default_calendar()
    book = book or rulebook()
    # Each entry's last objection event: only "filed" or "accepted" leave a clock running.
    last = select(ListEvent.entry_id, func.max(ListEvent.seq).label("seq")).where(
        col(ListEvent.kind).in_(OBJECTION_EVENTS + OBJECTION_OUTCOMES)
    )
    if entry_id is not None:
        last = last.where(ListEvent.entry_id == entry_id)
    last_seq = last.group_by(ListEvent.entry_id).subquery()
    rows = session.exec(
        select(ListEvent, ListEntry.uscc, ListEntry.rulebook)
        .join(
            last_seq,
            (last_seq.c.entry_id == ListEvent.entry_id) & (last_seq.c.seq == ListEvent.seq),
        )
        .join(ListEntry, col(ListEntry.id) == ListEvent.entry_id)
        .where(
            col(ListEvent.kind).in_(("objection_filed", "objection_accepted")),
            ListEntry.state == EntryState.listed,
        )
    ).all()
    out = []
    for event, uscc, rulebook_name in rows:
        due, provisional = step_deadline(rulebook_name, event, book, cal)
        try:
            left = cal.working_days_between(today, due) if due else None
        except CalendarNotCovered:
            left = None
        out.append(
            ObjectionClock(
                entry_id=event.entry_id,
                uscc=uscc,
                stage="filed" if event.kind == "objection_filed" else "accepted",
                since=event.event_on,
                due=due,
                provisional=provisional,
                working_days_left=left,
                overdue=due is not None and today > due,
            )
        )
    return sorted(out, key=lambda c: (c.due is None, c.due or today, c.entry_id))


def remove(
    session: Session,
    entry_id: int,
    data: s.RemovalCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
    calendar: WorkdayCalendar | None = None,
) -> ListEntry:
    """Removal on correction, naming its evidence; late when past the rule's working days.

    Serious list: early removal on application (信用修复), not before the regime's minimum
    period, decided within `serious_removal_decide_within_working_days` of the application.
    """
    entry = get_entry(session, entry_id, for_update=True)
    if entry.state != EntryState.listed:
        raise Conflict(
            f"只有已列入的记录可以移出（当前：{entry.state}）",
            f"only a listed entry can be removed ({entry.state})",
        )
    regime = book.regime(entry.rulebook)
    if entry.list_kind == ListKind.abnormal:
        allowed = regime.reason(entry.reason_code).removal_evidence
    else:
        allowed = regime.serious_removal_evidence
    kinds = [e.kind for e in data.evidence]
    if not kinds:
        raise Invalid(
            f"移出须列明更正证据（{'、'.join(allowed)}）",
            f"a removal must name its correction evidence (one of: {', '.join(allowed)})",
        )
    wrong = [k for k in kinds if k not in allowed]
    if wrong:
        raise Invalid(
            f"更正证据种类 {'、'.join(wrong)} 不适用于该列入事由（可用：{'、'.join(allowed)}）",
            f"evidence kind(s) {', '.join(wrong)} do not fit this reason (use {', '.join(allowed)})",
        )
    applied_on = _day(data.applied_on, clock, entry.decided_on, "申请")
    removed_on = _day(data.decided_on, clock, applied_on, "移出")
    if entry.reason_code == "annual_report" and entry.source_ref.startswith("year:"):
        year = int(entry.source_ref.split(":")[1])
        if session.get(AnnualReport, (entry.uscc, year)) is None:
            raise Invalid(
                f"未查到{year}年度报告，不能以“已补报年报”移出",
                f"no annual report for {year} is on file; the correction is not shown",
            )
    deadline, provisional = None, False
    if entry.list_kind == ListKind.serious:
        early = regime.serious_early_removal_after_years
        if early is None:
            raise Conflict(
                f"{regime.rulebook}年制度不允许提前移出，期满自动移出（{entry.expires_on}）",
                f"the {regime.rulebook} regime allows no early removal (expires {entry.expires_on})",
            )
        if applied_on < add_years(entry.decided_on, early):
            raise Conflict(
                f"列入满{early}年后方可申请提前移出（{add_years(entry.decided_on, early)}起）",
                f"early removal may be applied for {early} year(s) after listing",
            )
        # 信用修复: decided within the regime's working days of the application.
        within = regime.serious_removal_decide_within_working_days
        if within is not None:
            deadline, provisional = count_deadline(applied_on, within, calendar)
    else:
        reason = regime.reason(entry.reason_code)
        start = applied_on
        if reason.removal_counts_from == "verification":
            # Unreachable / false information: counted from the verified correction.
            if data.verified_on is None:
                raise Invalid(
                    f"“{reason.label}”的移出期限自更正核实之日起算：请填写核实日期",
                    "this reason's removal deadline runs from the verification: give verified_on",
                )
            start = _day(data.verified_on, clock, applied_on, "核实")
            if start > removed_on:
                raise Invalid("核实日期不能晚于移出日期", "the verification is after the removal")
        deadline, provisional = count_deadline(start, reason.remove_within_working_days, calendar)
    entry.state = EntryState.removed
    entry.removal_applied_on = applied_on
    entry.removal_verified_on = data.verified_on
    entry.removal_deadline = deadline
    entry.removal_deadline_provisional = provisional
    entry.removed_on = removed_on
    entry.removal_no = data.decision_no
    entry.removal_reason = data.reason
    entry.removal_evidence = dump_detail({"evidence": [e.model_dump() for e in data.evidence]})
    entry.removal_late = deadline is not None and removed_on > deadline
    session.add(entry)
    session.flush()
    add_event(
        session,
        entry,
        "removed",
        removed_on,
        user.username,
        clock,
        decision_no=data.decision_no,
        evidence=kinds,
        late=entry.removal_late,
    )
    record_change(
        session,
        user.username,
        "enforcement.remove",
        "list_entry",
        str(entry.id),
        {
            "on": removed_on,
            "deadline": deadline,
            "deadline_provisional": provisional,
            "late": entry.removal_late,
            "evidence": kinds,
        },
        clock,
    )
    return entry


def expire_serious(session: Session, clock: Clock, *, actor: str = "system") -> int:
    """Serious-list entries whose period has run out are removed automatically (期满移出)."""
    today = clock.today()
    due = list(
        session.exec(
            select(ListEntry).where(
                ListEntry.list_kind == ListKind.serious,
                ListEntry.state == EntryState.listed,
                col(ListEntry.expires_on) <= today,
            )
        )
    )
    for entry in due:
        entry.state = EntryState.removed
        entry.removed_on = entry.expires_on
        entry.removal_reason = "列入期满自动移出"
        session.add(entry)
        session.flush()
        add_event(session, entry, "expired", entry.expires_on, actor, clock)
    if due:
        record_change(
            session,
            actor,
            "enforcement.expire",
            "list_entry",
            "serious",
            {"entries": [e.id for e in due]},
            clock,
        )
    return len(due)


# ---- many proposals decided as one act --------------------------------------------------------


@dataclass
class BulkOutcome:
    decided: list[tuple[int, str, str | None]] = field(default_factory=list)  # id, uscc, number
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # id, uscc, why (Chinese)


class BulkRefused(Conflict):
    """A bulk act that cannot be applied whole: nothing was written; ``refused`` says why, per
    entity."""

    def __init__(self, refused: list[tuple[int, str, str]]) -> None:
        super().__init__(
            f"{len(refused)} 条建议不能按本次决定处理，本次决定未执行（未写入任何记录）",
            f"{len(refused)} proposals cannot be decided; nothing was written",
            refused=[{"entry_id": i, "uscc": u, "reason": why} for i, u, why in refused],
        )
        self.refused = refused


def decision_number(prefix: str, n: int) -> str:
    """昌市监异列〔2026〕 + 15 → 昌市监异列〔2026〕15号."""
    return f"{prefix}{n}号"


def next_number(session: Session, prefix: str) -> int:
    """The next number of a decision-number series: one after the highest used."""
    used = session.exec(
        select(ListEntry.decision_no).where(
            col(ListEntry.decision_no).startswith(prefix, autoescape=True)
        )
    ).all()
    numbers = [
        int(n[len(prefix) : -1])
        for n in used
        if n and n.endswith("号") and n[len(prefix) : -1].isdigit()
    ]
    return max(numbers, default=0) + 1


def decide_many(
    session: Session,
    data: s.BulkDecisionCreate,
    *,
    user: User,
    clock: Clock,
    book: Rulebook,
) -> BulkOutcome:
    """Decide many proposals as one act (the July annual-report listings): the same decision,
    date, reason and basis; listing decisions numbered in a series from ``first_number``, one
    per entity, in the order of the entries' ids. Every entity gets its own decision record,
    event and audit row, exactly as if decided one by one.

    All or nothing: every proposal is checked first, and if any cannot be decided (already
    decided, fact after the decision date, reason not in its rulebook) — or a number of the
    series is already used — nothing is written and the refusals are listed per entity.
    ``skip_refused`` decides the others and reports the refused ones instead. Without a prefix
    the series is the year's (异列〔2026〕…号); without a first number it continues after the
    highest number the series has used."""
    ids = sorted(set(data.entry_ids))
    entries: dict[int, ListEntry] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for e in session.exec(
            select(ListEntry).where(col(ListEntry.id).in_(chunk)).with_for_update()
        ):
            entries[e.id] = e
    out = BulkOutcome()
    day = _day(data.decided_on, clock, None, "决定")
    for entry_id in ids:
        entry = entries.get(entry_id)
        if entry is None:
            out.refused.append((entry_id, "", "没有这条记录"))
            continue
        why = None
        if entry.state != EntryState.proposed:
            why = "已作出决定，不能再次决定"
        elif day < entry.fact_on:
            why = f"决定日期早于事实日期 {entry.fact_on}"
        else:
            try:
                reason_or_refuse(
                    book.regime(entry.rulebook), entry.list_kind, entry.reason_code, entry.fact_on
                )
            except DomainError as exc:
                why = exc.zh
            why = why or authority_refusal(session, entry, data.decision, user, book, day)
        if why:
            out.refused.append((entry_id, entry.uscc, why))
    if out.refused and not data.skip_refused:
        raise BulkRefused(out.refused)
    refused = {r[0] for r in out.refused}
    todo = [i for i in ids if i not in refused]
    numbers: list[str | None] = [None] * len(todo)
    if not todo:  # every one refused and skipped: nothing to decide, nothing to number
        return out
    if data.decision == "list":
        kinds = {entries[i].list_kind for i in todo}
        prefix = data.decision_no_prefix or (
            f"异列〔{day.year}〕" if kinds == {ListKind.abnormal} else f"列〔{day.year}〕"
        )
        first = data.first_number or next_number(session, prefix)
        numbers = [decision_number(prefix, first + k) for k in range(len(todo))]
        used = set()
        for i in range(0, len(numbers), 500):
            used |= set(
                session.exec(
                    select(ListEntry.decision_no).where(
                        col(ListEntry.decision_no).in_(numbers[i : i + 500])
                    )
                ).all()
            )
        if used:
            raise Conflict(
                f"决定书文号已被使用：{'、'.join(sorted(used)[:5])}{'等' if len(used) > 5 else ''}，本次决定未执行",
                f"decision numbers already used: {', '.join(sorted(used)[:5])}",
            )
    events, audit_rows = [], []
    for entry_id, number in zip(todo, numbers, strict=True):
        entry = entries[entry_id]
        one = s.DecisionCreate(
            decision=data.decision,
            reason=data.reason,
            decision_no=number,
            decided_on=day,
            legal_basis=data.legal_basis,
            authority=data.authority,
        )
        kind, detail = _apply_decision(entry, one, day, user=user, book=book)
        session.add(entry)
        events.append((entry, kind, day, detail))
        audit_rows.append(_audit(entry, one, user))
        out.decided.append((entry_id, entry.uscc, number))
    session.flush()
    add_events(session, events, user.username, clock)
    record_changes(session, audit_rows, clock)
    record_change(
        session,
        user.username,
        f"enforcement.decide_bulk.{data.decision}",
        "list_entry",
        f"{todo[0]}…{todo[-1]}" if todo else "none",
        {
            "decided": len(out.decided),
            "refused": len(out.refused),
            "first": numbers[0] if numbers else None,
            "last": numbers[-1] if numbers else None,
            "on": day,
        },
        clock,
    )
    return out
