"""Plans, batches and draws in the JSON API. Planners write; the public reads what is published.

Thin: each handler parses the request, calls one domain function and returns its schema; what
the public may see is `supervision.planning.queries`.
"""

import json
import os
import tempfile
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from api.artefacts import warm_after_commit
from api.deps import (
    CeremonyDep,
    ClockDep,
    CodeText,
    OptionalUser,
    SessionDep,
    SettingsDep,
)
from api.errors import ERROR_RESPONSES
from api.roles import Planner, StaffReader
from api.routers.documents import context
from reports.documents import commitment_pdf_file, draw_result_pdf_file
from supervision.jobs.runner import recent_runs
from supervision.jobs.schemas import JobRunPublic
from supervision.planning import drawing, events, feasibility, freeze, queries, service, templates
from supervision.planning import queries as q
from supervision.planning import schemas as s

router = APIRouter(prefix="/api/v1", tags=["planning"], responses=ERROR_RESPONSES)


# ---- plans ---------------------------------------------------------------------------------


@router.get("/plans", response_model=list[s.PlanPublic], summary="年度抽查计划（公开）")
def list_plans(session: SessionDep, user: OptionalUser) -> list[s.PlanPublic]:
    return q.list_plans(session, user)


@router.post("/plans", response_model=s.PlanPublic, status_code=201, summary="新建年度计划")
def create_plan(
    data: s.PlanCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.PlanPublic:
    return q.plan_public(
        session, service.create_plan(session, data, actor=user.username, clock=clock)
    )


@router.post("/plans/{code}/publish", response_model=s.PlanPublic, summary="公示年度计划")
def publish_plan(code: str, session: SessionDep, user: Planner, clock: ClockDep) -> s.PlanPublic:
    return q.plan_public(
        session, service.publish_plan(session, code, actor=user.username, clock=clock)
    )


@router.post("/plans/{code}/changes", response_model=s.PlanPublic, summary="公示计划调整")
def change_plan(
    code: str, data: s.PlanChangeCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.PlanPublic:
    service.add_plan_change(session, code, data, actor=user.username, clock=clock)
    return q.plan_by_code(session, code)


@router.post(
    "/plans/{code}/templates",
    response_model=s.BatchTemplatePublic,
    status_code=201,
    summary="新建计划模板（定期自动创建的批次，如每季度）",
)
def create_template(
    code: str,
    data: s.BatchTemplateCreate,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    rules: CeremonyDep,
) -> s.BatchTemplatePublic:
    row = templates.create_template(
        session, code, data, actor=user.username, clock=clock, rules=rules
    )
    return templates.template_public(session, row)


@router.get(
    "/plans/{code}/templates",
    response_model=list[s.BatchTemplatePublic],
    summary="计划模板及其已创建的批次（工作人员）",
)
def list_templates(
    code: str, session: SessionDep, user: StaffReader
) -> list[s.BatchTemplatePublic]:
    plan = service.get_plan(session, code)
    return [templates.template_public(session, t) for t in templates.plan_templates(session, plan)]


# ---- batches -------------------------------------------------------------------------------


@router.get("/batches", response_model=list[s.BatchPublic], summary="抽查批次（公开已公示的）")
def list_batches(
    session: SessionDep,
    user: OptionalUser,
    plan: CodeText = None,
) -> list[s.BatchPublic]:
    return q.list_batches(session, user, plan)


@router.post(
    "/plans/{plan_code}/batches",
    response_model=s.BatchPublic,
    status_code=201,
    summary="新建抽查批次",
)
def create_batch(
    plan_code: str,
    data: s.BatchCreate,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    rules: CeremonyDep,
) -> s.BatchPublic:
    batch = service.create_batch(
        session, plan_code, data, actor=user.username, clock=clock, rules=rules
    )
    return q.batch_public(session, batch)


@router.put("/batches/{code}", response_model=s.BatchPublic, summary="修改草稿批次")
def revise_batch(
    code: str,
    data: s.BatchCreate,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    rules: CeremonyDep,
) -> s.BatchPublic:
    batch = service.revise_batch(session, code, data, actor=user.username, clock=clock, rules=rules)
    return q.batch_public(session, batch)


@router.get("/batches/{code}", response_model=s.BatchPublic, summary="抽查批次详情（公开已公示的）")
def get_batch(code: str, session: SessionDep, user: OptionalUser) -> s.BatchPublic:
    return q.batch_public(session, q.visible_batch(session, code, user))


@router.get(
    "/batches/{code}/feasibility", response_model=s.FeasibilityPublic, summary="冻结前可行性检查"
)
def batch_feasibility(code: str, session: SessionDep, user: StaffReader) -> s.FeasibilityPublic:
    return s.FeasibilityPublic(
        **feasibility.check_feasibility(session, service.get_batch(session, code)).to_dict()
    )


@router.post("/batches/{code}/freeze", response_model=s.FreezePublic, summary="冻结并公示承诺")
def freeze_batch(
    code: str,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
    rules: CeremonyDep,
    acknowledge_unassigned: Annotated[
        bool, Query(description="知悉部分抽中主体将无法组成完整检查组，仍要冻结（记录在案）")
    ] = False,
) -> s.FreezePublic:
    c, feas = freeze.freeze_batch(
        session,
        code,
        actor=user.username,
        clock=clock,
        storage=settings.storage_dir,
        acknowledge_unassigned=acknowledge_unassigned,
        rules=rules,
    )
    return s.FreezePublic(
        commitment=c.commitment,
        params=json.loads(c.params_json),
        feasibility=s.FeasibilityPublic(**feas.to_dict()),
    )


@router.post(
    "/batches/{code}/withdraw-commitment",
    response_model=s.BatchPublic,
    summary="公开撤回承诺（抽取前）",
)
def withdraw_commitment(
    code: str,
    data: s.CommitmentWithdrawalCreate,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
) -> s.BatchPublic:
    freeze.withdraw_commitment(session, code, data.reason, actor=user.username, clock=clock)
    return q.batch_public(session, service.get_batch(session, code))


@router.post(
    "/batches/{code}/entropy", response_model=s.DrawPublic, summary="录入熵值并抽取（仅一次）"
)
def enter_entropy(
    request: Request,
    code: str,
    data: s.EntropyCreate,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
    rules: CeremonyDep,
) -> s.DrawPublic:
    draw = drawing.enter_entropy(
        session,
        code,
        data.entropy,
        actor=user.username,
        clock=clock,
        storage=settings.storage_dir,
        rules=rules,
        witnesses=[w.model_dump() for w in data.witnesses],
        late_reason=data.late_reason,
    )
    warm_after_commit(request, code)
    return q.draw_public(session, draw)


@router.post(
    "/batches/{code}/tasks/{uscc}/recuse", response_model=s.DrawEventPublic, summary="检查人员回避"
)
def recuse(
    request: Request,
    code: str,
    uscc: str,
    data: s.RecusalCreate,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
) -> s.DrawEventPublic:
    row = events.recuse(
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
    warm_after_commit(request, code)
    return q.event_public(row)


@router.post(
    "/batches/{code}/tasks/{uscc}/withdraw",
    response_model=s.DrawEventPublic,
    summary="撤出检查对象（由备选递补）",
)
def withdraw_entity(
    request: Request,
    code: str,
    uscc: str,
    data: s.EntityWithdrawalCreate,
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
) -> s.DrawEventPublic:
    row = events.withdraw_entity(
        session,
        code,
        uscc,
        data.reason,
        actor=user.username,
        clock=clock,
        storage=settings.storage_dir,
    )
    warm_after_commit(request, code)
    return q.event_public(row)


@router.get(
    "/batches/{code}/tasks",
    response_model=list[s.DrawnTaskPublic],
    response_model_exclude_unset=True,
    summary="抽取结果：检查对象与检查组",
)
def list_tasks(code: str, session: SessionDep, user: OptionalUser) -> list[s.DrawnTaskPublic]:
    batch = q.visible_batch(session, code, user)
    return q.drawn_tasks(session, batch, internal=q.sees_unpublished(user))


@router.get("/batches/{code}/workload", summary="本批次执法人员工作量")
def workload(code: str, session: SessionDep, user: OptionalUser) -> list[dict[str, Any]]:
    return queries.workload(session, q.visible_batch(session, code, user))


@router.get(
    "/batches/{code}/bundle.json",
    summary="抽取记录 bundle.json（公开，可独立验证）",
    responses={200: {"content": {"application/json": {}}}},
)
def bundle_json(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    path = q.bundle_json_file(session, code, storage=settings.storage_dir)
    return FileResponse(path, media_type="application/json; charset=utf-8")


@router.get(
    "/batches/{code}/bundle.zip",
    summary="抽取记录包（bundle.json、pool.tsv、roster.tsv、verify.py）",
    responses={200: {"content": {"application/zip": {}}}},
)
def bundle_zip(code: str, session: SessionDep, settings: SettingsDep) -> Response:
    return FileResponse(
        q.bundle_zip_file(session, code, storage=settings.storage_dir),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{code}-bundle.zip"'},
    )


@router.get(
    "/batches/{code}/files/{name}",
    summary="抽取记录包中的名录文件 pool.tsv / roster.tsv（公开，供浏览器内核验）",
    responses={200: {"content": {"text/tab-separated-values": {}}}},
)
def frozen_file(code: str, name: str, session: SessionDep, settings: SettingsDep) -> Response:
    return FileResponse(
        q.public_frozen_file(session, code, name, storage=settings.storage_dir),
        media_type="text/tab-separated-values; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{code}-{name}"',
            "Cache-Control": "public, max-age=86400, immutable",
        },
    )


@router.get(
    "/batches/{code}/auditor.zip",
    summary="审计版抽取记录包（另含 strata.tsv、conflicts.tsv；仅限工作人员）",
    responses={200: {"content": {"application/zip": {}}}},
)
def auditor_zip(
    code: str, session: SessionDep, settings: SettingsDep, user: StaffReader
) -> Response:
    # Never stored (private files): written to a temporary file, sent, then removed.
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".auditor-", suffix=".zip", dir=settings.storage_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            q.write_bundle_zip(session, code, out, storage=settings.storage_dir, auditor=True)
    except BaseException:
        os.unlink(name)
        raise
    return FileResponse(
        name,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{code}-auditor.zip"',
            "Cache-Control": "no-store",
        },
        background=BackgroundTask(os.unlink, name),
    )


@router.get(
    "/batches/{code}/credentials/{uscc}",
    summary="抽取核验凭据：一户的分层与盐值（密封分层批次；仅限工作人员，只交给该主体）",
)
def credential(
    code: str, uscc: str, session: SessionDep, settings: SettingsDep, user: StaffReader
) -> dict[str, Any]:
    return q.entity_credential(session, code, uscc, storage=settings.storage_dir)


@router.get(
    "/batches/{code}/commitment.pdf",
    summary="抽查承诺公告（PDF，公开）",
    responses={200: {"content": {"application/pdf": {}}}},
)
def commitment_pdf(
    code: str, session: SessionDep, user: OptionalUser, settings: SettingsDep
) -> Response:
    q.visible_batch(session, code, user)
    return FileResponse(
        commitment_pdf_file(session, code, storage=settings.storage_dir),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{code}-commitment.pdf"'},
    )


@router.get(
    "/batches/{code}/draw.pdf",
    summary="随机抽取记录（PDF，公开）",
    responses={200: {"content": {"application/pdf": {}}}},
)
def draw_pdf(
    code: str, request: Request, session: SessionDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    return FileResponse(
        draw_result_pdf_file(
            session, code, storage=settings.storage_dir, ctx=context(request, user)
        ),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{code}-draw.pdf"'},
    )


@router.get(
    "/jobs/runs", response_model=list[JobRunPublic], summary="定时任务运行记录（含公示期限预警）"
)
def job_runs(session: SessionDep, user: StaffReader) -> list[JobRunPublic]:
    return [JobRunPublic.of(r) for r in recent_runs(session)]
