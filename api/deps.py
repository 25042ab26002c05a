"""Request dependencies: one transaction per request, the current user, role checks.

Thread hops are the cost to watch. FastAPI runs every plain `def` dependency in the thread pool,
one hop each, and a hop costs more than the indexed reads most requests make. So dependencies
that do no I/O are `async def` and run on the event loop, and the database work of the
dependencies goes through `run_db`: inline for a read on the embedded SQLite database (the
reads are page-cache lookups of microseconds, and a read transaction never waits for a lock),
in the thread pool otherwise (a write may wait for SQLite's write lock; a server database is a
network round trip away — neither may stall the event loop).
"""

import hashlib
import hmac
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from supervision.accounts.models import Role, User
from supervision.accounts.service import user_for_token
from supervision.calendar import WorkdayCalendar, default_calendar
from supervision.clock import Clock
from supervision.enforcement.rulebook import Rulebook, rulebook
from supervision.errors import DomainError, Forbidden
from supervision.planning.ceremony import CeremonyRules
from supervision.registry.reference import ResultCodeBook, result_codebook
from supervision.settings import Settings

TOKEN_COOKIE = "sv_token"
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class Unauthorized(DomainError):
    status = 401


P = ParamSpec("P")
T = TypeVar("T")


def reads_inline(request: Request) -> bool:
    """A read on the embedded SQLite database, or a lookup marked `inline_read`: cheaper done
    than handed to a thread."""
    return _sqlite_read(request) or (
        request.method in ("GET", "HEAD") and getattr(request.state, "inline_read", False)
    )


def _sqlite_read(request: Request) -> bool:
    return request.app.state.sqlite and request.method in ("GET", "HEAD")


def inline_read(request: Request) -> None:
    """Route dependency of the portal's hot lookups — a few probes of unique indexes, about a
    millisecond — run on the event loop on a server database too. Handed to the thread pool,
    eight of them at once in a worker queue for the interpreter's lock behind each other: at
    ten million entities, 16 clients, the entity page's median was 14 ms and its p95 0.5 s.
    Never for work that can take long (a fragment search): it would hold the whole worker."""
    request.state.inline_read = True


async def run_db(request: Request, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `fn` (database work) inline for a SQLite read or a marked lookup, else in the
    thread pool."""
    if reads_inline(request):
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


async def run_long(request: Request, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`run_db` for work that may take long (a name fragment's search): never on the event
    loop of a server database, even in a route marked `inline_read`."""
    if _sqlite_read(request):
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


def mark_refused(request: Request) -> None:
    """The answer is a refusal (status ≥ 400) given without raising: nothing may be committed."""
    request.state.refused = True


def keep_refused_writes(request: Request) -> None:
    """This refusal's own record must be kept (a failed sign-in counted by the throttle): the
    transaction commits although the answer is ≥ 400. The handler writes nothing else."""
    request.state.refused = False


def refused(request: Request) -> bool:
    return getattr(request.state, "refused", False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The one owner of the request's transaction: commit once when the handler succeeds; roll
    back when it raises or answers ≥ 400 (`mark_refused`). Handlers never commit or roll back.

    Opening a Session does no I/O (the connection is taken at the first query), so it happens
    on the event loop; finishing it is database work.
    """
    state = request.app.state
    # A read on SQLite begins deferred: no write lock, never queued behind a writer.
    engine = state.read_engine if reads_inline(request) else state.engine
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        await run_db(request, _rollback_and_close, session)
        raise
    finish = _rollback_and_close if refused(request) else _commit_and_close
    await run_db(request, finish, session)
    if finish is _commit_and_close:
        _start_after_commit(request)


def after_commit(request: Request, work: Callable[[], None]) -> None:
    """Run ``work`` in a background thread once this request's transaction has committed
    (never when it rolls back): e.g. build a drawn batch's public files for its first reader."""
    hooks = getattr(request.state, "after_commit", None)
    if hooks is None:
        hooks = request.state.after_commit = []
    hooks.append(work)


def _start_after_commit(request: Request) -> None:
    for work in getattr(request.state, "after_commit", ()):
        threading.Thread(target=work, daemon=True, name="after-commit").start()


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


async def get_rulebook(settings: Annotated[Settings, Depends(get_settings_dep)]) -> Rulebook:
    """The rulebook in force (read through its one accessor, re-read when a file changes)."""
    return rulebook(settings.data_dir)


def get_codebook(settings: Annotated[Settings, Depends(get_settings_dep)]) -> ResultCodeBook:
    return result_codebook(settings.data_dir)


def get_calendar(settings: Annotated[Settings, Depends(get_settings_dep)]) -> WorkdayCalendar:
    return default_calendar(settings.data_dir)


def get_ceremony_rules(settings: Annotated[Settings, Depends(get_settings_dep)]) -> CeremonyRules:
    """The ceremony's notice and grace periods, beacon chains and default places."""
    return CeremonyRules.of(settings)


CeremonyDep = Annotated[CeremonyRules, Depends(get_ceremony_rules)]
RulebookDep = Annotated[Rulebook, Depends(get_rulebook)]
CodebookDep = Annotated[ResultCodeBook, Depends(get_codebook)]
CalendarDep = Annotated[WorkdayCalendar, Depends(get_calendar)]

# scope="function": commit before the response is sent, so a failed commit is an error reply.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def client_address(request: Request) -> str:
    """The address a request came from (the peer; behind a proxy, uvicorn's
    --forwarded-allow-ips decides whether X-Forwarded-For is believed)."""
    return request.client.host if request.client else "unknown"


def _token(request: Request, bearer: str | None) -> str | None:
    return bearer or request.cookies.get(TOKEN_COOKIE)


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


def session_csrf(request: Request) -> str:
    """HMAC of the session cookie: what a form (or a script of this site) sends back to prove
    it was not written by another site ("" without a session cookie)."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        return ""
    return hmac.new(request.app.state.secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


async def optional_user(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    bearer: Annotated[str | None, Depends(oauth2)],
) -> User | None:
    token = _token(request, bearer)
    if (
        token
        and not bearer
        and request.method in UNSAFE_METHODS
        and request.url.path.startswith("/api/")
    ):
        # A write to the JSON API carried by the browser's cookie (not a bearer token) must
        # prove it comes from this site's own pages: the session's CSRF token in a header.
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session_csrf(request).encode()):
            raise Forbidden(
                "以登录会话（Cookie）写入接口时须附带 X-CSRF-Token 请求头；脚本请改用 Bearer 令牌",
                "a cookie-authenticated API write needs the X-CSRF-Token header "
                "(or use a bearer token)",
            )
    return await run_db(request, user_for_token, session, token, clock) if token else None


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("请先登录", "authentication required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]

# Free-text query parameters: bounded, and without NUL (the schema says so, FastAPI enforces it).
NO_NUL = r"^[^\x00]*$"
ShortText = Annotated[str | None, Query(max_length=100, pattern=NO_NUL)]
CodeText = Annotated[str | None, Query(max_length=32, pattern=NO_NUL)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def ensure_role(user: User, roles: tuple[Role, ...]) -> User:
    """Admit the given roles (admin is always admitted), refuse the others."""
    if user.role != Role.admin and user.role not in roles:
        names = "、".join(sorted(r.value for r in {*roles, Role.admin}))
        raise Forbidden(
            f"当前角色无权执行此操作（需要：{names}）", f"role {user.role} may not do this"
        )
    return user
