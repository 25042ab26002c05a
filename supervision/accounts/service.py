"""Accounts: create users, check passwords (argon2), issue and resolve bearer tokens."""

import hashlib
import secrets
from datetime import timedelta

from pwdlib import PasswordHash
from pydantic import Field, field_validator
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from supervision.accounts.models import ApiToken, Role, User
from supervision.audit.service import record_change
from supervision.clock import Clock, SystemClock
from supervision.errors import Conflict, Invalid, NotFound
from supervision.registry.models import Inspector
from supervision.validation import StrictInput

_hasher = PasswordHash.recommended()


def use_fast_hashing_for_tests() -> None:
    """Tests create many users; the recommended argon2 cost would dominate their run time."""
    global _hasher, _DUMMY_HASH
    from pwdlib.hashers.argon2 import Argon2Hasher

    _hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


# A real hash to compare against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class UserCreate(StrictInput):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=256)
    role: Role
    inspector_badge: str | None = Field(default=None, max_length=32)

    @field_validator("display_name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("姓名不能为空 / display name is empty")
        return v


def create_user(
    session: Session, data: UserCreate, *, actor: str, clock: Clock | None = None
) -> User:
    clock = clock or SystemClock()
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict(
            f"用户名“{data.username}”已存在", f"username {data.username!r} exists", field="username"
        )
    inspector_id = None
    if data.role == Role.inspector:
        if not data.inspector_badge:
            raise Invalid(
                "执法检查人员账号须关联执法证号",
                "an inspector account needs a badge number",
                field="inspector_badge",
            )
        inspector = session.exec(
            select(Inspector).where(Inspector.badge_no == data.inspector_badge)
        ).first()
        if inspector is None:
            raise NotFound(
                f"执法证号“{data.inspector_badge}”不在执法检查人员名录中",
                f"badge {data.inspector_badge!r} is not in the inspector registry",
                field="inspector_badge",
            )
        inspector_id = inspector.id
    user = User(
        username=data.username,
        display_name=data.display_name,
        password_hash=_hasher.hash(data.password),
        role=data.role,
        inspector_id=inspector_id,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    record_change(
        session, actor, "account.create", "user", data.username, {"role": data.role}, clock
    )
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    if "\x00" in username:  # no account has such a name; PostgreSQL cannot compare it
        _hasher.verify(password, _DUMMY_HASH)
        return None
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        _hasher.verify(password, _DUMMY_HASH)
        return None
    return user if _hasher.verify(password, user.password_hash) else None


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, ttl_hours: int, clock: Clock | None = None) -> str:
    """Create a bearer token; only its digest is stored."""
    clock = clock or SystemClock()
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        ApiToken(
            token_sha256=_token_digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(hours=ttl_hours),
        )
    )
    session.flush()
    return token


# Built once: every authenticated request runs it, and building a statement costs more than
# running it.
_USER_FOR_TOKEN = (
    select(User)
    .join(ApiToken, col(ApiToken.user_id) == User.id)
    .where(
        ApiToken.token_sha256 == bindparam("digest"),
        col(ApiToken.revoked).is_(False),
        ApiToken.expires_at > bindparam("now"),
        col(User.active).is_(True),
    )
)


def user_for_token(session: Session, token: str, clock: Clock | None = None) -> User | None:
    """The active user of a live token (not revoked, not expired), in one indexed query."""
    clock = clock or SystemClock()
    params = {"digest": _token_digest(token), "now": clock.now()}
    return session.exec(_USER_FOR_TOKEN, params=params).first()


def revoke_token(session: Session, token: str) -> None:
    row = session.exec(
        select(ApiToken).where(ApiToken.token_sha256 == _token_digest(token))
    ).first()
    if row is not None:
        row.revoked = True
        session.add(row)
        session.flush()


# ---- administration -------------------------------------------------------------------------


class UserUpdate(StrictInput):
    """What an administrator changes on an account (absent fields stay as they are)."""

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    active: bool | None = None
    inspector_badge: str | None = Field(default=None, max_length=32)  # "" unlinks


class PasswordChange(StrictInput):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=8, max_length=256)


class PasswordReset(StrictInput):
    new_password: str = Field(min_length=8, max_length=256)


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"没有用户“{username[:64]}”", f"no user {username!r}")
    return user


def revoke_all_tokens(session: Session, user: User) -> int:
    """End every session and API token of ``user``; returns how many were live."""
    live = session.exec(
        select(ApiToken).where(ApiToken.user_id == user.id, col(ApiToken.revoked).is_(False))
    ).all()
    for row in live:
        row.revoked = True
        session.add(row)
    session.flush()
    return len(live)


def _inspector_id(session: Session, badge: str) -> int:
    inspector = session.exec(select(Inspector).where(Inspector.badge_no == badge)).first()
    if inspector is None:
        raise NotFound(
            f"执法证号“{badge}”不在执法检查人员名录中",
            f"badge {badge!r} is not in the inspector registry",
        )
    return inspector.id


def update_user(
    session: Session, username: str, data: UserUpdate, *, actor: User, clock: Clock | None = None
) -> User:
    """Change an account's name, role, link or state. Disabling ends its sessions; an admin
    cannot disable or demote their own account (someone must be able to administer)."""
    clock = clock or SystemClock()
    user = get_user(session, username)
    changes: dict[str, object] = {}
    if user.id == actor.id and (data.active is False or (data.role and data.role != Role.admin)):
        raise Conflict(
            "不能停用自己的账号或取消自己的管理员角色",
            "an admin cannot disable or demote themselves",
        )
    if data.display_name is not None and data.display_name.strip() != user.display_name:
        user.display_name = data.display_name.strip()
        changes["display_name"] = user.display_name
    if data.role is not None and data.role != user.role:
        user.role = data.role
        changes["role"] = data.role.value
    if data.inspector_badge is not None:
        new = _inspector_id(session, data.inspector_badge) if data.inspector_badge else None
        if new != user.inspector_id:
            user.inspector_id = new
            changes["inspector_badge"] = data.inspector_badge or None
    if user.role == Role.inspector and user.inspector_id is None:
        raise Invalid("执法检查人员账号须关联执法证号", "an inspector account needs a badge number")
    if data.active is not None and data.active != user.active:
        user.active = data.active
        changes["active"] = data.active
        if not data.active:
            changes["sessions_ended"] = revoke_all_tokens(session, user)
    if changes:
        session.add(user)
        session.flush()
        record_change(session, actor.username, "account.update", "user", username, changes, clock)
    return user


def reset_password(
    session: Session, username: str, data: PasswordReset, *, actor: User, clock: Clock | None = None
) -> User:
    """An administrator sets a new password: every session of the account ends."""
    clock = clock or SystemClock()
    user = get_user(session, username)
    user.password_hash = _hasher.hash(data.new_password)
    session.add(user)
    ended = revoke_all_tokens(session, user)
    record_change(
        session,
        actor.username,
        "account.password_reset",
        "user",
        username,
        {"sessions_ended": ended},
        clock,
    )
    return user


def change_password(
    session: Session, user: User, data: PasswordChange, *, clock: Clock | None = None
) -> User:
    """A user changes their own password: the current one is required, and every session of
    the account (this one included) ends — the new password opens the next."""
    clock = clock or SystemClock()
    if not _hasher.verify(data.current_password, user.password_hash):
        raise Invalid("当前密码不正确", "the current password is wrong", field="current_password")
    if data.new_password == data.current_password:
        raise Invalid(
            "新密码不能与当前密码相同",
            "the new password equals the current one",
            field="new_password",
        )
    user.password_hash = _hasher.hash(data.new_password)
    session.add(user)
    ended = revoke_all_tokens(session, user)
    record_change(
        session,
        user.username,
        "account.password_change",
        "user",
        user.username,
        {"sessions_ended": ended},
        clock,
    )
    return user
