"""Results in the JSON API: the team records, a reviewer reviews, results are published.

Routes parse, call the service and shape the answer; who may do what is decided by the
service (a team member records, an independent reviewer reviews), so pages and the CLI get the
same rules. The public reads published results only.
"""

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import Response

from api.deps import (
    NO_NUL,
    CalendarDep,
    ClockDep,
    CodebookDep,
    CurrentUser,
    OptionalUser,
    SessionDep,
    SettingsDep,
)
from api.errors import ERROR_RESPONSES, ErrorResponse
from api.roles import InspectorUser, Reviewer, StaffReader, is_reader
from supervision.errors import NotFound
from supervision.inspection import queries, rules, service, stats, versions
from supervision.inspection import schemas as s
from supervision.inspection.models import EvidenceFile
from supervision.planning.models import TaskState
from supervision.planning.queries import visible_batch
from supervision.planning.service import get_batch, get_plan
from supervision.portal import inference
from supervision.portal.schemas import BatchEstimatesPublic
from supervision.storage.service import get_bytes

router = APIRouter(prefix="/api/v1", tags=["inspection"], responses=ERROR_RESPONSES)

TaskId = Annotated[int, Path(ge=1, le=2_147_483_647, description="检查任务编号")]
Code = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")]


# ---- the inspector's and the reviewer's lists ---------------------------------------------


@router.get(
    "/me/tasks",
    response_model=list[s.InspectionTaskStaff],
    summary="我的检查任务（截止日期、待补内容）",
)
def my_tasks(
    session: SessionDep,
    user: InspectorUser,
    clock: ClockDep,
    book: CodebookDep,
    calendar: CalendarDep,
    state: TaskState | None = None,
) -> list[s.InspectionTaskStaff]:
    return queries.my_tasks(
        session, user, today=clock.today(), book=book, state=state, calendar=calendar
    )


@router.get("/review/queue", response_model=list[s.InspectionTaskStaff], summary="待审核的检查结果")
def review_queue(
    session: SessionDep, user: Reviewer, clock: ClockDep, book: CodebookDep
) -> list[s.InspectionTaskStaff]:
    return queries.review_queue(session, user, today=clock.today(), book=book)


# ---- one task ------------------------------------------------------------------------------


@router.get("/tasks/{task_id}", response_model=s.InspectionTaskStaff, summary="检查任务详情")
def get_task(
    task_id: TaskId,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    book: CodebookDep,
    calendar: CalendarDep,
) -> s.InspectionTaskStaff:
    task = rules.get_task(session, task_id)
    rules.require_reader(session, task, user)
    return queries.task_view(session, task, user, today=clock.today(), book=book, calendar=calendar)


@router.get(
    "/tasks/{task_id}/result",
    response_model=s.ResultVersionStaff | None,
    summary="当前检查结果（草稿或最新版本；尚未录入时为 null）",
)
def get_result(
    task_id: TaskId, session: SessionDep, user: CurrentUser, book: CodebookDep
) -> s.ResultVersionStaff | None:
    task = rules.get_task(session, task_id)
    rules.require_reader(session, task, user)
    version = versions.current_version(session, task)
    return queries.version_out(session, version, book) if version else None


@router.put(
    "/tasks/{task_id}/result",
    response_model=s.ResultVersionStaff,
    summary="保存检查结果草稿（检查组成员；可暂缺事项）",
)
def save_result(
    task_id: TaskId,
    data: s.ResultCreate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    book: CodebookDep,
) -> s.ResultVersionStaff:
    version = service.save_draft(session, task_id, data, user=user, clock=clock, book=book)
    return queries.version_out(session, version, book)


@router.get(
    "/tasks/{task_id}/versions",
    response_model=list[s.ResultVersionStaff],
    summary="检查结果的全部版本（含退回、更正前的版本）",
)
def list_versions(
    task_id: TaskId, session: SessionDep, user: CurrentUser, book: CodebookDep
) -> list[s.ResultVersionStaff]:
    task = rules.get_task(session, task_id)
    rules.require_reader(session, task, user)
    return [queries.version_out(session, v, book) for v in versions.versions(session, task)]


@router.post(
    "/tasks/{task_id}/submit",
    response_model=s.ResultVersionStaff,
    summary="提交检查结果待审核（每个事项均须完整）",
)
def submit(
    task_id: TaskId, session: SessionDep, user: CurrentUser, clock: ClockDep, book: CodebookDep
) -> s.ResultVersionStaff:
    version = service.submit(session, task_id, user=user, clock=clock, book=book)
    return queries.version_out(session, version, book)


# ---- evidence ------------------------------------------------------------------------------


def _evidence_out(row: EvidenceFile) -> s.EvidenceStaff:
    return s.EvidenceStaff(
        sha256=row.sha256,
        filename=row.filename,
        media_type=row.media_type,
        size=row.size,
        uploaded_at=row.uploaded_at,
        uploaded_by=row.uploaded_by,
    )


@router.post(
    "/tasks/{task_id}/evidence",
    response_model=s.EvidenceStaff,
    status_code=201,
    summary="上传证据文件（JPEG/PNG/PDF，按内容识别，≤10 MB；返回 SHA-256）",
    responses={
        413: {"model": ErrorResponse, "description": "文件超过大小上限"},
        415: {"model": ErrorResponse, "description": "文件类型不在允许范围"},
    },
)
def upload_evidence(
    task_id: TaskId,
    file: Annotated[UploadFile, File(description="照片或现场检查记录扫描件")],
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
) -> s.EvidenceStaff:
    # Only the task's team uploads: refused before the upload is read.
    rules.require_team_member(session, rules.get_task(session, task_id), user)
    limit = service.EVIDENCE_MAX_BYTES
    data = file.file.read(limit + 1)  # one byte past the limit is enough to refuse
    row = service.upload_evidence(
        session,
        task_id,
        data,
        file.filename or "",
        user=user,
        clock=clock,
        storage=settings.storage_dir,
        max_bytes=limit,
    )
    return _evidence_out(row)


@router.get(
    "/tasks/{task_id}/evidence", response_model=list[s.EvidenceStaff], summary="本任务的证据文件"
)
def list_evidence(task_id: TaskId, session: SessionDep, user: CurrentUser) -> list[s.EvidenceStaff]:
    task = rules.get_task(session, task_id)
    rules.require_reader(session, task, user)
    return [_evidence_out(row) for row in service.evidence_files(session, task)]


@router.get(
    "/tasks/{task_id}/evidence/{sha256}",
    summary="下载证据文件",
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "application/pdf": {}}},
    },
)
def download_evidence(
    task_id: TaskId,
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> Response:
    task = rules.get_task(session, task_id)
    rules.require_reader(session, task, user)
    row = next((r for r in service.evidence_files(session, task) if r.sha256 == sha256), None)
    if row is None:
        raise NotFound("本任务没有该证据文件", "no such evidence file for this task")
    return Response(
        get_bytes(settings.storage_dir, sha256),
        media_type=row.media_type,
        headers={"X-Content-SHA256": sha256, "X-Content-Type-Options": "nosniff"},
    )


# ---- review, publication, corrections -----------------------------------------------------


@router.post(
    "/tasks/{task_id}/review",
    response_model=s.ResultVersionStaff,
    summary="审核检查结果：通过，或退回并说明理由（审核人员不得为检查组成员）",
)
def review(
    task_id: TaskId,
    data: s.ReviewCreate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    book: CodebookDep,
) -> s.ResultVersionStaff:
    version = service.review(session, task_id, data, user=user, clock=clock)
    return queries.version_out(session, version, book)


@router.post(
    "/tasks/{task_id}/publish", response_model=s.ResultVersionStaff, summary="公示一项检查结果"
)
def publish_task(
    task_id: TaskId,
    session: SessionDep,
    user: StaffReader,
    clock: ClockDep,
    book: CodebookDep,
    calendar: CalendarDep,
) -> s.ResultVersionStaff:
    version = service.publish_task(session, task_id, user=user, clock=clock, calendar=calendar)
    return queries.version_out(session, version, book)


@router.post(
    "/batches/{code}/publish-results",
    response_model=s.PublicationSummary,
    summary="公示本批次全部审核通过的检查结果",
)
def publish_batch(
    code: Code,
    session: SessionDep,
    user: StaffReader,
    clock: ClockDep,
    calendar: CalendarDep,
) -> s.PublicationSummary:
    return service.publish_batch(session, code, user=user, clock=clock, calendar=calendar)


@router.post(
    "/tasks/{task_id}/corrections",
    response_model=s.ResultVersionStaff,
    status_code=201,
    summary="更正已公示的检查结果（新版本，须说明理由；原版本保留）",
)
def correct(
    task_id: TaskId,
    data: s.CorrectionCreate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    book: CodebookDep,
) -> s.ResultVersionStaff:
    version = service.correct(session, task_id, data, user=user, clock=clock, book=book)
    return queries.version_out(session, version, book)


# ---- public record and statistics ---------------------------------------------------------


@router.get(
    "/public/results",
    response_model=s.ResultsPublicPage,
    summary="抽查检查结果公示（仅已公示的结果）",
)
def public_results(
    session: SessionDep,
    book: CodebookDep,
    batch: Annotated[
        str | None, Query(max_length=32, pattern=NO_NUL, description="抽查任务编号")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="主体名称或统一社会信用代码")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> s.ResultsPublicPage:
    return queries.public_results(
        session, batch=batch, q=q, page=page, per_page=per_page, book=book
    )


@router.get("/batches/{code}/stats", response_model=s.StatsPublic, summary="批次统计（工作人员）")
def batch_stats(
    code: Code,
    session: SessionDep,
    user: StaffReader,
    clock: ClockDep,
    book: CodebookDep,
    calendar: CalendarDep,
) -> s.StatsPublic:
    batch = get_batch(session, code)
    return stats.batch_stats(session, batch, today=clock.today(), book=book, calendar=calendar)


@router.get(
    "/batches/{code}/estimates",
    response_model=BatchEstimatesPublic,
    summary="抽样推断：本批次抽查对象总体中存在问题的比例（95% 置信区间）",
)
def batch_estimates(
    code: Code,
    session: SessionDep,
    user: OptionalUser,
    book: CodebookDep,
    settings: SettingsDep,
) -> BatchEstimatesPublic:
    """Overall, by industry section and by supervising unit; by risk class only for staff
    who read internal figures."""
    batch = visible_batch(session, code, user)
    found = inference.batch_estimates(session, batch, book, storage=settings.storage_dir)
    if found is None:
        raise NotFound(f"批次“{code}”尚未抽取，没有可推断的样本", f"batch {code!r} is not drawn")
    return BatchEstimatesPublic.model_validate(found if is_reader(user) else found.public())


@router.get("/plans/{code}/stats", response_model=s.StatsPublic, summary="年度计划统计（工作人员）")
def plan_stats(
    code: Code,
    session: SessionDep,
    user: StaffReader,
    clock: ClockDep,
    book: CodebookDep,
    calendar: CalendarDep,
) -> s.StatsPublic:
    plan = get_plan(session, code)
    return stats.plan_stats(session, plan, today=clock.today(), book=book, calendar=calendar)
