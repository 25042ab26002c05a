"""The portal's JSON answers: what the pages show, for programs (a journalist's script, another
department's system). Only public fields exist here."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from supervision.enforcement.schemas import ListEntryPublic, RestrictionReason
from supervision.inspection.schemas import ResultPublic


class _FromAttributes(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EntityHitPublic(_FromAttributes):
    uscc: str
    name: str
    entity_type: str
    status: str
    legal_rep: str
    established_on: date | None


class EntitySearchPublic(_FromAttributes):
    query: str
    how: str  # code / ranked / ordered / short / similar / none / timeout (stopped: no hits)
    total: int
    capped: bool  # the total is a lower bound
    page: int
    per_page: int
    hits: list[EntityHitPublic]


class FactPublic(_FromAttributes):
    label: str
    value: str


class RestrictionPublic(_FromAttributes):
    measure: str
    label: str
    basis: str
    reasons: list[RestrictionReason]


class EntityRecordPublic(_FromAttributes):
    """One business's public record, in the national publicity system's order."""

    uscc: str
    name: str
    facts: list[FactPublic]
    results: list[ResultPublic]
    results_total: int
    entries: list[ListEntryPublic]
    restrictions: list[RestrictionPublic]
    on: date


class AnnouncementPublic(_FromAttributes):
    at: datetime
    kind: str
    kind_label: str
    title: str
    summary: str
    path: str


class AuditAnchorPublic(BaseModel):
    """A published head of the audit log's hash chain."""

    anchored_on: str
    entry_id: int
    entries: int
    hash: str


class EstimatePublic(_FromAttributes):
    """An estimated share with its 95 % interval (Korn–Graubard); ``too_small`` instead of
    numbers when the sample cannot support one."""

    share: float | None
    low: float | None
    high: float | None
    std_error: float | None
    sampled: int
    problems: int
    population: int
    effective_n: float | None
    too_small: str | None


class DomainEstimatePublic(_FromAttributes):
    key: str
    label: str
    estimate: EstimatePublic


class BatchEstimatesPublic(_FromAttributes):
    """What the batch's random sample says about its whole pool. ``strata`` (by internal risk
    class) is filled only for staff who read internal figures; empty for everyone else."""

    code: str
    overall: EstimatePublic
    results: int
    drawn: int
    industries: list[DomainEstimatePublic]
    units: list[DomainEstimatePublic]
    strata: list[DomainEstimatePublic]
