"""Plans, batches, freezing, the draw and its events — the database side of sr1.

The protocol itself lives in supervision.draw.sr1 (pure, standard library only); this module
feeds it the frozen files from storage and records what it returns. Services flush and never
commit: the caller's transaction makes a draw, its tasks and its audit row land together.
"""

import json
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.draw import sr1
from supervision.errors import Conflict, Invalid, NotFound
from supervision.planning import pool as pool_q
from supervision.planning import schemas as s
from supervision.planning.models import (
    Batch,
    BatchItem,
    BatchState,
    Commitment,
    Draw,
    DrawEvent,
    Plan,
    PlanChange,
    PlanState,
    Task,
    TaskMember,
    TaskState,
)
from supervision.registry.models import Department, Entity, InspectionItem, Inspector
from supervision.storage.service import get_bytes, put_bytes

DEFAULT_STRATUM_LABELS = {"A": "S1", "B": "S2", "C": "S3", "D": "S4"}
RISK_CLASSES = ("A", "B", "C", "D")
TSV = "text/tab-separated-values; charset=utf-8"
# Once results are submitted, a task's team and place are part of the record.
RESULT_STATES = (TaskState.recorded, TaskState.reviewed, TaskState.published)


def _sr1_refused(exc: sr1.Sr1Error) -> Invalid:
    return Invalid(f"不符合抽取协议：{exc}", f"refused by the sr1 protocol: {exc}")


# ---- plans ---------------------------------------------------------------------------------


def get_plan(session: Session, code: str) -> Plan:
    plan = session.exec(select(Plan).where(Plan.code == code)).first()
    if plan is None:
        raise NotFound(f"未找到抽查计划“{code}”", f"no plan {code!r}")
    return plan


def create_plan(session: Session, data: s.PlanCreate, *, actor: str, clock: Clock) -> Plan:
    if session.exec(select(Plan.id).where(Plan.code == data.code)).first():
        raise Conflict(f"计划编号“{data.code}”已存在", f"plan {data.code} exists")
    plan = Plan(**data.model_dump(), created_at=clock.now(), created_by=actor)
    session.add(plan)
    session.flush()
    record_change(session, actor, "planning.plan.create", "plan", data.code, {}, clock)
    return plan


def publish_plan(session: Session, code: str, *, actor: str, clock: Clock) -> Plan:
    plan = get_plan(session, code)
    if plan.state == PlanState.published:
        raise Conflict("该计划已公示", "plan already published")
    plan.state = PlanState.published
    plan.published_at = clock.now()
    session.add(plan)
    session.flush()
    record_change(session, actor, "planning.plan.publish", "plan", code, {}, clock)
    return plan


def add_plan_change(
    session: Session, code: str, data: s.PlanChangeCreate, *, actor: str, clock: Clock
) -> PlanChange:
    """Plan changes after publication are themselves published, in order, never edited."""
    plan = get_plan(session, code)
    change = PlanChange(plan_id=plan.id, at=clock.now(), actor=actor, description=data.description)
    session.add(change)
    session.flush()
    record_change(
        session, actor, "planning.plan.change", "plan", code, {"change_id": change.id}, clock
    )
    return change


def plan_changes(session: Session, plan: Plan) -> list[PlanChange]:
    return list(
        session.exec(
            select(PlanChange).where(PlanChange.plan_id == plan.id).order_by(PlanChange.id)
        )
    )


# ---- batches -------------------------------------------------------------------------------


def get_batch(session: Session, code: str) -> Batch:
    batch = session.exec(select(Batch).where(Batch.code == code)).first()
    if batch is None:
        raise NotFound(f"未找到抽查批次“{code}”", f"no batch {code!r}")
    return batch


def batch_items(session: Session, batch: Batch) -> list[str]:
    return list(
        session.exec(
            select(BatchItem.item_code)
            .where(BatchItem.batch_id == batch.id)
            .order_by(BatchItem.position)
        )
    )


def team_slots(batch: Batch) -> list[dict[str, Any]]:
    return json.loads(batch.team_json)


def team_groups(batch: Batch) -> list[str]:
    return sorted({slot["group"] for slot in team_slots(batch)})


def _check_batch_references(session: Session, data: s.BatchCreate, labels: dict[str, str]) -> None:
    unknown_strata = sorted(set(data.quotas) - set(labels))
    if unknown_strata:
        raise Invalid(
            f"分层须为信用风险分类 {'、'.join(labels)}，未知：{unknown_strata}",
            f"quota strata must be risk classes {sorted(labels)}; unknown {unknown_strata}",
        )
    departments = {data.initiating_department, *data.participating_departments}
    departments |= {slot.group for slot in data.team}
    for code in sorted(departments):
        if session.get(Department, code) is None:
            raise Invalid(f"部门“{code}”不存在", f"department {code!r} does not exist")
    for code in data.item_codes:
        if session.get(InspectionItem, code) is None:
            raise Invalid(f"抽查事项“{code}”不在事项清单中", f"item {code!r} is not on the list")


def _batch_settings(data: s.BatchCreate) -> dict[str, Any]:
    """The editable settings of a batch, as stored."""
    return {
        "name": data.name,
        "directed": data.filters.is_directed(),
        "initiating_department": data.initiating_department,
        "participating_departments": ",".join(sorted(set(data.participating_departments))),
        "filters_json": data.filters.model_dump_json(),
        "exclusion_json": data.exclusion.model_dump_json(),
        "quota_spec_json": json.dumps(
            {k: v.model_dump(exclude_none=True) for k, v in data.quotas.items()}, sort_keys=True
        ),
        "team_json": json.dumps([slot.model_dump() for slot in data.team]),
        "cross_unit": data.cross_unit,
        "max_load": data.max_load,
        "window_start": data.window_start,
        "window_end": data.window_end,
        "entropy_plan": data.entropy_plan,
    }


def _set_items(session: Session, batch: Batch, codes: list[str]) -> None:
    session.execute(delete(BatchItem).where(col(BatchItem.batch_id) == batch.id))
    for position, code in enumerate(codes):
        session.add(BatchItem(batch_id=batch.id, item_code=code, position=position))
    session.flush()


def create_batch(
    session: Session,
    plan_code: str,
    data: s.BatchCreate,
    *,
    actor: str,
    clock: Clock,
    stratum_labels: dict[str, str] | None = None,
) -> Batch:
    plan = get_plan(session, plan_code)
    if session.exec(select(Batch.id).where(Batch.code == data.code)).first():
        raise Conflict(f"批次编号“{data.code}”已存在", f"batch {data.code} exists")
    labels = stratum_labels or DEFAULT_STRATUM_LABELS
    _check_batch_references(session, data, labels)
    batch = Batch(
        plan_id=plan.id,
        code=data.code,
        created_at=clock.now(),
        created_by=actor,
        stratum_labels_json=json.dumps(labels, sort_keys=True),
        **_batch_settings(data),
    )
    session.add(batch)
    session.flush()
    _set_items(session, batch, data.item_codes)
    record_change(session, actor, "planning.batch.create", "batch", data.code, {}, clock)
    return batch


def revise_batch(
    session: Session, code: str, data: s.BatchCreate, *, actor: str, clock: Clock
) -> Batch:
    """Replace a draft's settings. Frozen batches are never edited: withdraw the commitment
    first (publicly, with a reason); the withdrawn commitment stays on record."""
    batch = get_batch(session, code)
    if batch.state != BatchState.draft:
        raise Conflict(
            "已冻结的批次不能修改，请先公开撤回承诺",
            "a frozen batch cannot be edited; withdraw first",
        )
    if data.code != code:
        raise Invalid("批次编号不能修改", "the batch code cannot change")
    _check_batch_references(session, data, pool_q.stratum_labels(batch))
    for key, value in _batch_settings(data).items():
        setattr(batch, key, value)
    session.add(batch)
    _set_items(session, batch, data.item_codes)
    record_change(session, actor, "planning.batch.revise", "batch", code, {}, clock)
    return batch


def quotas_for(batch: Batch, sizes: dict[str, int]) -> dict[str, int]:
    """Integer quota for every stratum present in the pool (ratios rounded up, capped)."""
    spec = json.loads(batch.quota_spec_json)
    labels = pool_q.stratum_labels(batch)
    quotas: dict[str, int] = {}
    for risk, label in labels.items():
        if label not in sizes:
            continue
        rule = spec.get(risk, {"count": 0})
        n = sizes[label]
        if "percent" in rule:
            quotas[label] = sr1.quota_from_ratio(n, rule["percent"])
        else:
            if rule["count"] > n:
                raise Invalid(
                    f"分层{risk}抽取数量{rule['count']}超过该层主体数{n}",
                    f"quota {rule['count']} for stratum {risk} exceeds its size {n}",
                )
            quotas[label] = rule["count"]
    return quotas


# ---- feasibility ---------------------------------------------------------------------------


@dataclass
class Feasibility:
    strata: dict[str, dict[str, int]]
    slots: list[dict[str, Any]]
    problems: list[dict[str, str]]  # refuse freezing
    warnings: list[dict[str, str]]  # shown to the planner, freezing allowed

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "strata": self.strata,
            "slots": self.slots,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def check_feasibility(session: Session, batch: Batch) -> Feasibility:
    """Before freezing: pool and quotas per stratum, and whether full teams can be formed."""
    sizes = pool_q.stratum_sizes(session, batch)
    problems: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    try:
        quotas = quotas_for(batch, sizes)
    except Invalid as e:
        problems.append({"zh": e.zh, "en": e.en})
        quotas = {}
    strata = {
        label: {"size": n, "quota": quotas.get(label, 0)} for label, n in sorted(sizes.items())
    }
    selected = sum(quotas.values())
    if not sizes:
        problems.append({"zh": "抽查范围内没有符合条件的市场主体", "en": "the pool is empty"})
    elif selected == 0:
        problems.append({"zh": "各分层抽取数量均为0", "en": "every quota is zero"})
    roster = pool_q.roster_records(session, batch, team_groups(batch))
    units = pool_q.unit_sizes(session, batch)
    slots: list[dict[str, Any]] = []
    for n, slot in enumerate(team_slots(batch)):
        eligible = [
            r
            for r in roster
            if r[1] == slot["group"]
            and (slot["qualification"] is None or slot["qualification"] in r[3].split(","))
        ]
        label = f"第{n + 1}组（{slot['group']}×{slot['count']}" + (
            f"，资格{slot['qualification']}）" if slot["qualification"] else "）"
        )
        info = {"slot": n + 1, **slot, "eligible": len(eligible)}
        slots.append(info)
        if len(eligible) < slot["count"]:
            problems.append(
                {
                    "zh": f"{label}仅有{len(eligible)}名符合条件的执法人员，无法组队",
                    "en": f"slot {n + 1} has {len(eligible)} eligible inspectors, needs {slot['count']}",
                }
            )
            continue
        if batch.cross_unit:
            short = {
                u: k
                for u, k in units.items()
                if sum(1 for r in eligible if r[2] != u) < slot["count"]
            }
            if short:
                affected = sum(short.values())
                warnings.append(
                    {
                        "zh": f"{label}：所所交叉规则下，{len(short)}个单位的{affected}户主体"
                        f"无足够的外单位执法人员，抽中后将无法组队",
                        "en": f"slot {n + 1}: {affected} entities in {len(short)} units lack "
                        "eligible inspectors from other units",
                    }
                )
        if batch.max_load is not None:
            capacity = len(eligible) * batch.max_load
            needed = selected * slot["count"]
            info["capacity"] = capacity
            if needed > capacity:
                warnings.append(
                    {
                        "zh": f"{label}：需要{needed}人次，但每人上限{batch.max_load}户，"
                        f"最多{capacity}人次，约{(needed - capacity) // slot['count']}户将无法组队",
                        "en": f"slot {n + 1}: {needed} places needed, capacity {capacity}",
                    }
                )
    conflicts = pool_q.conflict_records(session, batch, team_groups(batch))
    if conflicts:
        warnings.append(
            {
                "zh": f"回避声明{len(conflicts)}条已纳入抽取（仅公开其摘要）",
                "en": f"{len(conflicts)} declared conflicts apply (only their digest is published)",
            }
        )
    return Feasibility(strata, slots, problems, warnings)


# ---- freeze --------------------------------------------------------------------------------


def active_commitment(session: Session, batch: Batch) -> Commitment | None:
    return session.exec(
        select(Commitment)
        .where(Commitment.batch_id == batch.id, col(Commitment.withdrawn_at).is_(None))
        .order_by(col(Commitment.seq).desc())
    ).first()


def commitments(session: Session, batch: Batch) -> list[Commitment]:
    return list(
        session.exec(
            select(Commitment).where(Commitment.batch_id == batch.id).order_by(Commitment.seq)
        )
    )


def freeze_batch(
    session: Session, code: str, *, actor: str, clock: Clock, storage: Path
) -> tuple[Commitment, Feasibility]:
    """Write pool, roster and conflicts as sr1 files, compute and publish the commitment."""
    batch = get_batch(session, code)
    if batch.state != BatchState.draft:
        raise Conflict(
            f"批次处于“{batch.state}”状态，只有草稿可以冻结",
            f"batch is {batch.state}; only a draft can be frozen",
        )
    feas = check_feasibility(session, batch)
    if not feas.ok:
        raise Invalid(
            "可行性检查未通过：" + "；".join(p["zh"] for p in feas.problems),
            "feasibility check failed: " + "; ".join(p["en"] for p in feas.problems),
            problems=feas.problems,
        )
    groups = team_groups(batch)
    try:
        pool_bytes = sr1.encode_pool(pool_q.pool_records(session, batch))
        roster_bytes = sr1.encode_roster(pool_q.roster_records(session, batch, groups))
        conflicts_bytes = sr1.encode_conflicts(pool_q.conflict_records(session, batch, groups))
        base = {
            "protocol": sr1.PROTOCOL,
            "batch": batch.code,
            "quotas": {k: v["quota"] for k, v in feas.strata.items()},
            "team": team_slots(batch),
            "cross_unit": batch.cross_unit,
            "max_load": batch.max_load,
            "entropy_plan": batch.entropy_plan,
        }
        params = sr1.build_params(base, pool_bytes, roster_bytes, conflicts_bytes)
    except sr1.Sr1Error as e:
        raise _sr1_refused(e) from None
    digest = sr1.commitment(params)
    earlier = commitments(session, batch)
    if any(c.commitment == digest for c in earlier):
        raise Conflict(
            "新承诺与已撤回的承诺完全相同：请修改公告的熵来源（时间、地点）或其他参数后再冻结",
            "identical to a withdrawn commitment: change the announced entropy plan or inputs",
        )
    for data in (pool_bytes, roster_bytes, conflicts_bytes):
        put_bytes(session, storage, data, TSV, clock)
    seq = len(earlier) + 1
    row = Commitment(
        batch_id=batch.id,
        seq=seq,
        params_json=sr1.canonical_json(params),
        commitment=digest,
        pool_sha256=params["pool_sha256"],
        roster_sha256=params["roster_sha256"],
        conflicts_sha256=params["conflicts_sha256"],
        pool_size=params["pool_size"],
        feasibility_json=json.dumps(feas.to_dict(), ensure_ascii=False),
        published_at=clock.now(),
        published_by=actor,
    )
    session.add(row)
    batch.state = BatchState.frozen
    session.add(batch)
    session.flush()
    record_change(
        session,
        actor,
        "planning.batch.freeze",
        "batch",
        code,
        {"commitment": row.commitment, "seq": seq, "pool_size": row.pool_size},
        clock,
    )
    return row, feas


def withdraw_commitment(
    session: Session, code: str, reason: str, *, actor: str, clock: Clock
) -> Commitment:
    """Withdraw a published commitment before the draw; the batch returns to draft, on record."""
    batch = get_batch(session, code)
    current = active_commitment(session, batch)
    if batch.state != BatchState.frozen or current is None:
        raise Conflict(
            "只有已公示承诺、尚未抽取的批次可以撤回承诺",
            "only a frozen, not yet drawn batch can withdraw its commitment",
        )
    current.withdrawn_at = clock.now()
    current.withdrawn_by = actor
    current.withdrawn_reason = reason
    batch.state = BatchState.draft
    session.add_all([current, batch])
    session.flush()
    record_change(
        session,
        actor,
        "planning.batch.withdraw_commitment",
        "batch",
        code,
        {"commitment": current.commitment, "reason": reason},
        clock,
    )
    return current


# ---- the draw ------------------------------------------------------------------------------


def _frozen_inputs(storage: Path, c: Commitment) -> tuple[bytes, bytes, bytes]:
    return (
        get_bytes(storage, c.pool_sha256),
        get_bytes(storage, c.roster_sha256),
        get_bytes(storage, c.conflicts_sha256),
    )


def _sr1_draw(storage: Path, c: Commitment, entropy: list[str]) -> sr1.Draw:
    pool_bytes, roster_bytes, conflicts_bytes = _frozen_inputs(storage, c)
    return sr1.Draw(
        json.loads(c.params_json),
        entropy,
        sr1.parse_pool(pool_bytes),
        sr1.parse_roster(roster_bytes),
        sr1.conflicts_by_entity(sr1.parse_conflicts(conflicts_bytes)),
    )


def get_draw(session: Session, batch: Batch) -> Draw:
    draw = session.exec(select(Draw).where(Draw.batch_id == batch.id)).first()
    if draw is None:
        raise NotFound("该批次尚未抽取", "the batch has not been drawn")
    return draw


def enter_entropy(
    session: Session, code: str, entropy: list[str], *, actor: str, clock: Clock, storage: Path
) -> Draw:
    """Record the public entropy once and make the draw in the same transaction."""
    batch = get_batch(session, code)
    if session.exec(select(Draw.id).where(Draw.batch_id == batch.id)).first():
        raise Conflict("该批次已抽取，熵值只能录入一次", "entropy was already entered")
    c = active_commitment(session, batch)
    if batch.state != BatchState.frozen or c is None:
        raise Conflict(
            "承诺尚未公示，不能录入熵值", "the commitment is not published; entropy refused"
        )
    try:
        sr1.check_entropy(entropy)
        state = _sr1_draw(storage, c, entropy)
    except sr1.Sr1Error as e:
        raise _sr1_refused(e) from None
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
    )
    session.add(draw)
    try:
        session.flush()  # the unique batch_id refuses a concurrent second draw right here
    except IntegrityError:
        raise Conflict("该批次已抽取，熵值只能录入一次", "entropy was already entered") from None
    _persist_tasks(session, batch, selected, position0=0, entered_by_event=None)
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
        },
        clock,
    )
    return draw


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


def _persist_tasks(
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
    state = _sr1_draw(storage, c, json.loads(draw.entropy_json))
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
        raise _sr1_refused(e) from None
    row = DrawEvent(
        draw_id=draw.id,
        seq=seq,
        event_json=sr1.canonical_json(event),
        outcome_json=sr1.canonical_json(outcome),
        chain=state.chain,
        at=clock.now(),
        actor=actor,
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
    entry = {
        "uscc": new,
        "stratum": task.stratum,
        "ticket": sr1.entity_ticket(state.seed, new),
        "team": outcome["team"],
        "unassigned": outcome["unassigned"],
    }
    _persist_tasks(session, batch, [entry], position0=position, entered_by_event=seq)


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
) -> DrawEvent:
    event = {"type": "recuse", "uscc": uscc, "inspector": inspector, "reason": reason}
    return _apply_event(session, code, event, actor=actor, clock=clock, storage=storage)


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


# ---- bundle --------------------------------------------------------------------------------


def bundle_meta(session: Session, batch: Batch, draw: Draw) -> dict[str, Any]:
    plan = session.get(Plan, batch.plan_id)
    c = session.get(Commitment, draw.commitment_id)
    return {
        "batch_name": batch.name,
        "authority": plan.authority,
        "committed_at": c.published_at.isoformat(),
        "drawn_at": draw.drawn_at.isoformat(),
    }


@dataclass
class BundleFiles:
    bundle: dict[str, Any]
    pool: bytes
    roster: bytes
    conflicts: bytes


# Rebuilding a million-entity draw takes seconds; a bundle is fully determined by its
# commitment, seed, last chain link and meta, so recently served bundles are kept (the
# dicts only: the frozen files are read back from storage, which is fast). Never mutated.
_BUNDLE_CACHE: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()
_BUNDLE_CACHE_SIZE = 8


def export_bundle(session: Session, code: str, *, storage: Path) -> BundleFiles:
    """The sr1 bundle of a drawn batch as it stands now (events included)."""
    batch = get_batch(session, code)
    draw = get_draw(session, batch)
    c = session.get(Commitment, draw.commitment_id)
    meta = bundle_meta(session, batch, draw)
    events = draw_events(session, draw)
    key = (c.commitment, draw.seed, events[-1].chain if events else "", sr1.canonical_json(meta))
    if key in _BUNDLE_CACHE:
        _BUNDLE_CACHE.move_to_end(key)
    else:
        _BUNDLE_CACHE[key] = draw_state(session, batch, storage)[1].to_bundle(meta)
        if len(_BUNDLE_CACHE) > _BUNDLE_CACHE_SIZE:
            _BUNDLE_CACHE.popitem(last=False)
    return BundleFiles(_BUNDLE_CACHE[key], *_frozen_inputs(storage, c))


def write_bundle_dir(files: BundleFiles, out: Path, *, with_private: bool) -> None:
    """Write the bundle folder; conflicts.tsv only when asked (it is private)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "bundle.json").write_text(
        json.dumps(files.bundle, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    (out / "pool.tsv").write_bytes(files.pool)
    (out / "roster.tsv").write_bytes(files.roster)
    if with_private:
        (out / "conflicts.tsv").write_bytes(files.conflicts)
    elif (out / "conflicts.tsv").exists():
        (out / "conflicts.tsv").unlink()


def workload(session: Session, batch: Batch) -> list[dict[str, Any]]:
    """Entities per inspector in this batch (current teams), most loaded first."""
    rows = session.execute(
        select(TaskMember.badge_no, func.count())
        .join(Task, Task.id == TaskMember.task_id)
        .where(Task.batch_id == batch.id, TaskMember.active == True)  # noqa: E712
        .group_by(TaskMember.badge_no)
    ).all()
    counts = Counter(dict(rows))
    return [
        {"badge_no": b, "tasks": n} for b, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    ]


def task_rows(session: Session, batch: Batch) -> list[dict[str, Any]]:
    """Every task of a batch in selection order, with entity name and current team."""
    rows = session.exec(
        select(Task, Entity.name)
        .join(Entity, Entity.id == Task.entity_id)
        .where(Task.batch_id == batch.id)
        .order_by(Task.position)
    ).all()
    members = session.exec(
        select(TaskMember.task_id, TaskMember.badge_no, Inspector.name)
        .join(Task, Task.id == TaskMember.task_id)
        .join(Inspector, Inspector.id == TaskMember.inspector_id)
        .where(Task.batch_id == batch.id, TaskMember.active == True)  # noqa: E712
        .order_by(TaskMember.task_id, TaskMember.position)
    ).all()
    teams: dict[int, list[dict[str, str]]] = {}
    for task_id, badge, name in members:
        teams.setdefault(task_id, []).append({"badge_no": badge, "name": name})
    return [
        {
            "position": t.position,
            "uscc": t.uscc,
            "entity_name": name,
            "stratum": t.stratum,
            "ticket": t.ticket,
            "state": t.state,
            "understaffed": t.understaffed,
            "team": teams.get(t.id, []),
        }
        for t, name in rows
    ]
