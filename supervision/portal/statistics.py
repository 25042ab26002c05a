"""The portal's statistics (统计): what the published record says in figures.

Everything is computed from published results only (the latest published version of each
task) and public facts: the entity's industry, the inspecting team's unit (its leader's),
the publication date and whether it met its deadline. Internal risk classes never enter.

* coverage per plan year — entities with a published result ÷ entities in business now;
* records per result code and the share of records showing each;
* problem rates by industry section (GB/T 4754) and by inspecting unit;
* publications per month, and the share published within the 20-working-day deadline.

The figures are cached in the process and keyed by the published record's state (how many
published versions, the latest publication), so a page view costs one small query until
something new is published.
"""

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from supervision.clock import CHINA_TZ
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import Batch, BatchState, Plan, Task, TaskMember, TaskState
from supervision.registry.models import Entity, EntityStatus, Industry, Inspector, Unit
from supervision.registry.reference import ResultCodeBook


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    count: int  # records (tasks) in the group
    hits: int  # records with a problem / showing the code / on time
    extra: int = 0  # a second count where a table needs one

    @property
    def rate(self) -> float:
        return self.hits / self.count if self.count else 0.0


@dataclass
class PortalStats:
    published: int = 0
    problems: int = 0
    active_entities: int = 0
    coverage: list[Row] = field(default_factory=list)  # per year: count=active, hits=inspected
    codes: list[Row] = field(default_factory=list)  # count=published, hits=records with code
    industries: list[Row] = field(default_factory=list)
    units: list[Row] = field(default_factory=list)
    months: list[Row] = field(default_factory=list)  # count=published, hits=on time, extra=known
    # Charts drawn from these figures, kept with them (same key, same drawings).
    drawings: dict[str, str] = field(default_factory=dict)

    @property
    def problem_rate(self) -> float:
        return self.problems / self.published if self.published else 0.0


class StatsCache:
    """The figures of the current published state, one per application."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._stats: PortalStats | None = None
        self._lock = threading.Lock()

    def get(self, key: tuple) -> PortalStats | None:
        with self._lock:
            return self._stats if key == self._key else None

    def put(self, key: tuple, stats: PortalStats) -> None:
        with self._lock:
            self._key, self._stats = key, stats


def _state(session: Session) -> tuple:
    return tuple(
        session.execute(
            select(
                func.count(), func.max(ResultVersion.published_at), func.max(ResultVersion.id)
            ).where(ResultVersion.status == ResultStatus.published)
        ).one()
    )


def portal_stats(
    session: Session, book: ResultCodeBook, cache: StatsCache | None = None
) -> PortalStats:
    key = _state(session)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return hit
    stats = _compute(session, book)
    if cache is not None:
        cache.put(key, stats)
    return stats


def _china_month(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(CHINA_TZ).strftime("%Y-%m")


def _compute(session: Session, book: ResultCodeBook) -> PortalStats:
    latest = (
        select(ResultVersion.task_id, func.max(ResultVersion.seq).label("seq"))
        .where(ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    first = (
        select(
            ResultVersion.task_id,
            func.min(ResultVersion.seq).label("seq"),
        )
        .where(ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    rows = session.execute(
        select(ResultVersion.id, Task.id, Task.entity_id, Entity.industry_code, Plan.year)
        .join(
            latest,
            (latest.c.task_id == ResultVersion.task_id) & (latest.c.seq == ResultVersion.seq),
        )
        .join(Task, Task.id == ResultVersion.task_id)
        .join(Batch, Batch.id == Task.batch_id)
        .join(Plan, Plan.id == Batch.plan_id)
        .join(Entity, Entity.id == Task.entity_id)
        .where(Task.state == TaskState.published)
    ).all()
    version_of = {r[1]: r[0] for r in rows}
    codes_of: dict[int, set[str]] = defaultdict(set)
    ids = list(version_of.values())
    for i in range(0, len(ids), 5000):
        for vid, codes in session.execute(
            select(ResultLine.version_id, ResultLine.codes).where(
                col(ResultLine.version_id).in_(ids[i : i + 5000])
            )
        ):
            codes_of[vid].update(c for c in codes.split(",") if c)
    problem_codes = book.problem_codes()
    labels = book.code_labels()

    # The first publication of each task: when it was published and whether it was late.
    firsts = session.execute(
        select(ResultVersion.published_at, ResultVersion.late).join(
            first,
            (first.c.task_id == ResultVersion.task_id) & (first.c.seq == ResultVersion.seq),
        )
    ).all()
    leaders = dict(
        session.execute(
            select(TaskMember.task_id, Inspector.unit_code)
            .join(Inspector, Inspector.id == TaskMember.inspector_id)
            .join(Task, Task.id == TaskMember.task_id)
            .where(
                TaskMember.position == 0,
                TaskMember.active == True,  # noqa: E712
                Task.state == TaskState.published,
            )
        ).all()
    )
    sections = industry_sections(session)
    unit_names = dict(session.exec(select(Unit.code, Unit.name)).all())
    active = session.execute(
        select(func.count()).select_from(Entity).where(Entity.status == EntityStatus.active)
    ).scalar_one()

    out = PortalStats(published=len(rows), active_entities=active)
    per_code: Counter[str] = Counter()
    by_year: dict[int, set[int]] = defaultdict(set)
    ind_n: Counter[str] = Counter()
    ind_k: Counter[str] = Counter()
    unit_n: Counter[str] = Counter()
    unit_k: Counter[str] = Counter()
    for vid, task_id, entity_id, industry, year in rows:
        codes = codes_of.get(vid, set())
        bad = bool(codes & problem_codes)
        out.problems += bad
        per_code.update(codes)
        by_year[year].add(entity_id)
        section = section_of(sections, industry)
        ind_n[section] += 1
        ind_k[section] += bad
        unit = leaders.get(task_id, "")
        unit_n[unit] += 1
        unit_k[unit] += bad
    out.coverage = [Row(str(y), f"{y}年", active, len(by_year[y])) for y in sorted(by_year)]
    out.codes = [
        Row(c, label, out.published, per_code[c]) for c, label in labels.items() if per_code[c]
    ]
    names = section_names(session)
    out.industries = sorted(
        (Row(s, names.get(s, s), n, ind_k[s]) for s, n in ind_n.items()),
        key=lambda r: (-r.count, r.key),
    )
    out.units = sorted(
        (Row(u, unit_names.get(u, u or "（无检查组）"), n, unit_k[u]) for u, n in unit_n.items()),
        key=lambda r: (-r.count, r.key),
    )
    month_n: Counter[str] = Counter()
    month_ok: Counter[str] = Counter()
    month_known: Counter[str] = Counter()
    for at, late in firsts:
        if at is None:
            continue
        m = _china_month(at)
        month_n[m] += 1
        if late is not None:
            month_known[m] += 1
            month_ok[m] += not late
    out.months = [Row(m, m, month_n[m], month_ok[m], month_known[m]) for m in sorted(month_n)]
    return out


def section_of(sections: dict[str, str], industry: str) -> str:
    """An industry code's GB/T 4754 section letter ("?" when the code is unknown)."""
    return sections.get(industry) or (industry[:1] if industry[:1].isalpha() else "?")


def industry_sections(session: Session) -> dict[str, str]:
    """Industry code → its GB/T 4754 section letter."""
    parent = dict(session.exec(select(Industry.code, Industry.parent_code)).all())
    out = {}
    for code in parent:
        c = code
        for _ in range(4):  # section ← division ← group ← class at most
            if not parent.get(c):
                break
            c = parent[c]
        out[code] = c
    return out


def section_names(session: Session) -> dict[str, str]:
    return dict(
        session.exec(select(Industry.code, Industry.name).where(Industry.level == "section")).all()
    )


# ---- a plan year in figures ------------------------------------------------------------------


@dataclass(frozen=True)
class YearSummary:
    """A plan year as the bureau reports it: counts only, computed from the record."""

    year: int
    batches: int  # in the year's plans
    drawn_batches: int
    inspected: int  # entities with a published result in the year's batches
    inspectors: int  # inspectors on a team (active place) of the year's batches
    listed: int  # abnormal-operation listings decided in the year (removed since included)
    listed_after_checks: int  # of which following a published inspection result
    zombies_handled: int  # zombie-enterprise candidates decided in the year


def year_summary(session: Session, year: int, as_of: date) -> YearSummary:
    """The year up to `as_of` (its end, or today for the year under way)."""
    from supervision.enforcement.models import (
        CandidateKind,
        EnforcementCandidate,
        EntryState,
        ListEntry,
        ListKind,
    )

    batch_ids = select(Batch.id).join(Plan, col(Plan.id) == Batch.plan_id).where(Plan.year == year)
    start, end = date(year, 1, 1), min(date(year, 12, 31), as_of)

    def count(stmt) -> int:  # noqa: ANN001
        return int(session.exec(stmt).one())

    listed = (
        select(func.count())
        .select_from(ListEntry)
        .where(
            col(ListEntry.state).in_((EntryState.listed, EntryState.removed)),
            ListEntry.list_kind == ListKind.abnormal,
            col(ListEntry.decided_on) >= start,
            col(ListEntry.decided_on) <= end,
        )
    )
    drawn_states = (BatchState.drawn, BatchState.in_progress, BatchState.closed)
    return YearSummary(
        year=year,
        batches=count(select(func.count()).select_from(Batch).where(col(Batch.id).in_(batch_ids))),
        drawn_batches=count(
            select(func.count())
            .select_from(Batch)
            .where(col(Batch.id).in_(batch_ids), col(Batch.state).in_(drawn_states))
        ),
        inspected=count(
            select(func.count(func.distinct(Task.entity_id)))
            .join(ResultVersion, col(ResultVersion.task_id) == Task.id)
            .where(
                col(Task.batch_id).in_(batch_ids), ResultVersion.status == ResultStatus.published
            )
        ),
        inspectors=count(
            select(func.count(func.distinct(TaskMember.inspector_id)))
            .join(Task, col(Task.id) == TaskMember.task_id)
            .where(col(Task.batch_id).in_(batch_ids), TaskMember.active == True)  # noqa: E712
        ),
        listed=count(listed),
        listed_after_checks=count(listed.where(ListEntry.source == "result")),
        zombies_handled=count(
            select(func.count())
            .select_from(EnforcementCandidate)
            .where(
                EnforcementCandidate.kind == CandidateKind.zombie,
                EnforcementCandidate.state == "decided",
                col(EnforcementCandidate.decided_on) >= start,
                col(EnforcementCandidate.decided_on) <= end,
            )
        ),
    )
