"""The one place that renders the page shell: templates, common context, flash and errors.

Pages reuse the API's rules (the same session dependency, the same user lookup from the
``sv_token`` cookie, the same ``require_roles`` check); what differs is how a refusal looks:
a Chinese HTML page or a redirect to the login form instead of JSON.
"""

import functools
import hashlib
import hmac
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session
from starlette.datastructures import FormData

from api.deps import TOKEN_COOKIE, Unauthorized, mark_refused, session_csrf
from api.roles import is_planner, is_reader
from supervision.accounts.models import ROLE_LABELS, User
from supervision.audit.models import ACTION_LABELS, OBJECT_KEY_LABELS, OBJECT_LABELS
from supervision.enforcement.models import LIST_KIND_LABELS
from supervision.errors import DomainError, Forbidden
from supervision.formatting import cn_date, cn_datetime, hash_groups
from supervision.planning.models import BATCH_STATE_LABELS, PLAN_STATE_LABELS, TASK_STATE_LABELS
from supervision.registry.models import ENTITY_STATUS_LABELS, ENTITY_TYPE_LABELS
from supervision.registry.reference import (
    ITEM_CATEGORY_LABELS,
    METHOD_LABELS,
    QUALIFICATIONS_FILE,
    load_qualifications,
)

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
FLASH_COOKIE = "sv_flash"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cn_date=cn_date,
        cn_datetime=cn_datetime,
        hash_groups=hash_groups,
        batch_state=lambda s: BATCH_STATE_LABELS.get(str(s), str(s)),
        plan_state=lambda s: PLAN_STATE_LABELS.get(str(s), str(s)),
        task_state=lambda s: TASK_STATE_LABELS.get(str(s), str(s)),
        role_label=lambda r: ROLE_LABELS.get(str(r), str(r)),
        method_label=lambda m: METHOD_LABELS.get(m, m),
        category_label=lambda c: ITEM_CATEGORY_LABELS.get(c, c),
        entity_type=lambda t: ENTITY_TYPE_LABELS.get(str(t), str(t)),
        entity_status=lambda t: ENTITY_STATUS_LABELS.get(str(t), str(t)),
        list_kind=lambda k: LIST_KIND_LABELS.get(str(k), str(k)),
        audit_action=lambda a: ACTION_LABELS.get(str(a), str(a)),
        audit_object=lambda e: (
            f"{OBJECT_LABELS.get(e.object_type, e.object_type)} "
            f"{OBJECT_KEY_LABELS.get((e.object_type, e.object_key), e.object_key)}"
        ),
    )
    return env


templates = Jinja2Templates(env=_env())


def page_links(
    total: int, page: int, per_page: int, params: Mapping[str, str], base: str = ""
) -> dict[str, Any]:
    """What macros.pagination shows: the page, the last one, and links keeping the filters."""
    last = max(1, math.ceil(total / per_page))
    keep = {k: v for k, v in params.items() if v and k != "page"}

    def link(n: int) -> str:
        return base + "?" + urlencode({**keep, "page": n})

    return {
        "page": page,
        "last": last,
        "total": total,
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last else None,
    }


# ---- CSRF ---------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """HMAC of the session cookie: a form from another site cannot know it."""
    return session_csrf(request)


LOGIN_COOKIE = "sv_login"


def login_csrf_token(request: Request, nonce: str) -> str:
    """The sign-in form's CSRF token: HMAC of the form's own cookie (there is no session yet)."""
    return hmac.new(
        request.app.state.secret, b"login:" + nonce.encode(), hashlib.sha256
    ).hexdigest()


def check_login_csrf(request: Request, submitted: str) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not submitted:
        return False
    return hmac.compare_digest(submitted.encode(), login_csrf_token(request, nonce).encode())


def check_csrf(request: Request, submitted: str) -> None:
    expected = csrf_token(request)
    if not expected or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise Forbidden(
            "表单校验失败（CSRF）：页面可能已过期或来自其他网站，请刷新页面后重新提交",
            "CSRF check failed",
        )


def form_text(form: FormData, name: str) -> str:
    """A submitted text field, stripped ("" when missing or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_optional(form: FormData, name: str) -> str | None:
    return form_text(form, name) or None


async def raw_form(request: Request) -> FormData:
    """The submitted form as parsed once by Starlette (fields, repeated fields, files)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(raw_form)]


async def verify_csrf(request: Request, form: FormDep) -> None:
    """Dependency for every staff POST form."""
    check_csrf(request, str(form.get("csrf_token") or ""))


CsrfChecked = Depends(verify_csrf)


# ---- rendering ----------------------------------------------------------------------------


def _nav(request: Request, user: User | None) -> list[dict[str, Any]]:
    path = request.url.path
    items = [
        ("/", "首页"),
        ("/entities", "查询企业"),
        ("/announcements", "公告"),
        ("/items", "抽查事项"),
        ("/results", "结果公示"),
        ("/lists", "异常名录"),
        ("/statistics", "统计"),
        ("/open-data", "开放数据"),
        ("/verify", "如何核验"),
    ]
    staff: list[tuple[str, str]] = []
    if user is not None and user.role == "liaison":
        staff = [("/staff/lookup", "惩戒查询")]
    elif user is not None:
        staff = [
            ("/staff", "工作台"),
            ("/staff/tasks", "检查任务"),
            ("/staff/entities", "市场主体"),
            ("/staff/inspectors", "执法人员"),
            ("/staff/inbox", "消息"),
        ]
        if is_planner(user):
            staff += [("/staff/batches/new", "新建批次"), ("/staff/import", "批量导入")]
        if is_reader(user):
            staff += [("/staff/enforcement", "信用监管"), ("/staff/candidates", "候选与处置")]
        if user.role in ("liaison", "planner", "reviewer", "admin"):
            staff.append(("/staff/lookup", "惩戒查询"))
        if user.role == "admin":
            staff += [
                ("/staff/admin/users", "用户与角色"),
                ("/staff/admin/audit", "审计日志"),
                ("/staff/jobs", "定时任务"),
            ]

    def entry(href: str, label: str, group: str) -> dict[str, Any]:
        exact = href in ("/", "/staff")
        current = path == href if exact else path == href or path.startswith(href + "/")
        return {"href": href, "label": label, "group": group, "current": current}

    return [entry(h, label, "public") for h, label in items] + [
        entry(h, label, "staff") for h, label in staff
    ]


@functools.lru_cache(maxsize=4)
def _qualification_labels(data_dir: Path, mtime: float) -> dict[str, str]:
    return {code: q.label for code, q in load_qualifications(data_dir).items()}


def qualification_labels(data_dir: Path) -> dict[str, str]:
    """Qualification codes → their Chinese names (re-read when the file changes)."""
    path = data_dir / QUALIFICATIONS_FILE
    return _qualification_labels(data_dir, path.stat().st_mtime)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    title: str = "",
) -> Response:
    """Render a page inside the shell (header, nav, flash message, footer).

    A page answered with a status ≥ 400 is a refusal: the request's transaction rolls back.
    """
    if status_code >= 400:
        mark_refused(request)
    user = getattr(request.state, "user", None)
    flash = request.cookies.get(FLASH_COOKIE)
    ctx = {
        "title": title,
        "user": user,
        "authority": request.app.state.settings.authority_name,
        "nav": _nav(request, user),
        "csrf": csrf_token(request),
        "flash": unquote(flash) if flash else None,
        "is_planner": is_planner(user),
        "is_reader": is_reader(user),
        "quals": qualification_labels(request.app.state.settings.data_dir),
        "error": None,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


class PageCache:
    """Rendered public pages by content key, least recently used first out, bounded in bytes
    (one per application, per worker process). A key names everything the page shows — the
    caller builds it from the state the page is drawn from — so an entry is never stale: a
    change makes a new key and the old entry ages out."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: str) -> tuple[bytes, str] | None:
        with self._lock:
            hit = self._pages.get(key)
            if hit is not None:
                self._pages.move_to_end(key)
            return hit

    def put(self, key: str, body: bytes, media_type: str) -> None:
        if len(body) > self.max_bytes // 8:
            return
        with self._lock:
            if key in self._pages:
                return
            self._pages[key] = (body, media_type)
            self._size += len(body)
            while self._size > self.max_bytes:
                _, (old, _) = self._pages.popitem(last=False)
                self._size -= len(old)


def anonymous(request: Request) -> bool:
    """A request that carries no session and no one-time message: the page it gets is the
    same for every such request (no name, no CSRF token, no flash)."""
    return TOKEN_COOKIE not in request.cookies and FLASH_COOKIE not in request.cookies


def cached_page(
    request: Request, state: tuple[Any, ...], build: Callable[[], Response]
) -> Response:
    """The page for ``state`` (what the page is drawn from, e.g. a batch's hash-chain head
    and publication count) from the application's page cache when the request is anonymous;
    built and kept on a miss. Signed-in readers always get a freshly built page."""
    if not anonymous(request):
        return build()
    cache: PageCache = request.app.state.page_cache
    key = hashlib.sha256(
        repr(
            (
                request.headers.get("host", ""),  # pages print links on the site's own address
                request.url.path,
                sorted(request.query_params.multi_items()),
                state,
            )
        ).encode()
    ).hexdigest()
    hit = cache.get(key)
    if hit is not None:
        return Response(hit[0], media_type=hit[1])
    response = build()
    if response.status_code == 200 and not response.headers.get("set-cookie"):
        cache.put(key, bytes(response.body), response.media_type or "text/html")
    return response


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    """303 after a successful POST, with an optional one-time message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, quote(flash), max_age=120, path="/", httponly=True, samesite="lax"
        )
    return response


ERROR_TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    409: "操作未执行",
    413: "文件过大",
    500: "服务器出错",
}


def error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        title=ERROR_TITLES.get(status, "出错了"),
    )


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def attempt(session: Session) -> SessionTransaction:
    """A savepoint around a form's domain command.

    A refusal undoes what the command flushed and leaves the request's transaction usable, so
    the form can be shown again with the reason; the answer is then ≥ 400 and the request's
    session dependency rolls everything back. Never commits: the dependency does.
    """
    return session.begin_nested()


class PageRoute(APIRoute):
    """Page routes answer refusals with HTML: login redirect, 403/404 pages, Chinese messages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            # Bodies over the limit never get here (api.guards.BodyLimit answers 413 first).
            # The session dependency has already rolled back when the handler raised.
            try:
                return await handler(request)
            except Unauthorized:
                return login_redirect(request)
            except DomainError as exc:
                return error_page(request, exc.status, exc.zh)
            except RequestValidationError as exc:
                return error_page(request, 400, "；".join(validation_messages(exc.errors())))

        return page_handler


# ---- validation messages ------------------------------------------------------------------


def _zh(message: str) -> str:
    """Our validators write "中文 / English": keep the Chinese half."""
    message = message.removeprefix("Value error, ")
    return message.split(" / ")[0]


def validation_message(error: Mapping[str, Any], label: str) -> str:
    """One pydantic error in Chinese, naming the field by ``label``."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return _zh(str(error.get("msg", "")))
    text = {
        "missing": f"请填写{label}",
        "string_too_short": f"请填写{label}",
        "too_short": f"{label}至少需要{ctx.get('min_length', 1)}项",
        "string_too_long": f"{label}过长（最多{ctx.get('max_length')}个字符）",
        "too_long": f"{label}项数过多（最多{ctx.get('max_length')}项）",
        "string_pattern_mismatch": f"{label}只能包含字母、数字和 . _ -",
        "int_parsing": f"{label}须为整数",
        "int_from_float": f"{label}须为整数",
        "greater_than_equal": f"{label}不能小于{ctx.get('ge')}",
        "less_than_equal": f"{label}不能大于{ctx.get('le')}",
        "date_from_datetime_parsing": f"{label}不是有效日期（格式如 2026-12-01）",
        "date_parsing": f"{label}不是有效日期（格式如 2026-12-01）",
        "enum": f"{label}的取值无效",
        "literal_error": f"{label}的取值无效",
        "bool_parsing": f"{label}的取值无效",
        "extra_forbidden": f"不认识的字段“{label}”",
    }.get(kind)
    return text or f"{label}：{_zh(str(error.get('msg', '')))}"


def _default_label(loc: tuple[Any, ...], labels: Mapping[str, str]) -> str:
    names = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return next((labels[p] for p in reversed(names) if p in labels), names[-1] if names else "")


def validation_messages(
    errors: list[Mapping[str, Any]], labels: Mapping[str, str] | None = None
) -> list[str]:
    return [
        validation_message(e, _default_label(tuple(e.get("loc", ())), labels or {})) for e in errors
    ]


def form_errors(
    exc: ValidationError,
    label_for: Callable[[tuple[Any, ...]], str],
    overrides: Mapping[tuple[str, str], str] | None = None,
) -> tuple[list[str], dict[str, list[str]]]:
    """All messages in order, and the same messages keyed by the form field they belong to.

    Keys join the first two parts of the location for nested fields (``quotas.A``,
    ``team.0``) and use the first part otherwise; errors of the whole model are keyed ``""``.
    ``overrides`` replaces the message of a (dotted location, error type) pair.
    """
    messages: list[str] = []
    by_field: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        special = (overrides or {}).get((".".join(str(p) for p in loc), error.get("type", "")))
        text = special or validation_message(error, label_for(loc))
        messages.append(text)
        parts = [str(p) for p in loc]
        key = ".".join(parts[:2]) if parts[:1] in (["quotas"], ["team"]) else ".".join(parts[:1])
        by_field.setdefault(key, []).append(text)
    return messages, by_field


def refusal_by_field(
    exc: Exception, label_for: Callable[[tuple[Any, ...]], str]
) -> tuple[list[str], dict[str, list[str]]]:
    """A refused form's messages in order and by the field they belong to: validation errors
    by their location (`form_errors`), a domain refusal by the ``field`` it names (if any)."""
    if isinstance(exc, ValidationError):
        return form_errors(exc, label_for)
    assert isinstance(exc, DomainError)
    field = exc.extra.get("field")
    return [exc.zh], ({str(field): [exc.zh]} if field else {})
