"""Annual plans, batches, commitments, draws, tasks and draw events.

A batch's inputs are frozen into a Commitment (withdrawn publicly, never edited); a Draw is
unique per batch, so a second entropy submission fails on the database constraint itself.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PlanState(StrEnum):
    draft = "draft"
    published = "published"


PLAN_STATE_LABELS = {"draft": "草稿", "published": "已公示"}


class BatchState(StrEnum):
    draft = "draft"  # 草稿
    frozen = "frozen"  # 已冻结并公示承诺
    drawn = "drawn"  # 已抽取
    in_progress = "in_progress"  # 检查中
    closed = "closed"  # 已结束


BATCH_STATE_LABELS = {
    "draft": "草稿",
    "frozen": "已公示承诺，待抽取",
    "drawn": "已抽取",
    "in_progress": "检查中",
    "closed": "已结束",
}


class Plan(SQLModel, table=True):
    """年度抽查工作计划."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    year: int
    name: str = Field(max_length=200)
    authority: str = Field(max_length=100)
    state: PlanState = Field(default=PlanState.draft, max_length=16)
    filed_with: str | None = Field(default=None, max_length=100)  # 报上级备案
    published_at: datetime | None = None
    created_at: datetime
    created_by: str = Field(max_length=64)


class PlanChange(SQLModel, table=True):
    """A published change to a plan (计划调整), kept in order."""

    __tablename__ = "plan_change"
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    at: datetime
    actor: str = Field(max_length=64)
    description: str = Field(sa_column=Column(Text, nullable=False))


class Batch(SQLModel, table=True):
    """抽查批次/任务. Settings are JSON text validated by the planning schemas."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    directed: bool = False  # 定向 / 不定向
    initiating_department: str = Field(foreign_key="department.code", max_length=16)
    participating_departments: str = Field(default="", max_length=200)
    filters_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    exclusion_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    quota_spec_json: str = Field(sa_column=Column(Text, nullable=False))
    team_json: str = Field(sa_column=Column(Text, nullable=False))
    # Risk class → the stratum label published in pool.tsv. Neutral labels by default, so the
    # published files never carry the internal credit-risk class itself.
    stratum_labels_json: str = Field(sa_column=Column(Text, nullable=False))
    cross_unit: bool = True
    max_load: int | None = None
    window_start: date
    window_end: date
    entropy_plan: str = Field(max_length=1000)
    state: BatchState = Field(default=BatchState.draft, max_length=16)
    created_at: datetime
    created_by: str = Field(max_length=64)
    # The announced ceremony: when and where the entropy is entered, and from what source.
    # Null only for batches recorded before ceremonies were data (and replayed cases).
    ceremony_at: datetime | None = None
    ceremony_place: str = Field(default="", max_length=200)
    entropy_source: str = Field(default="dice", max_length=16)  # ENTROPY_SOURCES
    beacon_chain: str | None = Field(default=None, max_length=32)  # a configured chain's name
    # The scheduler freezes a draft at this moment (optional).
    freeze_at: datetime | None = None


class BatchTemplate(SQLModel, table=True):
    """A recurring batch of a plan (e.g. quarterly): the scheduler creates each period's batch
    from it ahead of time, with its ceremony and scheduled freeze announced."""

    __tablename__ = "batch_template"
    __table_args__ = (UniqueConstraint("plan_id", "code_prefix"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    code_prefix: str = Field(max_length=20)
    name: str = Field(max_length=150)
    cadence: str = Field(max_length=16)  # quarterly / monthly
    spec_json: str = Field(sa_column=Column(Text, nullable=False))  # a BatchCreate body
    ceremony_day: int  # days after the period's first day
    ceremony_time: str = Field(max_length=5)  # "10:00", Beijing time
    freeze_hours_before: int  # the scheduled freeze, before the ceremony
    create_days_before: int  # the batch is created this long before its ceremony
    window_days_after: int  # the inspection window opens this long after the ceremony
    active: bool = True
    created_at: datetime
    created_by: str = Field(max_length=64)


CADENCES = {"quarterly": "每季度", "monthly": "每月"}


ENTROPY_SOURCES = {
    "dice": "现场见证人掷骰子",
    "lottery": "公开开奖结果",
    "beacon": "drand 公共随机信标",
}


class BatchItem(SQLModel, table=True):
    """The inspection items a batch checks (one visit, many items)."""

    __tablename__ = "batch_item"
    batch_id: int = Field(foreign_key="batch.id", primary_key=True)
    item_code: str = Field(foreign_key="inspection_item.code", primary_key=True, max_length=32)
    position: int


class Commitment(SQLModel, table=True):
    """The frozen, published inputs of a draw: parameters and H(canonical parameters)."""

    __table_args__ = (UniqueConstraint("batch_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    seq: int  # 1 for the first commitment, 2 after a withdrawal and re-freeze, …
    params_json: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    commitment: str = Field(max_length=64, index=True)
    pool_sha256: str = Field(foreign_key="stored_file.sha256", max_length=64)
    roster_sha256: str = Field(foreign_key="stored_file.sha256", max_length=64)
    conflicts_sha256: str = Field(foreign_key="stored_file.sha256", max_length=64)
    pool_size: int
    feasibility_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    published_at: datetime
    published_by: str = Field(max_length=64)
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = Field(default=None, max_length=64)
    withdrawn_reason: str | None = Field(default=None, max_length=1000)
    # A beacon batch: the chain (hash, public key, scheme, period, genesis) and the round
    # fixed at freeze, as canonical JSON; the same facts are in the committed entropy plan.
    beacon_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Draw(SQLModel, table=True):
    """The one draw of a batch. Unique batch_id: entropy can be entered once, even concurrently."""

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", unique=True)
    commitment_id: int = Field(foreign_key="commitment.id", unique=True)
    entropy_json: str = Field(sa_column=Column(Text, nullable=False))  # verbatim strings
    seed: str = Field(max_length=64)
    drawn_at: datetime
    drawn_by: str = Field(max_length=64)
    selected_count: int
    unassigned_count: int
    pairing_tickets: int
    # The ceremony as it happened: witnesses (names and roles, published), the reason for an
    # entry later than the grace period (published), the beacon round as served (verbatim).
    witnesses_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    late_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    beacon_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CeremonyAttempt(SQLModel, table=True):
    """One try of the scheduler at a batch's announced step: the freeze at its time
    (``freeze``), or fetching, verifying and drawing from its beacon round (``beacon``)."""

    __tablename__ = "ceremony_attempt"
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    action: str = Field(max_length=16)
    at: datetime
    ok: bool = False
    message: str = Field(sa_column=Column(Text, nullable=False))


class TaskState(StrEnum):
    assigned = "assigned"
    unassigned = "unassigned"  # no full team could be formed
    in_progress = "in_progress"
    recorded = "recorded"
    reviewed = "reviewed"
    returned = "returned"
    published = "published"
    withdrawn = "withdrawn"


# A recusal is published by its category; the free-text note stays with the staff.
RECUSAL_REASONS = ("回避", "因病", "工作调整", "公务冲突", "其他原因")

TASK_STATE_LABELS = {
    "assigned": "已组队",
    "unassigned": "未能组队",
    "in_progress": "检查中",
    "recorded": "已录入结果",
    "reviewed": "已审核",
    "returned": "已退回",
    "published": "已公示",
    "withdrawn": "已撤出",
}


class Task(SQLModel, table=True):
    """One drawn entity of a batch with its team: what inspectors go out to check."""

    __table_args__ = (
        UniqueConstraint("batch_id", "uscc"),
        UniqueConstraint("batch_id", "position"),
        Index("ix_task_entity", "entity_id"),
        Index("ix_task_batch_state", "batch_id", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    entity_id: int = Field(foreign_key="entity.id")
    uscc: str = Field(max_length=18)
    stratum: str = Field(max_length=16)
    ticket: str = Field(max_length=64)
    position: int  # order in which it entered the selection (draw order, then replacements)
    entered_by_event: int | None = None  # seq of the replace_entity event that selected it
    state: TaskState = Field(default=TaskState.assigned, max_length=16)
    understaffed: bool = False


class TaskMember(SQLModel, table=True):
    """A place in a task's team; position 0 is the team leader. History is kept, not deleted."""

    __tablename__ = "task_member"
    __table_args__ = (Index("ix_task_member_inspector", "inspector_id", "active"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    inspector_id: int = Field(foreign_key="inspector.id")
    badge_no: str = Field(max_length=32)
    position: int
    active: bool = True
    joined_event: int | None = None
    left_event: int | None = None


class DrawEvent(SQLModel, table=True):
    """A recusal or a withdrawn entity after the draw (sr1 §7), in hash-chained order."""

    __tablename__ = "draw_event"
    __table_args__ = (UniqueConstraint("draw_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="draw.id", index=True)
    seq: int
    event_json: str = Field(sa_column=Column(Text, nullable=False))  # canonical, as hashed
    outcome_json: str = Field(sa_column=Column(Text, nullable=False))
    chain: str = Field(max_length=64)
    at: datetime
    actor: str = Field(max_length=64)
    # Internal: a recusal's free-text explanation (the published event holds its category).
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
