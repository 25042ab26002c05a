"""Request guards that hold for every route, before any handler runs."""

import math
import re
import time
from collections import deque
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import TOKEN_COOKIE
from api.errors import json_error

NUL_DETAIL = {"zh": "未找到：地址中含有空字符（NUL）", "en": "not found: NUL in the path"}


class RejectNulInPath:
    """No resource has a NUL in its name: answer 404 before the database is asked (PostgreSQL
    cannot compare such text). Query parameters carry their own NUL-free pattern."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            if b"\x00" in unquote_to_bytes(raw):
                await json_error(404, NUL_DETAIL)(scope, receive, send)
                return
        await self.app(scope, receive, send)


# ---- response headers -----------------------------------------------------------------------
# Every page and answer: no inline script or style anywhere (the templates use classes and
# /static files), no framing — the ceremony's projector view included —, no referrer to other
# sites, no sniffing; staff pages and sign-in are never cached. The API documentation pages
# (Swagger UI, ReDoc) start their bundles with an inline script: they alone may.

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
_COOKIE_MARK = f"{TOKEN_COOKIE}=".encode()
NO_STORE_PREFIXES = ("/staff", "/login", "/logout", "/api/v1/auth", "/api/v1/users")
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a header the handler set itself —
    an SVG chart's own policy, a file's cache lifetime — is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else CSP
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
        ]
        if path.startswith(NO_STORE_PREFIXES) or (
            not path.startswith(("/static", "/api/v1/public", "/open-data"))
            and _has_session_cookie(scope)
        ):
            extra.append((b"cache-control", b"no-store"))
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _has_session_cookie(scope: Scope) -> bool:
    return any(name == b"cookie" and _COOKIE_MARK in value for name, value in scope["headers"])


# ---- request bodies -------------------------------------------------------------------------
# Bounded while they stream, before anything is stored or parsed: a declared length over the
# limit is refused before one byte is read, a chunked body the moment it passes the limit. The
# routes that take files have the upload limit; every other body a small one. A file upload
# without any credential is refused before it is read (the handler would refuse it anyway, but
# only after reading it all).

UPLOAD_ROUTES = re.compile(
    r"^(/api/v1/import/[a-z-]+|/staff/import|/api/v1/tasks/\d+/evidence"
    r"|/staff/tasks/\d+/(result|evidence)|/staff/admin/calendar)$"
)


class BodyLimit:
    """The limits are the settings' (`body_max_bytes`, `upload_max_bytes`), read per request."""

    def __init__(self, app: ASGIApp, *, settings: Any) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        upload = bool(UPLOAD_ROUTES.match(path))
        settings = self.settings
        limit = settings.upload_max_bytes if upload else settings.body_max_bytes
        if upload and not _has_credential(scope):
            await _refuse(scope, receive, send, 401, UNSIGNED_UPLOAD)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, 413, _too_large(limit, upload))
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            # Past the limit, the refusal is sent at once and the handler is told the client
            # has gone (whatever it answers then is dropped): nothing more is read or stored.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await _refuse(scope, receive, send, 413, _too_large(limit, upload))
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)


UNSIGNED_UPLOAD = {"zh": "请先登录再上传文件", "en": "sign in before uploading a file"}


def _too_large(limit: int, upload: bool) -> dict:
    if limit >= 1 << 20:
        size = f"{limit / (1 << 20):.0f} MB"
    else:
        size = f"{limit / 1024:.0f} KB" if limit >= 1024 else f"{limit} 字节"
    hint = "，请拆分文件后分批上传" if upload else ""
    return {"zh": f"请求内容超过大小上限（{size}）{hint}", "en": f"the request body exceeds {size}"}


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: dict) -> None:
    """A JSON refusal for the API, a plain Chinese page for the rest; the connection is
    closed so the client stops sending."""
    if scope["path"].startswith("/api/"):
        response = json_error(status, detail)
    else:
        body = (
            '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>请求未能完成</title>'
            f'<p>{detail["zh"]}。<a href="/">返回首页</a></p></html>'
        )
        response = HTMLResponse(body, status_code=status)
    response.headers["connection"] = "close"
    await response(scope, receive, send)


# ---- expensive public downloads -------------------------------------------------------------
# The public files that cost real time or bandwidth (a draw's bundle, its PDFs, its frozen
# files, the open-data exports) are limited per source address: `public_downloads_per_minute`
# in any sliding minute, per worker process (0: no limit). Staff, who carry a credential, are
# not counted. Over the limit: 429 with the seconds to wait.

DOWNLOADS = re.compile(
    r"^(/api/v1/batches/[^/]+/(bundle\.json|bundle\.zip|commitment\.pdf|draw\.pdf|files/[^/]+)"
    r"|/open-data/[^/]+)$"
)
WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 100_000


class DownloadLimit:
    def __init__(self, app: ASGIApp, *, settings: Any) -> None:
        self.app = app
        self.settings = settings
        self.seen: dict[str, deque[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.settings.public_downloads_per_minute
        if (
            scope["type"] != "http"
            or not limit
            or scope["method"] != "GET"
            or not DOWNLOADS.match(scope["path"])
            or _has_credential(scope)
        ):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        now = time.monotonic()
        times = self.seen.get(address)
        if times is None:
            if len(self.seen) >= MAX_ADDRESSES:
                self._forget(now)
            times = self.seen[address] = deque()
        while times and now - times[0] > WINDOW_SECONDS:
            times.popleft()
        if len(times) >= limit:
            wait = max(1, math.ceil(WINDOW_SECONDS - (now - times[0])))
            detail = {
                "zh": f"下载过于频繁：每分钟最多{limit}次，请于{wait}秒后再试",
                "en": f"too many downloads: at most {limit} a minute; retry in {wait} s",
            }
            response = (
                json_error(429, detail)
                if scope["path"].startswith("/api/")
                else HTMLResponse(f"<p>{detail['zh']}</p>", status_code=429)
            )
            response.headers["Retry-After"] = str(wait)
            await response(scope, receive, send)
            return
        times.append(now)
        await self.app(scope, receive, send)

    def _forget(self, now: float) -> None:
        """Drop the addresses whose last download left the window (bounded memory)."""
        for address in [a for a, t in self.seen.items() if not t or now - t[-1] > WINDOW_SECONDS]:
            del self.seen[address]
        if len(self.seen) >= MAX_ADDRESSES:  # still full: forget the oldest half
            for address in list(self.seen)[: MAX_ADDRESSES // 2]:
                del self.seen[address]


def _has_credential(scope: Scope) -> bool:
    """A bearer token or the session cookie (whether it is valid is the handler's to say)."""
    return _has_session_cookie(scope) or any(
        name == b"authorization" for name, _ in scope["headers"]
    )
