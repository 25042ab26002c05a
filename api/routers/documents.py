"""The bureau's documents as PDF (`reports.documents`): public ones — the annual plan, a
batch's announcement, its draw record, its published results, the annual report — built once
per content and served from storage; staff ones — the notices to the drawn businesses, the
on-site record form, the list decisions — built on request.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session, select

from api.deps import OptionalUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.roles import Staff, StaffReader
from reports import documents
from supervision.accounts.models import Role, User
from supervision.errors import Forbidden, NotFound
from supervision.planning import queries as q
from supervision.planning import service
from supervision.planning.models import PlanState, Task, TaskMember

router = APIRouter(prefix="/api/v1", tags=["documents"], responses=ERROR_RESPONSES)

Code = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]
PDF = {200: {"content": {"application/pdf": {}}}}
USCC = r"^[0-9A-HJ-NPQRTUWXY]{18}$"


def context(request: Request, user: User | None) -> documents.Context:
    settings = request.app.state.settings
    return documents.Context(
        data_dir=settings.data_dir,
        storage=settings.storage_dir,
        clock=request.app.state.clock,
        actor=user.username if user is not None else "system",
        public_url=settings.public_url,
    )


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{filename}"},
    )


def _file(path, filename: str) -> FileResponse:
    return FileResponse(
        path,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{filename}"},
    )


# ---- public ------------------------------------------------------------------------------------


@router.get("/plans/{code}/plan.pdf", summary="年度抽查工作计划（PDF，公开）", responses=PDF)
def plan_pdf(code: Code, request: Request, session: SessionDep, user: OptionalUser) -> FileResponse:
    plan = service.get_plan(session, code)
    if plan.state != PlanState.published:
        raise NotFound(f"计划“{code}”尚未公示", f"plan {code!r} is not published")
    ctx = context(request, user)
    return _file(documents.stored_document(session, "plan", code, ctx), f"{code}-plan.pdf")


@router.get("/batches/{code}/announcement.pdf", summary="抽查批次公告（PDF，公开）", responses=PDF)
def announcement_pdf(
    code: Code, request: Request, session: SessionDep, user: OptionalUser
) -> FileResponse:
    q.visible_batch(session, code, user)
    ctx = context(request, user)
    return _file(
        documents.stored_document(session, "announcement", code, ctx), f"{code}-announcement.pdf"
    )


@router.get(
    "/batches/{code}/ceremony.pdf",
    summary="随机抽取仪式记录（PDF，含见证人签字栏，公开）",
    responses=PDF,
)
def ceremony_pdf(
    code: Code, request: Request, session: SessionDep, user: OptionalUser
) -> FileResponse:
    q.visible_batch(session, code, user)
    ctx = context(request, user)
    return _file(documents.stored_document(session, "ceremony", code, ctx), f"{code}-ceremony.pdf")


@router.get("/batches/{code}/results.pdf", summary="抽查检查结果公示（PDF，公开）", responses=PDF)
def results_pdf(
    code: Code, request: Request, session: SessionDep, user: OptionalUser
) -> FileResponse:
    q.visible_batch(session, code, user)
    ctx = context(request, user)
    return _file(documents.stored_document(session, "results", code, ctx), f"{code}-results.pdf")


@router.get(
    "/reports/annual/{year}.pdf",
    summary="年度“双随机、一公开”监管工作报告（PDF，公开）",
    responses=PDF,
)
def annual_pdf(
    year: Annotated[int, Path(ge=2000, le=2100)],
    request: Request,
    session: SessionDep,
    user: OptionalUser,
) -> FileResponse:
    ctx = context(request, user)
    return _file(documents.stored_document(session, "annual", str(year), ctx), f"{year}-annual.pdf")


# ---- staff ------------------------------------------------------------------------------------


@router.get(
    "/batches/{code}/notices.pdf",
    summary="随机抽查通知书（整批一个 PDF，或 uscc 指定一户；工作人员）",
    responses=PDF,
)
def notices_pdf(
    code: Code,
    request: Request,
    session: SessionDep,
    user: StaffReader,
    uscc: Annotated[str | None, Query(pattern=USCC)] = None,
) -> Response:
    data = documents.notices_pdf(session, code, context(request, user), uscc=uscc)
    return _pdf(data, f"{code}-notices{'-' + uscc if uscc else ''}.pdf")


@router.get(
    "/batches/{code}/notices.zip",
    summary="随机抽查通知书（每户一个 PDF 的压缩包；工作人员）",
    responses={200: {"content": {"application/zip": {}}}},
)
def notices_zip(code: Code, request: Request, session: SessionDep, user: StaffReader) -> Response:
    data = documents.notices_zip(session, code, context(request, user))
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{code}-notices.zip"'},
    )


def _on_team(session: Session, user: User, code: str, uscc: str) -> bool:
    batch = service.get_batch(session, code)
    return (
        session.exec(
            select(TaskMember.id)
            .join(Task, Task.id == TaskMember.task_id)
            .where(
                Task.batch_id == batch.id,
                Task.uscc == uscc,
                TaskMember.inspector_id == user.inspector_id,
                TaskMember.active == True,  # noqa: E712
            )
        ).first()
        is not None
    )


@router.get(
    "/batches/{code}/record-form.pdf",
    summary="检查记录表（空白，或 uscc 指定一户按已录入结果填写；检查人员仅限本人任务）",
    responses=PDF,
)
def record_form_pdf(
    code: Code,
    request: Request,
    session: SessionDep,
    user: Staff,
    uscc: Annotated[str | None, Query(pattern=USCC)] = None,
) -> Response:
    if uscc and user.role == Role.inspector and not _on_team(session, user, code, uscc):
        raise Forbidden("只能打印本人所在检查组的检查记录表", "not on this task's team")
    data = documents.record_form_pdf(session, code, context(request, user), uscc)
    return _pdf(data, f"{code}-record-form{'-' + uscc if uscc else ''}.pdf")


IDS = r"^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$"


@router.get(
    "/enforcement/decisions.pdf",
    summary="列入/移出名录决定书（ids 为逗号分隔的名录记录编号，批量决定一次打印；工作人员）",
    responses=PDF,
)
def decisions_pdf(
    request: Request,
    session: SessionDep,
    user: StaffReader,
    ids: Annotated[
        str,
        Query(
            max_length=10_000,
            pattern=IDS,
            description="逗号分隔的名录记录编号，如 12,13,14（至多 10000 个字符）",
        ),
    ],
) -> Response:
    entry_ids = list(dict.fromkeys(int(i) for i in ids.split(",")))
    data = documents.decisions_pdf(session, entry_ids, context(request, user))
    return _pdf(data, f"decisions-{entry_ids[0]}.pdf")


@router.get(
    "/enforcement/entries/{entry_id}/decision.pdf",
    summary="一条名录记录的决定书（列入，及已移出的移出决定；工作人员）",
    responses=PDF,
)
def decision_pdf(
    entry_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    request: Request,
    session: SessionDep,
    user: StaffReader,
) -> Response:
    data = documents.decisions_pdf(session, [entry_id], context(request, user))
    return _pdf(data, f"decision-{entry_id}.pdf")
