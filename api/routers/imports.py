"""Bulk import of registries by file upload (CSV or XLSX), all or nothing."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel

from api.deps import ClockDep, SessionDep, SettingsDep
from api.errors import ERROR_RESPONSES, ErrorDetail
from api.roles import Planner
from supervision.registry import importer


class ImportFailedDetail(ErrorDetail):
    report: dict[str, Any]


class ImportFailedResponse(BaseModel):
    detail: ImportFailedDetail


router = APIRouter(
    prefix="/api/v1/import",
    tags=["registry"],
    responses={
        **ERROR_RESPONSES,
        400: {"model": ImportFailedResponse | ERROR_RESPONSES[400]["model"]},
    },
)


def run_import(
    kind: str,
    upload: UploadFile,
    session,
    user,
    clock,
    settings,
    default_unit=None,
    snapshot_of=None,
) -> dict[str, Any]:
    report = importer.import_upload(
        session,
        kind,
        upload.file,
        filename=upload.filename or "upload",
        max_bytes=settings.upload_max_bytes,
        actor=user.username,
        clock=clock,
        error_cap=settings.import_error_cap,
        default_unit=default_unit,
        snapshot_of=snapshot_of,
    )
    return report.to_dict()


@router.post("/entities", summary="批量导入市场主体（CSV/XLSX，全部成功或全部不写入）")
def import_entities(
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GB18030）或 XLSX")],
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
    default_unit: Annotated[
        str | None,
        Form(max_length=100, description="默认管辖单位：文件无管辖单位列且无法从住所推断时使用"),
    ] = None,
    snapshot_of: Annotated[
        str | None,
        Form(
            max_length=32,
            description="全量快照范围（管辖单位或行政区划代码）：库中该范围内、文件未列出的主体"
            "在报告中列出（不删除）",
        ),
    ] = None,
) -> dict[str, Any]:
    return run_import("entities", file, session, user, clock, settings, default_unit, snapshot_of)


@router.post("/inspectors", summary="批量导入执法检查人员（CSV/XLSX，全部成功或全部不写入）")
def import_inspectors(
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GB18030）或 XLSX")],
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    return run_import("inspectors", file, session, user, clock, settings)


@router.post(
    "/tax-filings",
    summary="批量导入涉税信息（统一社会信用代码、年度、是否申报；全部成功或全部不写入）",
)
def import_tax_filings(
    file: Annotated[UploadFile, File(description="CSV（UTF-8/GB18030）或 XLSX")],
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    return run_import("tax-filings", file, session, user, clock, settings)
