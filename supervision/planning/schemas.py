"""Request/response schemas of plans and batches."""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supervision.clock import CHINA_TZ
from supervision.planning.models import RECUSAL_REASONS
from supervision.validation import StrictInput

_CODE = r"^[A-Za-z0-9_.\-]+$"
RISK_STRATA = ("A", "B", "C", "D")


_Strict = StrictInput


class PlanCreate(_Strict):
    code: str = Field(min_length=1, max_length=32, pattern=_CODE)
    year: int = Field(ge=2015, le=2100)
    name: str = Field(min_length=1, max_length=200)
    authority: str = Field(min_length=1, max_length=100)
    filed_with: str | None = Field(default=None, max_length=100)


class PlanChangeCreate(_Strict):
    description: str = Field(min_length=4, max_length=4000)


class StratumQuota(_Strict):
    """Either a decimal percent (e.g. "3.5") or a count; the quota becomes an integer at freeze."""

    percent: str | None = Field(default=None, max_length=12)
    count: int | None = Field(default=None, ge=0, le=10_000_000)

    @field_validator("percent")
    @classmethod
    def _percent(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.fullmatch(r"\d{1,3}(\.\d{1,4})?", v):
            raise ValueError('比例须为十进制百分数，如 "3" 或 "3.5" / percent as decimal text')
        try:
            if not Decimal(0) <= Decimal(v) <= Decimal(100):
                raise ValueError
        except (InvalidOperation, ValueError):
            raise ValueError("比例须在0–100之间 / percent must be 0..100") from None
        return v

    @model_validator(mode="after")
    def _one_of(self) -> "StratumQuota":
        if (self.percent is None) == (self.count is None):
            raise ValueError("每个分层须给出比例或数量之一 / give exactly one of percent, count")
        return self


class TeamSlot(_Strict):
    group: str = Field(min_length=1, max_length=16, pattern=_CODE)
    count: int = Field(ge=1, le=10)
    qualification: str | None = Field(default=None, max_length=32, pattern=_CODE)


class BatchFilters(_Strict):
    """Directed-draw scope (定向); empty means the whole population (不定向)."""

    region_codes: list[str] = Field(default_factory=list, max_length=100)
    units: list[str] = Field(default_factory=list, max_length=100)
    industry_codes: list[str] = Field(default_factory=list, max_length=200)
    entity_types: list[str] = Field(default_factory=list, max_length=3)
    statuses: list[str] = Field(default_factory=lambda: ["active"], min_length=1, max_length=5)
    established_before: date | None = None

    def is_directed(self) -> bool:
        return bool(
            self.region_codes
            or self.units
            or self.industry_codes
            or self.entity_types
            or self.established_before
        )


class BatchExclusion(_Strict):
    """Avoid repeat inspections (exclusion window applied when the pool is built)."""

    same_item_months: int | None = Field(default=None, ge=1, le=120)
    low_risk_once_per_year: bool = True


class BatchCreate(_Strict):
    code: str = Field(min_length=1, max_length=32, pattern=_CODE)
    name: str = Field(min_length=1, max_length=200)
    initiating_department: str = Field(min_length=1, max_length=16, pattern=_CODE)
    participating_departments: list[str] = Field(default_factory=list, max_length=10)
    item_codes: list[str] = Field(min_length=1, max_length=50)
    filters: BatchFilters = Field(default_factory=BatchFilters)
    exclusion: BatchExclusion = Field(default_factory=BatchExclusion)
    quotas: dict[str, StratumQuota] = Field(min_length=1, max_length=20)
    team: list[TeamSlot] = Field(min_length=1, max_length=10)
    cross_unit: bool = True
    max_load: int | None = Field(default=None, ge=1, le=100_000)
    window_start: date
    window_end: date
    # The announced ceremony (a moment; without a time zone it is Beijing time). The words of
    # the entropy plan default to the ceremony's time, place and source.
    ceremony_at: datetime
    ceremony_place: str = Field(default="", max_length=200)
    entropy_source: Literal["dice", "lottery", "beacon"] = "dice"
    beacon_chain: str | None = Field(default=None, max_length=32, pattern=_CODE)
    entropy_plan: str = Field(default="", max_length=900)
    # Optional: the scheduler freezes the draft at this moment.
    freeze_at: datetime | None = None

    @field_validator("ceremony_at", "freeze_at")
    @classmethod
    def _china_time(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            v = v.replace(tzinfo=CHINA_TZ)
        return v

    @field_validator("ceremony_place")
    @classmethod
    def _place_line(cls, v: str) -> str:
        if any(c in v for c in "\t\r\n"):
            raise ValueError("仪式地点须为一行文字 / the place must be one line")
        return v.strip()

    @field_validator("quotas")
    @classmethod
    def _strata(cls, v: dict[str, StratumQuota]) -> dict[str, StratumQuota]:
        bad = [k for k in v if not re.fullmatch(r"[A-Za-z0-9_]{1,16}", k)]
        if bad:
            raise ValueError(f"分层名称无效：{bad} / invalid stratum names")
        return v

    @field_validator("entropy_plan")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if any(c in v for c in "\t\r\n"):
            raise ValueError("熵来源说明须为一行文字 / entropy plan must be one line")
        if v.strip() and len(v.strip()) < 4:
            raise ValueError("熵来源说明过短 / entropy plan too short")
        if "drand-beacon" in v:  # the words the freeze writes for a beacon: the system's own
            raise ValueError("熵来源说明不能含“drand-beacon”（系统保留）/ reserved words")
        return v.strip()

    @model_validator(mode="after")
    def _window(self) -> "BatchCreate":
        if self.window_end < self.window_start:
            raise ValueError("检查结束日期早于开始日期 / window_end before window_start")
        if len(set(self.item_codes)) != len(self.item_codes):
            raise ValueError("抽查事项重复 / duplicate item codes")
        if self.freeze_at is not None and self.freeze_at >= self.ceremony_at:
            raise ValueError("定时冻结须早于抽取仪式 / freeze_at must precede ceremony_at")
        return self


class Witness(_Strict):
    name: str = Field(min_length=1, max_length=50)
    role: str = Field(min_length=1, max_length=50)


class EntropyCreate(_Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)
    entropy: list[str] = Field(min_length=1, max_length=20)
    # The ceremony's witnesses (names and roles, published) and, past the grace period after
    # the announced time, the reason for the delay (published with the draw).
    witnesses: list[Witness] = Field(default_factory=list, max_length=20)
    late_reason: str | None = Field(default=None, max_length=500)


RecusalReason = StrEnum("RecusalReason", {r: r for r in RECUSAL_REASONS})  # type: ignore[misc]


class RecusalCreate(_Strict):
    """``reason`` is published (one of the categories); ``note`` stays internal."""

    inspector: str = Field(min_length=1, max_length=32)
    reason: RecusalReason
    note: str | None = Field(default=None, max_length=500)


class EntityWithdrawalCreate(_Strict):
    reason: str = Field(min_length=2, max_length=500)


class CommitmentWithdrawalCreate(_Strict):
    reason: str = Field(min_length=4, max_length=1000)


class PlanPublic(BaseModel):
    code: str
    year: int
    name: str
    authority: str
    state: str
    filed_with: str | None
    published_at: datetime | None
    changes: list[dict] = []


class CommitmentPublic(BaseModel):
    seq: int
    commitment: str
    params: dict
    published_at: datetime
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


class BatchPublic(BaseModel):
    code: str
    name: str
    plan_code: str
    directed: bool
    initiating_department: str
    participating_departments: list[str]
    item_codes: list[str]
    window_start: date
    window_end: date
    entropy_plan: str
    state: str
    commitments: list[CommitmentPublic] = []
    entropy: list[str] | None = None
    seed: str | None = None
    drawn_at: datetime | None = None
    ceremony_at: datetime | None = None
    ceremony_place: str = ""
    entropy_source: str = "dice"
    beacon_chain: str | None = None
    witnesses: list[dict[str, str]] = []
    late_reason: str | None = None


class FeasibilityPublic(BaseModel):
    ok: bool
    strata: dict[str, dict[str, int]]
    slots: list[dict[str, Any]]
    problems: list[dict[str, str]]
    warnings: list[dict[str, str]]
    unassigned: int = 0  # about how many drawn entities would get no full team


class FreezePublic(BaseModel):
    commitment: str
    params: dict[str, Any]
    feasibility: FeasibilityPublic


class DrawPublic(BaseModel):
    seed: str
    selected: int
    unassigned: list[str]
    pairing_tickets: int


class DrawEventPublic(BaseModel):
    seq: int
    event: dict[str, Any]
    outcome: dict[str, Any]
    chain: str


class DrawnTaskPublic(BaseModel):
    """A drawn entity and its team as the draw published them (public)."""

    position: int
    uscc: str
    entity_name: str
    # Left out (unset) of a sealed (sr2) draw's public view: its strata are internal.
    stratum: str | None = None
    ticket: str | None = None
    state: str
    understaffed: bool
    team: list[dict[str, str]]


# Fields a template fills in for each period; its batch body must not give them.
TEMPLATE_FILLED = ("code", "name", "window_start", "window_end", "ceremony_at", "freeze_at")


class BatchTemplateCreate(_Strict):
    """A recurring batch: the batch body (as `BatchCreate`, without the fields each period
    fills in) and when, in each period, its ceremony falls."""

    code_prefix: str = Field(min_length=1, max_length=20, pattern=_CODE)
    name: str = Field(min_length=1, max_length=150)
    cadence: Literal["quarterly", "monthly"] = "quarterly"
    ceremony_day: int = Field(default=14, ge=0, le=27)  # days after the period's first day
    ceremony_time: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    freeze_hours_before: int = Field(default=48, ge=1, le=24 * 30)
    create_days_before: int = Field(default=14, ge=1, le=60)
    window_days_after: int = Field(default=3, ge=0, le=25)
    batch: dict[str, Any]

    @field_validator("batch")
    @classmethod
    def _no_filled_fields(cls, v: dict[str, Any]) -> dict[str, Any]:
        given = sorted(set(v) & set(TEMPLATE_FILLED))
        if given:
            raise ValueError(f"模板的批次设置不应包含每期自动填写的字段：{given}")
        return v


class BatchTemplatePublic(BaseModel):
    code_prefix: str
    name: str
    cadence: str
    ceremony_day: int
    ceremony_time: str
    freeze_hours_before: int
    create_days_before: int
    window_days_after: int
    active: bool
    batch: dict[str, Any]
    batches: list[str] = []  # the codes made from it so far
