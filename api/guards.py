"""Request guards that hold for every route, before any handler runs."""

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

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
