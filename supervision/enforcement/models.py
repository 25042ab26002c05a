"""List entries and their events, and candidates for a person's decision.

A `ListEntry` is one proposal on the abnormal-operation list (经营异常名录) or the serious
illegal and dishonest list (严重违法失信名单) and what became of it. Each of its facts is set once
(the decision, the removal) and every step is also appended as a `ListEvent`, so an entity's
full history is the events in order; nothing is overwritten. `EnforcementCandidate` holds what
the rulebook found for a person to decide: zombie enterprises, revocation and compulsory
deregistration candidates.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ListKind(StrEnum):
    abnormal = "abnormal"  # 经营异常名录
    serious = "serious"  # 严重违法失信名单


class EntryState(StrEnum):
    proposed = "proposed"  # 拟列入，待决定
    rejected = "rejected"  # 决定不予列入
    listed = "listed"  # 已列入（个体工商户在2014年制度下为“标记经营异常状态”）
    removed = "removed"  # 已移出
    withdrawn = "withdrawn"  # 异议成立，撤销列入


class CandidateKind(StrEnum):
    zombie = "zombie"  # 僵死企业（连续两年未年报且未纳税申报；成立后六个月未开业；自行停业六个月）
    revocation = "revocation"  # 吊销营业执照候选（2024/2025 制度）
    compulsory_deregistration = "compulsory_deregistration"  # 强制注销公告候选


LIST_KIND_LABELS = {"abnormal": "经营异常名录", "serious": "严重违法失信名单"}
ENTRY_STATE_LABELS = {
    "proposed": "拟列入",
    "rejected": "不予列入",
    "listed": "已列入",
    "removed": "已移出",
    "withdrawn": "已撤销列入",
}


class ListEntry(SQLModel, table=True):
    __tablename__ = "list_entry"
    __table_args__ = (
        # One proposal per fact: the same published result or reporting year proposes once.
        UniqueConstraint("list_kind", "uscc", "reason_code", "source_ref"),
        # The restrictions lookup: an entity's entries of a list in a state.
        Index("ix_list_entry_uscc_kind_state", "uscc", "list_kind", "state"),
        Index("ix_list_entry_state_kind", "state", "list_kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    list_kind: ListKind = Field(max_length=16)
    uscc: str = Field(foreign_key="entity.uscc", max_length=18)
    reason_code: str = Field(max_length=32)
    rulebook: str = Field(max_length=32)  # the regime in force on the fact's date
    # "marked": an individual business under the 2014 rules (标记为经营异常状态), not listed.
    mode: str = Field(default="listed", max_length=8)
    state: EntryState = Field(default=EntryState.proposed, max_length=16)
    source: str = Field(max_length=16)  # result / annual_report / escalation / manual
    source_ref: str = Field(max_length=64)  # e.g. "result:12", "year:2025", "entry:7"
    fact_on: date  # when the fact was established (verification, end of reporting period)
    proposed_at: datetime
    proposed_by: str = Field(max_length=64)
    decide_by: date | None = None  # the listing deadline (working days after the fact)
    # Counted on a provisional calendar (a year whose official arrangement is not yet
    # announced): shown as provisional, counted again when the arrangement is entered.
    decide_by_provisional: bool = False
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The listing decision (列入决定书).
    decision_no: str | None = Field(default=None, max_length=64)
    decided_on: date | None = None
    decided_by: str | None = Field(default=None, max_length=64)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    legal_basis: str | None = Field(default=None, sa_column=Column(Text))
    authority: str | None = Field(default=None, max_length=100)
    decision_late: bool | None = None
    # Serious list: automatic removal on this day (listing + the reason's years).
    expires_on: date | None = None
    # The removal (移出决定).
    removal_applied_on: date | None = None
    removal_verified_on: date | None = None  # the correction verified (核实), where it counts
    removal_deadline: date | None = None
    removal_deadline_provisional: bool = False
    removed_on: date | None = None
    removal_no: str | None = Field(default=None, max_length=64)
    removal_reason: str | None = Field(default=None, sa_column=Column(Text))
    removal_evidence: str | None = Field(default=None, sa_column=Column(Text))  # JSON
    removal_late: bool | None = None


class ListEvent(SQLModel, table=True):
    """One step of an entry, appended: proposed, listed, rejected, objection…, reminder, removed."""

    __tablename__ = "list_event"
    __table_args__ = (UniqueConstraint("entry_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="list_entry.id", index=True)
    seq: int
    kind: str = Field(max_length=32)
    event_on: date
    at: datetime
    actor: str = Field(max_length=64)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON


class EnforcementCandidate(SQLModel, table=True):
    """Something the rulebook found, with its evidence, waiting for a person's decision."""

    __tablename__ = "enforcement_candidate"
    __table_args__ = (UniqueConstraint("kind", "uscc", "basis_key"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: CandidateKind = Field(max_length=32)
    uscc: str = Field(foreign_key="entity.uscc", max_length=18, index=True)
    basis_key: str = Field(max_length=64)  # what makes it one finding, e.g. "2024-2025"
    rulebook: str = Field(max_length=32)
    found_on: date
    evidence: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    state: str = Field(default="open", max_length=16)  # open / decided
    decision: str | None = Field(default=None, max_length=32)
    decided_on: date | None = None
    decided_by: str | None = Field(default=None, max_length=64)
    decision_note: str | None = Field(default=None, sa_column=Column(Text))
