"""Candidates for a person's decision: zombie enterprises, revocation, compulsory deregistration.

The rulebook in force today says what to look for; the product proposes with the evidence and
people decide (wake up / revocation proposal / public notice / dismissed). Finding is bulk
(INSERT … SELECT) where it runs over the whole registry, and idempotent: one candidate per
entity and finding (`basis_key`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

from sqlalchemy import String, exists, insert, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    CandidateKind,
    EnforcementCandidate,
    EntryState,
    ListEntry,
    ListKind,
)
from supervision.enforcement.rulebook import RegimeFile, Rulebook
from supervision.enforcement.service import REPORTING_STATUSES, add_years, last_due_years
from supervision.errors import Conflict, Invalid, NotFound
from supervision.registry.models import AnnualReport, Entity, EntityStatus

DECISIONS = {
    CandidateKind.zombie: ("wake_up", "revocation_proposal", "dismissed"),
    CandidateKind.revocation: ("revocation_proposal", "dismissed"),
    CandidateKind.compulsory_deregistration: ("notice", "dismissed"),
}


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def _no_reports(years: list[int]):
    """No annual report for any of the years, and obliged to report for all of them."""
    return [
        ~exists().where(AnnualReport.uscc == Entity.uscc, col(AnnualReport.year).in_(years)),
        Entity.established_on <= date(years[0], 12, 31),
    ]


def _bulk_insert(session: Session, source) -> int:
    columns = ["kind", "uscc", "basis_key", "rulebook", "found_on", "evidence", "state"]
    stmt = insert(EnforcementCandidate).from_select(columns, source)
    return (
        session.connection().execute(stmt, execution_options={"preserve_rowcount": True}).rowcount
    )


def _not_found_yet(kind: CandidateKind, basis_key: str):
    c = EnforcementCandidate.__table__.c
    return ~exists().where(c.uscc == Entity.uscc, c.kind == kind, c.basis_key == basis_key)


def zombie_candidates(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> int:
    """Entities (in business or suspended) with N consecutive missed annual reports."""
    today = clock.today()
    regime = book.regime_on(today)
    rule = regime.zombie
    if rule is None:
        return 0
    years = last_due_years(today, rule.consecutive_missed_reports)
    key = f"missed:{years[0]}-{years[-1]}"
    c = EnforcementCandidate.__table__.c
    evidence = {
        "missing_annual_reports": years,
        "legal_basis": rule.legal_basis,
        "next_step": "书面通知并实地核查：唤醒、规范或依法吊销",
    }
    source = sa_select(
        literal(CandidateKind.zombie.value, c.kind.type),
        Entity.uscc,
        literal(key, String),
        literal(regime.rulebook, String),
        literal(today, c.found_on.type),
        literal(_dump(evidence), String),
        literal("open", String),
    ).where(
        col(Entity.status).in_(REPORTING_STATUSES),
        *_no_reports(years),
        _not_found_yet(CandidateKind.zombie, key),
    )
    n = _bulk_insert(session, source)
    if n:
        record_change(
            session, actor, "enforcement.candidates.zombie", "candidate", key, {"created": n}, clock
        )
    return n


def deregistration_candidates(
    session: Session, clock: Clock, book: Rulebook, *, actor: str = "system"
) -> int:
    """Revoked but not deregistered for the rule's years → compulsory-deregistration notice.

    The registry keeps no separate revocation date, so the time of the entity's last change
    (which set it to revoked) stands for it; the evidence says so for the person deciding.
    """
    today = clock.today()
    regime = book.regime_on(today)
    rule = regime.compulsory_deregistration
    if rule is None:
        return 0
    c = EnforcementCandidate.__table__.c
    cutoff = add_years(today, -rule.revoked_years)
    evidence = {
        "status": "revoked",
        "revoked_before": cutoff,
        "revoked_since_source": "registry: time of the last change to the entity (status revoked)",
        "notice_days": rule.notice_days,
        "legal_basis": rule.legal_basis,
    }
    source = sa_select(
        literal(CandidateKind.compulsory_deregistration.value, c.kind.type),
        Entity.uscc,
        literal("revoked", String),
        literal(regime.rulebook, String),
        literal(today, c.found_on.type),
        literal(_dump(evidence), String),
        literal("open", String),
    ).where(
        Entity.status == EntityStatus.revoked,
        col(Entity.updated_at) < datetime.combine(cutoff, time(), tzinfo=UTC),
        _not_found_yet(CandidateKind.compulsory_deregistration, "revoked"),
    )
    n = _bulk_insert(session, source)
    if n:
        record_change(
            session,
            actor,
            "enforcement.candidates.deregistration",
            "candidate",
            "revoked",
            {"created": n},
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
    rows = session.execute(
        sa_select(ListEntry.id, ListEntry.uscc, ListEntry.decision_no, ListEntry.decided_on)
        .join(Entity, Entity.uscc == ListEntry.uscc)
        .where(
            ListEntry.list_kind == ListKind.abnormal,
            ListEntry.state == EntryState.listed,
            ListEntry.reason_code == rule.requires_reason,
            col(Entity.status).in_(REPORTING_STATUSES),
            *_no_reports(years),
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
                evidence=_dump(
                    {
                        "missing_annual_reports": years,
                        "listed_entry": entry_id,
                        "decision_no": decision_no,
                        "listed_on": decided_on,
                        "reason": rule.requires_reason,
                        "rule": f"{regime.rulebook}: 连续两年未报送年报、仍在经营异常名录、无法联系",
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
    session: Session, candidate_id: int, data: s.CandidateDecisionIn, *, user: User, clock: Clock
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


def candidate_out(session: Session, row: EnforcementCandidate) -> s.CandidateOut:
    name = session.exec(select(Entity.name).where(Entity.uscc == row.uscc)).first() or ""
    fields = {
        k: getattr(row, k)
        for k in s.CandidateOut.model_fields
        if k not in ("entity_name", "evidence")
    }
    return s.CandidateOut(**fields, entity_name=name, evidence=json.loads(row.evidence))


def list_candidates(
    session: Session,
    *,
    kind: CandidateKind | None,
    state: str | None,
    limit: int = 100,
    offset: int = 0,
) -> list[s.CandidateOut]:
    stmt = (
        select(EnforcementCandidate)
        .order_by(col(EnforcementCandidate.id).desc())
        .offset(offset)
        .limit(limit)
    )
    if kind:
        stmt = stmt.where(EnforcementCandidate.kind == kind)
    if state:
        stmt = stmt.where(EnforcementCandidate.state == state)
    return [candidate_out(session, r) for r in session.exec(stmt)]
