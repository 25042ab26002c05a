"""Staff pages of the registries: entities, inspectors, and the bulk import form."""

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from api.deps import ClockDep, SessionDep, SettingsDep
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    attempt,
    form_text,
    page_links,
    render,
)
from api.roles import PlannerPage, ReaderPage, StaffPage, page_context
from api.scope import entity_scope
from supervision.disclosure import audience_of, visible
from supervision.errors import DomainError, NotFound
from supervision.registry import importer
from supervision.registry import queries as rq
from supervision.registry import service as registry_service
from supervision.registry.columns import vocabulary
from supervision.registry.importer import files as import_files
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


# ---- dashboard and registries --------------------------------------------------------------


def _choices(session: Session) -> dict[str, Any]:
    return {
        "units": rq.list_units(session),
        "departments": rq.list_departments(session),
        "entity_types": ENTITY_TYPE_LABELS,
        "statuses": ENTITY_STATUS_LABELS,
        "risk_classes": [r.value for r in RiskClass],
    }


@router.get("/staff/entities")
def entities(request: Request, session: SessionDep, user: StaffPage) -> Response:
    q = request.query_params
    params = {k: q.get(k, "").strip() for k in ("q", "unit", "type", "status", "risk", "page")}
    scope = entity_scope(user)
    scope.refuse_hidden_filters(risk_class=params["risk"])
    flt = registry_service.EntityFilter(
        q=params["q"] or None,
        supervising_unit=params["unit"] or None,
        entity_type=params["type"] if params["type"] in set(EntityType) else None,
        status=params["status"] if params["status"] in set(EntityStatus) else None,
        risk_class=params["risk"] if params["risk"] in set(RiskClass) else None,
        among=scope.among,
    )
    rows, total, page = _paged(
        lambda n: registry_service.list_entities(session, flt, n, PAGE_SIZE),
        _page_no(params["page"]),
    )
    context = {
        "rows": [registry_service.entity_staff_view(session, e, scope.audience) for e in rows],
        "params": params,
        "pages": page_links(total, page, PAGE_SIZE, params),
        "shown": scope.fields,
        "own_tasks_only": scope.among is not None,
    }
    return render(
        request, "staff/entities.html", {**context, **_choices(session)}, title="市场主体名录"
    )


@router.get("/staff/entities/{uscc}")
def entity(request: Request, uscc: str, session: SessionDep, user: StaffPage) -> Response:
    scope = entity_scope(user)
    entity = registry_service.get_entity(session, uscc)
    scope.check(session, entity)
    view = registry_service.entity_staff_view(session, entity, scope.audience)
    units = {u.code: u.name for u in rq.list_units(session)}
    return render(
        request,
        "staff/entity.html",
        {"e": view, **_choices(session), "unit_names": units, "shown": scope.fields},
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
        "rows": [registry_service.inspector_staff_view(i, audience_of(user)) for i in rows],
        "shown": visible("inspector", audience_of(user)),
        "params": params,
        "pages": page_links(total, page, PAGE_SIZE, params),
        **_choices(session),
    }
    return render(request, "staff/inspectors.html", context, title="执法检查人员名录")


# ---- bulk import ---------------------------------------------------------------------------

IMPORT_KINDS = {"entities": "市场主体", "inspectors": "执法检查人员", "tax-filings": "涉税信息"}


# A failed import keeps this many errors for its downloadable report (the page shows the
# first settings.import_error_cap of them).
FULL_ERROR_CAP = 100_000
ERROR_REPORTS_DIR = "import-reports"


def _keep_error_report(storage: Path, report: importer.ImportReport) -> str:
    """Write the full error report beside the stored files; its SHA-256 names it. Nothing
    of a failed import reaches the database (it rolls back), so the report is a plain file."""
    data = import_files.error_report_csv(report)
    digest = hashlib.sha256(data).hexdigest()
    folder = storage / ERROR_REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{digest}.csv").write_bytes(data)
    return digest


@router.get("/staff/import/errors/{digest}.csv")
def import_error_report(digest: str, user: PlannerPage, settings: SettingsDep) -> Response:
    if not (len(digest) == 64 and set(digest) <= set("0123456789abcdef")):
        raise NotFound("没有这份错误报告", "no such error report")
    path = settings.storage_dir / ERROR_REPORTS_DIR / f"{digest}.csv"
    if not path.is_file():
        raise NotFound("没有这份错误报告（可能已清理），请重新上传查看", "no such error report")
    return Response(
        path.read_bytes(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="import-errors-{digest[:12]}.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/staff/import/template/{kind}.{fmt}")
def import_template(kind: str, fmt: str, user: PlannerPage) -> Response:
    """The import template of a kind: its header row under the preferred names."""
    if kind not in import_files.TEMPLATE_KINDS or fmt not in ("csv", "xlsx"):
        raise NotFound("没有这个导入模板", "no such template")
    if fmt == "csv":
        body, media = import_files.template_csv(kind), "text/csv; charset=utf-8"
    else:
        body = import_files.template_xlsx(kind)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="import-template-{kind}.{fmt}"'},
    )


@router.get("/staff/imports")
def import_history(request: Request, session: SessionDep, user: ReaderPage) -> Response:
    rows = import_files.import_history(session)
    return render(
        request,
        "staff/imports.html",
        {"rows": rows, "kinds": {k.replace("-", "_"): v for k, v in IMPORT_KINDS.items()}},
        title="导入记录",
    )


def _import_page(
    request: Request,
    session: Session,
    *,
    kind: str = "entities",
    report: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "kind": kind,
        "kinds": IMPORT_KINDS,
        "units": rq.list_units(session),
        "vocabulary": vocabulary().columns,
        "report": report,
        "error": error,
        "limit_mb": request.app.state.settings.upload_max_bytes / 1024 / 1024,
        "errors_shown": request.app.state.settings.import_error_cap,
        "templates": {k: import_files.template_columns(k) for k in import_files.TEMPLATE_KINDS},
    }
    return render(
        request, "staff/import.html", context, status_code=status_code, title="批量导入名录"
    )


@router.get("/staff/import")
def import_form(request: Request, session: SessionDep, user: PlannerPage) -> Response:
    return _import_page(request, session)


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
        return _import_page(request, session, error="请选择导入的名录类型", status_code=400)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(
            request, session, kind=kind, error="请选择要上传的 CSV 或 XLSX 文件", status_code=400
        )
    try:
        # The JSON API's own path: size check, then the all-or-nothing importer. Every error
        # is kept (up to FULL_ERROR_CAP) for the downloadable report; the page shows the first.
        with attempt(session):
            report = importer.import_upload(
                session,
                kind,
                upload.file,
                filename=upload.filename or "upload",
                max_bytes=settings.upload_max_bytes,
                actor=user.username,
                clock=clock,
                error_cap=FULL_ERROR_CAP,
                default_unit=form_text(form, "default_unit")[:100] or None,
                snapshot_of=form_text(form, "snapshot_of")[:32] or None,
            ).to_dict()
    except importer.ImportFailed as exc:
        failed = exc.report.to_dict()
        failed["error_report"] = _keep_error_report(settings.storage_dir, exc.report)
        return _import_page(
            request, session, kind=kind, report=failed, error=exc.zh, status_code=400
        )
    except DomainError as exc:
        return _import_page(request, session, kind=kind, error=exc.zh, status_code=exc.status)
    return _import_page(request, session, kind=kind, report=report)
