"""Staff and system accounts, their roles and bearer tokens."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    admin = "admin"
    planner = "planner"  # plans batches and runs draws
    reviewer = "reviewer"  # reviews results and decisions
    inspector = "inspector"  # records results for own tasks
    liaison = "liaison"  # another department's system, API only


ROLE_LABELS = {
    "admin": "系统管理员",
    "planner": "计划管理员",
    "reviewer": "审核人员",
    "inspector": "执法检查人员",
    "liaison": "部门联络（接口）",
}


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=200)
    role: Role = Field(max_length=16)
    inspector_id: int | None = Field(default=None, foreign_key="inspector.id")
    active: bool = True
    created_at: datetime
    # Where the inbox's messages are also sent, when an SMTP server is configured.
    email: str | None = Field(default=None, max_length=200)


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime
    expires_at: datetime
    revoked: bool = False


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, by the name tried and the address it came from (kept for the
    throttle's window, then purged)."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    address: str = Field(max_length=64)
    at: datetime


class UserPublic(SQLModel):
    id: int
    username: str
    display_name: str
    role: Role
    inspector_id: int | None
    active: bool
