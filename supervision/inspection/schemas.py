"""Request and response schemas of results, review, publication and statistics.

Requests are checked for shape here; the domain rules (codes of the rulebook, items of the
batch, proof of "cannot be reached", dates) are checked by the service so their refusals carry
a Chinese and an English reason. Public schemas carry only what may be published: never the
inspectors, the risk class, phone numbers or unpublished results.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from supervision.validation import StrictInput

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
ShortCode = Annotated[str, Field(min_length=1, max_length=16)]
LongText = Annotated[str, Field(max_length=4000)]


_Strict = StrictInput


# ---- requests ------------------------------------------------------------------------------


class LetterCreate(_Strict):
    """A registered letter (挂号信) sent to the registered address and not signed for."""

    sent_on: date
    tracking_no: str = Field(default="", max_length=64)


class ProofCreate(_Strict):
    """Proof required by a result code (e.g. 6 无法联系): one of the rulebook's options."""

    kind: str = Field(
        min_length=1, max_length=32
    )  # site_visit / address_missing / registered_letters
    visit_date: date | None = None
    note: str = Field(default="", max_length=2000)
    letters: list[LetterCreate] = Field(default_factory=list, max_length=2)


class ResultLineCreate(_Strict):
    item_code: str = Field(min_length=1, max_length=32)
    codes: list[ShortCode] = Field(default_factory=list, max_length=20)
    methods: list[ShortCode] = Field(default_factory=list, max_length=3)
    problems: LongText = ""
    handling: LongText = ""
    follow_up: LongText = ""
    check_date: date | None = None
    proof: ProofCreate | None = None
    evidence: list[Sha256] = Field(default_factory=list, max_length=50)


class ResultCreate(_Strict):
    """The whole result of a task: one line per item (a draft may leave items out)."""

    lines: list[ResultLineCreate] = Field(default_factory=list, max_length=200)


class ReviewCreate(_Strict):
    decision: Literal["approve", "return"]
    reason: str | None = Field(default=None, max_length=2000)  # required to return


class CorrectionCreate(_Strict):
    reason: str | None = Field(default=None, max_length=2000)  # required (更正理由)
    result: ResultCreate


# ---- responses -----------------------------------------------------------------------------


class ResultCodePublic(BaseModel):
    code: str
    label: str


class Problem(BaseModel):
    """Something missing before the result can be submitted."""

    item_code: str | None
    zh: str
    en: str


class ResultLineStaff(BaseModel):
    item_code: str
    item_name: str
    codes: list[ResultCodePublic]
    methods: list[str]
    problems: str
    handling: str
    follow_up: str
    check_date: date | None
    proof: dict | None
    evidence: list[str]


class ResultVersionStaff(BaseModel):
    seq: int
    status: str
    codebook_version: str
    corrects_seq: int | None
    correction_reason: str | None
    created_at: datetime
    created_by: str
    submitted_at: datetime | None
    submitted_by: str | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None
    completed_on: date | None
    published_at: datetime | None
    deadline: date | None
    late: bool | None
    deadline_provisional: bool = False
    lines: list[ResultLineStaff]


class TaskItemStaff(BaseModel):
    code: str
    name: str
    methods: list[str]


class TeamMemberStaff(BaseModel):
    badge_no: str
    name: str
    leader: bool


class DeadlineStaff(BaseModel):
    """Publication deadline: 20 working days after the end of the check."""

    due: date | None
    days_left: int | None  # calendar days; negative when overdue
    working_days_left: int | None
    overdue: bool
    note: str | None = None  # why the deadline could not be counted (calendar year missing)
    # Counted on a provisional calendar: the year's official arrangement is not yet announced.
    provisional: bool = False


class InspectionTaskStaff(BaseModel):
    id: int
    batch_code: str
    batch_name: str
    plan_code: str
    uscc: str
    entity_name: str
    address: str
    state: str
    items: list[TaskItemStaff]
    team: list[TeamMemberStaff]
    my_role: Literal["leader", "member"] | None
    window_start: date
    window_end: date
    deadline: DeadlineStaff
    missing: list[Problem]
    returned_reason: str | None
    current: ResultVersionStaff | None


class EvidenceStaff(BaseModel):
    sha256: str
    filename: str
    media_type: str
    size: int
    uploaded_at: datetime
    uploaded_by: str


class NotReady(BaseModel):
    task_id: int
    uscc: str
    state: str


class PublicationSummary(BaseModel):
    published: list[int]
    late: list[int]
    not_ready: list[NotReady]


class ItemResultPublic(BaseModel):
    item_code: str
    item_name: str
    results: list[ResultCodePublic]


class ResultPublic(BaseModel):
    """One published record in the national format (抽查检查结果公示)."""

    plan_code: str
    plan_name: str
    batch_code: str  # 抽查任务编号
    batch_name: str  # 抽查任务名称
    check_type: Literal["定向", "不定向"]
    authority: str
    uscc: str
    entity_name: str
    completed_on: date | None
    published_on: date
    items: list[ItemResultPublic]
    corrected: bool
    corrected_on: date | None


class ResultsPublicPage(BaseModel):
    total: int
    page: int
    per_page: int
    counts: dict[str, int]  # published records per result code (same filters)
    items: list[ResultPublic]


class Breakdown(BaseModel):
    key: str
    name: str
    tasks: int
    recorded: int
    with_problems: int
    problem_rate: float | None


class CategoryCount(BaseModel):
    code: str
    label: str
    tasks: int
    rate: float | None


class StatsPublic(BaseModel):
    scope: Literal["batch", "plan"]
    code: str
    name: str
    deadline: DeadlineStaff | None  # batch only
    drawn: int
    withdrawn: int
    unassigned: int
    in_progress: int
    recorded: int
    reviewed: int
    published: int
    published_on_time: int
    published_late: int
    lateness_unknown: int
    overdue: int
    on_time_rate: float | None
    problem_rate: float | None
    problem_rate_ci95: tuple[float, float] | None
    by_category: list[CategoryCount]
    by_unit: list[Breakdown]
    by_industry: list[Breakdown]
    by_risk_class: list[Breakdown]  # staff only: never on a public page
