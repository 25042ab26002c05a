"""Plans and batches: creating, revising, publishing — the planner's commands before a freeze.

The draw's database side is in `feasibility`, `freeze`, `drawing`, `events` and `bundle`; the
protocol itself lives in supervision.draw.sr1 (pure, standard library only). Services flush and
never commit: the caller's transaction makes a draw, its tasks and its audit row land together.
"""

import json
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.draw import sr1
from supervision.errors import Conflict, Invalid, NotFound
from supervision.planning import ceremony
from supervision.planning import pool as pool_q
from supervision.planning import schemas as s
from supervision.planning.ceremony import DEFAULT_RULES, CeremonyRules
from supervision.planning.models import (
    Batch,
    BatchItem,
    BatchState,
    Plan,
    PlanChange,
    PlanState,
)
from supervision.registry.models import Department, InspectionItem

DEFAULT_STRATUM_LABELS = {"A": "S1", "B": "S2", "C": "S3", "D": "S4"}
RISK_CLASSES = ("A", "B", "C", "D")
TSV = "text/tab-separated-values; charset=utf-8"


def sr1_refused(exc: sr1.Sr1Error) -> Invalid:
    return Invalid(f"不符合抽取协议：{exc}", f"refused by the sr1 protocol: {exc}")


# ---- plans ---------------------------------------------------------------------------------


def get_plan(session: Session, code: str) -> Plan:
    plan = session.exec(select(Plan).where(Plan.code == code)).first()
    if plan is None:
        raise NotFound(f"未找到抽查计划“{code}”", f"no plan {code!r}")
    return plan


def create_plan(session: Session, data: s.PlanCreate, *, actor: str, clock: Clock) -> Plan:
    if session.exec(select(Plan.id).where(Plan.code == data.code)).first():
        raise Conflict(f"计划编号“{data.code}”已存在", f"plan {data.code} exists", field="code")
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


def check_batch_references(
    session: Session, data: s.BatchCreate, labels: dict[str, str] | None = None
) -> None:
    """The batch names risk-class strata, departments and items that exist."""
    labels = labels or DEFAULT_STRATUM_LABELS
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
        "ceremony_at": data.ceremony_at,
        "ceremony_place": data.ceremony_place,
        "entropy_source": data.entropy_source,
        "beacon_chain": data.beacon_chain,
        "freeze_at": data.freeze_at,
    }


def _announce(plan: Plan, data: s.BatchCreate, rules: CeremonyRules) -> s.BatchCreate:
    """The ceremony's defaults: the authority's place, and announced words from the time,
    place and source when the planner wrote none."""
    ceremony.check_source(data.entropy_source, data.beacon_chain, rules)
    place = data.ceremony_place or rules.place_of(plan.authority)
    words = data.entropy_plan or ceremony.default_entropy_plan(
        data.ceremony_at, place, data.entropy_source, rules.chains.get(data.beacon_chain or "")
    )
    return data.model_copy(update={"ceremony_place": place, "entropy_plan": words})


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
    rules: CeremonyRules = DEFAULT_RULES,
) -> Batch:
    plan = get_plan(session, plan_code)
    if session.exec(select(Batch.id).where(Batch.code == data.code)).first():
        raise Conflict(f"批次编号“{data.code}”已存在", f"batch {data.code} exists")
    data = _announce(plan, data, rules)
    labels = stratum_labels or DEFAULT_STRATUM_LABELS
    check_batch_references(session, data, labels)
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
    session: Session,
    code: str,
    data: s.BatchCreate,
    *,
    actor: str,
    clock: Clock,
    rules: CeremonyRules = DEFAULT_RULES,
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
    data = _announce(session.get(Plan, batch.plan_id), data, rules)
    check_batch_references(session, data, pool_q.stratum_labels(batch))
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
