"""Reads of the lists: an entry's events and staff view, the lists by filter, an entity's
history, and the public entries (what the national credit system shows)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    String,
    and_,
    cast,
    func,
    literal,
    or_,
)
from sqlmodel import Session, col, select

from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    EntryState,
    ListEntry,
    ListEvent,
    ListKind,
)
from supervision.enforcement.rulebook import Rulebook
from supervision.enforcement.service import get_entity, reason_label
from supervision.inspection.models import ResultVersion
from supervision.planning.models import Batch, Task
from supervision.registry.models import Entity

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
    session: Session,
    entry: ListEntry,
    book: Rulebook,
    *,
    with_events: bool = True,
    name: str | None = None,
) -> s.ListEntryStaff:
    """The staff view of an entry (``name``: the entity's, when the caller read it already)."""
    if name is None:
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
    list_kind: ListKind | None,
    q: str | None,
    page: int,
    per_page: int,
    uscc: str | None = None,
) -> s.ListEntriesPublicPage:
    """Decided listings as published: listed and removed ones (never proposals or withdrawn);
    of one list, or (``list_kind=None``) of both — one entity's record."""
    conds = [col(ListEntry.state).in_((EntryState.listed, EntryState.removed))]
    if list_kind is not None:
        conds.append(ListEntry.list_kind == list_kind)
    if uscc:
        conds.append(ListEntry.uscc == uscc)
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
    rows = session.execute(
        base.order_by(col(ListEntry.decided_on).desc(), col(ListEntry.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    if page == 1 and len(rows) < per_page:
        total = len(rows)  # all of them fit on the first page: no need to count
    else:
        total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    items = [
        s.ListEntryPublic(
            list_kind=e.list_kind,
            entity_name=name,
            uscc=e.uscc,
            reason=reason_label(book, e),
            listed_on=e.decided_on,
            decision_no=e.decision_no or "",
            authority=e.authority or "",
            legal_basis=e.legal_basis or "",
            removed_on=e.removed_on,
            removal_no=e.removal_no,
            removal_reason=e.removal_reason,
        )
        for e, name in rows
    ]
    return s.ListEntriesPublicPage(total=total, page=page, per_page=per_page, items=items)


# ---- the reviewer's queue of proposals ---------------------------------------------------------


@dataclass(frozen=True)
class ProposalFilter:
    list_kind: ListKind | None = None
    reason_code: str | None = None
    unit: str | None = None  # the entity's supervising unit
    batch: str | None = None  # proposals from the results of this batch
    due_before: date | None = None
    late_on: date | None = None  # only proposals past their deadline on this day


def _proposal_stmt(flt: ProposalFilter):
    stmt = (
        select(ListEntry.id)
        .join(Entity, Entity.uscc == ListEntry.uscc)
        .where(ListEntry.state == EntryState.proposed)
    )
    if flt.list_kind:
        stmt = stmt.where(ListEntry.list_kind == flt.list_kind)
    if flt.reason_code:
        stmt = stmt.where(ListEntry.reason_code == flt.reason_code)
    if flt.unit:
        stmt = stmt.where(Entity.supervising_unit == flt.unit)
    if flt.due_before:
        stmt = stmt.where(col(ListEntry.decide_by) <= flt.due_before)
    if flt.late_on:
        stmt = stmt.where(col(ListEntry.decide_by) < flt.late_on)
    if flt.batch:
        refs = (
            select(literal("result:") + cast(ResultVersion.id, String))
            .join(Task, Task.id == ResultVersion.task_id)
            .join(Batch, Batch.id == Task.batch_id)
            .where(Batch.code == flt.batch)
        )
        stmt = stmt.where(ListEntry.source == "result", col(ListEntry.source_ref).in_(refs))
    return stmt


def proposal_ids(session: Session, flt: ProposalFilter) -> list[int]:
    """Every pending proposal the filter selects (a bulk decision "by filter")."""
    return list(session.exec(_proposal_stmt(flt).order_by(ListEntry.id)))


def proposals(
    session: Session, book: Rulebook, flt: ProposalFilter, *, page: int, per_page: int
) -> tuple[list[s.ListEntryStaff], int]:
    """One page of pending proposals, soonest deadline first, and the filter's total."""
    ids = _proposal_stmt(flt)
    total = session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    rows = session.exec(
        select(ListEntry, Entity.name)
        .join(Entity, Entity.uscc == ListEntry.uscc)
        .where(col(ListEntry.id).in_(ids))
        .order_by(col(ListEntry.decide_by).is_(None), col(ListEntry.decide_by), ListEntry.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    out = [entry_out(session, e, book, with_events=False, name=name) for e, name in rows]
    return out, total
