"""One row per job run and slot: the unique key makes a job run at most once per slot."""

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "slot"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    slot: str = Field(max_length=32)  # e.g. the China date the run is for
    started_at: datetime
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)  # running / ok / failed
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
