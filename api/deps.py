"""Request dependencies: one transaction per request, the current user, role checks."""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from supervision.accounts.models import Role, User
from supervision.accounts.service import user_for_token
from supervision.clock import Clock
from supervision.db import is_sqlite
from supervision.errors import DomainError, Forbidden
from supervision.settings import Settings

TOKEN_COOKIE = "sv_token"
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


class Unauthorized(DomainError):
    status = 401


def get_session(request: Request) -> Iterator[Session]:
    """The request owns the transaction: commit once at the end, roll back on any error."""
    engine = request.app.state.engine
    if request.method in ("GET", "HEAD") and is_sqlite(engine):
        engine = engine.execution_options(sqlite_read=True)  # no write lock for reads
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


# scope="function": commit before the response is sent, so a failed commit is an error reply.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def _token(request: Request, bearer: str | None) -> str | None:
    return bearer or request.cookies.get(TOKEN_COOKIE)


def optional_user(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    bearer: Annotated[str | None, Depends(oauth2)],
) -> User | None:
    token = _token(request, bearer)
    return user_for_token(session, token, clock) if token else None


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("请先登录", "authentication required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]

# Free-text query parameters: bounded, and without NUL (the schema says so, FastAPI enforces it).
NO_NUL = r"^[^\x00]*$"
ShortText = Annotated[str | None, Query(max_length=100, pattern=NO_NUL)]
CodeText = Annotated[str | None, Query(max_length=32, pattern=NO_NUL)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency admitting the given roles (admin is always admitted)."""
    allowed = set(roles) | {Role.admin}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = "、".join(sorted(r.value for r in allowed))
            raise Forbidden(
                f"当前角色无权执行此操作（需要：{names}）", f"role {user.role} may not do this"
            )
        return user

    return check


STAFF_ROLES = (Role.planner, Role.reviewer, Role.inspector)
Staff = Annotated[User, Depends(require_roles(*STAFF_ROLES))]
Planner = Annotated[User, Depends(require_roles(Role.planner))]
Admin = Annotated[User, Depends(require_roles())]
