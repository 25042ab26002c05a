"""Append to and verify the audit chain: hash = H(prev_hash + canonical record)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from supervision.audit.models import AuditAnchor, AuditEntry
from supervision.clock import Clock, SystemClock

GENESIS = "0" * 64
# The advisory lock that serialises appends to the chain on PostgreSQL ("audit" in ASCII).
AUDIT_LOCK_KEY = 0x6175646974


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _entry_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(record)).encode()).hexdigest()


def _record(entry: Any) -> dict[str, Any]:
    """The hashed content of a row (an AuditEntry, or a row of its columns)."""
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_key": entry.object_key,
        "payload": entry.payload,
    }


def record_change(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_key: str,
    payload: dict[str, Any] | None = None,
    clock: Clock | None = None,
) -> AuditEntry:
    """Append one audit row in the caller's transaction."""
    return record_changes(session, [(actor, action, object_type, object_key, payload)], clock)[0]


def record_changes(
    session: Session,
    changes: list[tuple[str, str, str, str, dict[str, Any] | None]],
    clock: Clock | None = None,
) -> list[AuditEntry]:
    """Append one audit row per (actor, action, object_type, object_key, payload), chained in
    order from the current last row, in the caller's transaction (one read, one flush: a bulk
    act of thousands of decisions still gets one row each).

    Writers take turns: on PostgreSQL a transaction-scoped advisory lock is held from here to
    the commit, so two transactions never extend the chain from the same row (the unique
    `prev_hash` would refuse the second — an error a user should never see); on SQLite the
    writing transaction itself is exclusive.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    last = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    at = (clock or SystemClock()).now()
    rows = []
    for actor, action, object_type, object_key, payload in changes:
        entry = AuditEntry(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_key=str(object_key),
            payload=_canonical(payload or {}),
            prev_hash=prev,
            hash="",
        )
        entry.hash = _entry_hash(prev, _record(entry))
        prev = entry.hash
        rows.append(entry)
    session.add_all(rows)
    session.flush()
    return rows


def audit_head(session: Session) -> int:
    """The id of the chain's last row (0 when empty): every audited change moves it, so it
    versions whatever is drawn from audited state."""
    return session.execute(select(func.max(AuditEntry.id))).scalar_one() or 0


@dataclass
class ChainReport:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str | None = None
    anchors_checked: int = 0


@dataclass(frozen=True)
class Anchor:
    """A published head: the row id, how many rows the chain had up to it, and its hash."""

    anchored_on: str
    entry_id: int
    entries: int
    hash: str


def verify_chain(session: Session, anchors: list[Anchor] | None = None) -> ChainReport:
    """Walk the chain from the genesis: each row must hash its predecessor and its own
    content. With ``anchors`` (the published heads: the database's own, or a copy someone
    kept), each must still be in the chain — the same row, at the same position, with the
    same hash — so a truncated tail, or a tail rewritten with recomputed hashes, is caught."""
    by_id = {a.entry_id: a for a in anchors or []}
    prev = GENESIS
    n = 0
    found: set[int] = set()
    columns = (
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_key,
        AuditEntry.payload,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    # Plain rows, streamed: the nightly walk of a long chain builds no ORM object per row.
    rows = session.execute(
        select(*columns).order_by(AuditEntry.id).execution_options(yield_per=10_000)
    )
    for entry in rows:
        n += 1
        if entry.prev_hash != prev:
            return ChainReport(False, n, entry.id, "prev_hash does not match the previous row")
        if _entry_hash(prev, _record(entry)) != entry.hash:
            return ChainReport(False, n, entry.id, "hash does not match the row's content")
        anchor = by_id.get(entry.id)
        if anchor is not None:
            found.add(entry.id)
            if anchor.hash != entry.hash or anchor.entries != n:
                return ChainReport(
                    False,
                    n,
                    entry.id,
                    f"the head published on {anchor.anchored_on} (row {anchor.entry_id}, "
                    f"{anchor.hash[:16]}…) differs from the log: history was rewritten",
                )
        prev = entry.hash
    missing = sorted(set(by_id) - found)
    if missing:
        gone = by_id[missing[0]]
        return ChainReport(
            False,
            n,
            gone.entry_id,
            f"the head published on {gone.anchored_on} (row {gone.entry_id}) is no longer in "
            "the log: rows were deleted",
            anchors_checked=len(found),
        )
    seen = len(found)
    return ChainReport(True, n, anchors_checked=seen)


def list_entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_key: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AuditEntry], int]:
    """Audit rows, newest first, filtered by actor, action (or its prefix, "account."),
    object and time; with the total of the filter."""
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(
            col(AuditEntry.action).startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if object_key:
        stmt = stmt.where(AuditEntry.object_key == object_key)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.exec(
        stmt.order_by(col(AuditEntry.id).desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(rows), total


def actions(session: Session) -> list[str]:
    return sorted(session.exec(select(AuditEntry.action).distinct()).all())


def anchors(session: Session) -> list[Anchor]:
    """The published heads, oldest first."""
    return [
        Anchor(a.anchored_on.isoformat(), a.entry_id, a.entries, a.hash)
        for a in session.exec(select(AuditAnchor).order_by(AuditAnchor.anchored_on))
    ]


def anchor_head(session: Session, clock: Clock) -> AuditAnchor | None:
    """Publish today's head of the chain (once a day; nothing before the first row)."""
    today = clock.today()
    existing = session.exec(select(AuditAnchor).where(AuditAnchor.anchored_on == today)).first()
    if existing is not None:
        return existing
    last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    if last is None:
        return None
    count = session.exec(select(func.count()).select_from(AuditEntry)).one()
    row = AuditAnchor(
        anchored_on=today, entry_id=last.id, entries=count, hash=last.hash, published_at=clock.now()
    )
    session.add(row)
    session.flush()
    return row


def latest_anchor(session: Session) -> AuditAnchor | None:
    return session.exec(select(AuditAnchor).order_by(col(AuditAnchor.anchored_on).desc())).first()
