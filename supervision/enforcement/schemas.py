"""Request and response schemas of the lists, restrictions and candidates.

Requests are StrictInput (unknown fields refused, text trimmed, NUL refused). The public entry
carries only what the published list shows — name, USCC, reason, dates, authority; the staff
view adds the workflow; nothing here carries an identity number.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from supervision.enforcement.models import CandidateKind, EntryState, ListKind
from supervision.validation import StrictInput

USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"
Text2000 = Field(min_length=1, max_length=2000)


class ProposalCreate(StrictInput):
    """A proposal made by a person (results and the annual-report calendar propose by themselves)."""

    list_kind: ListKind
    uscc: str = Field(pattern=USCC_PATTERN)
    reason_code: str = Field(min_length=1, max_length=32)
    fact_on: date
    note: str = Field(default="", max_length=2000)


class DecisionCreate(StrictInput):
    decision: Literal["list", "reject"]
    reason: str = Text2000
    decision_no: str | None = Field(default=None, min_length=1, max_length=64)
    decided_on: date | None = None  # default: today
    legal_basis: str | None = Field(default=None, min_length=1, max_length=2000)
    authority: str | None = Field(default=None, min_length=1, max_length=100)


class BulkDecisionCreate(StrictInput):
    """One decision for many proposals (批量决定): each still gets its own record and number."""

    entry_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        min_length=1, max_length=20_000
    )
    decision: Literal["list", "reject"]
    reason: str = Text2000
    # Listing: the decision numbers are the prefix + first_number, first_number + 1, … + 号.
    decision_no_prefix: str | None = Field(default=None, min_length=1, max_length=48)
    first_number: int | None = Field(default=None, ge=1, le=10_000_000)
    decided_on: date | None = None
    legal_basis: str | None = Field(default=None, min_length=1, max_length=2000)
    authority: str | None = Field(default=None, min_length=1, max_length=100)
    skip_refused: bool = False  # decide the others and report the refused ones


class BulkDecisionResult(BaseModel):
    decided: int
    refused: list[dict]
    first_number: str | None
    last_number: str | None


class ObjectionCreate(StrictInput):
    filed_on: date
    grounds: str = Text2000


class OrderCreate(StrictInput):
    """A written order to publish instant information within the rule's days (责令限期公示)."""

    order_no: str = Field(min_length=1, max_length=64)
    ordered_on: date | None = None  # default: today


class ApprovalCreate(StrictInput):
    """The level above's approval of a serious-list proposal (44号), or its refusal (with the
    reason)."""

    approved: bool
    note: str = Field(default="", max_length=2000)
    decided_on: date | None = None


class ObjectionAcceptanceCreate(StrictInput):
    """Accept (受理) a filed objection, or refuse to accept it (不予受理: the reason is required)."""

    accepted: bool
    reason: str = Field(default="", max_length=2000)
    decided_on: date | None = None


class ObjectionClockStaff(BaseModel):
    """An open objection and the deadline of its current step (受理 or 核实)."""

    entry_id: int
    uscc: str
    stage: Literal["filed", "accepted"]
    since: date
    due: date | None
    provisional: bool
    working_days_left: int | None
    overdue: bool


class ObjectionDecisionCreate(StrictInput):
    outcome: Literal["upheld", "dismissed"]
    reason: str = Text2000
    decided_on: date | None = None


class CorrectionEvidence(StrictInput):
    kind: str = Field(min_length=1, max_length=32)  # one of the reason's removal_evidence
    reference: str = Field(min_length=1, max_length=200)  # document number, filing, register
    note: str = Field(default="", max_length=1000)


class RemovalCreate(StrictInput):
    applied_on: date
    # The day the correction was verified (核实): required where the reason's removal deadline
    # runs from it (unreachable, false information).
    verified_on: date | None = None
    decision_no: str = Field(min_length=1, max_length=64)
    reason: str = Text2000
    evidence: list[CorrectionEvidence] = Field(default_factory=list, max_length=10)
    decided_on: date | None = None  # default: today


class CandidateDecisionCreate(StrictInput):
    decision: Literal["wake_up", "revocation_proposal", "notice", "dismissed"]
    note: str = Text2000
    decided_on: date | None = None


class ListEventStaff(BaseModel):
    seq: int
    kind: str
    on: date
    at: datetime
    actor: str
    detail: dict


class ListEntryStaff(BaseModel):
    id: int
    list_kind: ListKind
    uscc: str
    entity_name: str
    reason_code: str
    reason_label: str
    rulebook: str
    mode: str
    state: EntryState
    source: str
    source_ref: str
    fact_on: date
    decide_by: date | None
    # Counted on a provisional calendar (the year's arrangement not yet announced).
    decide_by_provisional: bool = False
    decision_no: str | None
    decided_on: date | None
    decision_reason: str | None
    legal_basis: str | None
    authority: str | None
    decision_late: bool | None
    expires_on: date | None
    removal_applied_on: date | None
    removal_verified_on: date | None = None
    removal_deadline: date | None
    removal_deadline_provisional: bool = False
    removed_on: date | None
    removal_no: str | None
    removal_reason: str | None
    removal_evidence: list[dict] | None
    removal_late: bool | None
    events: list[ListEventStaff] = []


class ListEntryPublic(BaseModel):
    """A published list entry: what the national credit system shows."""

    list_kind: ListKind
    entity_name: str
    uscc: str
    reason: str
    listed_on: date
    decision_no: str
    authority: str
    legal_basis: str = ""
    removed_on: date | None
    removal_no: str | None = None
    removal_reason: str | None


class ListEntriesPublicPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[ListEntryPublic]


class RestrictionReason(BaseModel):
    list_kind: ListKind
    entry_id: int
    via: Literal["entity", "legal_rep"]  # legal_rep: another entity of the same representative
    uscc: str
    entity_name: str
    reason_code: str
    reason: str
    listing_basis: str
    measure_basis: str
    listed_on: date
    decision_no: str
    until: date | None  # None: until removed


class RestrictionAnswer(BaseModel):
    uscc: str
    measure: str
    measure_label: str | None
    on: date
    in_force: bool  # whether the measure was in force on that date at all
    restricted: bool
    reasons: list[RestrictionReason]


class MeasurePublic(BaseModel):
    code: str
    label: str
    legal_basis: str
    lists: list[ListKind]
    binds: str
    years: int | None
    rulebook: str


class CandidateStaff(BaseModel):
    id: int
    kind: CandidateKind
    uscc: str
    entity_name: str
    basis_key: str
    rulebook: str
    found_on: date
    evidence: dict
    state: str
    decision: str | None
    decided_on: date | None
    decided_by: str | None
    decision_note: str | None


class JobRunSummary(BaseModel):
    job: str
    created: int
    detail: dict = {}
