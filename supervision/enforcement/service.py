"""The abnormal-operation and serious lists: proposals, decisions, objections, removals.

Proposals come from published results (`propose_from_results`), from the annual-report calendar
(`propose_annual_report_listings`, bulk), from escalation (`escalate`) and from people
(`propose`). A reviewer decides. Each fact of an entry is set once and every step is appended
as a ListEvent; each change writes one audit row. The regime of the rulebook in force on the
date of the fact (or, for escalation, of the day it is checked) decides. Services flush, never
commit.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    type_coerce,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.audit.service import record_change
from supervision.calendar import CalendarNotCovered, WorkdayCalendar, working_days_after
from supervision.calendar.dates import REPORTING_DEADLINE, add_months, add_years
from supervision.clock import CHINA_TZ, Clock
from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    EntryState,
    ListEntry,
    ListEvent,
    ListKind,
)
from supervision.enforcement.rulebook import RegimeFile, Rulebook, rulebook
from supervision.enforcement.zombies import revocation_candidates
from supervision.errors import Conflict, Invalid, NotFound
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import Task, TaskState
from supervision.registry.models import REPORTING_STATUSES, AnnualReport, Entity, EntityType

OPEN_STATES = (EntryState.proposed, EntryState.listed)
OBJECTION_DAYS = 30  # the listing decision names the right to object within 30 days


# ---- small helpers -------------------------------------------------------------------------


def deadline_or_none(day: date, n: int, calendar: WorkdayCalendar | None = None) -> date | None:
    """A working-day deadline, or None while the calendar of its year is not announced."""
    try:
        return working_days_after(day, n, calendar=calendar)
    except CalendarNotCovered:
        return None


def _dump(detail: dict[str, Any]) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


def _mode(regime: RegimeFile, kind: ListKind, entity_type: str) -> str:
    individual = entity_type == EntityType.individual
    if kind == ListKind.abnormal and individual and regime.individual_businesses == "mark":
        return "marked"
    return "listed"


def add_event(
    session: Session, entry: ListEntry, kind: str, on: date, actor: str, clock: Clock, **detail: Any
) -> ListEvent:
    seq = session.exec(
        select(func.coalesce(func.max(ListEvent.seq), 0)).where(ListEvent.entry_id == entry.id)
    ).one()
    event = ListEvent(
        entry_id=entry.id,
        seq=seq + 1,
        kind=kind,
        event_on=on,
        at=clock.now(),
        actor=actor,
        detail=_dump(detail),
    )
    session.add(event)
    session.flush()
    return event


def get_entry(session: Session, entry_id: int, *, for_update: bool = False) -> ListEntry:
    stmt = select(ListEntry).where(ListEntry.id == entry_id)
    if for_update:
        stmt = stmt.with_for_update()
    entry = session.exec(stmt).first()
    if entry is None:
        raise NotFound(f"未找到名录记录 {entry_id}", f"no list entry {entry_id}")
    return entry


def get_entity(session: Session, uscc: str) -> Entity:
    entity = session.exec(select(Entity).where(Entity.uscc == uscc)).first()
    if entity is None:
        raise NotFound(f"未找到市场主体 {uscc}", f"no entity {uscc}")
    return entity


def reason_label(book: Rulebook, entry: ListEntry) -> str:
    regime = book.regime(entry.rulebook)
    r = (
        regime.reason(entry.reason_code)
        if entry.list_kind == ListKind.abnormal
        else regime.serious_reason(entry.reason_code)
    )
    return r.label if r else entry.reason_code


def _reason_or_refuse(regime: RegimeFile, kind: ListKind, code: str, on: date):
    reason = regime.reason(code) if kind == ListKind.abnormal else regime.serious_reason(code)
    if reason is None:
        codes = [
            r.code
            for r in (
                regime.abnormal_reasons if kind == ListKind.abnormal else regime.serious_reasons
            )
        ]
        raise Invalid(
            f"{on} 施行的{regime.rulebook}年制度中没有列入事由“{code}”（可用：{'、'.join(codes)}）",
            f"the {regime.rulebook} regime in force on {on} has no {kind} reason {code!r} "
            f"(known: {', '.join(codes)})",
        )
    return reason


def _new_entry(
    session: Session,
    *,
    kind: ListKind,
    entity: Entity,
    regime: RegimeFile,
    reason_code: str,
    source: str,
    source_ref: str,
    fact_on: date,
    actor: str,
    clock: Clock,
    note: str = "",
    calendar: WorkdayCalendar | None = None,
) -> ListEntry:
    decide_by = None
    if kind == ListKind.abnormal:
        reason = regime.reason(reason_code)
        decide_by = deadline_or_none(fact_on, reason.list_within_working_days, calendar)
    entry = ListEntry(
        list_kind=kind,
        uscc=entity.uscc,
        reason_code=reason_code,
        rulebook=regime.rulebook,
        mode=_mode(regime, kind, entity.entity_type),
        state=EntryState.proposed,
        source=source,
        source_ref=source_ref,
        fact_on=fact_on,
        proposed_at=clock.now(),
        proposed_by=actor,
        decide_by=decide_by,
        note=note,
    )
    session.add(entry)
    session.flush()
    add_event(session, entry, "proposed", clock.today(), actor, clock, source=source_ref)
    return entry


def _open_entry_exists(session: Session, kind: ListKind, uscc: str, reason_code: str) -> bool:
    return (
        session.exec(
            select(ListEntry.id).where(
                ListEntry.list_kind == kind,
                ListEntry.uscc == uscc,
                ListEntry.reason_code == reason_code,
                col(ListEntry.state).in_(OPEN_STATES),
            )
        ).first()
        is not None
    )


# ---- proposals -----------------------------------------------------------------------------


def propose(
    session: Session, data: s.ProposalCreate, *, user: User, clock: Clock, book: Rulebook
) -> ListEntry:
    """A person's proposal, under the regime in force on the date of the fact."""
    entity = get_entity(session, data.uscc)
    if data.fact_on > clock.today():
        raise Invalid(
            f"事实日期 {data.fact_on} 晚于今天", f"fact date {data.fact_on} is in the future"
        )
    regime = book.regime_on(data.fact_on)
    _reason_or_refuse(regime, data.list_kind, data.reason_code, data.fact_on)
    if _open_entry_exists(session, data.list_kind, entity.uscc, data.reason_code):
        raise Conflict(
            "该市场主体已有同一事由的待决定或已列入记录",
            "the entity already has an open entry for this reason",
        )
    entry = _new_entry(
        session,
        kind=data.list_kind,
        entity=entity,
        regime=regime,
        reason_code=data.reason_code,
        source="manual",
        source_ref=f"manual:{data.fact_on.isoformat()}",
        fact_on=data.fact_on,
        actor=user.username,
        clock=clock,
        note=data.note,
    )
    record_change(
        session,
        user.username,
        "enforcement.propose",
        "list_entry",
        str(entry.id),
        {"list": entry.list_kind, "uscc": entry.uscc, "reason": entry.reason_code},
        clock,
    )
    return entry


def propose_from_results(
    session: Session,
    clock: Clock,
    book: Rulebook,
    *,
    actor: str = "system",
    calendar: WorkdayCalendar | None = None,
) -> int:
    """Proposals from published results whose codes the rulebook maps to a listing reason.

    One proposal per task and reason (a later correction of the same result proposes nothing
    new); none while the entity already has an open entry for that reason.
    """
    rows = session.execute(
        sa_select(
            Task.id,
            Task.uscc,
            ResultVersion.published_at,
            ResultVersion.completed_on,
            ResultLine.codes,
        )
        .join(ResultVersion, ResultVersion.task_id == Task.id)
        .join(ResultLine, ResultLine.version_id == ResultVersion.id)
        .where(ResultVersion.status == ResultStatus.published)
        .order_by(Task.id, ResultVersion.seq)
    ).all()
    done = {
        (u, r, ref)
        for u, r, ref in session.execute(
            select(ListEntry.uscc, ListEntry.reason_code, ListEntry.source_ref).where(
                ListEntry.source == "result"
            )
        )
    }
    created: list[int] = []
    for task_id, uscc, published_at, completed_on, codes in rows:
        published_on = published_at.astimezone(CHINA_TZ).date()
        try:
            regime = book.regime_on(published_on)
        except Conflict:
            continue
        for code in (c for c in codes.split(",") if c):
            reason = regime.reason_for_result(code)
            ref = f"task:{task_id}"
            if reason is None or (uscc, reason, ref) in done:
                continue
            done.add((uscc, reason, ref))
            if _open_entry_exists(session, ListKind.abnormal, uscc, reason):
                continue
            entity = get_entity(session, uscc)
            entry = _new_entry(
                session,
                kind=ListKind.abnormal,
                entity=entity,
                regime=regime,
                reason_code=reason,
                source="result",
                source_ref=ref,
                # Listed within 10 working days after verification: the publication.
                fact_on=published_on,
                actor=actor,
                clock=clock,
                note=f"检查结果代码 {code}（完结日期 {completed_on}）",
                calendar=calendar,
            )
            created.append(entry.id)
    if created:
        record_change(
            session,
            actor,
            "enforcement.propose.results",
            "list_entry",
            "results",
            {"entries": created},
            clock,
        )
    return len(created)


def propose_annual_report_listings(
    session: Session,
    clock: Clock,
    year: int,
    *,
    book: Rulebook | None = None,
    actor: str = "system",
    calendar: WorkdayCalendar | None = None,
) -> int:
    """Propose listing every entity with no annual report for `year - 1` after 30 June `year`.

    Bulk: one INSERT … SELECT for the entries and one for their first events, so a million
    entities never become ORM objects. Entities established after the reporting year, and those
    already proposed for that year, are skipped; running it twice proposes nothing new.
    """
    book = book or rulebook()
    period_end = date(year, *REPORTING_DEADLINE)
    if clock.today() <= period_end:
        raise Conflict(
            f"{year - 1}年度报告的报送期限（{period_end}）尚未届满",
            f"the reporting period for {year - 1} ends on {period_end}",
        )
    regime = book.regime_on(period_end + timedelta(days=1))
    reason = _reason_or_refuse(regime, ListKind.abnormal, "annual_report", period_end)
    reporting_year = year - 1
    ref = f"year:{reporting_year}"
    decide_by = deadline_or_none(period_end, reason.list_within_working_days, calendar)
    t = ListEntry.__table__.c
    mode: Any = literal("listed", String)
    if regime.individual_businesses == "mark":
        mode = case(
            (Entity.entity_type == EntityType.individual, "marked"),
            else_="listed",
        )
    already = exists().where(
        t.uscc == Entity.uscc,
        t.list_kind == ListKind.abnormal,
        t.reason_code == reason.code,
        t.source_ref == ref,
    )
    filed = exists().where(AnnualReport.uscc == Entity.uscc, AnnualReport.year == reporting_year)
    now = clock.now()
    source = sa_select(
        literal(ListKind.abnormal.value, t.list_kind.type),
        Entity.uscc,
        literal(reason.code, String),
        literal(regime.rulebook, String),
        mode,
        literal(EntryState.proposed.value, t.state.type),
        literal("annual_report", String),
        literal(ref, String),
        literal(period_end, t.fact_on.type),
        literal(now, t.proposed_at.type),
        literal(actor, String),
        literal(decide_by, t.decide_by.type),
        literal(f"{reporting_year}年度报告未按期报送", String),
    ).where(
        col(Entity.status).in_(REPORTING_STATUSES),
        Entity.established_on <= date(reporting_year, 12, 31),
        ~filed,
        ~already,
    )
    columns = [
        "list_kind",
        "uscc",
        "reason_code",
        "rulebook",
        "mode",
        "state",
        "source",
        "source_ref",
        "fact_on",
        "proposed_at",
        "proposed_by",
        "decide_by",
        "note",
    ]
    # Core execution keeping the driver's row count (SQLAlchemy drops it for INSERT).
    created = (
        session.connection()
        .execute(
            insert(ListEntry).from_select(columns, source),
            execution_options={"preserve_rowcount": True},
        )
        .rowcount
    )
    ev = ListEvent.__table__.c
    events = sa_select(
        t.id,
        literal(1),
        literal("proposed", String),
        literal(clock.today(), ev.event_on.type),
        literal(now, ev.at.type),
        literal(actor, String),
        literal(_dump({"source": ref}), String),
    ).where(
        t.source == "annual_report",
        t.source_ref == ref,
        ~exists().where(ev.entry_id == t.id),
    )
    session.connection().execute(
        insert(ListEvent).from_select(
            ["entry_id", "seq", "kind", "event_on", "at", "actor", "detail"], events
        )
    )
    session.flush()
    record_change(
        session,
        actor,
        "enforcement.propose.annual_reports",
        "list_entry",
        ref,
        {"created": created, "rulebook": regime.rulebook, "decide_by": decide_by},
        clock,
    )
    return created


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
    regime = book.regime(entry.rulebook)
    reason = _reason_or_refuse(regime, entry.list_kind, entry.reason_code, entry.fact_on)
    if data.decision == "list" and not data.decision_no:
        raise Invalid("列入决定须有决定书文号", "a listing decision needs its decision number")
    entry.decided_on = decided_on
    entry.decided_by = user.username
    entry.decision_reason = data.reason
    entry.decision_no = data.decision_no
    entry.decision_late = entry.decide_by is not None and decided_on > entry.decide_by
    if data.decision == "list":
        entry.state = EntryState.listed
        entry.legal_basis = data.legal_basis or reason.legal_basis
        entry.authority = data.authority or regime.authority_default
        if entry.list_kind == ListKind.serious:
            entry.expires_on = add_years(decided_on, reason.years)
    else:
        entry.state = EntryState.rejected
    session.add(entry)
    session.flush()
    add_event(
        session,
        entry,
        "listed" if data.decision == "list" else "rejected",
        decided_on,
        user.username,
        clock,
        decision_no=data.decision_no,
        reason=data.reason,
        late=entry.decision_late,
    )
    record_change(
        session,
        user.username,
        f"enforcement.decide.{data.decision}",
        "list_entry",
        str(entry.id),
        {"decision_no": data.decision_no, "on": decided_on, "late": entry.decision_late},
        clock,
    )
    return entry


def _pending_objection(session: Session, entry: ListEntry) -> bool:
    kinds = list(
        session.exec(
            select(ListEvent.kind)
            .where(ListEvent.entry_id == entry.id, col(ListEvent.kind).startswith("objection"))
            .order_by(ListEvent.seq)
        )
    )
    return bool(kinds) and kinds[-1] == "objection_filed"


def file_objection(
    session: Session, entry_id: int, data: s.ObjectionCreate, *, user: User, clock: Clock
) -> ListEntry:
    """The entity's objection (异议), within 30 days of the listing decision."""
    entry = get_entry(session, entry_id, for_update=True)
    if entry.state != EntryState.listed:
        raise Conflict("只能对已列入的记录提出异议", "only a listed entry can be objected to")
    if _pending_objection(session, entry):
        raise Conflict("已有尚未处理的异议", "an objection is already pending")
    filed_on = _day(data.filed_on, clock, entry.decided_on, "异议")
    if (filed_on - entry.decided_on).days > OBJECTION_DAYS:
        raise Invalid(
            f"异议须在列入决定作出之日起{OBJECTION_DAYS}日内提出",
            f"an objection must be filed within {OBJECTION_DAYS} days of the decision",
        )
    add_event(
        session, entry, "objection_filed", filed_on, user.username, clock, grounds=data.grounds
    )
    record_change(
        session,
        user.username,
        "enforcement.objection.file",
        "list_entry",
        str(entry.id),
        {"on": filed_on},
        clock,
    )
    return entry


def decide_objection(
    session: Session, entry_id: int, data: s.ObjectionDecisionCreate, *, user: User, clock: Clock
) -> ListEntry:
    """Upheld: the listing is withdrawn (it never restricts); dismissed: it stays."""
    entry = get_entry(session, entry_id, for_update=True)
    if entry.state != EntryState.listed or not _pending_objection(session, entry):
        raise Conflict("没有待处理的异议", "there is no pending objection")
    on = _day(data.decided_on, clock, entry.decided_on, "异议处理")
    if data.outcome == "upheld":
        entry.state = EntryState.withdrawn
        session.add(entry)
    add_event(
        session, entry, f"objection_{data.outcome}", on, user.username, clock, reason=data.reason
    )
    record_change(
        session,
        user.username,
        f"enforcement.objection.{data.outcome}",
        "list_entry",
        str(entry.id),
        {"on": on},
        clock,
    )
    return entry


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
    deadline = None
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
            deadline = deadline_or_none(applied_on, within, calendar)
    else:
        deadline = deadline_or_none(
            applied_on, regime.reason(entry.reason_code).remove_within_working_days, calendar
        )
    entry.state = EntryState.removed
    entry.removal_applied_on = applied_on
    entry.removal_deadline = deadline
    entry.removed_on = removed_on
    entry.removal_no = data.decision_no
    entry.removal_reason = data.reason
    entry.removal_evidence = _dump({"evidence": [e.model_dump() for e in data.evidence]})
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
        {"on": removed_on, "deadline": deadline, "late": entry.removal_late, "evidence": kinds},
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


# ---- escalation ----------------------------------------------------------------------------


def escalate(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> dict[str, int]:
    """Apply the escalation rule of the regime in force today.

    2014: an entry listed for 3 years gets the public reminder 60 days before, then a
    serious-list proposal (not before the reminder has run its 60 days). 2024/2025: no move;
    an entity still listed as unreachable with two consecutive missed annual reports becomes a
    revocation candidate (see zombies.revocation_candidates).
    """
    today = clock.today()
    regime = book.regime_on(today)
    out = {"reminders": 0, "serious_proposals": 0, "revocation_candidates": 0}
    move = regime.escalation.move_to_serious
    if move is not None:
        horizon = add_years(today + timedelta(days=move.reminder_days_before), -move.after_years)
        listed = list(
            session.exec(
                select(ListEntry)
                .where(
                    ListEntry.list_kind == ListKind.abnormal,
                    ListEntry.state == EntryState.listed,
                    ListEntry.mode == "listed",
                    col(ListEntry.decided_on) <= horizon,
                )
                .order_by(ListEntry.id)
            )
        )
        for entry in listed:
            due = add_years(entry.decided_on, move.after_years)
            reminder = session.exec(
                select(ListEvent.event_on).where(
                    ListEvent.entry_id == entry.id, ListEvent.kind == "reminder"
                )
            ).first()
            if reminder is None:
                add_event(
                    session,
                    entry,
                    "reminder",
                    today,
                    actor,
                    clock,
                    moves_on=due,
                    notice=f"列入经营异常名录将满{move.after_years}年，届时仍未履行相关义务的，"
                    "将列入严重违法企业名单",
                )
                out["reminders"] += 1
                continue
            if today < max(due, reminder + timedelta(days=move.reminder_days_before)):
                continue
            ref = f"entry:{entry.id}"
            if session.exec(
                select(ListEntry.id).where(
                    ListEntry.list_kind == ListKind.serious, ListEntry.source_ref == ref
                )
            ).first():
                continue
            entity = get_entity(session, entry.uscc)
            serious = _new_entry(
                session,
                kind=ListKind.serious,
                entity=entity,
                regime=regime,
                reason_code=move.serious_reason,
                source="escalation",
                source_ref=ref,
                fact_on=due,
                actor=actor,
                clock=clock,
                note=f"经营异常名录记录 {entry.id}（{entry.decision_no}）列入届满{move.after_years}年",
            )
            add_event(session, entry, "escalated", today, actor, clock, serious_entry=serious.id)
            out["serious_proposals"] += 1
    if regime.escalation.revocation_candidate is not None:
        out["revocation_candidates"] = revocation_candidates(
            session, clock, book, regime=regime, actor=actor
        )
    if any(out.values()):
        record_change(
            session, actor, "enforcement.escalate", "rulebook", regime.rulebook, out, clock
        )
    return out


# ---- risk feedback -------------------------------------------------------------------------


def _has_published_result(codes: tuple[str, ...], since: date, until: date) -> Any:
    """EXISTS: the entity's task has a current published result with one of `codes`, checked
    (完结日期) in [since, until).

    Only the latest published version of a task counts, so a correction that drops the code
    drops the match; drafts, submitted, returned and approved versions never count, nor
    withdrawn tasks. Index path per entity: task (entity_id) → result_version (task_id) →
    result_line (version_id); the later-version check uses unique (task_id, seq).
    """
    task = Task.__table__.alias("rf_task")
    version = ResultVersion.__table__.alias("rf_version")
    later = ResultVersion.__table__.alias("rf_later")
    line = ResultLine.__table__.alias("rf_line")
    # Lines store codes comma-joined ("A,B"): match whole codes, never "1" inside "10".
    comma = literal_column("','", String)
    padded = comma + line.c.codes + comma
    return exists().where(
        task.c.entity_id == Entity.id,
        task.c.state == TaskState.published.value,
        version.c.task_id == task.c.id,
        version.c.status == ResultStatus.published.value,
        version.c.completed_on >= since,
        version.c.completed_on < until,
        ~exists().where(
            later.c.task_id == version.c.task_id,
            later.c.seq > version.c.seq,
            later.c.status == ResultStatus.published.value,
        ),
        line.c.version_id == version.c.id,
        or_(*(padded.like(f"%,{code},%") for code in codes)),
    )


def stratum_risk_class(on: date, data_dir: Path | None = None) -> Any:
    """SQL expression: the risk class that places an entity in a pool's stratum.

    The entity's own class, unless a risk-feedback rule of the regime in force on `on` (the
    batch's first day) matches — then the rule's class; the first matching rule wins. A rule
    matches an entity on one of its lists now, or with a published result of one of its codes
    from a check completed within its months before `on`. Without rules, list entries or
    published results, it is exactly the entity's own class.
    """
    expr: Any = type_coerce(Entity.risk_class, String)
    try:
        regime = rulebook(data_dir).regime_on(on)
    except Conflict:
        return expr
    t = ListEntry.__table__.c
    if regime.risk_feedback:
        expr = cast(Entity.risk_class, String)  # PostgreSQL: CASE branches of one type
    for rule in reversed(regime.risk_feedback):
        matches: list[Any] = []
        if rule.lists:
            matches.append(
                exists().where(
                    t.uscc == Entity.uscc,
                    t.state == EntryState.listed,
                    t.list_kind.in_([ListKind(k) for k in rule.lists]),
                )
            )
        if rule.results and rule.within_months:
            since = add_months(on, -rule.within_months)
            matches.append(_has_published_result(rule.results, since, on))
        expr = case((or_(*matches), rule.risk_class), else_=expr)
    return expr


# ---- views ---------------------------------------------------------------------------------


def events_of(session: Session, entry: ListEntry) -> list[s.ListEventStaff]:
    return [
        s.ListEventStaff(
            seq=e.seq,
            kind=e.kind,
            on=e.event_on,
            at=e.at,
            actor=e.actor,
            detail=json.loads(e.detail),
        )
        for e in session.exec(
            select(ListEvent).where(ListEvent.entry_id == entry.id).order_by(ListEvent.seq)
        )
    ]


def entry_out(
    session: Session, entry: ListEntry, book: Rulebook, *, with_events: bool = True
) -> s.ListEntryStaff:
    name = session.exec(select(Entity.name).where(Entity.uscc == entry.uscc)).first() or ""
    fields = {
        k: getattr(entry, k)
        for k in s.ListEntryStaff.model_fields
        if k not in ("entity_name", "reason_label", "removal_evidence", "events")
    }
    evidence = json.loads(entry.removal_evidence)["evidence"] if entry.removal_evidence else None
    return s.ListEntryStaff(
        **fields,
        entity_name=name,
        reason_label=reason_label(book, entry),
        removal_evidence=evidence,
        events=events_of(session, entry) if with_events else [],
    )


def list_entries(
    session: Session,
    book: Rulebook,
    *,
    list_kind: ListKind | None = None,
    state: EntryState | None = None,
    uscc: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[s.ListEntryStaff]:
    stmt = select(ListEntry).order_by(col(ListEntry.id).desc()).offset(offset).limit(limit)
    if list_kind:
        stmt = stmt.where(ListEntry.list_kind == list_kind)
    if state:
        stmt = stmt.where(ListEntry.state == state)
    if uscc:
        stmt = stmt.where(ListEntry.uscc == uscc)
    return [entry_out(session, e, book, with_events=False) for e in session.exec(stmt)]


def history(session: Session, uscc: str, book: Rulebook) -> list[s.ListEntryStaff]:
    """An entity's full list history: every entry, each with its events, oldest first."""
    get_entity(session, uscc)
    entries = session.exec(select(ListEntry).where(ListEntry.uscc == uscc).order_by(ListEntry.id))
    return [entry_out(session, e, book) for e in entries]


def public_entries(
    session: Session,
    book: Rulebook,
    *,
    list_kind: ListKind,
    q: str | None,
    page: int,
    per_page: int,
) -> s.ListEntriesPublicPage:
    """Decided listings as published: listed and removed ones (never proposals or withdrawn)."""
    conds = [
        ListEntry.list_kind == list_kind,
        col(ListEntry.state).in_((EntryState.listed, EntryState.removed)),
    ]
    if q:
        conds.append(
            or_(
                col(Entity.name).contains(q, autoescape=True),
                col(ListEntry.uscc).startswith(q.upper(), autoescape=True),
            )
        )
    base = (
        select(ListEntry, Entity.name)
        .join(Entity, Entity.uscc == ListEntry.uscc)
        .where(and_(*conds))
    )
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(
        base.order_by(col(ListEntry.decided_on).desc(), col(ListEntry.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    items = [
        s.ListEntryPublic(
            list_kind=e.list_kind,
            entity_name=name,
            uscc=e.uscc,
            reason=reason_label(book, e),
            listed_on=e.decided_on,
            decision_no=e.decision_no or "",
            authority=e.authority or "",
            removed_on=e.removed_on,
            removal_reason=e.removal_reason,
        )
        for e, name in rows
    ]
    return s.ListEntriesPublicPage(total=total, page=page, per_page=per_page, items=items)


def now_date(at: datetime) -> date:
    return at.astimezone(CHINA_TZ).date()
