"""Signing in and out of the staff pages (the session cookie, a safe return address)."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import TOKEN_COOKIE, ClockDep, SessionDep, SettingsDep
from api.pages.render import (
    FormDep,
    PageRoute,
    check_csrf,
    form_text,
    redirect,
    render,
)
from api.roles import PageUser, landing_for, page_context
from supervision.accounts import service as accounts

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)


# ---- login ---------------------------------------------------------------------------------


def _safe_next(target: str) -> str:
    """Only a local path; never an absolute or protocol-relative URL ("" when none)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


@router.get("/login")
def login_form(request: Request, user: PageUser, next: str = "") -> Response:
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
    # Straight to one's own work, unless the sign-in was on the way to a page.
    response = redirect(target if target and target != "/staff" else landing_for(user))
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
