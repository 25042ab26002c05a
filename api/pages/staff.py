"""Staff pages: login, dashboard, registries, plans, batch forms, freezing, events, imports.

Thin views: parse the form, call the same service the JSON API calls, render. Every POST
carries the CSRF token; a refused operation is rolled back and shown in Chinese beside the
form, with the entered values kept.
"""

import json
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from api.deps import TOKEN_COOKIE, ClockDep, SessionDep, SettingsDep
from api.pages.public import commitment_view, department_names, drawn_record, item_names
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    PageUser,
    PlannerPage,
    ReaderPage,
    StaffPage,
    check_csrf,
    form_errors,
    form_text,
    page_context,
    page_links,
    redirect,
    render,
    validation_messages,
)
from api.routers import imports, planning, registry
from supervision.accounts import service as accounts
from supervision.errors import DomainError
from supervision.planning import pool as pool_q
from supervision.planning import schemas as ps
from supervision.planning import service
from supervision.planning.models import BatchState
from supervision.registry import importer
from supervision.registry import service as registry_service
from supervision.registry.models import (
    ENTITY_STATUS_LABELS,
    ENTITY_TYPE_LABELS,
    EntityStatus,
    EntityType,
    RiskClass,
)

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
PAGE_SIZE = 50
SLOT_ROWS = 3
RISK_CLASSES = service.RISK_CLASSES


def _page_no(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= 1_000_000 else 1


def _paged(fetch: Callable[[int], tuple[list[Any], int]], page: int) -> tuple[list, int, int]:
    """Rows of the asked page, or of the last page when the asked one is past the end."""
    rows, total = fetch(page)
    last = max(1, math.ceil(total / PAGE_SIZE))
    if page > last:
        page = last
        rows, total = fetch(page)
    return rows, total, page


# ---- login ---------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    """Only a local path; never an absolute or protocol-relative URL."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff"


@router.get("/login")
def login_form(request: Request, user: PageUser, next: str = "/staff") -> Response:
    return render(
        request, "staff/login.html", {"next": _safe_next(next), "username": ""}, title="登录"
    )


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, form: FormDep
) -> Response:
    username, target = form_text(form, "username"), _safe_next(form_text(form, "next"))
    password = form.get("password")
    user = accounts.authenticate(session, username, password if isinstance(password, str) else "")
    if user is None:
        context = {"next": target, "username": username, "error": "用户名或密码错误"}
        return render(request, "staff/login.html", context, status_code=401, title="登录")
    token = accounts.issue_token(session, user, ttl_hours=settings.token_ttl_hours, clock=clock)
    response = redirect(target)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        max_age=settings.token_ttl_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, user: PageUser, form: FormDep) -> Response:
    token = request.cookies.get(TOKEN_COOKIE)
    if user is not None and token:
        check_csrf(request, form_text(form, "csrf_token"))
        accounts.revoke_token(session, token)
    response = redirect("/", "您已退出登录")
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


# ---- dashboard and registries --------------------------------------------------------------


@router.get("/staff")
def dashboard(request: Request, session: SessionDep, user: StaffPage) -> Response:
    _, entities = registry_service.list_entities(session, registry_service.EntityFilter(), 1, 1)
    _, inspectors = registry_service.list_inspectors(session, page=1, page_size=1)
    _, active = registry_service.list_inspectors(session, active=True, page=1, page_size=1)
    batches = planning.list_batches(session, user)
    context = {
        "entities": entities,
        "inspectors": inspectors,
        "active_inspectors": active,
        "by_state": Counter(b.state for b in batches),
        "plans": planning.list_plans(session, user),
        "batches": batches,
        "states": list(BatchState),
    }
    return render(request, "staff/dashboard.html", context, title="工作台")


def _choices(session: Session) -> dict[str, Any]:
    return {
        "units": registry.list_units(session),
        "departments": registry.list_departments(session),
        "entity_types": ENTITY_TYPE_LABELS,
        "statuses": ENTITY_STATUS_LABELS,
        "risk_classes": [r.value for r in RiskClass],
    }


@router.get("/staff/entities")
def entities(request: Request, session: SessionDep, user: StaffPage) -> Response:
    q = request.query_params
    params = {k: q.get(k, "").strip() for k in ("q", "unit", "type", "status", "risk", "page")}
    flt = registry_service.EntityFilter(
        q=params["q"] or None,
        supervising_unit=params["unit"] or None,
        entity_type=params["type"] if params["type"] in set(EntityType) else None,
        status=params["status"] if params["status"] in set(EntityStatus) else None,
        risk_class=params["risk"] if params["risk"] in set(RiskClass) else None,
    )
    rows, total, page = _paged(
        lambda n: registry_service.list_entities(session, flt, n, PAGE_SIZE),
        _page_no(params["page"]),
    )
    context = {"rows": rows, "params": params, "pages": page_links(total, page, PAGE_SIZE, params)}
    return render(
        request, "staff/entities.html", {**context, **_choices(session)}, title="市场主体名录"
    )


@router.get("/staff/entities/{uscc}")
def entity(request: Request, uscc: str, session: SessionDep, user: StaffPage) -> Response:
    view = registry_service.entity_staff_view(session, registry_service.get_entity(session, uscc))
    units = {u.code: u.name for u in registry.list_units(session)}
    return render(
        request,
        "staff/entity.html",
        {"e": view, **_choices(session), "unit_names": units},
        title=view.name,
    )


@router.get("/staff/inspectors")
def inspectors(request: Request, session: SessionDep, user: StaffPage) -> Response:
    q = request.query_params
    keys = ("q", "department", "unit", "qualification", "active", "page")
    params = {k: q.get(k, "").strip() for k in keys}
    rows, total, page = _paged(
        lambda n: registry_service.list_inspectors(
            session,
            q=params["q"] or None,
            department_code=params["department"] or None,
            unit_code=params["unit"] or None,
            qualification=params["qualification"] or None,
            active={"yes": True, "no": False}.get(params["active"]),
            page=n,
            page_size=PAGE_SIZE,
        ),
        _page_no(params["page"]),
    )
    context = {
        "rows": [registry_service.inspector_staff_view(i) for i in rows],
        "params": params,
        "pages": page_links(total, page, PAGE_SIZE, params),
        **_choices(session),
    }
    return render(request, "staff/inspectors.html", context, title="执法检查人员名录")


# ---- plans ---------------------------------------------------------------------------------

PLAN_LABELS = {
    "code": "计划编号",
    "year": "年度",
    "name": "计划名称",
    "authority": "制定机关",
    "filed_with": "备案机关",
    "description": "调整说明",
}


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
        service.create_plan(session, data, actor=user.username, clock=clock)
    except ValidationError as exc:
        errors = validation_messages(exc.errors(), PLAN_LABELS)
    except DomainError as exc:
        session.rollback()
        errors = [exc.zh]
    else:
        return redirect(
            f"/staff/plans/{data.code}", f"已新建年度计划“{data.name}”（草稿，尚未公示）"
        )
    context = {"values": values, "errors": errors}
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
    plan = planning.plan_public(session, service.get_plan(session, code))
    context = {
        "plan": plan,
        "batches": planning.list_batches(session, user, plan=code),
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
    _csrf: None = CsrfChecked,
) -> Response:
    try:
        service.publish_plan(session, code, actor=user.username, clock=clock)
    except DomainError as exc:
        session.rollback()
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
        service.add_plan_change(session, code, data, actor=user.username, clock=clock)
    except ValidationError as exc:
        message = "；".join(validation_messages(exc.errors(), PLAN_LABELS))
        return _plan_page(
            request, session, user, code, error=message, status_code=400, description=description
        )
    except DomainError as exc:
        session.rollback()
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


# ---- the batch form ------------------------------------------------------------------------

BATCH_LABELS = {
    "plan_code": "所属计划",
    "code": "批次编号",
    "name": "批次名称",
    "initiating_department": "发起部门",
    "participating_departments": "配合部门",
    "item_codes": "抽查事项",
    "quotas": "分层抽取设置",
    "team": "检查组名额",
    "cross_unit": "所所交叉",
    "max_load": "每人最多检查户数",
    "window_start": "检查开始日期",
    "window_end": "检查结束日期",
    "entropy_plan": "熵来源公告",
    "exclusion": "避免重复检查",
    "same_item_months": "同一事项不重复检查的月数",
}
SLOT_FIELD_LABELS = {"group": "部门", "count": "人数", "qualification": "资格代码"}
QUOTA_FIELD_LABELS = {"percent": "抽取比例", "count": "抽取数量"}
# Whole-field messages that read better than the generic ones.
BATCH_MESSAGES = {
    ("team", "too_short"): "请至少设置一行检查组名额（部门和人数）",
    ("item_codes", "too_short"): "请至少选择一个抽查事项",
    ("quotas", "too_short"): "请至少为一个信用风险分类填写抽取比例或数量",
}


def _batch_label(loc: tuple[Any, ...]) -> str:
    if len(loc) >= 3 and loc[0] == "quotas":
        return f"{loc[1]}类的{QUOTA_FIELD_LABELS.get(str(loc[2]), '设置')}"
    if len(loc) >= 3 and loc[0] == "team" and isinstance(loc[1], int):
        return f"检查组第{loc[1] + 1}行的{SLOT_FIELD_LABELS.get(str(loc[2]), '设置')}"
    if len(loc) >= 2 and loc[0] == "exclusion":
        return BATCH_LABELS.get(str(loc[1]), BATCH_LABELS["exclusion"])
    return BATCH_LABELS.get(str(loc[0]), str(loc[0])) if loc else ""


def _empty_batch_values(plan_code: str = "") -> dict[str, Any]:
    return {
        "plan_code": plan_code,
        "code": "",
        "name": "",
        "item_codes": [],
        "initiating_department": "",
        "quotas": {k: {"mode": "percent", "value": ""} for k in RISK_CLASSES},
        "slots": [{"group": "", "count": "2", "qualification": ""}]
        + [{"group": "", "count": "", "qualification": ""} for _ in range(SLOT_ROWS - 1)],
        "cross_unit": True,
        "max_load": "",
        "window_start": "",
        "window_end": "",
        "entropy_plan": "",
        "same_item_months": "",
        "low_risk_once_per_year": True,
    }


def _pad_slots(slots: list[dict[str, str]]) -> list[dict[str, str]]:
    blank = {"group": "", "count": "", "qualification": ""}
    return slots + [dict(blank) for _ in range(max(0, SLOT_ROWS - len(slots)))]


def batch_form_values(form: FormData) -> dict[str, Any]:
    """What the planner entered, as the form shows it again."""
    groups = form.getlist("slot_group")
    counts = form.getlist("slot_count")
    quals = form.getlist("slot_qualification")
    slots = [
        {"group": str(g).strip(), "count": str(c).strip(), "qualification": str(q).strip()}
        for g, c, q in zip(groups, counts, quals, strict=False)
    ]
    return {
        "plan_code": form_text(form, "plan_code"),
        "code": form_text(form, "code"),
        "name": form_text(form, "name"),
        "item_codes": [str(c) for c in form.getlist("item_codes")],
        "initiating_department": form_text(form, "initiating_department"),
        "quotas": {
            k: {
                "mode": "count" if form_text(form, f"quota_mode_{k}") == "count" else "percent",
                "value": form_text(form, f"quota_value_{k}"),
            }
            for k in RISK_CLASSES
        },
        "slots": _pad_slots(slots),
        "cross_unit": form.get("cross_unit") == "yes",
        "max_load": form_text(form, "max_load"),
        "window_start": form_text(form, "window_start"),
        "window_end": form_text(form, "window_end"),
        "entropy_plan": form_text(form, "entropy_plan"),
        "same_item_months": form_text(form, "same_item_months"),
        "low_risk_once_per_year": form.get("low_risk_once_per_year") == "yes",
    }


def batch_payload(values: dict[str, Any]) -> dict[str, Any]:
    """The BatchCreate body: blank quota rows and blank team rows are left out."""
    quotas = {}
    for k, q in values["quotas"].items():
        value = q["value"].removesuffix("%").strip()
        if value:
            quotas[k] = {q["mode"]: value}
    team = []
    for slot in values["slots"]:
        if not (slot["group"] or slot["qualification"]):
            continue
        row: dict[str, Any] = {
            "group": slot["group"],
            "qualification": slot["qualification"] or None,
        }
        if slot["count"]:
            row["count"] = slot["count"]
        team.append(row)
    groups = {s["group"] for s in team if s["group"]}
    payload: dict[str, Any] = {
        "code": values["code"],
        "name": values["name"],
        "initiating_department": values["initiating_department"],
        # Joint batches: every other department that fills a team slot takes part.
        "participating_departments": sorted(groups - {values["initiating_department"]}),
        "item_codes": values["item_codes"],
        "quotas": quotas,
        "team": team,
        "cross_unit": values["cross_unit"],
        "max_load": values["max_load"] or None,
        "entropy_plan": values["entropy_plan"],
        "exclusion": {
            "same_item_months": values["same_item_months"] or None,
            "low_risk_once_per_year": values["low_risk_once_per_year"],
        },
    }
    for key in ("window_start", "window_end"):
        if values[key]:
            payload[key] = values[key]
    return payload


def parse_batch(values: dict[str, Any]) -> tuple[ps.BatchCreate | None, list[str], dict]:
    try:
        return ps.BatchCreate.model_validate(batch_payload(values)), [], {}
    except ValidationError as exc:
        messages, by_field = form_errors(exc, _batch_label, BATCH_MESSAGES)
        return None, messages, by_field


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
        "plans": planning.list_plans(session, user),
        "items": items,
        "departments": registry.list_departments(session),
        "qualifications": sorted({i.qualification for i in items if i.qualification}),
        "risk_classes": RISK_CLASSES,
    }
    title = f"修改批次 {editing}" if editing else "新建抽查批次"
    return render(request, "staff/batch_form.html", context, status_code=status_code, title=title)


@router.get("/staff/batches/new")
def batch_new(request: Request, session: SessionDep, user: PlannerPage) -> Response:
    plan = request.query_params.get("plan", "")
    return _batch_form(request, session, user, _empty_batch_values(plan))


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
            service.create_batch(
                session, values["plan_code"], data, actor=user.username, clock=clock
            )
        except DomainError as exc:
            session.rollback()
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
    pub = planning.batch_public(session, batch)
    spec = json.loads(batch.quota_spec_json)
    exclusion = ps.BatchExclusion.model_validate_json(batch.exclusion_json)
    values = _empty_batch_values(pub.plan_code)
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
        slots=_pad_slots(
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
    values["plan_code"] = planning.batch_public(session, service.get_batch(session, code)).plan_code
    data, errors, by_field = parse_batch(values)
    if data is not None:
        try:
            service.revise_batch(session, code, data, actor=user.username, clock=clock)
        except DomainError as exc:
            session.rollback()
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
    pub = planning.batch_public(session, batch)
    departments = department_names(session)
    if batch.state == BatchState.draft:
        feasibility = service.check_feasibility(session, batch).to_dict()
        feasibility_at = None
    else:
        current = service.active_commitment(session, batch)
        feasibility = json.loads(current.feasibility_json) if current else None
        feasibility_at = current.published_at if current else None
    labels = pool_q.stratum_labels(batch)
    context = {
        "batch": pub,
        "items": item_names(session),
        "departments": departments,
        "quota_spec": json.loads(batch.quota_spec_json),
        "team": service.team_slots(batch),
        "risk_classes": RISK_CLASSES,
        "stratum_risk": {label: risk for risk, label in labels.items()},
        "feasibility": feasibility,
        "feasibility_at": feasibility_at,
        "commitments": [commitment_view(c, departments) for c in reversed(pub.commitments)],
        "record": drawn_record(session, batch) if pub.seed else None,
        "can_change": pub.state in (BatchState.drawn, BatchState.in_progress),
        "error": error,
    }
    return render(
        request,
        "staff/batch.html",
        context,
        status_code=status_code,
        title=f"{pub.name}（{pub.code}）",
    )


@router.get("/staff/batches/{code}")
def batch_detail(request: Request, code: str, session: SessionDep, user: ReaderPage) -> Response:
    return _staff_batch(request, session, user, code)


def _act(
    request: Request,
    session: Session,
    user: Any,
    code: str,
    action: Any,
    done: str,
) -> Response:
    """Run a service call; on refusal roll back and show the batch page with the reason."""
    try:
        action()
    except ValidationError as exc:
        session.rollback()
        message = "；".join(
            validation_messages(exc.errors(), {"reason": "理由", "inspector": "回避人员"})
        )
        return _staff_batch(request, session, user, code, error=message, status_code=400)
    except DomainError as exc:
        session.rollback()
        return _staff_batch(request, session, user, code, error=exc.zh, status_code=exc.status)
    return redirect(f"/staff/batches/{code}", done)


@router.post("/staff/batches/{code}/freeze")
def batch_freeze(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    settings: SettingsDep,
    _csrf: None = CsrfChecked,
) -> Response:
    def freeze() -> None:
        service.freeze_batch(
            session, code, actor=user.username, clock=clock, storage=settings.storage_dir
        )

    return _act(
        request, session, user, code, freeze, "已冻结：抽取参数与承诺值已公示，可以举行抽取仪式"
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
    def withdraw() -> None:
        data = ps.WithdrawCommitmentRequest(reason=form_text(form, "reason"))
        service.withdraw_commitment(session, code, data.reason, actor=user.username, clock=clock)

    return _act(request, session, user, code, withdraw, "承诺已公开撤回，批次回到草稿状态")


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
    def recuse() -> None:
        data = ps.RecuseRequest(
            inspector=form_text(form, "inspector"), reason=form_text(form, "reason")
        )
        service.recuse(
            session,
            code,
            uscc,
            data.inspector,
            data.reason,
            actor=user.username,
            clock=clock,
            storage=settings.storage_dir,
        )

    return _act(request, session, user, code, recuse, f"已记录回避（{uscc}），替补人员见下表")


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
    def withdraw() -> None:
        data = ps.WithdrawEntityRequest(reason=form_text(form, "reason"))
        service.withdraw_entity(
            session,
            code,
            uscc,
            data.reason,
            actor=user.username,
            clock=clock,
            storage=settings.storage_dir,
        )

    return _act(request, session, user, code, withdraw, f"已撤出检查对象（{uscc}），由备选递补")


# ---- bulk import ---------------------------------------------------------------------------

IMPORT_KINDS = {"entities": "市场主体", "inspectors": "执法检查人员"}


def _import_page(
    request: Request,
    *,
    kind: str = "entities",
    report: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "kind": kind,
        "kinds": IMPORT_KINDS,
        "report": report,
        "error": error,
        "limit_mb": request.app.state.settings.upload_max_bytes / 1024 / 1024,
    }
    return render(
        request, "staff/import.html", context, status_code=status_code, title="批量导入名录"
    )


@router.get("/staff/import")
def import_form(request: Request, user: PlannerPage) -> Response:
    return _import_page(request)


@router.post("/staff/import")
def import_upload(
    request: Request,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    kind = form_text(form, "kind")
    if kind not in IMPORT_KINDS:
        return _import_page(request, error="请选择导入的名录类型", status_code=400)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(
            request, kind=kind, error="请选择要上传的 CSV 或 XLSX 文件", status_code=400
        )
    try:
        # The JSON API's own path: size check, then the all-or-nothing importer.
        report = imports.run_import(kind, upload, session, user, clock, settings)
    except importer.ImportFailed as exc:
        session.rollback()
        return _import_page(
            request, kind=kind, report=exc.report.to_dict(), error=exc.zh, status_code=400
        )
    except DomainError as exc:
        session.rollback()
        return _import_page(request, kind=kind, error=exc.zh, status_code=exc.status)
    return _import_page(request, kind=kind, report=report)
