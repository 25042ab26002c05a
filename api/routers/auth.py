"""Log in (OAuth2 password flow → bearer token), who am I, log out; admin creates users."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import (
    NO_NUL,
    ClockDep,
    CurrentUser,
    SessionDep,
    SettingsDep,
    Unauthorized,
    client_address,
    keep_refused_writes,
    oauth2,
)
from api.errors import ERROR_RESPONSES, ErrorResponse
from api.roles import Admin
from supervision.accounts import service, throttle
from supervision.accounts.models import UserPublic
from supervision.accounts.service import UserCreate

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ERROR_RESPONSES)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: str


@router.post(
    "/auth/token",
    response_model=Token,
    summary="登录，取得访问令牌（失败次数过多时暂时锁定，返回 429 与等待时间）",
    responses={429: {"model": ErrorResponse}},
)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Token:
    policy, address = throttle.policy_of(settings), client_address(request)
    throttle.check(session, form.username, address, clock=clock, policy=policy)
    user = service.authenticate(session, form.username, form.password)
    if user is None:
        throttle.record_failure(session, form.username, address, clock=clock, policy=policy)
        keep_refused_writes(request)  # the failure is counted although the sign-in is refused
        refusal = Unauthorized("用户名或密码错误", "wrong username or password")
        return JSONResponse(  # type: ignore[return-value]
            {"detail": refusal.detail()}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    throttle.clear(session, form.username)
    token = service.issue_token(session, user, ttl_hours=settings.token_ttl_hours, clock=clock)
    return Token(access_token=token, role=user.role)


@router.post("/auth/logout", status_code=204, summary="注销当前令牌")
def logout(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2)],
) -> None:
    token = bearer or request.cookies.get("sv_token")
    if token:
        service.revoke_token(session, token)


@router.get("/auth/me", response_model=UserPublic, summary="当前用户")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("/users", response_model=UserPublic, status_code=201, summary="新建用户（管理员）")
def create_user(data: UserCreate, user: Admin, session: SessionDep, clock: ClockDep) -> UserPublic:
    created = service.create_user(session, data, actor=user.username, clock=clock)
    return UserPublic.model_validate(created, from_attributes=True)


@router.get("/users", response_model=list[UserPublic], summary="用户列表（管理员）")
def list_users(user: Admin, session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(u, from_attributes=True) for u in service.list_users(session)]


@router.patch(
    "/users/{username}",
    response_model=UserPublic,
    summary="修改用户：姓名、角色、关联执法证、停用（管理员）",
)
def update_user(
    username: Annotated[str, Path(max_length=64, pattern=NO_NUL)],
    data: service.UserUpdate,
    user: Admin,
    session: SessionDep,
    clock: ClockDep,
) -> UserPublic:
    changed = service.update_user(session, username, data, actor=user, clock=clock)
    return UserPublic.model_validate(changed, from_attributes=True)


@router.post(
    "/users/{username}/password",
    status_code=204,
    summary="重置用户密码（管理员；该用户的会话全部失效）",
)
def reset_password(
    username: Annotated[str, Path(max_length=64, pattern=NO_NUL)],
    data: service.PasswordReset,
    user: Admin,
    session: SessionDep,
    clock: ClockDep,
) -> None:
    service.reset_password(session, username, data, actor=user, clock=clock)


@router.post(
    "/auth/password", status_code=204, summary="修改本人密码（须提供当前密码；全部会话失效）"
)
def change_password(
    data: service.PasswordChange, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> None:
    service.change_password(session, user, data, clock=clock)
