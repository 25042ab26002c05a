"""The administrator's pages — accounts, the audit log, the rulebook and calendar status — and
every user's own password change."""

from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile

from api.deps import TOKEN_COOKIE, ClockDep, SessionDep, SettingsDep
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    attempt,
    form_text,
    page_links,
    redirect,
    refusal_by_field,
    render,
)
from api.roles import AdminPage, SignedInPage, page_context
from supervision.accounts import service as accounts
from supervision.accounts.models import ROLE_LABELS, User
from supervision.audit import service as audit
from supervision.calendar import default_calendar
from supervision.calendar.announce import MAX_FILE_BYTES, announce_year
from supervision.calendar.workdays import LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR
from supervision.clock import CHINA_TZ
from supervision.enforcement.rulebook import rulebook
from supervision.errors import DomainError, Invalid
from supervision.registry.models import Inspector

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
FIELD_NAMES = {
    "username": "用户名",
    "display_name": "姓名",
    "password": "初始密码",
    "new_password": "新密码",
    "current_password": "当前密码",
    "role": "角色",
    "inspector_badge": "执法证号",
}
AUDIT_PAGE = 50


def _badges(session: Session, users: list[User]) -> dict[int, str]:
    ids = [u.inspector_id for u in users if u.inspector_id]
    if not ids:
        return {}
    rows = session.exec(select(Inspector.id, Inspector.badge_no).where(col(Inspector.id).in_(ids)))
    return dict(rows.all())


def _users_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    field_errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    users = accounts.list_users(session)
    return render(
        request,
        "staff/admin_users.html",
        {
            "users": users,
            "badges": _badges(session, users),
            "roles": ROLE_LABELS,
            "values": values
            or {"username": "", "display_name": "", "role": "", "inspector_badge": ""},
            "error": error,
            "field_errors": field_errors or {},
        },
        status_code=status_code,
        title="用户与角色",
    )


@router.get("/staff/admin/users")
def users(request: Request, session: SessionDep, user: AdminPage) -> Response:
    return _users_page(request, session)


def _field_label(loc: tuple[object, ...]) -> str:
    return FIELD_NAMES.get(str(loc[0]), str(loc[0])) if loc else ""


def _problem(exc: Exception) -> tuple[str, int, dict[str, list[str]]]:
    """The refusal as one line for the notice, its status, and its messages by form field
    (shown next to the fields they belong to)."""
    messages, by_field = refusal_by_field(exc, _field_label)
    return "；".join(messages), exc.status if isinstance(exc, DomainError) else 400, by_field


@router.post("/staff/admin/users")
def user_create(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    values = {
        k: form_text(form, k) for k in ("username", "display_name", "role", "inspector_badge")
    }
    try:
        data = accounts.UserCreate(
            username=values["username"],
            display_name=values["display_name"],
            password=form_text(form, "password"),
            role=values["role"],
            inspector_badge=values["inspector_badge"] or None,
        )
        with attempt(session):
            accounts.create_user(session, data, actor=user.username, clock=clock)
    except (ValidationError, DomainError) as exc:
        message, status, by_field = _problem(exc)
        return _users_page(
            request,
            session,
            values=values,
            error=message,
            field_errors=by_field,
            status_code=status,
        )
    return redirect(f"/staff/admin/users/{data.username}", f"已新建用户 {data.username}")


def _user_page(
    request: Request,
    session: Session,
    username: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    target = accounts.get_user(session, username)
    badge = _badges(session, [target]).get(target.inspector_id or -1, "")
    entries, total = audit.list_entries(
        session, object_key=username, action="account.", per_page=20
    )
    return render(
        request,
        "staff/admin_user.html",
        {
            "target": target,
            "badge": badge,
            "roles": ROLE_LABELS,
            "entries": entries,
            "error": error,
        },
        status_code=status_code,
        title=f"用户 {username}",
    )


@router.get("/staff/admin/users/{username}")
def user_page(request: Request, username: str, session: SessionDep, user: AdminPage) -> Response:
    return _user_page(request, session, username)


@router.post("/staff/admin/users/{username}")
def user_update(
    request: Request,
    username: str,
    session: SessionDep,
    user: AdminPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    try:
        data = accounts.UserUpdate(
            display_name=form_text(form, "display_name") or None,
            role=form_text(form, "role") or None,
            active=form_text(form, "active") == "yes",
            inspector_badge=form_text(form, "inspector_badge"),
        )
        with attempt(session):
            accounts.update_user(session, username, data, actor=user, clock=clock)
    except (ValidationError, DomainError) as exc:
        message, status, _ = _problem(exc)
        return _user_page(request, session, username, error=message, status_code=status)
    return redirect(f"/staff/admin/users/{username}", "已保存")


@router.post("/staff/admin/users/{username}/password")
def user_reset_password(
    request: Request,
    username: str,
    session: SessionDep,
    user: AdminPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    try:
        data = accounts.PasswordReset(new_password=form_text(form, "new_password"))
        with attempt(session):
            accounts.reset_password(session, username, data, actor=user, clock=clock)
    except (ValidationError, DomainError) as exc:
        message, status, _ = _problem(exc)
        return _user_page(request, session, username, error=message, status_code=status)
    return redirect(f"/staff/admin/users/{username}", "密码已重置，该用户的全部会话已失效")


# ---- one's own password -------------------------------------------------------------------


@router.get("/staff/password")
def password_form(request: Request, user: SignedInPage) -> Response:
    return render(request, "staff/password.html", {}, title="修改密码")


@router.post("/staff/password")
def password_change(
    request: Request,
    session: SessionDep,
    user: SignedInPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    new = form_text(form, "new_password")
    try:
        if new != form_text(form, "confirm_password"):
            raise Invalid(
                "两次输入的新密码不一致", "the new passwords differ", field="confirm_password"
            )
        data = accounts.PasswordChange(
            current_password=form_text(form, "current_password"), new_password=new
        )
        with attempt(session):
            accounts.change_password(session, user, data, clock=clock)
    except (ValidationError, DomainError) as exc:
        message, status, by_field = _problem(exc)
        return render(
            request,
            "staff/password.html",
            {"error": message, "field_errors": by_field},
            status_code=status,
            title="修改密码",
        )
    response = redirect("/login", "密码已修改，全部会话已失效，请用新密码重新登录")
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


# ---- the audit log --------------------------------------------------------------------------


def _day(text: str) -> datetime | None:
    try:
        d = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(d, time(0), tzinfo=CHINA_TZ)


@router.get("/staff/admin/audit")
def audit_log(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    actor: str = "",
    action: str = "",
    object: str = "",
    since: str = "",
    until: str = "",
    check: str = "",
    page: str = "1",
) -> Response:
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    end = _day(until)
    entries, total = audit.list_entries(
        session,
        actor=actor.strip()[:64] or None,
        action=action.strip()[:64] or None,
        object_key=object.strip()[:64] or None,
        since=_day(since),
        until=end + timedelta(days=1) if end else None,
        page=number,
        per_page=AUDIT_PAGE,
    )
    params = {"actor": actor, "action": action, "object": object, "since": since, "until": until}
    context: dict[str, Any] = {
        "entries": entries,
        "pages": page_links(total, number, AUDIT_PAGE, params),
        "filters": params,
        "actions": audit.actions(session),
        "chain": audit.verify_chain(session) if check == "yes" else None,
    }
    return render(request, "staff/admin_audit.html", context, title="审计日志")


# ---- what is in force -----------------------------------------------------------------------


@router.get("/staff/admin/status")
def status(request: Request, user: AdminPage, settings: SettingsDep, clock: ClockDep) -> Response:
    return _status_page(request, settings, clock)


def _status_page(
    request: Request,
    settings: Any,
    clock: Any,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    book = rulebook(settings.data_dir)
    today = clock.today()
    calendar = default_calendar(settings.data_dir)
    years = []
    for year in range(today.year - 1, today.year + 3):
        if calendar.covers(year):
            years.append((year, "已公布", calendar.source_of(year)))
        elif calendar.is_provisional(year):
            pending = calendar.pending.get(year)
            note = f"（{pending} 待录入）" if pending else ""
            years.append((year, "暂定", calendar.source_of(year) + note))
        else:
            years.append((year, "未收录", "该年度不能计算工作日"))
    context = {
        "regimes": [
            (r.rulebook, r.effective_from, r is book.regime_on(today)) for r in book.regimes
        ],
        "measures": sorted(book.measures_on(today).items()),
        "to_confirm": book.to_confirm(),
        "years": years,
        "provisional_years": [y for y, state, _ in years if state == "暂定"],
        "library": (LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR),
        "today": today,
        "error": error,
    }
    return render(
        request, "staff/admin_status.html", context, status_code=status_code, title="规则与日历状态"
    )


@router.post("/staff/admin/calendar")
def calendar_announce(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    settings: SettingsDep,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    """Enter a year's announced holiday arrangement (the YAML file) and count again every
    deadline counted provisionally for it."""
    upload = form.get("file")
    try:
        year = int(form_text(form, "year"))
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid("请选择放假安排文件（YAML）", "choose the arrangement file (YAML)")
        with attempt(session):
            result = announce_year(
                session,
                settings.data_dir,
                year,
                upload.file.read(MAX_FILE_BYTES + 1),
                book=rulebook(settings.data_dir),
                actor=user.username,
                clock=clock,
            )
    except ValueError:
        return _status_page(
            request, settings, clock, error="请填写年度（四位数字）", status_code=400
        )
    except DomainError as exc:
        return _status_page(request, settings, clock, error=exc.zh, status_code=exc.status)
    return redirect(
        "/staff/admin/status",
        f"{year}年放假安排已录入：重新计算暂定期限 {result.checked} 个，日期变动 "
        f"{len(result.moved)} 个（均已记入审计日志）",
    )
