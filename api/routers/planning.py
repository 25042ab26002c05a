"""Plans, batches and draws in the JSON API. Planners write; the public reads what is published."""

import io
import json
import zipfile
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session, select

from api.deps import (
    ClockDep,
    CodeText,
    OptionalUser,
    Planner,
    SessionDep,
    SettingsDep,
    require_roles,
)
from api.errors import ERROR_RESPONSES
from supervision.accounts.models import Role, User
from supervision.errors import NotFound
from supervision.planning import schemas as s
from supervision.planning import service
from supervision.planning.models import Batch, BatchState, Plan, PlanState, Task

router = APIRouter(prefix="/api/v1", tags=["planning"], responses=ERROR_RESPONSES)
PUBLIC_BATCH_STATES = (
    BatchState.frozen,
    BatchState.drawn,
    BatchState.in_progress,
    BatchState.closed,
)
StaffReader = Annotated[User, Depends(require_roles(Role.planner, Role.reviewer))]


def _is_planner(user: User | None) -> bool:
    return user is not None and user.role in (Role.admin, Role.planner, Role.reviewer)


def plan_public(session: Session, plan: Plan) -> s.PlanPublic:
    changes = [
        {"at": c.at.isoformat(), "description": c.description}
        for c in service.plan_changes(session, plan)
    ]
    return s.PlanPublic(
        code=plan.code,
        year=plan.year,
        name=plan.name,
        authority=plan.authority,
        state=plan.state,
        filed_with=plan.filed_with,
        published_at=plan.published_at,
        changes=changes,
    )


def batch_public(session: Session, batch: Batch) -> s.BatchPublic:
    plan = session.get(Plan, batch.plan_id)
    draw = session.exec(select(service.Draw).where(service.Draw.batch_id == batch.id)).first()
    return s.BatchPublic(
        code=batch.code,
        name=batch.name,
        plan_code=plan.code,
        directed=batch.directed,
        initiating_department=batch.initiating_department,
        participating_departments=[d for d in batch.participating_departments.split(",") if d],
        item_codes=service.batch_items(session, batch),
        window_start=batch.window_start,
        window_end=batch.window_end,
        entropy_plan=batch.entropy_plan,
        state=batch.state,
        commitments=[
            s.CommitmentPublic(
                seq=c.seq,
                commitment=c.commitment,
                params=json.loads(c.params_json),
                published_at=c.published_at,
                withdrawn_at=c.withdrawn_at,
                withdrawn_reason=c.withdrawn_reason,
            )
            for c in service.commitments(session, batch)
        ],
        entropy=json.loads(draw.entropy_json) if draw else None,
        seed=draw.seed if draw else None,
        drawn_at=draw.drawn_at if draw else None,
    )


def visible_batch(session: Session, code: str, user: User | None) -> Batch:
    """The public sees a batch once its commitment is published — and never a draft."""
    batch = service.get_batch(session, code)
    if batch.state == BatchState.draft and not service.commitments(session, batch):
        if not _is_planner(user):
            raise NotFound(f"未找到抽查批次“{code}”", f"no batch {code!r}")
    return batch


# ---- plans ---------------------------------------------------------------------------------


@router.get("/plans", response_model=list[s.PlanPublic], summary="年度抽查计划（公开）")
def list_plans(session: SessionDep, user: OptionalUser) -> list[s.PlanPublic]:
    stmt = select(Plan).order_by(Plan.year.desc(), Plan.code)
    if not _is_planner(user):
        stmt = stmt.where(Plan.state == PlanState.published)
    return [plan_public(session, p) for p in session.exec(stmt)]


@router.post("/plans", response_model=s.PlanPublic, status_code=201, summary="新建年度计划")
def create_plan(
    data: s.PlanCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.PlanPublic:
    return plan_public(
        session, service.create_plan(session, data, actor=user.username, clock=clock)
    )


@router.post("/plans/{code}/publish", response_model=s.PlanPublic, summary="公示年度计划")
def publish_plan(code: str, session: SessionDep, user: Planner, clock: ClockDep) -> s.PlanPublic:
    return plan_public(
        session, service.publish_plan(session, code, actor=user.username, clock=clock)
    )


@router.post("/plans/{code}/changes", response_model=s.PlanPublic, summary="公示计划调整")
def change_plan(
    code: str, data: s.PlanChangeCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.PlanPublic:
    service.add_plan_change(session, code, data, actor=user.username, clock=clock)
    return plan_public(session, service.get_plan(session, code))


# ---- batches -------------------------------------------------------------------------------


@router.get("/batches", response_model=list[s.BatchPublic], summary="抽查批次（公开已公示的）")
def list_batches(
    session: SessionDep,
    user: OptionalUser,
    plan: CodeText = None,
) -> list[s.BatchPublic]:
    stmt = select(Batch).order_by(Batch.window_start.desc(), Batch.code)
    if plan:
        stmt = stmt.join(Plan, Plan.id == Batch.plan_id).where(Plan.code == plan)
    if not _is_planner(user):
        stmt = stmt.where(Batch.state.in_(PUBLIC_BATCH_STATES))
    return [batch_public(session, b) for b in session.exec(stmt)]


@router.post(
    "/plans/{plan_code}/batches",
    response_model=s.BatchPublic,
    status_code=201,
    summary="新建抽查批次",
)
def create_batch(
    plan_code: str, data: s.BatchCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.BatchPublic:
    batch = service.create_batch(session, plan_code, data, actor=user.username, clock=clock)
    return batch_public(session, batch)


@router.put("/batches/{code}", response_model=s.BatchPublic, summary="修改草稿批次")
def revise_batch(
    code: str, data: s.BatchCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.BatchPublic:
    batch = service.revise_batch(session, code, data, actor=user.username, clock=clock)
    return batch_public(session, batch)


@router.get("/batches/{code}", response_model=s.BatchPublic, summary="抽查批次详情（公开已公示的）")
def get_batch(code: str, session: SessionDep, user: OptionalUser) -> s.BatchPublic:
    return batch_public(session, visible_batch(session, code, user))


class FeasibilityOut(BaseModel):
    ok: bool
    strata: dict[str, dict[str, int]]
    slots: list[dict[str, Any]]
    problems: list[dict[str, str]]
    warnings: list[dict[str, str]]


@router.get(
    "/batches/{code}/feasibility", response_model=FeasibilityOut, summary="冻结前可行性检查"
)
def feasibility(code: str, session: SessionDep, user: StaffReader) -> FeasibilityOut:
    return FeasibilityOut(
        **service.check_feasibility(session, service.get_batch(session, code)).to_dict()
    )


class FreezeOut(BaseModel):
    commitment: str
    params: dict[str, Any]
    feasibility: FeasibilityOut


@router.post("/batches/{code}/freeze", response_model=FreezeOut, summary="冻结并公示承诺")
def freeze(
    code: str, session: SessionDep, user: Planner, clock: ClockDep, settings: SettingsDep
) -> FreezeOut:
    c, feas = service.freeze_batch(
        session, code, actor=user.username, clock=clock, storage=settings.storage_dir
    )
    return FreezeOut(
        commitment=c.commitment,
        params=json.loads(c.params_json),
        feasibility=FeasibilityOut(**feas.to_dict()),
    )


@router.post(
    "/batches/{code}/withdraw-commitment",
    response_model=s.BatchPublic,
    summary="公开撤回承诺（抽取前）",
)
def withdraw_commitment(
    code: str,
    data: s.WithdrawCommitmentRequest,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
) -> s.BatchPublic:
    service.withdraw_commitment(session, code, data.reason, actor=user.username, clock=clock)
    return batch_public(session, service.get_batch(session, code))


class DrawOut(BaseModel):
    seed: str
    selected: int
    unassigned: list[str]
    pairing_tickets: int


@router.post("/batches/{code}/entropy", response_model=DrawOut, summary="录入熵值并抽取（仅一次）")
def enter_entropy(
    code: str,
    data: s.EntropySubmit,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
) -> DrawOut:
    draw = service.enter_entropy(
        session, code, data.entropy, actor=user.username, clock=clock, storage=settings.storage_dir
    )
    unassigned = session.exec(
        select(Task.uscc)
        .where(Task.batch_id == draw.batch_id, Task.state == "unassigned")
        .order_by(Task.position)
    ).all()
    return DrawOut(
        seed=draw.seed,
        selected=draw.selected_count,
        unassigned=list(unassigned),
        pairing_tickets=draw.pairing_tickets,
    )


class EventOut(BaseModel):
    seq: int
    event: dict[str, Any]
    outcome: dict[str, Any]
    chain: str


def _event_out(row: service.DrawEvent) -> EventOut:
    return EventOut(
        seq=row.seq,
        event=json.loads(row.event_json),
        outcome=json.loads(row.outcome_json),
        chain=row.chain,
    )


@router.post("/batches/{code}/tasks/{uscc}/recuse", response_model=EventOut, summary="检查人员回避")
def recuse(
    code: str,
    uscc: str,
    data: s.RecuseRequest,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
) -> EventOut:
    row = service.recuse(
        session,
        code,
        uscc,
        data.inspector,
        data.reason,
        actor=user.username,
        clock=clock,
        storage=settings.storage_dir,
    )
    return _event_out(row)


@router.post(
    "/batches/{code}/tasks/{uscc}/withdraw",
    response_model=EventOut,
    summary="撤出检查对象（由备选递补）",
)
def withdraw_entity(
    code: str,
    uscc: str,
    data: s.WithdrawEntityRequest,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
) -> EventOut:
    row = service.withdraw_entity(
        session,
        code,
        uscc,
        data.reason,
        actor=user.username,
        clock=clock,
        storage=settings.storage_dir,
    )
    return _event_out(row)


class TaskOut(BaseModel):
    position: int
    uscc: str
    entity_name: str
    stratum: str
    ticket: str
    state: str
    understaffed: bool
    team: list[dict[str, str]]


@router.get(
    "/batches/{code}/tasks", response_model=list[TaskOut], summary="抽取结果：检查对象与检查组"
)
def list_tasks(code: str, session: SessionDep, user: OptionalUser) -> list[TaskOut]:
    batch = visible_batch(session, code, user)
    return [TaskOut(**row) for row in service.task_rows(session, batch)]


@router.get("/batches/{code}/workload", summary="本批次执法人员工作量")
def workload(code: str, session: SessionDep, user: OptionalUser) -> list[dict[str, Any]]:
    batch = visible_batch(session, code, user)
    return service.workload(session, batch)


@router.get(
    "/batches/{code}/bundle.json",
    summary="抽取记录 bundle.json（公开，可独立验证）",
    responses={200: {"content": {"application/json": {}}}},
)
def bundle_json(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    files = service.export_bundle(session, code, storage=settings.storage_dir)
    body = json.dumps(files.bundle, ensure_ascii=False, indent=1, sort_keys=True)
    return Response(body, media_type="application/json; charset=utf-8")


@router.get(
    "/batches/{code}/bundle.zip",
    summary="抽取记录包（bundle.json、pool.tsv、roster.tsv、verify.py）",
    responses={200: {"content": {"application/zip": {}}}},
)
def bundle_zip(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    from supervision.draw import standalone_verifier_source

    files = service.export_bundle(session, code, storage=settings.storage_dir)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            f"{code}/bundle.json",
            json.dumps(files.bundle, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        )
        z.writestr(f"{code}/pool.tsv", files.pool)
        z.writestr(f"{code}/roster.tsv", files.roster)
        z.writestr("verify.py", standalone_verifier_source())
    return Response(
        buf.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{code}-bundle.zip"'},
    )


@router.get(
    "/batches/{code}/commitment.pdf",
    summary="抽查承诺公告（PDF，公开）",
    responses={200: {"content": {"application/pdf": {}}}},
)
def commitment_pdf(code: str, session: SessionDep, user: OptionalUser) -> Response:
    from reports.documents import commitment_pdf as render

    visible_batch(session, code, user)
    return Response(
        render(session, code),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{code}-commitment.pdf"'},
    )


@router.get(
    "/batches/{code}/draw.pdf",
    summary="抽取结果公告（PDF，公开）",
    responses={200: {"content": {"application/pdf": {}}}},
)
def draw_pdf(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    from reports.documents import draw_result_pdf as render

    pdf = render(session, code, storage=settings.storage_dir)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{code}-draw.pdf"'},
    )


class JobRunOut(BaseModel):
    job: str
    slot: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    detail: dict[str, Any]


@router.get(
    "/jobs/runs", response_model=list[JobRunOut], summary="定时任务运行记录（含公示期限预警）"
)
def job_runs(session: SessionDep, user: StaffReader) -> list[JobRunOut]:
    from supervision.jobs.runner import recent_runs

    return [
        JobRunOut(
            job=r.job,
            slot=r.slot,
            started_at=r.started_at,
            finished_at=r.finished_at,
            status=r.status,
            detail=json.loads(r.detail),
        )
        for r in recent_runs(session)
    ]
