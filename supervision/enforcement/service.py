"""The abnormal-operation and serious lists: proposals, decisions, objections, removals.

Proposals come from published results (`propose_from_results`), from the annual-report calendar
(`propose_annual_report_listings`, bulk), from escalation (`escalate`) and from people
(`propose`). A reviewer decides (`decisions`). Each fact of an entry is set once and every step is appended
as a ListEvent; each change writes one audit row. The regime of the rulebook in force on the
date of the fact (or, for escalation, of the day it is checked) decides. Services flush, never
commit.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    String,
    case,
    exists,
    func,
    insert,
    literal,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.audit.service import record_change
from supervision.calendar import CalendarNotCovered, WorkdayCalendar, default_calendar
from supervision.calendar.dates import REPORTING_DEADLINE
from supervision.clock import CHINA_TZ, Clock
from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    EntryState,
    ListEntry,
    ListEvent,
    ListKind,
)
from supervision.enforcement.rulebook import RegimeFile, Rulebook, rulebook
from supervision.errors import Conflict, Invalid, NotFound
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import Task
from supervision.registry.models import (
    ENTITY_TYPE_LABELS,
    REPORTING_STATUSES,
    AnnualReport,
    Entity,
    EntityType,
)

OPEN_STATES = (EntryState.proposed, EntryState.listed)


# ---- small helpers -------------------------------------------------------------------------


def count_deadline(
    day: date, n: int, calendar: WorkdayCalendar | None = None
) -> tuple[date | None, bool]:
    """(the n-th working day after ``day``, whether it was counted on a provisional calendar).

    A deadline reaching into a year whose official arrangement is not yet announced is counted
    on the statutory holidays and marked provisional (`WorkdayCalendar.provisional_between`);
    None only for a year the calendar can never count (before the library's first year).
    """
    cal = calendar or default_calendar()
    try:
        due = cal.working_days_after(day, n)
    except CalendarNotCovered:
        return None, False
    return due, cal.provisional_between(day, due)


def dump_detail(detail: dict[str, Any]) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


def _mode(regime: RegimeFile, kind: ListKind, entity_type: str) -> str:
    individual = entity_type == EntityType.individual
    if kind == ListKind.abnormal and individual and regime.individual_businesses == "mark":
        return "marked"
    return "listed"


def add_events(
    session: Session,
    events: list[tuple[ListEntry, str, date, dict[str, Any]]],
    actor: str,
    clock: Clock,
) -> list[ListEvent]:
    """One event per (entry, kind, day, detail), each numbered after its entry's last: the
    numbers read in one query and the rows written in one flush (a bulk decision)."""
    ids = [entry.id for entry, _, _, _ in events]
    last: dict[int, int] = {}
    for i in range(0, len(ids), 500):
        last.update(
            session.exec(
                select(ListEvent.entry_id, func.max(ListEvent.seq))
                .where(col(ListEvent.entry_id).in_(ids[i : i + 500]))
                .group_by(ListEvent.entry_id)
            ).all()
        )
    rows = []
    for entry, kind, on, detail in events:
        last[entry.id] = last.get(entry.id, 0) + 1
        rows.append(
            ListEvent(
                entry_id=entry.id,
                seq=last[entry.id],
                kind=kind,
                event_on=on,
                at=clock.now(),
                actor=actor,
                detail=dump_detail(detail),
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


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
        detail=dump_detail(detail),
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


def reason_or_refuse(regime: RegimeFile, kind: ListKind, code: str, on: date):
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


def new_entry(
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
    decide_by, provisional = None, False
    if kind == ListKind.abnormal:
        reason = regime.reason(reason_code)
        if entity.entity_type not in reason.entity_types:
            raise Invalid(
                f"列入事由“{reason.label}”不适用于{ENTITY_TYPE_LABELS.get(entity.entity_type, entity.entity_type)}"
                f"（{reason.legal_basis}）",
                f"the reason {reason_code!r} does not apply to a {entity.entity_type}",
            )
        if reason.order_days is None:
            decide_by, provisional = count_deadline(
                fact_on, reason.list_within_working_days, calendar
            )
        else:
            # Instant information: no listing (and no deadline) before a written order to
            # publish has gone unheeded (`decisions.record_order`).
            note = (note + "；" if note else "") + f"须先书面责令限期公示（{reason.order_basis}）"
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
        decide_by_provisional=provisional,
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
    reason_or_refuse(regime, data.list_kind, data.reason_code, data.fact_on)
    if _open_entry_exists(session, data.list_kind, entity.uscc, data.reason_code):
        raise Conflict(
            "该市场主体已有同一事由的待决定或已列入记录",
            "the entity already has an open entry for this reason",
        )
    entry = new_entry(
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
        # The fact was verified (查实) when the check was completed: the listing's 10 working
        # days run from that day, under the regime in force on it — not from the result's
        # publication, which may come up to 20 working days later.
        verified_on = completed_on or published_at.astimezone(CHINA_TZ).date()
        try:
            regime = book.regime_on(verified_on)
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
            if entity.entity_type not in regime.reason(reason).entity_types:
                continue  # e.g. instant information: individual businesses have no such duty
            entry = new_entry(
                session,
                kind=ListKind.abnormal,
                entity=entity,
                regime=regime,
                reason_code=reason,
                source="result",
                source_ref=ref,
                fact_on=verified_on,
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
    reason = reason_or_refuse(regime, ListKind.abnormal, "annual_report", period_end)
    reporting_year = year - 1
    ref = f"year:{reporting_year}"
    decide_by, provisional = count_deadline(period_end, reason.list_within_working_days, calendar)
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
        literal(provisional, t.decide_by_provisional.type),
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
        "decide_by_provisional",
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
        literal(dump_detail({"source": ref}), String),
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
