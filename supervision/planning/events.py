"""Events after the draw (sr1 events): a recusal replaces one inspector, a withdrawn entity
is replaced by the next ticket; each is chained into the published record."""

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.draw import sr1
from supervision.errors import Conflict
from supervision.planning.drawing import (
    RESULT_STATES,
    get_draw,
    ids_by_key,
    persist_tasks,
    sr1_draw,
)
from supervision.planning.models import (
    Batch,
    BatchState,
    Commitment,
    Draw,
    DrawEvent,
    Task,
    TaskMember,
    TaskState,
)
from supervision.planning.service import get_batch, sr1_refused
from supervision.registry.models import Inspector

# ---- events after the draw ----------------------------------------------------------------


def draw_events(session: Session, draw: Draw) -> list[DrawEvent]:
    """The recorded events of a draw, in chain order."""
    return list(
        session.exec(select(DrawEvent).where(DrawEvent.draw_id == draw.id).order_by(DrawEvent.seq))
    )


def draw_state(session: Session, batch: Batch, storage: Path) -> tuple[Draw, sr1.Draw]:
    """Rebuild the protocol state: the draw from the frozen files, then every recorded event."""
    draw = get_draw(session, batch)
    c = session.get(Commitment, draw.commitment_id)
    state = sr1_draw(storage, c, json.loads(draw.entropy_json))
    for row in draw_events(session, draw):
        state.apply_event(json.loads(row.event_json))
    return draw, state


def _apply_event(
    session: Session,
    code: str,
    event: dict[str, Any],
    *,
    actor: str,
    clock: Clock,
    storage: Path,
    note: str | None = None,
) -> DrawEvent:
    batch = get_batch(session, code)
    if batch.state not in (BatchState.drawn, BatchState.in_progress):
        raise Conflict("批次不在检查阶段，不能变更", f"batch is {batch.state}; no changes allowed")
    task = session.exec(
        select(Task).where(Task.batch_id == batch.id, Task.uscc == event["uscc"])
    ).first()
    if task is not None and task.state in RESULT_STATES:
        raise Conflict(
            "该对象的检查结果已提交，不能再变更检查组或撤出",
            "results were already submitted for this entity; its team and place are final",
        )
    draw, state = draw_state(session, batch, storage)
    seq = len(state.events) + 1
    event = {"seq": seq, **event}
    try:
        outcome = state.apply_event(event)
    except sr1.Sr1Error as e:
        raise sr1_refused(e) from None
    row = DrawEvent(
        draw_id=draw.id,
        seq=seq,
        event_json=sr1.canonical_json(event),
        outcome_json=sr1.canonical_json(outcome),
        chain=state.chain,
        at=clock.now(),
        actor=actor,
        note=note or None,
    )
    session.add(row)
    try:
        session.flush()  # unique (draw_id, seq): two concurrent events cannot share a place
    except IntegrityError:
        raise Conflict(
            "另一变更刚刚提交，请刷新后重试", "another change was just recorded"
        ) from None
    assert task is not None  # the protocol accepted the event, so the entity is a task here
    if event["type"] == "recuse":
        _record_recusal(session, task, event["inspector"], outcome["replacement"], seq)
    else:
        _record_withdrawal(session, batch, task, state, outcome, seq)
    session.flush()
    record_change(
        session,
        actor,
        f"planning.draw.{event['type']}",
        "batch",
        code,
        {"event": event, "outcome": outcome, "chain": state.chain},
        clock,
    )
    return row


def _record_recusal(
    session: Session, task: Task, inspector: str, replacement: str | None, seq: int
) -> None:
    place = session.exec(
        select(TaskMember).where(
            TaskMember.task_id == task.id,
            TaskMember.badge_no == inspector,
            TaskMember.active == True,  # noqa: E712
        )
    ).one()
    place.active = False
    place.left_event = seq
    session.add(place)
    if replacement is None:
        task.understaffed = True
        session.add(task)
        return
    new_id = ids_by_key(session, Inspector.id, Inspector.badge_no, [replacement])[replacement]
    session.add(
        TaskMember(
            task_id=task.id,
            inspector_id=new_id,
            badge_no=replacement,
            position=place.position,
            joined_event=seq,
        )
    )


def _record_withdrawal(
    session: Session, batch: Batch, task: Task, state: sr1.Draw, outcome: dict, seq: int
) -> None:
    task.state = TaskState.withdrawn
    session.add(task)
    session.execute(
        update(TaskMember)
        .where(col(TaskMember.task_id) == task.id, col(TaskMember.active) == True)  # noqa: E712
        .values(active=False, left_event=seq)
    )
    new = outcome.get("replacement_uscc")
    if new is None:
        return
    position = (
        session.exec(select(func.max(Task.position)).where(Task.batch_id == batch.id)).one() + 1
    )
    stratum, ticket = state.task_facts(new)
    entry = {
        "uscc": new,
        "stratum": stratum,
        "ticket": ticket,
        "team": outcome["team"],
        "unassigned": outcome["unassigned"],
    }
    persist_tasks(session, batch, [entry], position0=position, entered_by_event=seq)


def recuse(
    session: Session,
    code: str,
    uscc: str,
    inspector: str,
    reason: str,
    *,
    actor: str,
    clock: Clock,
    storage: Path,
    note: str | None = None,
) -> DrawEvent:
    """Record a recusal; ``reason`` (published, in the hash chain) is a category under the
    pages, the API and the CLI, ``note`` is the internal explanation."""
    event = {"type": "recuse", "uscc": uscc, "inspector": inspector, "reason": reason}
    return _apply_event(session, code, event, actor=actor, clock=clock, storage=storage, note=note)


def withdraw_entity(
    session: Session,
    code: str,
    uscc: str,
    reason: str,
    *,
    actor: str,
    clock: Clock,
    storage: Path,
) -> DrawEvent:
    event = {"type": "replace_entity", "uscc": uscc, "reason": reason}
    return _apply_event(session, code, event, actor=actor, clock=clock, storage=storage)
