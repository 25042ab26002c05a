"""Result pages: the inspector's tasks and result form, the reviewer's queue, the public record.

Thin views over supervision.inspection.service — the same rules as the JSON API (team members
record, an independent reviewer reviews). A refused form is rolled back and shown again with
the reason in Chinese and the entered values kept.
"""

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from api.deps import ClockDep, SessionDep, SettingsDep
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    attempt,
    form_text,
    page_links,
    redirect,
    render,
    validation_messages,
)
from api.roles import PageUser, StaffPage, page_context
from supervision.accounts.models import User
from supervision.calendar import default_calendar
from supervision.errors import DomainError
from supervision.inspection import queries, rules, service, versions
from supervision.inspection import schemas as s
from supervision.inspection.models import RESULT_STATUS_LABELS
from supervision.registry.reference import ResultCodeBook, result_codebook

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
PUBLIC_PAGE_SIZE = 20
TaskId = Annotated[int, Path(ge=1, le=2_147_483_647)]
LINE_LABELS = {
    "codes": "检查结果",
    "methods": "检查方式",
    "check_date": "检查日期",
    "problems": "发现的问题",
    "handling": "处理情况",
    "follow_up": "后续措施",
    "visit_date": "实地核查日期",
    "note": "核查情况",
    "sent_on": "挂号信寄出日期",
}


# ---- form ↔ result -------------------------------------------------------------------------


def result_from_form(form: FormData, item_codes: list[str]) -> dict[str, Any]:
    """The result form's fields (``<item>.<field>``) as a ResultCreate body; empty items left out."""
    lines = []
    for item in item_codes:

        def get(name: str, item: str = item) -> str:
            return form_text(form, f"{item}.{name}")

        codes = [c for c in form.getlist(f"{item}.codes") if isinstance(c, str) and c]
        methods = [m for m in form.getlist(f"{item}.methods") if isinstance(m, str) and m]
        evidence = [e for e in form.getlist(f"{item}.evidence") if isinstance(e, str) and e]
        texts = {k: get(k) for k in ("problems", "handling", "follow_up")}
        kind = get("proof_kind")
        letters = [d for d in (get("letter1"), get("letter2")) if d]
        proof = None
        if kind:
            proof = {
                "kind": kind,
                "visit_date": get("visit_date") or None,
                "note": get("note"),
                "letters": [{"sent_on": d} for d in letters],
            }
        if not (codes or methods or evidence or any(texts.values()) or get("check_date") or proof):
            continue
        lines.append(
            {
                "item_code": item,
                "codes": codes,
                "methods": methods,
                "check_date": get("check_date") or None,
                "proof": proof,
                "evidence": evidence,
                **texts,
            }
        )
    return {"lines": lines}


def _values_from_version(version: s.ResultVersionStaff | None) -> dict[str, dict[str, Any]]:
    """Form values of each item, from the stored version."""
    values: dict[str, dict[str, Any]] = {}
    for line in version.lines if version else []:
        proof = line.proof or {}
        letters = [x["sent_on"] for x in proof.get("letters", [])]
        values[line.item_code] = {
            "codes": [c.code for c in line.codes],
            "methods": line.methods,
            "check_date": line.check_date.isoformat() if line.check_date else "",
            "problems": line.problems,
            "handling": line.handling,
            "follow_up": line.follow_up,
            "proof_kind": proof.get("kind", ""),
            "visit_date": proof.get("visit_date") or "",
            "note": proof.get("note", ""),
            "letter1": letters[0] if letters else "",
            "letter2": letters[1] if len(letters) > 1 else "",
            "evidence": line.evidence,
        }
    return values


def _values_from_body(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for line in body["lines"]:
        proof = line["proof"] or {}
        letters = [x["sent_on"] for x in proof.get("letters", [])]
        values[line["item_code"]] = {
            **{k: line[k] or "" for k in ("check_date", "problems", "handling", "follow_up")},
            "codes": line["codes"],
            "methods": line["methods"],
            "evidence": line["evidence"],
            "proof_kind": proof.get("kind", ""),
            "visit_date": proof.get("visit_date") or "",
            "note": proof.get("note", ""),
            "letter1": letters[0] if letters else "",
            "letter2": letters[1] if len(letters) > 1 else "",
        }
    return values


def _label(loc: tuple[Any, ...]) -> str:
    names = [str(p) for p in loc]
    return next((LINE_LABELS[n] for n in reversed(names) if n in LINE_LABELS), names[-1])


# ---- task pages ----------------------------------------------------------------------------


def _task_page(
    request: Request,
    session: Session,
    user: User,
    task_id: TaskId,
    *,
    today: Any,
    book: ResultCodeBook,
    values: dict[str, dict[str, Any]] | None = None,
    errors: list[str] | None = None,
    item_errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    task = rules.get_task(session, task_id)
    rules.require_reader(session, task, user)
    view = queries.task_view(session, task, user, today=today, book=book)
    ctx = rules.task_context(session, task)
    codes = rules.codes_in_force(book, ctx.batch)
    member = rules.is_team_member(session, task, user)
    try:
        rules.require_independent_reviewer(session, task, user)
        independent = True
    except DomainError:
        independent = False
    context = {
        "task": view,
        "codes": codes.codes,
        "evidence_options": {c.code: c.evidence for c in codes.walk() if c.evidence},
        "evidence": service.evidence_files(session, task),
        "versions": [
            queries.version_out(session, v, book) for v in versions.versions(session, task)
        ],
        "values": values if values is not None else _values_from_version(view.current),
        "errors": errors or [],
        "item_errors": item_errors or {},
        "can_edit": member and view.state in rules.EDITABLE_STATES,
        "can_review": independent and view.state == "recorded",
        "can_publish": user.role in rules.PUBLISHER_ROLES and view.state == "reviewed",
        "status_labels": RESULT_STATUS_LABELS,
    }
    title = f"检查任务 · {view.entity_name}"
    return render(request, "inspection/task.html", context, status_code=status_code, title=title)


@router.get("/staff/tasks")
def task_list(
    request: Request, session: SessionDep, user: StaffPage, clock: ClockDep, settings: SettingsDep
) -> Response:
    book = result_codebook(settings.data_dir)
    calendar = default_calendar(settings.data_dir)
    today = clock.today()
    mine = queries.my_tasks(session, user, today=today, book=book, calendar=calendar)
    queue: list[s.InspectionTaskStaff] = []
    if user.role in rules.REVIEWER_ROLES:
        queue = queries.review_queue(session, user, today=today, book=book)
    context = {"groups": task_groups(mine, today), "mine": mine, "queue": by_due(queue)}
    return render(request, "inspection/tasks.html", context, title="检查任务")


def by_due(tasks: list[s.InspectionTaskStaff]) -> list[s.InspectionTaskStaff]:
    """Soonest publication deadline first; tasks whose deadline cannot be counted last."""
    return sorted(
        tasks, key=lambda t: (t.deadline.due is None, t.deadline.due or t.window_end, t.id)
    )


def task_groups(
    tasks: list[s.InspectionTaskStaff], today: date
) -> list[tuple[str, list[s.InspectionTaskStaff]]]:
    """An inspector's day: what is due this week (or late), what is in its window now, the
    rest; finished work (published) last."""
    week = today + timedelta(days=7)
    groups: dict[str, list[s.InspectionTaskStaff]] = {
        "今天和本周要办": [],
        "检查期间内": [],
        "尚未开始": [],
        "已公示": [],
    }
    for t in by_due(tasks):
        if t.state == "published":
            groups["已公示"].append(t)
        elif (
            t.deadline.overdue
            or (t.deadline.due is not None and t.deadline.due <= week)
            or (t.window_start <= today and t.window_end <= week)
        ):
            groups["今天和本周要办"].append(t)
        elif t.window_start <= today:
            groups["检查期间内"].append(t)
        else:
            groups["尚未开始"].append(t)
    return [(title, items) for title, items in groups.items() if items]


@router.get("/staff/tasks/{task_id}")
def task_page(
    request: Request,
    task_id: TaskId,
    session: SessionDep,
    user: StaffPage,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _task_page(
        request,
        session,
        user,
        task_id,
        today=clock.today(),
        book=result_codebook(settings.data_dir),
    )


@router.post("/staff/tasks/{task_id}/result")
def task_result(
    request: Request,
    task_id: TaskId,
    session: SessionDep,
    user: StaffPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = result_codebook(settings.data_dir)
    task = rules.get_task(session, task_id)
    items = rules.task_context(session, task).item_codes
    body = result_from_form(form, items)
    action = form_text(form, "action")
    submit = action == "submit"
    uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile) and f.filename]
    try:
        data = s.ResultCreate.model_validate(body)
        with attempt(session):
            # What was typed is kept first: an upload (or a refused submission) never loses it.
            service.save_draft(session, task_id, data, user=user, clock=clock, book=book)
            stored = [
                service.upload_evidence(
                    session,
                    task_id,
                    f.file.read(service.EVIDENCE_MAX_BYTES + 1),
                    f.filename or "",
                    user=user,
                    clock=clock,
                    storage=settings.storage_dir,
                )
                for f in (uploads if action == "upload" else [])
            ]
            if submit:
                service.submit(session, task_id, user=user, clock=clock, book=book)
    except ValidationError as exc:
        errors, item_errors = [], {}
        for error in exc.errors():
            text = validation_messages([error], LINE_LABELS)[0]
            errors.append(text)
            loc = tuple(error.get("loc", ()))
            if len(loc) > 1 and loc[0] == "lines" and isinstance(loc[1], int):
                item_code = body["lines"][loc[1]]["item_code"]
                item_errors.setdefault(item_code, []).append(text)
    except DomainError as exc:
        missing = exc.extra.get("missing") or [
            {"zh": exc.zh, "item_code": exc.extra.get("item_code")}
        ]
        errors = [m["zh"] for m in missing]
        item_errors = {}
        for m in missing:
            if m.get("item_code"):
                item_errors.setdefault(m["item_code"], []).append(m["zh"])
    else:
        if action == "upload":
            names = "、".join(r.filename for r in stored) or "（未选择文件）"
            flash = f"草稿已保存，已上传证据文件：{names}"
        else:
            flash = "检查结果已提交，等待审核" if submit else "草稿已保存"
        return redirect(f"/staff/tasks/{task_id}", flash)
    return _task_page(
        request,
        session,
        user,
        task_id,
        today=clock.today(),
        book=book,
        values=_values_from_body(body),
        errors=errors,
        item_errors=item_errors,
        status_code=400,
    )


@router.post("/staff/tasks/{task_id}/evidence")
def task_evidence(
    request: Request,
    task_id: TaskId,
    session: SessionDep,
    user: StaffPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    # Only the task's team uploads: refused before the form is even looked at.
    rules.require_team_member(session, rules.get_task(session, task_id), user)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return redirect(f"/staff/tasks/{task_id}", "请选择要上传的文件")
    data = upload.file.read(service.EVIDENCE_MAX_BYTES + 1)
    row = service.upload_evidence(
        session,
        task_id,
        data,
        upload.filename or "",
        user=user,
        clock=clock,
        storage=settings.storage_dir,
    )
    return redirect(
        f"/staff/tasks/{task_id}", f"已上传证据文件 {row.filename}（SHA-256 {row.sha256[:16]}…）"
    )


@router.post("/staff/tasks/{task_id}/review")
def task_review(
    request: Request,
    task_id: TaskId,
    session: SessionDep,
    user: StaffPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    decision = "approve" if form_text(form, "decision") == "approve" else "return"
    reason = form_text(form, "reason").replace("\x00", "")[:2000]
    data = s.ReviewCreate(decision=decision, reason=reason or None)
    service.review(session, task_id, data, user=user, clock=clock)
    flash = "已审核通过，可以公示" if decision == "approve" else "已退回检查组"
    return redirect("/staff/tasks", flash)


@router.post("/staff/tasks/{task_id}/publish")
def task_publish(
    request: Request,
    task_id: TaskId,
    session: SessionDep,
    user: StaffPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    if form_text(form, "confirm") != "yes":
        return redirect(
            f"/staff/tasks/{task_id}",
            "未公示：请先勾选确认——检查结果公示后即向社会公开，只能以更正的方式修改",
        )
    version = service.publish_task(
        session, task_id, user=user, clock=clock, calendar=default_calendar(settings.data_dir)
    )
    late = ""
    if version.late:
        late = "（已超过公示期限，记为逾期公示"
        late += (
            "；期限按暂定日历推算，该年度放假安排公布后将重新计算）"
            if version.deadline_provisional
            else "）"
        )
    return redirect(f"/staff/tasks/{task_id}", f"检查结果已公示{late}")


# ---- the public record ---------------------------------------------------------------------


@router.get("/results")
def public_results(
    request: Request,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    q: str = "",
    batch: str = "",
    page: str = "1",
) -> Response:
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    result = queries.public_results(
        session,
        batch=batch[:32] or None,
        q=q[:100] or None,
        page=number,
        per_page=PUBLIC_PAGE_SIZE,
        book=result_codebook(settings.data_dir),
    )
    pages = page_links(result.total, number, PUBLIC_PAGE_SIZE, {"q": q, "batch": batch})
    labels = {
        c.code: c.label for v in result_codebook(settings.data_dir).versions for c in v.walk()
    }
    context = {"result": result, "q": q, "batch": batch, "pages": pages, "labels": labels}
    return render(request, "inspection/public_results.html", context, title="抽查检查结果公示")
