"""Candidates for a person's decision: zombie enterprises, revocation, compulsory deregistration.

The rulebook in force today says what to look for; the product proposes with the evidence and
people decide (wake up / revocation proposal / public notice / dismissed). Finding is bulk
(INSERT … SELECT) where it runs over the whole registry, and idempotent: one candidate per
entity and finding (`basis_key`).

Zombie findings (kind `zombie`, the rulebook's `zombie` section):
- `missed:Y1-Y2` — N consecutive missed annual reports (工商企监字〔2016〕97号), and, where
  the tax office's filings were imported for the entity, no tax return in those years;
- `not_opened` — an enterprise in business with no opening date N months after establishment;
- `ceased:DATE` — an enterprise in business (not lawfully suspended) that stopped trading on
  DATE, N months ago or more (《公司法》 Art. 260).
Compulsory deregistration (`revoked`): revoked on `revoked_on`, still revoked after the rule's
years; an entity without a revocation date is never proposed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.audit.service import record_change
from supervision.calendar.dates import add_months, add_years, last_due_years
from supervision.clock import Clock
from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    CandidateKind,
    EnforcementCandidate,
    EntryState,
    ListEntry,
    ListKind,
)
from supervision.enforcement.rulebook import RegimeFile, Rulebook, TradingRule
from supervision.errors import Conflict, Invalid, NotFound
from supervision.registry.models import (
    REPORTING_STATUSES,
    AnnualReport,
    Entity,
    EntityStatus,
    TaxFiling,
)

DECISIONS = {
    CandidateKind.zombie: ("wake_up", "revocation_proposal", "dismissed"),
    CandidateKind.revocation: ("revocation_proposal", "dismissed"),
    CandidateKind.compulsory_deregistration: ("notice", "dismissed"),
}


def dump_detail(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def last_day_with(ok: Callable[[date], bool], today: date) -> date:
    """The latest day d ≤ today with ok(d), for ok true up to a day and false after it.

    Turns "d + period ≤ today" into "d ≤ cutoff", which SQL compares directly, exactly as
    the calendar arithmetic (month ends, 29 February) decides it.
    """
    hi = today.toordinal()
    if ok(today):
        return today
    lo = hi - 366 * 11  # periods are at most ten years: ok there
    while hi - lo > 1:  # ok(lo), not ok(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(date.fromordinal(mid)) else (lo, mid)
    return date.fromordinal(lo)


def _spliced(evidence: dict[str, Any], columns: dict[str, Any]) -> Any:
    """SQL text of the evidence JSON with each entity's column values spliced in.

    The fixed part is dumped once (keys sorted, like `dump_detail`), with a marker where each
    column's value goes; the marker's JSON string is replaced by the column cast to text.
    """
    marks = {name: f"@@{name}@@" for name in columns}
    text = dump_detail({**evidence, **marks})
    places = sorted((text.index(f'"{mark}"'), name) for name, mark in marks.items())
    expr: Any = None
    start = 0
    for at, name in places:
        piece = literal(text[start:at] + '"', String) + cast(columns[name], String)
        expr = piece if expr is None else expr + piece
        start = at + len(marks[name]) + 2
        expr = expr + literal('"', String)
    return expr + literal(text[start:], String)


def _no_reports(years: list[int]):
    """No annual report for any of the years, and obliged to report for all of them."""
    return [
        ~exists().where(AnnualReport.uscc == Entity.uscc, col(AnnualReport.year).in_(years)),
        Entity.established_on <= date(years[0], 12, 31),
    ]


def _insert_found(
    session: Session,
    *,
    kind: CandidateKind,
    basis_key: Any,
    regime: RegimeFile,
    today: date,
    evidence: Any,
    where: list[Any],
) -> int:
    """INSERT … SELECT one candidate per matching entity not yet found for this basis."""
    c = EnforcementCandidate.__table__.c
    source = sa_select(
        literal(kind.value, c.kind.type),
        Entity.uscc,
        basis_key if not isinstance(basis_key, str) else literal(basis_key, String),
        literal(regime.rulebook, String),
        literal(today, c.found_on.type),
        evidence,
        literal("open", String),
    ).where(*where, _not_found_yet(kind, basis_key))
    columns = ["kind", "uscc", "basis_key", "rulebook", "found_on", "evidence", "state"]
    stmt = insert(EnforcementCandidate).from_select(columns, source)
    return (
        session.connection().execute(stmt, execution_options={"preserve_rowcount": True}).rowcount
    )


def _not_found_yet(kind: CandidateKind, basis_key: Any):
    c = EnforcementCandidate.__table__.c
    return ~exists().where(c.uscc == Entity.uscc, c.kind == kind, c.basis_key == basis_key)


NEXT_STEP = "书面通知并实地核查：唤醒、规范或依法吊销"
NEXT_STEP_TRADING = "实地核查经营情况：唤醒、规范或依法吊销营业执照（依法办理歇业的除外）"


def _years_text(years: list[int]) -> str:
    return "、".join(str(y) for y in years)


def _tax_evidence(years: list[int], with_data: list[int], checked: bool) -> dict[str, Any]:
    """What the tax data says for the years (with data: no return was filed in them)."""
    if not checked:
        return {"checked": False, "note": "本制度不核对纳税申报情况，仅依据年报认定"}
    without = [y for y in years if y not in with_data]
    if not with_data:
        note = f"未导入{_years_text(years)}年度的纳税申报数据，仅依据年报认定"
    elif not without:
        note = f"纳税申报数据显示{_years_text(years)}年度均未申报"
    else:
        note = (
            f"纳税申报数据显示{_years_text(with_data)}年度未申报；"
            f"{_years_text(without)}年度无纳税申报数据"
        )
    return {"checked": True, "not_filed": with_data, "no_data": without, "note": note}


def zombie_candidates(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> int:
    """Entities (in business or suspended) with N consecutive missed annual reports.

    With the rule's `check_tax_returns`, an entity whose imported tax filings show a return in
    one of the years is left out; for the others the evidence says, year by year, whether tax
    data showed no return or was not available (then the reports decide alone).
    """
    today = clock.today()
    regime = book.regime_on(today)
    rule = regime.zombie
    if rule is None:
        return 0
    years = last_due_years(today, rule.consecutive_missed_reports)
    key = f"missed:{years[0]}-{years[-1]}"
    tax = TaxFiling.__table__.c

    def evidence(with_data: list[int]) -> str:
        return dump_detail(
            {
                "finding": "missed_annual_reports",
                "missing_annual_reports": years,
                "tax_returns": _tax_evidence(years, with_data, rule.check_tax_returns),
                "legal_basis": rule.legal_basis,
                "next_step": NEXT_STEP,
            }
        )

    conditions = [col(Entity.status).in_(REPORTING_STATUSES), *_no_reports(years)]
    if rule.check_tax_returns:
        conditions.append(
            ~exists().where(tax.uscc == Entity.uscc, tax.year.in_(years), tax.filed.is_(True))
        )
        # Which of the years have tax data, as a bit mask → one of 2^N evidence texts.
        # (Integers inline: PostgreSQL need not infer a parameter's type inside CASE.)
        mask: Any = literal_column("0", Integer)
        for bit, year in enumerate(years):
            has = exists().where(tax.uscc == Entity.uscc, tax.year == year)
            mask = mask + case(
                (has, literal_column(str(1 << bit), Integer)), else_=literal_column("0", Integer)
            )
        texts = {
            m: evidence([y for bit, y in enumerate(years) if m >> bit & 1])
            for m in range(1 << len(years))
        }
        evidence_expr: Any = case(
            {m: literal(text, String) for m, text in texts.items()}, value=mask
        )
    else:
        evidence_expr = literal(evidence([]), String)
    n = _insert_found(
        session,
        kind=CandidateKind.zombie,
        basis_key=key,
        regime=regime,
        today=today,
        evidence=evidence_expr,
        where=conditions,
    )
    if n:
        record_change(
            session, actor, "enforcement.candidates.zombie", "candidate", key, {"created": n}, clock
        )
    return n


def _trading_rule(book: Rulebook, today: date, name: str) -> tuple[RegimeFile, TradingRule | None]:
    regime = book.regime_on(today)
    return regime, getattr(regime.zombie, name) if regime.zombie else None


def not_opened_candidates(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> int:
    """Enterprises in business with no opening date more than N months after establishment.

    《公司法》 Art. 260: not opened more than six months after establishment without good
    reason. An entity with a self-suspension date evidently opened and is left to the
    ceased-trading finding. Lawfully suspended (歇业) entities are not in business.

    No opening date alone is not enough: registries imported before the date was kept have
    none for anyone. The finding also needs no sign of business at all: no annual report ever
    filed and no tax return ever filed (where tax data was imported).
    """
    today = clock.today()
    regime, rule = _trading_rule(book, today, "not_opened")
    if rule is None:
        return 0
    cutoff = last_day_with(lambda d: add_months(d, rule.months) < today, today)
    key = "not_opened"
    evidence = _spliced(
        {
            "finding": "not_opened",
            "opened_on": None,
            "annual_reports_filed": 0,
            "tax_returns_filed": 0,
            "months": rule.months,
            "established_on_or_before": cutoff,
            "legal_basis": rule.legal_basis,
            "next_step": NEXT_STEP_TRADING,
        },
        {"established_on": Entity.established_on},
    )
    n = _insert_found(
        session,
        kind=CandidateKind.zombie,
        basis_key=key,
        regime=regime,
        today=today,
        evidence=evidence,
        where=[
            Entity.status == EntityStatus.active,
            col(Entity.entity_type).in_(rule.entity_types),
            col(Entity.opened_on).is_(None),
            col(Entity.ceased_trading_on).is_(None),
            Entity.established_on <= cutoff,
            ~exists().where(AnnualReport.uscc == Entity.uscc),
            ~exists().where(TaxFiling.uscc == Entity.uscc, col(TaxFiling.filed).is_(True)),
        ],
    )
    if n:
        record_change(
            session,
            actor,
            "enforcement.candidates.zombie_not_opened",
            "candidate",
            key,
            {"created": n, "established_on_or_before": cutoff},
            clock,
        )
    return n


def ceased_trading_candidates(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> int:
    """Enterprises in business that stopped trading N months ago or more without a 歇业 filing.

    《公司法》 Art. 260: self-suspended for six consecutive months or more, unless a lawful
    suspension (歇业, status `suspended`) was filed. One candidate per entity and date the
    trading stopped (`ceased:DATE`).
    """
    today = clock.today()
    regime, rule = _trading_rule(book, today, "ceased_trading")
    if rule is None:
        return 0
    cutoff = last_day_with(lambda d: add_months(d, rule.months) <= today, today)
    key = literal("ceased:", String) + cast(Entity.ceased_trading_on, String)
    evidence = _spliced(
        {
            "finding": "ceased_trading",
            "months": rule.months,
            "status": "active",
            "legal_basis": rule.legal_basis,
            "next_step": NEXT_STEP_TRADING,
        },
        {"ceased_trading_on": Entity.ceased_trading_on},
    )
    n = _insert_found(
        session,
        kind=CandidateKind.zombie,
        basis_key=key,
        regime=regime,
        today=today,
        evidence=evidence,
        where=[
            Entity.status == EntityStatus.active,
            col(Entity.entity_type).in_(rule.entity_types),
            col(Entity.ceased_trading_on).is_not(None),
            Entity.ceased_trading_on <= cutoff,
        ],
    )
    if n:
        record_change(
            session,
            actor,
            "enforcement.candidates.zombie_ceased_trading",
            "candidate",
            "ceased",
            {"created": n, "ceased_on_or_before": cutoff},
            clock,
        )
    return n


def all_zombie_candidates(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> dict[str, int]:
    """Every zombie finding of the rulebook in force; candidates created per finding."""
    return {
        "zombie": zombie_candidates(session, clock, book, actor=actor),
        "zombie_not_opened": not_opened_candidates(session, clock, book, actor=actor),
        "zombie_ceased_trading": ceased_trading_candidates(session, clock, book, actor=actor),
    }


def deregistration_candidates(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> int:
    """Revoked on `revoked_on`, still revoked when the rule's years have passed → notice.

    An entity without a revocation date is skipped: the time of its last change says nothing
    about when its licence was revoked.
    """
    today = clock.today()
    regime = book.regime_on(today)
    rule = regime.compulsory_deregistration
    if rule is None:
        return 0
    cutoff = last_day_with(lambda d: add_years(d, rule.revoked_years) <= today, today)
    notice_days, legal_basis = rule.notice_on(today)
    evidence = _spliced(
        {
            "status": "revoked",
            "revoked_years": rule.revoked_years,
            "notice_days": notice_days,
            "legal_basis": legal_basis,
        },
        {"revoked_on": Entity.revoked_on},
    )
    n = _insert_found(
        session,
        kind=CandidateKind.compulsory_deregistration,
        basis_key="revoked",
        regime=regime,
        today=today,
        evidence=evidence,
        where=[
            Entity.status == EntityStatus.revoked,
            col(Entity.entity_type).in_(rule.entity_types),
            col(Entity.revoked_on).is_not(None),
            Entity.revoked_on <= cutoff,
            *(
                [or_(*(col(Entity.name).contains(mark) for mark in rule.name_marks))]
                if rule.name_marks
                else []
            ),
        ],
    )
    if n:
        record_change(
            session,
            actor,
            "enforcement.candidates.deregistration",
            "candidate",
            "revoked",
            {"created": n, "revoked_on_or_before": cutoff},
            clock,
        )
    return n


def revocation_candidates(
    session: Session,
    clock: Clock,
    book: Rulebook,
    *,
    regime: RegimeFile | None = None,
    actor: str = "system",
) -> int:
    """2024/2025: N consecutive missed annual reports + still listed + unreachable → candidate."""
    today = clock.today()
    regime = regime or book.regime_on(today)
    rule = regime.escalation.revocation_candidate
    if rule is None:
        return 0
    years = last_due_years(today, rule.consecutive_missed_reports)
    key = f"missed:{years[0]}-{years[-1]}"
    also = []
    if rule.also_listed_for is not None:
        other = aliased(ListEntry)
        also.append(
            exists(
                sa_select(other.id).where(
                    other.uscc == ListEntry.uscc,
                    other.list_kind == ListKind.abnormal,
                    other.state == EntryState.listed,
                    other.reason_code == rule.also_listed_for,
                )
            )
        )
    rows = session.execute(
        sa_select(ListEntry.id, ListEntry.uscc, ListEntry.decision_no, ListEntry.decided_on)
        .join(Entity, Entity.uscc == ListEntry.uscc)
        .where(
            ListEntry.list_kind == ListKind.abnormal,
            ListEntry.state == EntryState.listed,
            ListEntry.reason_code == rule.requires_reason,
            col(Entity.status).in_(REPORTING_STATUSES),
            col(Entity.entity_type).in_(rule.entity_types),
            *_no_reports(years),
            *also,
            _not_found_yet(CandidateKind.revocation, key),
        )
        .order_by(ListEntry.id)
    ).all()
    seen: set[str] = set()
    for entry_id, uscc, decision_no, decided_on in rows:
        if uscc in seen:
            continue
        seen.add(uscc)
        session.add(
            EnforcementCandidate(
                kind=CandidateKind.revocation,
                uscc=uscc,
                basis_key=key,
                rulebook=regime.rulebook,
                found_on=today,
                evidence=dump_detail(
                    {
                        "missing_annual_reports": years,
                        "listed_entry": entry_id,
                        "decision_no": decision_no,
                        "listed_on": decided_on,
                        "reason": rule.requires_reason,
                        "also_listed_for": rule.also_listed_for,
                        "legal_basis": rule.legal_basis,
                        "rule": f"{regime.rulebook}: 因未报送年报列入经营异常名录、连续两年未改正，"
                        "且经核查通过登记的住所无法联系",
                    }
                ),
            )
        )
    session.flush()
    if seen:
        record_change(
            session,
            actor,
            "enforcement.candidates.revocation",
            "candidate",
            key,
            {"created": len(seen)},
            clock,
        )
    return len(seen)


def get_candidate(session: Session, candidate_id: int) -> EnforcementCandidate:
    row = session.exec(
        select(EnforcementCandidate)
        .where(EnforcementCandidate.id == candidate_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"未找到候选记录 {candidate_id}", f"no candidate {candidate_id}")
    return row


def decide_candidate(
    session: Session,
    candidate_id: int,
    data: s.CandidateDecisionCreate,
    *,
    user: User,
    clock: Clock,
) -> EnforcementCandidate:
    row = get_candidate(session, candidate_id)
    if row.state != "open":
        raise Conflict("该候选记录已作出决定", "the candidate was already decided")
    allowed = DECISIONS[row.kind]
    if data.decision not in allowed:
        raise Invalid(
            f"此类候选的决定须为：{'、'.join(allowed)}",
            f"a {row.kind} candidate is decided as one of: {', '.join(allowed)}",
        )
    on = data.decided_on or clock.today()
    if on > clock.today() or on < row.found_on:
        raise Invalid("决定日期无效", f"decision date {on} is outside {row.found_on}–today")
    row.state = "decided"
    row.decision = data.decision
    row.decided_on = on
    row.decided_by = user.username
    row.decision_note = data.note
    session.add(row)
    session.flush()
    record_change(
        session,
        user.username,
        "enforcement.candidate.decide",
        "candidate",
        str(row.id),
        {"decision": data.decision, "on": on},
        clock,
    )
    return row


def candidate_out(
    session: Session, row: EnforcementCandidate, name: str | None = None
) -> s.CandidateStaff:
    """The candidate with its entity's name (looked up unless the caller joined it)."""
    if name is None:
        name = session.exec(select(Entity.name).where(Entity.uscc == row.uscc)).first() or ""
    fields = {
        k: getattr(row, k)
        for k in s.CandidateStaff.model_fields
        if k not in ("entity_name", "evidence")
    }
    return s.CandidateStaff(**fields, entity_name=name, evidence=json.loads(row.evidence))


def count_candidates(session: Session, *, state: str | None) -> dict[str, int]:
    """How many candidates of each kind (in the state, when given)."""
    t = EnforcementCandidate.__table__.c
    stmt = sa_select(t.kind, func.count()).group_by(t.kind)
    if state:
        stmt = stmt.where(t.state == state)
    return {str(k): n for k, n in session.execute(stmt)}


def list_candidates(
    session: Session,
    *,
    kind: CandidateKind | None,
    state: str | None,
    limit: int = 100,
    offset: int = 0,
) -> list[s.CandidateStaff]:
    stmt = (
        select(EnforcementCandidate, Entity.name)
        .join(Entity, Entity.uscc == EnforcementCandidate.uscc)
        .order_by(col(EnforcementCandidate.id).desc())
        .offset(offset)
        .limit(limit)
    )
    if kind:
        stmt = stmt.where(EnforcementCandidate.kind == kind)
    if state:
        stmt = stmt.where(EnforcementCandidate.state == state)
    return [candidate_out(session, row, name) for row, name in session.exec(stmt)]
