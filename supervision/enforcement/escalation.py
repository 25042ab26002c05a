"""Escalation: listings that reach their term become reminders, serious-list proposals or
revocation candidates, as the regime in force says."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.calendar.dates import add_years
from supervision.clock import Clock
from supervision.enforcement.models import (
    EntryState,
    ListEntry,
    ListEvent,
    ListKind,
)
from supervision.enforcement.rulebook import Rulebook
from supervision.enforcement.service import add_event, count_deadline, get_entity, new_entry
from supervision.enforcement.zombies import revocation_candidates

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
            serious = new_entry(
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
            if move.decide_within_working_days is not None:
                # 83号: decided within 10 working days of the three-year mark.
                serious.decide_by, serious.decide_by_provisional = count_deadline(
                    due, move.decide_within_working_days
                )
                session.add(serious)
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
