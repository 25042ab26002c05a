"""Recurring batches: a plan's template makes each period's batch ahead of time.

For every period of the plan's year (quarter or month) the batch is created
`create_days_before` its ceremony — `ceremony_day` days after the period's first day at
`ceremony_time`, Beijing time — with the scheduler's freeze `freeze_hours_before` it (at least
the ceremony notice), and its inspection window from `window_days_after` the ceremony to the
period's end. Creating goes through `service.create_batch`, so a template's batch is an ordinary
batch: announced, frozen on time, drawn at its ceremony.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import CHINA_TZ, Clock
from supervision.errors import Conflict, DomainError, Invalid
from supervision.planning import ceremony, service
from supervision.planning import schemas as s
from supervision.planning.ceremony import CeremonyRules
from supervision.planning.models import Batch, BatchTemplate, Plan, PlanState


@dataclass(frozen=True)
class Period:
    suffix: str  # "2026Q3", "2026M07"
    label: str  # "2026年第3季度"
    start: date
    end: date


def periods(cadence: str, year: int) -> list[Period]:
    out = []
    if cadence == "quarterly":
        for q in range(4):
            start = date(year, 3 * q + 1, 1)
            end = date(year + 1, 1, 1) if q == 3 else date(year, 3 * q + 4, 1)
            out.append(
                Period(f"{year}Q{q + 1}", f"{year}年第{q + 1}季度", start, end - timedelta(days=1))
            )
    else:
        for m in range(1, 13):
            end = date(year + 1, 1, 1) if m == 12 else date(year, m + 1, 1)
            out.append(
                Period(
                    f"{year}M{m:02d}", f"{year}年{m}月", date(year, m, 1), end - timedelta(days=1)
                )
            )
    return out


def _ceremony_at(t: BatchTemplate, period: Period) -> datetime:
    hour, minute = (int(x) for x in t.ceremony_time.split(":"))
    return datetime.combine(
        period.start + timedelta(days=t.ceremony_day), time(hour, minute), CHINA_TZ
    )


def batch_for(t: BatchTemplate, period: Period) -> s.BatchCreate:
    """The period's batch as the template describes it."""
    at = _ceremony_at(t, period)
    window_start = at.date() + timedelta(days=t.window_days_after)
    body = {
        **json.loads(t.spec_json),
        "code": f"{t.code_prefix}{period.suffix}",
        "name": f"{t.name}（{period.label}）",
        "window_start": window_start.isoformat(),
        "window_end": max(period.end, window_start).isoformat(),
        "ceremony_at": at.isoformat(),
        "freeze_at": (at - timedelta(hours=t.freeze_hours_before)).isoformat(),
    }
    return s.BatchCreate.model_validate(body)


def create_template(
    session: Session,
    plan_code: str,
    data: s.BatchTemplateCreate,
    *,
    actor: str,
    clock: Clock,
    rules: CeremonyRules,
) -> BatchTemplate:
    plan = service.get_plan(session, plan_code)
    if session.exec(
        select(BatchTemplate.id).where(
            BatchTemplate.plan_id == plan.id, BatchTemplate.code_prefix == data.code_prefix
        )
    ).first():
        raise Conflict(
            f"本计划已有编号前缀为“{data.code_prefix}”的模板", f"template {data.code_prefix} exists"
        )
    if timedelta(hours=data.freeze_hours_before) < rules.notice:
        raise Invalid(
            f"定时冻结须在仪式前至少 {rules.notice.total_seconds() / 3600:g} 小时",
            "the scheduled freeze must leave the ceremony notice",
        )
    if data.freeze_hours_before > 24 * data.create_days_before:
        raise Invalid(
            "定时冻结早于批次创建：请把创建提前天数设得更大",
            "the freeze would come before the batch is created",
        )
    row = BatchTemplate(
        plan_id=plan.id,
        code_prefix=data.code_prefix,
        name=data.name,
        cadence=data.cadence,
        spec_json=json.dumps(data.batch, ensure_ascii=False, sort_keys=True),
        ceremony_day=data.ceremony_day,
        ceremony_time=data.ceremony_time,
        freeze_hours_before=data.freeze_hours_before,
        create_days_before=data.create_days_before,
        window_days_after=data.window_days_after,
        created_at=clock.now(),
        created_by=actor,
    )
    # Every period's batch must be a valid batch now, not at 06:00 some morning.
    for period in periods(data.cadence, plan.year):
        try:
            probe = batch_for(row, period)
        except ValidationError as exc:
            problems = "；".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise Invalid(
                f"模板的批次设置无效：{problems}", "the template's batch body is invalid"
            ) from None
        service.check_batch_references(session, probe)
        ceremony.check_source(probe.entropy_source, probe.beacon_chain, rules)
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        "planning.template.create",
        "plan",
        plan.code,
        {"prefix": data.code_prefix},
        clock,
    )
    return row


def template_public(session: Session, t: BatchTemplate) -> s.BatchTemplatePublic:
    codes = session.exec(
        select(Batch.code)
        .where(Batch.plan_id == t.plan_id, col(Batch.code).startswith(t.code_prefix))
        .order_by(Batch.code)
    ).all()
    return s.BatchTemplatePublic(
        code_prefix=t.code_prefix,
        name=t.name,
        cadence=t.cadence,
        ceremony_day=t.ceremony_day,
        ceremony_time=t.ceremony_time,
        freeze_hours_before=t.freeze_hours_before,
        create_days_before=t.create_days_before,
        window_days_after=t.window_days_after,
        active=t.active,
        batch=json.loads(t.spec_json),
        batches=list(codes),
    )


def plan_templates(session: Session, plan: Plan) -> list[BatchTemplate]:
    return list(
        session.exec(
            select(BatchTemplate).where(BatchTemplate.plan_id == plan.id).order_by(BatchTemplate.id)
        )
    )


def make_due_batches(session: Session, clock: Clock, rules: CeremonyRules) -> list[dict[str, Any]]:
    """Create every template batch whose creation day has come (once each); a period whose
    scheduled freeze has already passed (the scheduler was down) is skipped and said."""
    now, today = clock.now(), clock.today()
    done: list[dict[str, Any]] = []
    rows = session.exec(
        select(BatchTemplate, Plan)
        .join(Plan, col(Plan.id) == BatchTemplate.plan_id)
        .where(col(BatchTemplate.active).is_(True), Plan.state == PlanState.published)
    ).all()
    for t, plan in rows:
        for period in periods(t.cadence, plan.year):
            at = _ceremony_at(t, period)
            if today < at.date() - timedelta(days=t.create_days_before):
                continue
            code = f"{t.code_prefix}{period.suffix}"
            if session.exec(select(Batch.id).where(Batch.code == code)).first():
                continue
            if now > at - timedelta(hours=t.freeze_hours_before):
                if now <= at:  # say it once, while it matters
                    done.append(
                        {
                            "batch": code,
                            "action": "template",
                            "ok": False,
                            "why": f"定时冻结时间已过（仪式 {ceremony.china_time(at)}），本期未创建",
                        }
                    )
                continue
            try:
                with session.begin_nested():
                    service.create_batch(
                        session,
                        plan.code,
                        batch_for(t, period),
                        actor="scheduler",
                        clock=clock,
                        rules=rules,
                    )
            except (DomainError, ValidationError) as exc:
                why = exc.zh if isinstance(exc, DomainError) else str(exc)
                done.append({"batch": code, "action": "template", "ok": False, "why": why})
                continue
            done.append({"batch": code, "action": "template", "ok": True})
    return done
