"""The draw: public entropy entered once, the sr1 draw over the frozen files, tasks and teams
persisted in the same transaction."""

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.draw import sr1
from supervision.errors import Conflict, NotFound
from supervision.planning import ceremony
from supervision.planning.ceremony import DEFAULT_RULES, CeremonyRules
from supervision.planning.freeze import active_commitment, frozen_pool
from supervision.planning.models import (
    Batch,
    BatchState,
    Commitment,
    Draw,
    Task,
    TaskMember,
    TaskState,
)
from supervision.planning.service import get_batch, sr1_refused
from supervision.registry.models import Entity, Inspector
from supervision.storage.service import get_bytes

# Once results are submitted, a task's team and place are part of the record.
RESULT_STATES = (TaskState.recorded, TaskState.reviewed, TaskState.published)


# ---- the draw ------------------------------------------------------------------------------


def sr1_draw(storage: Path, c: Commitment, entropy: list[str]) -> sr1.Draw:
    """The protocol's draw over the frozen files (sr1, or sr2 with its strata.tsv).

    The files were validated when the batch was frozen and are read back by their SHA-256,
    so pool.tsv and strata.tsv are only cut into columns here, a block at a time; the
    verifier, given the same files by anyone, validates them in full.
    """
    roster_bytes = get_bytes(storage, c.roster_sha256)
    conflicts_bytes = get_bytes(storage, c.conflicts_sha256)
    with _no_gc():
        return sr1.Draw(
            json.loads(c.params_json),
            entropy,
            frozen_pool(storage, c),
            sr1.parse_roster(roster_bytes),
            sr1.conflicts_by_entity(sr1.parse_conflicts(conflicts_bytes)),
        )


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic collector paused while a draw builds its million-entry columns: they hold
    no cycles, and scanning them again and again costs a second per million entities."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def with_facts(state: sr1.Draw, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Selected entries with their stratum and ticket, as the task rows record them."""
    out = []
    for entry in entries:
        stratum, ticket = state.task_facts(entry["uscc"])
        out.append({**entry, "stratum": stratum, "ticket": ticket})
    return out


def get_draw(session: Session, batch: Batch) -> Draw:
    draw = session.exec(select(Draw).where(Draw.batch_id == batch.id)).first()
    if draw is None:
        raise NotFound("该批次尚未抽取", "the batch has not been drawn")
    return draw


def enter_entropy(
    session: Session,
    code: str,
    entropy: list[str],
    *,
    actor: str,
    clock: Clock,
    storage: Path,
    rules: CeremonyRules = DEFAULT_RULES,
    witnesses: list[dict[str, str]] | None = None,
    late_reason: str | None = None,
    beacon_served: str | None = None,
) -> Draw:
    """Record the public entropy once and make the draw in the same transaction.

    From the announced ceremony on (`ceremony.check_entropy_time`); a beacon batch only from
    its committed round as served (``beacon_served``, checked here against the commitment,
    its BLS signature by the caller that fetched it), never from typed entropy."""
    batch = get_batch(session, code)
    if session.exec(select(Draw.id).where(Draw.batch_id == batch.id)).first():
        raise Conflict("该批次已抽取，熵值只能录入一次", "entropy was already entered")
    c = active_commitment(session, batch)
    if batch.state != BatchState.frozen or c is None:
        raise Conflict(
            "承诺尚未公示，不能录入熵值", "the commitment is not published; entropy refused"
        )
    late = ceremony.check_entropy_time(batch, clock.now(), rules, late_reason)
    people = ceremony.check_witnesses(witnesses or [])
    plan = sr1.parse_beacon_plan(json.loads(c.params_json)["entropy_plan"])
    if plan is not None and beacon_served is None:
        raise Conflict(
            "本批次以公共随机信标为熵来源：由系统在仪式时间获取承诺中的信标轮次，不接受人工录入",
            "a beacon batch is drawn from its committed round only; typed entropy refused",
        )
    if plan is None and beacon_served is not None:
        raise Conflict("本批次未承诺使用信标", "the batch did not commit to a beacon round")
    try:
        if plan is not None:
            entropy = [sr1.check_beacon_round(plan, _served(beacon_served or ""))]
        sr1.check_entropy(entropy)
        state = sr1_draw(storage, c, entropy)
    except sr1.Sr1Error as e:
        raise sr1_refused(e) from None
    selected = state.selected()
    draw = Draw(
        batch_id=batch.id,
        commitment_id=c.id,
        entropy_json=json.dumps(entropy, ensure_ascii=False),
        seed=state.seed,
        drawn_at=clock.now(),
        drawn_by=actor,
        selected_count=len(selected),
        unassigned_count=sum(1 for x in selected if x["unassigned"]),
        pairing_tickets=state.stats.inspector_tickets,
        witnesses_json=json.dumps(people, ensure_ascii=False),
        late_reason=late,
        beacon_json=beacon_served,
    )
    session.add(draw)
    try:
        session.flush()  # the unique batch_id refuses a concurrent second draw right here
    except IntegrityError:
        raise Conflict("该批次已抽取，熵值只能录入一次", "entropy was already entered") from None
    persist_tasks(session, batch, with_facts(state, selected), position0=0, entered_by_event=None)
    batch.state = BatchState.drawn
    session.add(batch)
    session.flush()
    record_change(
        session,
        actor,
        "planning.batch.draw",
        "batch",
        code,
        {
            "commitment": c.commitment,
            "seed": state.seed,
            "entropy": entropy,
            "selected": len(selected),
            "unassigned": draw.unassigned_count,
            "witnesses": len(people),
            "late_reason": late,
        },
        clock,
    )
    return draw


def _served(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise sr1.BeaconError("the beacon round as served is not JSON") from None


def ids_by_key(
    session: Session, id_column: Any, key_column: Any, keys: list[str]
) -> dict[str, int]:
    """Map natural keys (USCC, badge number) to row ids, in chunks that suit every backend."""
    out: dict[str, int] = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        out.update(
            session.execute(select(key_column, id_column).where(key_column.in_(chunk))).all()
        )
    return out


def persist_tasks(
    session: Session,
    batch: Batch,
    entries: list[dict[str, Any]],
    *,
    position0: int,
    entered_by_event: int | None,
) -> None:
    """Bulk-insert tasks and their team places (leader first); no ORM object per row."""
    if not entries:
        return
    usccs = [e["uscc"] for e in entries]
    entity_ids = ids_by_key(session, Entity.id, Entity.uscc, usccs)
    badges = sorted({i for e in entries for i in e["team"]})
    inspector_ids = ids_by_key(session, Inspector.id, Inspector.badge_no, badges)
    conn = session.connection()  # Core executemany: no ORM bookkeeping per row
    conn.execute(
        insert(Task.__table__),
        [
            {
                "batch_id": batch.id,
                "entity_id": entity_ids[e["uscc"]],
                "uscc": e["uscc"],
                "stratum": e["stratum"],
                "ticket": e["ticket"],
                "position": position0 + n,
                "entered_by_event": entered_by_event,
                "state": TaskState.unassigned if e["unassigned"] else TaskState.assigned,
                "understaffed": False,
            }
            for n, e in enumerate(entries)
        ],
    )
    task_ids = dict(
        session.execute(
            select(Task.uscc, Task.id).where(Task.batch_id == batch.id, Task.position >= position0)
        ).all()
    )
    members = [
        {
            "task_id": task_ids[e["uscc"]],
            "inspector_id": inspector_ids[badge],
            "badge_no": badge,
            "position": pos,
            "active": True,
            "joined_event": entered_by_event,
        }
        for e in entries
        for pos, badge in enumerate(e["team"])
    ]
    if members:
        conn.execute(insert(TaskMember.__table__), members)
