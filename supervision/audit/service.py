"""Append to and verify the audit chain: hash = H(prev_hash + canonical record)."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from supervision.audit.models import AuditEntry
from supervision.clock import Clock, SystemClock

GENESIS = "0" * 64


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _entry_hash(prev_hash: str, record: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(record)).encode()).hexdigest()


def _record(entry: AuditEntry) -> dict[str, Any]:
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
    last = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    entry = AuditEntry(
        at=(clock or SystemClock()).now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_key=str(object_key),
        payload=_canonical(payload or {}),
        prev_hash=prev,
        hash="",
    )
    entry.hash = _entry_hash(prev, _record(entry))
    session.add(entry)
    session.flush()
    return entry


@dataclass
class ChainReport:
    ok: bool
    entries: int
    first_bad_id: int | None = None
    reason: str | None = None


def verify_chain(session: Session) -> ChainReport:
    prev = GENESIS
    n = 0
    for entry in session.exec(select(AuditEntry).order_by(AuditEntry.id)):
        n += 1
        if entry.prev_hash != prev:
            return ChainReport(False, n, entry.id, "prev_hash does not match the previous row")
        if _entry_hash(prev, _record(entry)) != entry.hash:
            return ChainReport(False, n, entry.id, "hash does not match the row's content")
        prev = entry.hash
    return ChainReport(True, n)
