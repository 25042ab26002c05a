"""Signing in and out of the staff pages (the session cookie, a safe return address)."""

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.deps import (
    TOKEN_COOKIE,
    ClockDep,
    SessionDep,
    SettingsDep,
    client_address,
    keep_refused_writes,
)
from api.pages.render import (
    LOGIN_COOKIE,
    FormDep,
    PageRoute,
    check_csrf,
    check_login_csrf,
    form_text,
    login_csrf_token,
    redirect,
    render,
)
from api.roles import PageUser, landing_for, page_context
from supervision.accounts import service as accounts
from supervision.accounts import throttle
from supervision.errors import TooManyAttempts

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
    return _login_page(request, {"next": _safe_next(next), "username": ""})


def _login_page(request: Request, context: dict, status_code: int = 200) -> Response:
    """The sign-in form with its own CSRF token: before a session exists, a random value in
    a cookie of its own, and its HMAC in the form (another site can read neither)."""
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "staff/login.html",
        {**context, "login_csrf": login_csrf_token(request, nonce)},
        status_code=status_code,
        title="登录",
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, form: FormDep
) -> Response:
    username, target = form_text(form, "username"), _safe_next(form_text(form, "next"))
    password = form.get("password")
    context = {"next": target, "username": username}
    if not check_login_csrf(request, form_text(form, "login_token")):
        context["error"] = "登录表单已过期或来自其他网站，请刷新页面后重新登录"
        return _login_page(request, context, status_code=403)
    policy, address = throttle.policy_of(settings), client_address(request)
    try:
        throttle.check(session, username, address, clock=clock, policy=policy)
    except TooManyAttempts as exc:
        context["error"] = exc.zh
        response = _login_page(request, context, status_code=429)
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response
    user = accounts.authenticate(session, username, password if isinstance(password, str) else "")
    if user is None:
        throttle.record_failure(session, username, address, clock=clock, policy=policy)
        context["error"] = "用户名或密码错误"
        response = _login_page(request, context, status_code=401)
        keep_refused_writes(request)  # the failure is counted although the sign-in is refused
        return response
    throttle.clear(session, username)
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
