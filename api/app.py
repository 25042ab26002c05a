"""The application factory: the only place the web layer is wired to the domain core."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from api.errors import install_error_handlers
from api.guards import BodyLimit, DownloadLimit, RejectNulInPath, SecurityHeaders
from api.pages import admin as admin_pages
from api.pages import auth as auth_pages
from api.pages import candidates as candidate_pages
from api.pages import enforcement as enforcement_pages
from api.pages import inspection as inspection_pages
from api.pages import jobs as jobs_pages
from api.pages import planning as planning_pages
from api.pages import portal as portal_pages
from api.pages import public as public_pages
from api.pages import registry as registry_pages
from api.pages.render import STATIC_DIR, PageCache, error_page
from api.routers import (
    auth,
    documents,
    enforcement,
    imports,
    inspection,
    planning,
    portal,
    registry,
)
from supervision.clock import Clock, SystemClock
from supervision.db import is_sqlite, make_engine
from supervision.enforcement.rulebook import rulebook
from supervision.portal.statistics import StatsCache
from supervision.settings import Settings, allowed_hosts, get_settings, resolve_secret


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The embedded scheduler lives and dies with the web process (one process in make run).
    With several workers each stands by and one leads (`supervision.jobs.runner.lead`)."""
    thread, stop = None, threading.Event()
    if app.state.settings.embedded_scheduler:
        from supervision.jobs.catalog import all_jobs
        from supervision.jobs.runner import lead

        state = app.state
        jobs = list(all_jobs().values())
        thread = threading.Thread(
            target=lead,
            args=(state.engine, state.clock, state.settings, jobs),
            kwargs={"stop": stop},
            daemon=True,
            name="scheduler",
        )
        thread.start()
    yield
    if thread is not None:
        stop.set()
        thread.join(timeout=30)


log = logging.getLogger("supervision")


DOCS_ASSETS = "/static-docs"


def _install_docs(app: FastAPI) -> None:
    """The API documentation pages with their own copies of Swagger UI and ReDoc: government
    networks are often cut off from the internet, so no page loads anything from a CDN."""
    from fastapi.openapi.docs import (
        get_redoc_html,
        get_swagger_ui_html,
        get_swagger_ui_oauth2_redirect_html,
    )

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="static-docs")
    redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · 接口文档",
            oauth2_redirect_url=redirect,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · 接口文档",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/openapi")


def _install_page_errors(app: FastAPI) -> None:
    """Unknown addresses and crashes outside the JSON API answer a Chinese page, not JSON."""

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return await http_exception_handler(request, exc)
        message = {
            404: "您要找的页面不存在，可能是地址有误，或该内容尚未公示。",
            405: "该地址不支持这种访问方式。",
        }.get(exc.status_code, "请求未能完成。")
        return error_page(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _wants_json(request):
            return JSONResponse(
                {"detail": {"zh": "服务器内部错误，请稍后再试", "en": "internal server error"}},
                status_code=500,
            )
        return error_page(request, 500, "服务器内部错误，请稍后再试。问题已记录。")


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or get_settings()
    # Refuse to start on a malformed rulebook rather than apply part of it (read once: the
    # requests' accessor serves this same reading until a file changes).
    book = rulebook(settings.data_dir)
    for name, key, note in book.to_confirm():
        log.warning("rulebook %s: %s is to confirm: %s", name, key, note)
    app = FastAPI(
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        title="双随机、一公开 监管抽查系统",
        version="0.1.0",
        description="市场主体与执法检查人员名录、可验证的随机抽取（sr1 协议）、检查结果与公示。",
    )
    app.state.settings = settings
    app.state.secret = resolve_secret(settings).encode()
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.sqlite = is_sqlite(app.state.engine)
    # Reads on SQLite begin deferred (see supervision.db): no write lock, never queued.
    app.state.read_engine = app.state.engine.execution_options(sqlite_read=True)
    app.state.clock = clock or SystemClock()
    app.state.stats_cache = StatsCache()
    app.state.page_cache = PageCache()
    install_error_handlers(app)
    _install_page_errors(app)
    # Each added middleware wraps the ones before it: the last is the outermost.
    app.add_middleware(RejectNulInPath)
    app.add_middleware(DownloadLimit, settings=settings)
    # A request for another host (a forged Host header) is refused; links never use it anyway.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings))
    # The headers go on every answer, the guards' refusals included.
    app.add_middleware(SecurityHeaders)
    # Outermost: a body too large is refused before anything else reads it.
    app.add_middleware(BodyLimit, settings=settings)
    # Routes are matched in order, one by one (about 0.007 ms each): the hot paths come first —
    # the other departments' restrictions lookup (enforcement), then the public's entity
    # search and record (portal pages) and batch pages. No two routers share a path.
    app.include_router(enforcement.router)
    app.include_router(portal_pages.router)
    app.include_router(public_pages.router)
    app.include_router(documents.router)
    app.include_router(auth.router)
    app.include_router(registry.router)
    app.include_router(planning.router)
    app.include_router(imports.router)
    app.include_router(inspection.router)
    app.include_router(portal.router)
    app.include_router(auth_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(jobs_pages.router)
    app.include_router(registry_pages.router)
    app.include_router(planning_pages.router)
    app.include_router(inspection_pages.router)
    app.include_router(enforcement_pages.router)
    app.include_router(candidate_pages.router)
    _install_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    enforcement.document_measures(app, sorted(book.all_measure_codes()))
    return app
