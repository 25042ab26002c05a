"""Staff pages of planning: the dashboard, plans, the batch form, one batch (feasibility,
freeze, withdrawal, recusals and withdrawn entities)."""

import json
from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.artefacts import warm_after_commit
from api.deps import ClockDep, SessionDep, SettingsDep
from api.pages.forms.planning import (
    PLAN_LABELS,
    RISK_CLASSES,
    batch_form_values,
    batch_payload,
    empty_batch_values,
    local_input,
    pad_slots,
    parse_batch,
)
from api.pages.public import commitment_view, drawn_record
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    attempt,
    form_text,
    redirect,
    refusal_by_field,
    render,
    validation_messages,
)
from api.roles import PlannerPage, ReaderPage, StaffPage, page_context
from supervision.enforcement.rulebook import rulebook
from supervision.errors import DomainError, Invalid
from supervision.planning import events, feasibility, freeze, service, templates
from supervision.planning import pool as pool_q
from supervision.planning import queries as pq
from supervision.planning import schemas as ps
from supervision.planning.ceremony import CeremonyRules
from supervision.planning.models import ENTROPY_SOURCES, RECUSAL_REASONS, BatchState
from supervision.planning.schemas import TEMPLATE_FILLED
from supervision.registry import queries as rq
from supervision.registry import service as registry_service
from supervision.registry.queries import department_names, item_names

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)


@router.get("/staff")
def dashboard(request: Request, session: SessionDep, user: StaffPage) -> Response:
    _, entities = registry_service.list_entities(session, registry_service.EntityFilter(), 1, 1)
    _, inspectors = registry_service.list_inspectors(session, page=1, page_size=1)
    _, active = registry_service.list_inspectors(session, active=True, page=1, page_size=1)
    batches = pq.list_batches(session, user)
    context = {
        "entities": entities,
        "inspectors": inspectors,
        "active_inspectors": active,
        "by_state": Counter(b.state for b in batches),
        "plans": pq.list_plans(session, user),
        "batches": batches,
        "states": list(BatchState),
        "to_confirm": rulebook(request.app.state.settings.data_dir).to_confirm(),
    }
    return render(request, "staff/dashboard.html", context, title="工作台")


# ---- plans ---------------------------------------------------------------------------------


@router.get("/staff/plans/new")
def plan_new(
    request: Request, user: PlannerPage, settings: SettingsDep, clock: ClockDep
) -> Response:
    values = {
        "code": "",
        "year": str(clock.today().year),
        "name": "",
        "authority": settings.authority_name,
        "filed_with": "",
    }
    return render(
        request, "staff/plan_form.html", {"values": values, "errors": []}, title="新建年度计划"
    )


@router.post("/staff/plans/new")
def plan_create(
    request: Request,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    values = {k: form_text(form, k) for k in ("code", "year", "name", "authority", "filed_with")}
    try:
        data = ps.PlanCreate(**{k: v for k, v in values.items() if v or k != "filed_with"})
        with attempt(session):
            service.create_plan(session, data, actor=user.username, clock=clock)
    except (ValidationError, DomainError) as exc:
        errors, by_field = refusal_by_field(
            exc, lambda loc: PLAN_LABELS.get(str(loc[0]), str(loc[0])) if loc else ""
        )
    else:
        return redirect(
            f"/staff/plans/{data.code}", f"已新建年度计划“{data.name}”（草稿，尚未公示）"
        )
    context = {"values": values, "errors": errors, "field_errors": by_field}
    return render(request, "staff/plan_form.html", context, status_code=400, title="新建年度计划")


def _plan_page(
    request: Request,
    session: Session,
    user: Any,
    code: str,
    *,
    error: str | None = None,
    status_code: int = 200,
    description: str = "",
) -> Response:
    plan = pq.plan_public(session, service.get_plan(session, code))
    context = {
        "plan": plan,
        "batches": pq.list_batches(session, user, plan=code),
        "templates": [
            templates.template_public(session, t)
            for t in templates.plan_templates(session, service.get_plan(session, code))
        ],
        "error": error,
        "description": description,
    }
    return render(request, "staff/plan.html", context, status_code=status_code, title=plan.name)


@router.get("/staff/plans/{code}")
def plan_detail(request: Request, code: str, session: SessionDep, user: ReaderPage) -> Response:
    return _plan_page(request, session, user, code)


@router.post("/staff/plans/{code}/publish")
def plan_publish(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    try:
        if form_text(form, "confirm") != "yes":
            raise Invalid(
                "请先勾选确认：年度计划公示后即向社会公开，此后只能以“计划调整”的方式公开修改",
                "publishing needs the confirmation",
            )
        with attempt(session):
            service.publish_plan(session, code, actor=user.username, clock=clock)
    except DomainError as exc:
        return _plan_page(request, session, user, code, error=exc.zh, status_code=exc.status)
    return redirect(f"/staff/plans/{code}", "年度计划已公示")


@router.post("/staff/plans/{code}/changes")
def plan_change(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    description = form_text(form, "description")
    try:
        data = ps.PlanChangeCreate(description=description)
        with attempt(session):
            service.add_plan_change(session, code, data, actor=user.username, clock=clock)
    except ValidationError as exc:
        message = "；".join(validation_messages(exc.errors(), PLAN_LABELS))
        return _plan_page(
            request, session, user, code, error=message, status_code=400, description=description
        )
    except DomainError as exc:
        return _plan_page(
            request,
            session,
            user,
            code,
            error=exc.zh,
            status_code=exc.status,
            description=description,
        )
    return redirect(f"/staff/plans/{code}", "计划调整已公示")


def _batch_form(
    request: Request,
    session: Session,
    user: Any,
    values: dict[str, Any],
    *,
    editing: str | None = None,
    errors: list[str] | None = None,
    field_errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    items = registry_service.list_items(session, active_only=True)
    context = {
        "values": values,
        "editing": editing,
        "errors": errors or [],
        "field_errors": field_errors or {},
        "plans": pq.list_plans(session, user),
        "items": items,
        "departments": rq.list_departments(session),
        "qualifications": sorted({i.qualification for i in items if i.qualification}),
        "risk_classes": RISK_CLASSES,
        "entropy_sources": ENTROPY_SOURCES,
        "beacon_chains": CeremonyRules.of(request.app.state.settings).chains,
    }
    title = f"修改批次 {editing}" if editing else "新建抽查批次"
    return render(request, "staff/batch_form.html", context, status_code=status_code, title=title)


@router.get("/staff/batches/new")
def batch_new(request: Request, session: SessionDep, user: PlannerPage) -> Response:
    plan = request.query_params.get("plan", "")
    return _batch_form(request, session, user, empty_batch_values(plan))


@router.post("/staff/batches/new")
def batch_create(
    request: Request,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    values = batch_form_values(form)
    data, errors, by_field = parse_batch(values)
    if not values["plan_code"]:
        errors.insert(0, "请选择所属年度计划")
        by_field["plan_code"] = ["请选择所属年度计划"]
    if data is not None and not errors:
        try:
            with attempt(session):
                service.create_batch(
                    session,
                    values["plan_code"],
                    data,
                    actor=user.username,
                    clock=clock,
                    rules=CeremonyRules.of(request.app.state.settings),
                )
        except DomainError as exc:
            errors = [exc.zh]
        else:
            return redirect(
                f"/staff/batches/{data.code}",
                f"已新建批次“{data.name}”（草稿）。请查看可行性检查。",
            )
    return _batch_form(
        request, session, user, values, errors=errors, field_errors=by_field, status_code=400
    )


def values_from_batch(session: Session, code: str) -> dict[str, Any]:
    """A draft batch's stored settings, as the form shows them."""
    batch = service.get_batch(session, code)
    pub = pq.batch_public(session, batch)
    spec = json.loads(batch.quota_spec_json)
    exclusion = ps.BatchExclusion.model_validate_json(batch.exclusion_json)
    values = empty_batch_values(pub.plan_code)
    values.update(
        code=batch.code,
        name=batch.name,
        item_codes=pub.item_codes,
        initiating_department=batch.initiating_department,
        quotas={
            k: (
                {"mode": "count", "value": str(spec[k]["count"])}
                if "count" in spec.get(k, {})
                else {"mode": "percent", "value": spec.get(k, {}).get("percent", "")}
            )
            for k in RISK_CLASSES
        },
        slots=pad_slots(
            [
                {
                    "group": s["group"],
                    "count": str(s["count"]),
                    "qualification": s["qualification"] or "",
                }
                for s in service.team_slots(batch)
            ]
        ),
        cross_unit=batch.cross_unit,
        max_load="" if batch.max_load is None else str(batch.max_load),
        window_start=batch.window_start.isoformat(),
        window_end=batch.window_end.isoformat(),
        entropy_plan=batch.entropy_plan,
        ceremony_at=local_input(batch.ceremony_at),
        ceremony_place=batch.ceremony_place,
        entropy_source=batch.entropy_source,
        beacon_chain=batch.beacon_chain or "",
        freeze_at=local_input(batch.freeze_at),
        same_item_months=str(exclusion.same_item_months or ""),
        low_risk_once_per_year=exclusion.low_risk_once_per_year,
    )
    return values


@router.get("/staff/batches/{code}/edit")
def batch_edit(request: Request, code: str, session: SessionDep, user: PlannerPage) -> Response:
    return _batch_form(request, session, user, values_from_batch(session, code), editing=code)


@router.post("/staff/batches/{code}/edit")
def batch_revise(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    values = batch_form_values(form)
    values["code"] = code
    values["plan_code"] = pq.batch_public(session, service.get_batch(session, code)).plan_code
    data, errors, by_field = parse_batch(values)
    if data is not None:
        try:
            with attempt(session):
                service.revise_batch(
                    session,
                    code,
                    data,
                    actor=user.username,
                    clock=clock,
                    rules=CeremonyRules.of(request.app.state.settings),
                )
        except DomainError as exc:
            errors = [exc.zh]
        else:
            return redirect(f"/staff/batches/{code}", "草稿已修改，请重新查看可行性检查")
    return _batch_form(
        request,
        session,
        user,
        values,
        editing=code,
        errors=errors,
        field_errors=by_field,
        status_code=400,
    )


# ---- one batch: feasibility, freeze, withdraw, events --------------------------------------


def _staff_batch(
    request: Request,
    session: Session,
    user: Any,
    code: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    batch = service.get_batch(session, code)
    pub = pq.batch_public(session, batch)
    departments = department_names(session)
    if batch.state == BatchState.draft:
        feasibility_report = feasibility.check_feasibility(session, batch).to_dict()
        feasibility_at = None
    else:
        current = freeze.active_commitment(session, batch)
        feasibility_report = json.loads(current.feasibility_json) if current else None
        feasibility_at = current.published_at if current else None
    labels = pool_q.stratum_labels(batch)
    context = {
        "batch": pub,
        "items": item_names(session),
        "departments": departments,
        "quota_spec": json.loads(batch.quota_spec_json),
        "team": service.team_slots(batch),
        "risk_classes": RISK_CLASSES,
        "stratum_risk": {
            label: "、".join(risk for risk, x in labels.items() if x == label)
            for label in set(labels.values())
        },
        "feasibility": feasibility_report,
        "feasibility_at": feasibility_at,
        "commitments": [commitment_view(c, departments) for c in reversed(pub.commitments)],
        "record": drawn_record(session, batch, internal=True) if pub.seed else None,
        "can_change": pub.state in (BatchState.drawn, BatchState.in_progress),
        "recusal_reasons": RECUSAL_REASONS,
        "error": error,
    }
    return render(
        request,
        "staff/batch.html",
        context,
        status_code=status_code,
        title=f"{pub.name}（{pub.code}）",
    )


@router.post("/staff/batches/{code}/template")
def batch_template(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    """Make this batch's settings a recurring template of its plan."""
    pub = pq.batch_public(session, service.get_batch(session, code))
    body = batch_payload(values_from_batch(session, code))
    # Each period announces its own ceremony in its own words (generated from its time).
    for key in (*TEMPLATE_FILLED, "entropy_plan"):
        body.pop(key, None)
    body = {k: v for k, v in body.items() if v not in ("", None) or k == "max_load"}
    try:
        data = ps.BatchTemplateCreate.model_validate(
            {
                "code_prefix": form_text(form, "code_prefix"),
                "name": form_text(form, "name"),
                "cadence": form_text(form, "cadence") or "quarterly",
                "ceremony_day": form_text(form, "ceremony_day") or "14",
                "ceremony_time": form_text(form, "ceremony_time") or "10:00",
                "batch": body,
            }
        )
        with attempt(session):
            templates.create_template(
                session,
                pub.plan_code,
                data,
                actor=user.username,
                clock=clock,
                rules=CeremonyRules.of(settings),
            )
    except ValidationError as exc:
        return _staff_batch(
            request, session, user, code, error=_template_problems(exc), status_code=400
        )
    except DomainError as exc:
        return _staff_batch(request, session, user, code, error=exc.zh, status_code=exc.status)
    return redirect(f"/staff/plans/{pub.plan_code}", f"已保存定期批次模板“{data.name}”")


def _template_problems(exc: ValidationError) -> str:
    labels = {
        "code_prefix": "编号前缀",
        "name": "名称",
        "cadence": "周期",
        "ceremony_day": "仪式日",
        "ceremony_time": "仪式时间",
    }
    return "模板设置有误：" + "；".join(
        f"{labels.get(str(e['loc'][0]), e['loc'][0])}：{e['msg']}" for e in exc.errors()
    )


@router.get("/staff/batches/{code}")
def batch_detail(request: Request, code: str, session: SessionDep, user: ReaderPage) -> Response:
    return _staff_batch(request, session, user, code)


@router.get("/staff/batches/{code}/credential")
def batch_credential(
    request: Request,
    code: str,
    session: SessionDep,
    user: ReaderPage,
    settings: SettingsDep,
    uscc: str = "",
) -> Response:
    """抽取核验凭据 of one entity of a sealed batch, printable, for that entity alone."""
    uscc = uscc.strip().upper()[:32]
    try:
        c = pq.entity_credential(session, code, uscc, storage=settings.storage_dir)
    except DomainError as e:
        return _staff_batch(request, session, user, code, error=e.zh, status_code=e.status)
    name = registry_service.get_entity(session, uscc).name
    response = render(
        request,
        "staff/credential.html",
        {"c": c, "entity_name": name},
        title=f"抽取核验凭据 {uscc}",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _act(
    request: Request,
    session: Session,
    user: Any,
    code: str,
    action: Any,
    done: str,
    *,
    changes_draw: bool = False,
) -> Response:
    """Run a service call; on refusal show the batch page with the reason. An action that
    changes a draw (``changes_draw``) has the public files rebuilt once it has committed."""
    try:
        with attempt(session):
            action()
    except ValidationError as exc:
        message = "；".join(
            validation_messages(exc.errors(), {"reason": "理由", "inspector": "回避人员"})
        )
        return _staff_batch(request, session, user, code, error=message, status_code=400)
    except DomainError as exc:
        return _staff_batch(request, session, user, code, error=exc.zh, status_code=exc.status)
    if changes_draw:
        warm_after_commit(request, code)
    return redirect(f"/staff/batches/{code}", done)


@router.post("/staff/batches/{code}/freeze")
def batch_freeze(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    def act() -> None:
        if form_text(form, "confirm") != "yes":
            raise Invalid(
                "请先勾选确认：冻结后抽取参数、检查对象名录和执法人员名录的摘要及承诺值将立即向社会公示，"
                "此后不能修改（只能公开撤回）",
                "freezing needs the confirmation",
            )
        freeze.freeze_batch(
            session,
            code,
            actor=user.username,
            clock=clock,
            storage=settings.storage_dir,
            acknowledge_unassigned=form_text(form, "acknowledge_unassigned") == "yes",
            rules=CeremonyRules.of(settings),
        )

    return _act(
        request, session, user, code, act, "已冻结：抽取参数与承诺值已公示，可以举行抽取仪式"
    )


@router.post("/staff/batches/{code}/withdraw-commitment")
def batch_withdraw_commitment(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    def act() -> None:
        data = ps.CommitmentWithdrawalCreate(reason=form_text(form, "reason"))
        if form_text(form, "confirm") != "yes":
            raise Invalid(
                "请先勾选确认：撤回承诺及其理由将永久公开，批次回到草稿",
                "withdrawing needs the confirmation",
            )
        freeze.withdraw_commitment(session, code, data.reason, actor=user.username, clock=clock)

    return _act(request, session, user, code, act, "承诺已公开撤回，批次回到草稿状态")


@router.post("/staff/batches/{code}/tasks/{uscc}/recuse")
def task_recuse(
    request: Request,
    code: str,
    uscc: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    def act() -> None:
        data = ps.RecusalCreate(
            inspector=form_text(form, "inspector"),
            reason=form_text(form, "reason"),
            note=form_text(form, "note") or None,
        )
        events.recuse(
            session,
            code,
            uscc,
            data.inspector,
            data.reason.value,
            actor=user.username,
            clock=clock,
            storage=settings.storage_dir,
            note=data.note,
        )

    return _act(
        request,
        session,
        user,
        code,
        act,
        f"已记录回避（{uscc}），替补人员见下表",
        changes_draw=True,
    )


@router.post("/staff/batches/{code}/tasks/{uscc}/withdraw")
def task_withdraw(
    request: Request,
    code: str,
    uscc: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    def act() -> None:
        data = ps.EntityWithdrawalCreate(reason=form_text(form, "reason"))
        events.withdraw_entity(
            session,
            code,
            uscc,
            data.reason,
            actor=user.username,
            clock=clock,
            storage=settings.storage_dir,
        )

    return _act(
        request,
        session,
        user,
        code,
        act,
        f"已撤出检查对象（{uscc}），由备选递补",
        changes_draw=True,
    )
