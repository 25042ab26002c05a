"""List pages: the public 经营异常名录 / 严重违法失信名单, and the staff's proposals and decisions.

Thin views over supervision.enforcement.service — the same rules as the JSON API (planners and
reviewers read and propose, reviewers decide, record objection outcomes and remove). The public
page shows only what the public API shows. A refused form is rolled back and shown again next
to the form, in Chinese, with the entered values kept.
"""

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from api.deps import ClockDep, SessionDep, SettingsDep
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    attempt,
    form_optional,
    form_text,
    page_links,
    redirect,
    render,
    validation_messages,
)
from api.roles import AdminPage, LookupPage, PageUser, ReaderPage, ReviewerPage, page_context
from supervision.accounts.models import Role, User
from supervision.calendar import default_calendar
from supervision.clock import Clock
from supervision.enforcement import decisions, queries, service
from supervision.enforcement import schemas as s
from supervision.enforcement.models import (
    ENTRY_STATE_LABELS,
    LIST_KIND_LABELS,
    EntryState,
    ListKind,
)
from supervision.enforcement.restrictions import measures, restrictions
from supervision.enforcement.rulebook import Rulebook, rulebook
from supervision.errors import Conflict, DomainError, Invalid, NotFound
from supervision.registry.queries import unit_names

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
EntryId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PUBLIC_PAGE_SIZE = 20
RECENT = 20
EVIDENCE_ROWS = 3

FIELD_LABELS = {
    "list_kind": "名录类别",
    "uscc": "统一社会信用代码",
    "reason_code": "列入事由",
    "fact_on": "事实日期",
    "note": "说明",
    "decision": "决定",
    "reason": "理由",
    "decision_no": "决定书文号",
    "decided_on": "决定日期",
    "legal_basis": "依据",
    "authority": "作出决定机关",
    "filed_on": "异议提出日期",
    "grounds": "异议理由",
    "order_no": "通知文号",
    "ordered_on": "责令日期",
    "verified_on": "更正核实日期",
    "outcome": "处理结果",
    "applied_on": "申请日期",
    "kind": "证据种类",
    "reference": "证据文号或出处",
    "evidence": "更正证据",
}
EVIDENCE_LABELS = {
    "reports_filed": "已补报年度报告",
    "info_published": "已公示即时信息",
    "new_address_registered": "已办理住所（经营场所）变更登记",
    "contact_restored": "通过登记的住所（经营场所）可以重新取得联系",
    "penalty_performed": "已履行行政处罚决定",
    "credit_repair_commitment": "信用修复承诺书",
}
EVENT_LABELS = {
    "proposed": "提出列入建议",
    "listed": "决定列入",
    "rejected": "决定不予列入",
    "objection_filed": "提出异议",
    "objection_accepted": "受理异议",
    "approval_granted": "上一级同意列入",
    "ordered": "书面责令限期公示",
    "approval_refused": "上一级不同意列入",
    "objection_refused": "不予受理异议",
    "objection_upheld": "异议成立，撤销列入",
    "objection_dismissed": "异议不成立，维持列入",
    "removed": "移出",
    "expired": "期满移出",
    "reminder": "届满提醒",
    "escalated": "提出列入严重违法失信名单建议",
}
DETAIL_LABELS = {
    "source": "来源",
    "decision_no": "文号",
    "reason": "理由",
    "late": "逾期",
    "grounds": "异议理由",
    "accept_by": "受理期限",
    "acting_for": "代表",
    "order_no": "通知文号",
    "period_end": "责令期限届满",
    "decide_by": "列入决定期限",
    "basis": "依据",
    "verify_by": "核实期限",
    "provisional": "期限为暂定（放假安排未公布）",
    "evidence": "证据",
    "moves_on": "届满日期",
    "notice": "提醒内容",
    "serious_entry": "严重违法失信名单记录",
}


def form_values(form: FormData) -> dict[str, Any]:
    """The submitted fields, to show again in the refused form."""
    return {
        k: [v for v in form.getlist(k) if isinstance(v, str)]
        if k.startswith("evidence_")
        else form_text(form, k)
        for k in form
        if k != "csrf_token"
    }


def _detail(detail: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in detail.items():
        if value is None or value == "" or value == []:
            continue
        if key in ("late", "provisional"):
            value = "是" if value else "否"
        elif key == "evidence" and isinstance(value, list):
            value = "、".join(EVIDENCE_LABELS.get(str(v), str(v)) for v in value)
        out.append((DETAIL_LABELS.get(key, key), str(value)))
    return out


def _pending_objection(entry: s.ListEntryStaff) -> bool:
    """Whether an objection is open (waiting to be accepted, or being verified)."""
    events = [e for e in entry.events if e.kind.startswith("objection")]
    return decisions.objection_stage(events) is not None


def _allowed_evidence(book: Rulebook, entry: s.ListEntryStaff) -> list[str]:
    regime = book.regime(entry.rulebook)
    if entry.list_kind == ListKind.abnormal:
        reason = regime.reason(entry.reason_code)
        return list(reason.removal_evidence) if reason else []
    return list(regime.serious_removal_evidence)


def _common(user: User | None) -> dict[str, Any]:
    return {
        "kind_labels": LIST_KIND_LABELS,
        "state_labels": ENTRY_STATE_LABELS,
        "evidence_labels": EVIDENCE_LABELS,
        "is_reviewer": user is not None and user.role in (Role.reviewer, Role.admin),
        "is_admin": user is not None and user.role == Role.admin,
    }


# ---- the public lists ----------------------------------------------------------------------


@router.get("/lists")
def public_lists(
    request: Request,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    q: str = "",
    page: str = "1",
) -> Response:
    return _public_list(request, session, settings, user, "abnormal", q, page)


@router.get("/lists/{kind}")
def public_list(
    request: Request,
    kind: str,
    session: SessionDep,
    user: PageUser,
    settings: SettingsDep,
    q: str = "",
    page: str = "1",
) -> Response:
    return _public_list(request, session, settings, user, kind, q, page)


def _public_list(
    request: Request,
    session: Session,
    settings: Any,
    user: User | None,
    kind: str,
    q: str,
    page: str,
) -> Response:
    if kind not in LIST_KIND_LABELS:
        raise NotFound("没有这个名录", f"no list {kind!r}")
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    query = q.replace("\x00", "").strip()[:100]
    result = queries.public_entries(
        session,
        rulebook(settings.data_dir),
        list_kind=ListKind(kind),
        q=query or None,
        page=number,
        per_page=PUBLIC_PAGE_SIZE,
    )
    pages = page_links(result.total, number, PUBLIC_PAGE_SIZE, {"q": query}, f"/lists/{kind}")
    context = {**_common(user), "result": result, "kind": kind, "q": query, "pages": pages}
    title = LIST_KIND_LABELS[kind]
    return render(request, "enforcement/public_list.html", context, title=title)


# ---- staff: overview and proposals ---------------------------------------------------------


QUEUE_PAGE = 50
QUEUE_FILTERS = ("list_kind", "reason_code", "unit", "batch", "due_before", "late")


def _filter(params: Mapping[str, str], today: date) -> queries.ProposalFilter:
    """The queue's filter from query or form fields; a malformed value is ignored."""
    kind = params.get("list_kind") or ""
    due = params.get("due_before") or ""
    try:
        due_before = date.fromisoformat(due) if due else None
    except ValueError:
        due_before = None
    return queries.ProposalFilter(
        list_kind=ListKind(kind) if kind in LIST_KIND_LABELS else None,
        reason_code=(params.get("reason_code") or "")[:32] or None,
        unit=(params.get("unit") or "")[:32] or None,
        batch=(params.get("batch") or "")[:32] or None,
        due_before=due_before,
        late_on=today if params.get("late") == "yes" else None,
    )


def _overview(
    request: Request,
    session: Session,
    user: User,
    clock: Clock,
    book: Rulebook,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    bulk: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    today = clock.today()
    params = {k: request.query_params.get(k, "") for k in QUEUE_FILTERS}
    if bulk and bulk.get("filters"):
        params = bulk["filters"]
    raw_page = request.query_params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) <= 100_000 else 1
    flt = _filter(params, today)
    pending, total = queries.proposals(session, book, flt, page=number, per_page=QUEUE_PAGE)
    decided: list[s.ListEntryStaff] = []
    for state in (EntryState.listed, EntryState.rejected, EntryState.removed, EntryState.withdrawn):
        decided += queries.list_entries(session, book, state=state, limit=RECENT)
    decided.sort(key=lambda e: (e.decided_on or today, e.id), reverse=True)
    try:
        regime = book.regime_on(today)
        reasons = {
            "abnormal": [(r.code, r.label) for r in regime.abnormal_reasons],
            "serious": [(r.code, r.label) for r in regime.serious_reasons],
        }
    except Conflict:
        reasons = {"abnormal": [], "serious": []}
    objections = decisions.objection_clocks(
        session, today, default_calendar(request.app.state.settings.data_dir), book=book
    )
    context = {
        **_common(user),
        "today": today,
        "objections": objections,
        "pending": pending,
        "pending_total": total,
        "pages": page_links(total, number, QUEUE_PAGE, params, "/staff/enforcement"),
        "filters": params,
        "units": unit_names(session),
        "decided": decided[:RECENT],
        "reasons": reasons,
        "values": values or {},
        "errors": errors or [],
        "bulk": bulk or {},
    }
    return render(
        request, "enforcement/staff.html", context, status_code=status_code, title="信用监管"
    )


@router.get("/staff/enforcement")
def staff_overview(
    request: Request, session: SessionDep, user: ReaderPage, clock: ClockDep, settings: SettingsDep
) -> Response:
    return _overview(request, session, user, clock, rulebook(settings.data_dir))


@router.post("/staff/enforcement/bulk")
def staff_bulk_decision(
    request: Request,
    session: SessionDep,
    user: ReviewerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    """One decision for the ticked proposals, or for every proposal the filter selects."""
    book = rulebook(settings.data_dir)
    filters = {k: form_text(form, k) for k in QUEUE_FILTERS}
    if form_text(form, "select") == "filter":
        ids = queries.proposal_ids(session, _filter(filters, clock.today()))
    else:
        ids = [int(v) for v in form.getlist("entry") if isinstance(v, str) and v.isdigit()]
    values = {
        k: form_text(form, k)
        for k in (
            "decision",
            "reason",
            "decision_no_prefix",
            "first_number",
            "decided_on",
            "legal_basis",
        )
    }
    state: dict[str, Any] = {"filters": filters, "values": values, "ids": ids}
    if not ids:
        state["errors"] = ["请勾选要决定的建议，或选择“按筛选条件全部选中”"]
        return _overview(request, session, user, clock, book, bulk=state, status_code=400)
    if form_text(form, "confirm") != "yes":
        state["errors"] = [
            f"请勾选“我已核对”后再提交：本次将对 {len(ids)} 条建议作出同一决定，列入决定一经作出即向社会公示"
        ]
        return _overview(request, session, user, clock, book, bulk=state, status_code=400)
    try:
        data = s.BulkDecisionCreate(
            entry_ids=ids,
            decision=values["decision"] or "list",
            reason=values["reason"],
            decision_no_prefix=values["decision_no_prefix"] or None,
            first_number=int(values["first_number"]) if values["first_number"].isdigit() else None,
            decided_on=values["decided_on"] or None,
            legal_basis=values["legal_basis"] or None,
            skip_refused=form_text(form, "skip_refused") == "yes",
        )
        with attempt(session):
            out = decisions.decide_many(session, data, user=user, clock=clock, book=book)
    except ValidationError as exc:
        state["errors"] = validation_messages(exc.errors(), BULK_LABELS)
        return _overview(request, session, user, clock, book, bulk=state, status_code=400)
    except decisions.BulkRefused as exc:
        state["errors"] = [exc.zh]
        state["refused"] = exc.refused
        return _overview(request, session, user, clock, book, bulk=state, status_code=409)
    except DomainError as exc:
        state["errors"] = [exc.zh]
        return _overview(request, session, user, clock, book, bulk=state, status_code=exc.status)
    numbers = [n for _, _, n in out.decided if n]
    span = f"，文号 {numbers[0]} 至 {numbers[-1]}" if numbers else ""
    skipped = f"；{len(out.refused)} 条未处理" if out.refused else ""
    return redirect("/staff/enforcement", f"已对 {len(out.decided)} 条建议作出决定{span}{skipped}")


BULK_LABELS = {
    "entry_ids": "所选建议",
    "decision": "决定",
    "reason": "决定理由",
    "decision_no_prefix": "文号前缀",
    "first_number": "起始号",
    "decided_on": "决定日期",
    "legal_basis": "依据",
}


@router.post("/staff/enforcement")
def staff_propose(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)
    body = {
        "list_kind": form_text(form, "list_kind"),
        "uscc": form_text(form, "uscc").upper(),
        "reason_code": form_text(form, "reason_code"),
        "fact_on": form_text(form, "fact_on"),
        "note": form_text(form, "note"),
    }
    try:
        data = s.ProposalCreate.model_validate(body)
        with attempt(session):
            entry = service.propose(session, data, user=user, clock=clock, book=book)
    except ValidationError as exc:
        errors = validation_messages(exc.errors(), FIELD_LABELS)
    except DomainError as exc:
        errors = [exc.zh]
    else:
        return redirect(f"/staff/enforcement/{entry.id}", "已提出列入建议，等待审核人员决定")
    return _overview(
        request,
        session,
        user,
        clock,
        book,
        values=form_values(form),
        errors=errors,
        status_code=400,
    )


# ---- staff: one entry ----------------------------------------------------------------------


def _entry_page(
    request: Request,
    session: Session,
    user: User,
    entry_id: int,
    clock: Clock,
    book: Rulebook,
    *,
    failed: str = "",
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    entry = queries.entry_out(session, service.get_entry(session, entry_id), book)
    events = [
        {"event": e, "label": EVENT_LABELS.get(e.kind, e.kind), "detail": _detail(e.detail)}
        for e in entry.events
    ]
    common = _common(user)
    pending = _pending_objection(entry)
    forms: set[str] = set()
    if entry.state == EntryState.proposed and common["is_reviewer"]:
        forms.add("decision")
    if entry.state == EntryState.listed:
        if not pending:
            forms.add("objection")
        if common["is_reviewer"]:
            forms |= {"removal", "objection_decision"} if pending else {"removal"}
    objection_clock = None
    if pending:
        today = clock.today()
        calendar = default_calendar(request.app.state.settings.data_dir)
        clocks = decisions.objection_clocks(session, today, calendar, entry_id=entry.id, book=book)
        objection_clock = clocks[0] if clocks else None
        if objection_clock and objection_clock.stage == "filed" and common["is_reviewer"]:
            forms.add("objection_acceptance")
    regime = book.regime(entry.rulebook)
    # The abnormal-list reason, when it is one (a serious reason has none of these rules).
    reason = regime.reason(entry.reason_code) if entry.list_kind == "abnormal" else None
    step, approval, order, needs_order = "local", None, None, False
    if entry.state == EntryState.proposed:
        row = service.get_entry(session, entry_id)  # the same row (the session's identity map)
        step = decisions.authority_step(row, book)
        if reason is not None and reason.order_days:
            needs_order, order = reason, decisions.order_of(session, row)
            if order is None:
                forms.add("order")
        if step == "local_with_approval":
            approval = decisions.approval_state(session, row)
            if common["is_admin"] and approval != "granted":
                forms.add("approval")
    context = {
        "removal_from_verification": reason is not None
        and reason.removal_counts_from == "verification",
        "needs_order": needs_order,
        "order": order,
        "authority_step": step,
        "approval": approval,
        "provincial_authority": regime.provincial_authority,
        "level_above_authority": regime.level_above_authority,
        "objection_clock": objection_clock,
        "objection_rule": regime.objection,
        **common,
        "entry": entry,
        "events": events,
        "today": clock.today(),
        "pending_objection": pending,
        # A refusal of a form no longer shown (the entry moved on) is shown above the history.
        "stray_errors": (errors or []) if failed and failed not in forms else [],
        "allowed_evidence": _allowed_evidence(book, entry),
        "evidence_rows": EVIDENCE_ROWS,
        "failed": failed,
        "values": values or {},
        "errors": errors or [],
    }
    title = f"名录记录 {entry.id} · {entry.entity_name}"
    return render(request, "enforcement/entry.html", context, status_code=status_code, title=title)


@router.get("/staff/enforcement/{entry_id}")
def staff_entry(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: ReaderPage,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    return _entry_page(request, session, user, entry_id, clock, rulebook(settings.data_dir))


def _submit(
    request: Request,
    session: Session,
    user: User,
    entry_id: int,
    clock: Clock,
    book: Rulebook,
    form: FormData,
    *,
    name: str,
    schema: type[BaseModel],
    body: dict[str, Any],
    act: Any,
    flash: str,
) -> Response:
    """Validate ``body`` with ``schema``, call the service; on refusal show the form again."""
    try:
        data = schema.model_validate(body)
        with attempt(session):
            act(data)
    except ValidationError as exc:
        errors = validation_messages(exc.errors(), FIELD_LABELS)
    except DomainError as exc:
        errors = [exc.zh]
    else:
        return redirect(f"/staff/enforcement/{entry_id}", flash)
    return _entry_page(
        request,
        session,
        user,
        entry_id,
        clock,
        book,
        failed=name,
        values=form_values(form),
        errors=errors,
        status_code=400,
    )


@router.post("/staff/enforcement/{entry_id}/decision")
def staff_decide(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: ReviewerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)
    decision = form_text(form, "decision")
    body = {
        "decision": decision,
        "reason": form_text(form, "reason"),
        "decision_no": form_optional(form, "decision_no"),
        "decided_on": form_optional(form, "decided_on"),
        "legal_basis": form_optional(form, "legal_basis"),
        "authority": form_optional(form, "authority"),
    }

    def act(data: s.DecisionCreate) -> None:
        if form_text(form, "confirm") != "yes":
            raise Invalid(
                "请先勾选确认：决定一经作出即记录在案，列入决定同时向社会公示",
                "deciding needs the confirmation",
            )
        decisions.decide(session, entry_id, data, user=user, clock=clock, book=book)

    flash = "已决定列入" if decision == "list" else "已决定不予列入"
    return _submit(
        request, session, user, entry_id, clock, book, form,
        name="decision", schema=s.DecisionCreate, body=body, act=act, flash=flash,
    )  # fmt: skip


@router.post("/staff/enforcement/{entry_id}/objections")
def staff_objection(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: ReaderPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)
    body = {"filed_on": form_text(form, "filed_on"), "grounds": form_text(form, "grounds")}

    def act(data: s.ObjectionCreate) -> None:
        decisions.file_objection(
            session, entry_id, data, user=user, clock=clock, book=book,
            calendar=default_calendar(settings.data_dir),
        )  # fmt: skip

    return _submit(
        request, session, user, entry_id, clock, book, form,
        name="objection", schema=s.ObjectionCreate, body=body, act=act, flash="已登记异议",
    )  # fmt: skip


@router.post("/staff/enforcement/{entry_id}/order")
def staff_order(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: ReaderPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)
    body = {
        "order_no": form_text(form, "order_no"),
        "ordered_on": form_optional(form, "ordered_on"),
    }

    def act(data: s.OrderCreate) -> None:
        decisions.record_order(
            session, entry_id, data, user=user, clock=clock, book=book,
            calendar=default_calendar(settings.data_dir),
        )  # fmt: skip

    return _submit(
        request, session, user, entry_id, clock, book, form,
        name="order", schema=s.OrderCreate, body=body, act=act,
        flash="已登记责令公示通知：期满仍未公示的，方可决定列入",
    )  # fmt: skip


@router.post("/staff/enforcement/{entry_id}/approval")
def staff_approval(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: AdminPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)
    approved = form_text(form, "approved")
    body = {
        "approved": approved == "yes",
        "note": form_text(form, "note"),
        "decided_on": form_optional(form, "decided_on"),
    }

    def act(data: s.ApprovalCreate) -> None:
        decisions.approve(session, entry_id, data, user=user, clock=clock, book=book)

    flash = "已代上一级同意列入" if approved == "yes" else "已代上一级不同意列入"
    return _submit(
        request, session, user, entry_id, clock, book, form,
        name="approval", schema=s.ApprovalCreate, body=body, act=act, flash=flash,
    )  # fmt: skip


@router.post("/staff/enforcement/{entry_id}/objections/acceptance")
def staff_objection_acceptance(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: ReviewerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)
    accepted = form_text(form, "accepted")
    body = {
        "accepted": accepted == "yes",
        "reason": form_text(form, "reason"),
        "decided_on": form_optional(form, "decided_on"),
    }

    def act(data: s.ObjectionAcceptanceCreate) -> None:
        decisions.accept_objection(
            session, entry_id, data, user=user, clock=clock, book=book,
            calendar=default_calendar(settings.data_dir),
        )  # fmt: skip

    flash = "已受理异议，核实期限已起算" if accepted == "yes" else "已决定不予受理异议"
    return _submit(
        request, session, user, entry_id, clock, book, form,
        name="objection_acceptance", schema=s.ObjectionAcceptanceCreate, body=body, act=act,
        flash=flash,
    )  # fmt: skip


@router.post("/staff/enforcement/{entry_id}/objections/decision")
def staff_objection_decision(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: ReviewerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)
    outcome = form_text(form, "outcome")
    body = {
        "outcome": outcome,
        "reason": form_text(form, "reason"),
        "decided_on": form_optional(form, "decided_on"),
    }

    def act(data: s.ObjectionDecisionCreate) -> None:
        decisions.decide_objection(
            session, entry_id, data, user=user, clock=clock, book=book,
            calendar=default_calendar(settings.data_dir),
        )  # fmt: skip

    flash = "异议成立，已撤销列入" if outcome == "upheld" else "异议不成立，维持列入"
    return _submit(
        request, session, user, entry_id, clock, book, form,
        name="objection_decision", schema=s.ObjectionDecisionCreate, body=body, act=act, flash=flash,
    )  # fmt: skip


@router.post("/staff/enforcement/{entry_id}/removal")
def staff_removal(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    user: ReviewerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    book = rulebook(settings.data_dir)

    def column(name: str) -> list[str]:
        return [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]

    kinds, refs, notes = (
        column("evidence_kind"),
        column("evidence_reference"),
        column("evidence_note"),
    )
    evidence = []
    for i in range(max(len(kinds), len(refs), len(notes))):
        row = [col[i] if i < len(col) else "" for col in (kinds, refs, notes)]
        if any(row):
            evidence.append({"kind": row[0], "reference": row[1], "note": row[2]})
    body = {
        "applied_on": form_text(form, "applied_on"),
        "verified_on": form_optional(form, "verified_on"),
        "decision_no": form_text(form, "decision_no"),
        "reason": form_text(form, "reason"),
        "evidence": evidence,
        "decided_on": form_optional(form, "decided_on"),
    }

    def act(data: s.RemovalCreate) -> None:
        decisions.remove(session, entry_id, data, user=user, clock=clock, book=book)

    return _submit(
        request, session, user, entry_id, clock, book, form,
        name="removal", schema=s.RemovalCreate, body=body, act=act, flash="已移出",
    )  # fmt: skip


# ---- the restrictions lookup, for people ------------------------------------------------------


@router.get("/staff/lookup")
def lookup(
    request: Request,
    session: SessionDep,
    user: LookupPage,
    settings: SettingsDep,
    clock: ClockDep,
    uscc: str = "",
    measure: str = "",
    on: str = "",
) -> Response:
    """Another department asks, by hand, whether a business may receive a benefit on a day
    (the same answer as GET /api/v1/entities/{uscc}/restrictions)."""
    book = rulebook(settings.data_dir)
    day = clock.today()
    error = None
    if on:
        try:
            day = date.fromisoformat(on[:10])
        except ValueError:
            error = "日期格式应为 2026-12-01"
    answer = None
    code = uscc.strip().upper()[:18]
    if code and measure and error is None:
        try:
            answer = restrictions(session, book, code, measure[:64], day)
        except DomainError as exc:
            error = exc.zh
    return render(
        request,
        "enforcement/lookup.html",
        {
            "measures": measures(book, day),
            "uscc": code,
            "measure": measure,
            "on": day.isoformat(),
            "answer": answer,
            "error": error,
        },
        status_code=400 if error else 200,
        title="惩戒措施查询",
    )
