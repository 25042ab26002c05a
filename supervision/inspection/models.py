"""Inspection results: versions per task, a line per batch item, evidence files.

A task's result is a sequence of versions. Only a draft is edited in place; once submitted a
version's content is frozen and only its status moves on (submitted → approved → published, or
submitted → returned). A returned task is answered by a new version, and a correction after
publication is a new published version with its reason — the old ones stay on record.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class ResultStatus(StrEnum):
    draft = "draft"  # 草稿（检查组可修改）
    submitted = "submitted"  # 已提交，待审核
    returned = "returned"  # 已退回
    approved = "approved"  # 审核通过，待公示
    published = "published"  # 已公示


RESULT_STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待审核",
    "returned": "已退回",
    "approved": "审核通过",
    "published": "已公示",
}


def _version_province(ctx: Any) -> str:
    """A new version's province: its task's earlier versions', else the task's entity's."""
    return ctx.connection.execute(
        text(
            "SELECT coalesce((SELECT v.province FROM result_version v WHERE v.task_id = :t "
            "ORDER BY v.seq LIMIT 1), (SELECT e.province FROM task t "
            "JOIN entity e ON e.id = t.entity_id WHERE t.id = :t))"
        ),
        {"t": ctx.get_current_parameters()["task_id"]},
    ).scalar_one()


def _line_province(ctx: Any) -> str:
    return ctx.connection.execute(
        text("SELECT province FROM result_version WHERE id = :v"),
        {"v": ctx.get_current_parameters()["version_id"]},
    ).scalar_one()


class ResultVersion(SQLModel, table=True):
    """One version of a task's result (检查结果). Content frozen once it leaves draft."""

    __tablename__ = "result_version"
    __table_args__ = (
        UniqueConstraint("task_id", "seq"),
        # The published results checked in a period (risk feedback in a pool query).
        Index("ix_result_version_status_completed", "status", "completed_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    seq: int  # 1, 2, … per task
    # The province of the task's entity when the task's first version was made, kept by every
    # later version: on PostgreSQL the results are partitioned by it (`registry.partitions`).
    province: str = Field(max_length=2, sa_column_kwargs={"default": _version_province})
    status: ResultStatus = Field(default=ResultStatus.draft, max_length=16)
    codebook_version: str = Field(max_length=16)  # result_codes.yaml version it was made under
    # A correction after publication: the seq it corrects and why (更正理由).
    corrects_seq: int | None = None
    correction_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    created_by: str = Field(max_length=64)
    updated_at: datetime
    submitted_at: datetime | None = None
    submitted_by: str | None = Field(default=None, max_length=64)
    reviewed_at: datetime | None = None
    reviewed_by: str | None = Field(default=None, max_length=64)
    review_note: str | None = Field(default=None, sa_column=Column(Text))
    completed_on: date | None = None  # 完结日期: the last check date, set on submission
    published_at: datetime | None = None
    published_by: str | None = Field(default=None, max_length=64)
    # Recorded at publication: the 20-working-day deadline and whether it was missed;
    # `deadline_provisional` when it was counted on a provisional calendar (a year whose
    # official arrangement was not yet announced), counted again once it is.
    deadline: date | None = None
    late: bool | None = None
    deadline_provisional: bool = False


class ResultLine(SQLModel, table=True):
    """The result for one inspection item of the batch (一项一结果)."""

    __tablename__ = "result_line"
    __table_args__ = (UniqueConstraint("version_id", "item_code"),)
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="result_version.id", index=True)
    # Its version's (on PostgreSQL the line refers to the version by id and province).
    province: str = Field(max_length=2, sa_column_kwargs={"default": _line_province})
    item_code: str = Field(foreign_key="inspection_item.code", max_length=32)
    codes: str = Field(default="", max_length=100)  # comma-joined, rulebook order
    methods: str = Field(default="", max_length=64)  # comma-joined: desk, onsite, online
    problems: str = Field(default="", sa_column=Column(Text, nullable=False))  # 发现的问题
    handling: str = Field(default="", sa_column=Column(Text, nullable=False))  # 处理情况
    follow_up: str = Field(default="", sa_column=Column(Text, nullable=False))  # 后续措施
    check_date: date | None = None
    # Proof for a code that needs it (e.g. 6 无法联系): kind, visit date and note, letters.
    proof_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    evidence: str = Field(
        default="", sa_column=Column(Text, nullable=False)
    )  # sha256, comma-joined


class EvidenceFile(SQLModel, table=True):
    """A photo or scanned record uploaded for a task; the bytes live in content storage."""

    __tablename__ = "evidence_file"
    __table_args__ = (UniqueConstraint("task_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    sha256: str = Field(foreign_key="stored_file.sha256", max_length=64)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    size: int
    uploaded_at: datetime
    uploaded_by: str = Field(max_length=64)
