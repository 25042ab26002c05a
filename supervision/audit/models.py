"""The hash-chained audit log: one row per change, each hashing its predecessor."""

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32)
    object_key: str = Field(max_length=64, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    # Unique: two transactions extending the chain from the same row cannot both commit.
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)
