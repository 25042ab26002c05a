"""A per-user inbox: what the scheduler and the clocks have to tell a person."""

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel


class Message(SQLModel, table=True):
    """One message to one user (a role's message is one row per member of the role)."""

    __tablename__ = "inbox_message"
    __table_args__ = (Index("ix_inbox_message_user_read", "username", "read_at"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # job_failed / deadline / beacon / caught_up …
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str = Field(default="", max_length=300)
    created_at: datetime
    read_at: datetime | None = None
    emailed_at: datetime | None = None
