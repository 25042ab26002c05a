"""A drawn batch's sample read as what it is: a stratified random sample of its pool.

For each drawn batch with published results: the estimated share of the pool's entities with
problems, overall, by industry section and by the entities' supervising unit (public), and by
stratum — the internal risk class — for staff only (`supervision.inspection.estimates` holds
the estimator and its interval).

Inputs: the frozen pool of the draw's commitment (each entity's stratum — from the private
strata file under sr2 — and unit), the registry's industry of each pool entity, and the
latest *published* result of each drawn task (a problem: any of the code book's problem
codes). Drawn entities without a published result yet, or withdrawn, are left out of n_h:
the estimate assumes they would show problems at the same rate as the rest of their stratum,
and the page says how many results it rests on.

Computed once per batch and published state (cached in the process), because reading a
million-line pool costs seconds.
"""

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from supervision.draw import sr1
from supervision.inspection.estimates import Cell, Estimate, stratified_share
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import Batch, Commitment, Draw, Task, TaskState
from supervision.planning.pool import stratum_labels
from supervision.portal.statistics import industry_sections, section_names, section_of
from supervision.registry.models import Entity, Unit
from supervision.registry.reference import ResultCodeBook
from supervision.storage.service import get_bytes


@dataclass(frozen=True)
class DomainEstimate:
    key: str
    label: str
    estimate: Estimate


@dataclass
class BatchEstimates:
    code: str
    overall: Estimate
    results: int  # published results the estimate rests on
    drawn: int  # tasks drawn (not withdrawn)
    industries: list[DomainEstimate] = field(default_factory=list)
    units: list[DomainEstimate] = field(default_factory=list)
    # Internal: by risk class (stratum label). Never put on a public page or file.
    strata: list[DomainEstimate] = field(default_factory=list)

    def public(self) -> "BatchEstimates":
        return BatchEstimates(
            self.code, self.overall, self.results, self.drawn, self.industries, self.units, []
        )


_CACHE: dict[tuple, BatchEstimates] = {}
_LOCK = threading.Lock()
_CACHE_SIZE = 64
# Above this pool size the industries are read by one ordered pass over the registry
# instead of lookups by code.
_LOOKUP_LIMIT = 50_000


def batch_estimates(
    session: Session, batch: Batch, book: ResultCodeBook, *, storage: Path
) -> BatchEstimates | None:
    """The batch's estimates (with the internal strata: callers showing them to the public
    use `.public()`), or None when the batch is not drawn."""
    draw = session.exec(select(Draw).where(Draw.batch_id == batch.id)).first()
    if draw is None:
        return None
    state = session.execute(
        select(func.count(), func.max(ResultVersion.id))
        .select_from(ResultVersion)
        .join(Task, Task.id == ResultVersion.task_id)
        .where(Task.batch_id == batch.id, ResultVersion.status == ResultStatus.published)
    ).one()
    key = (str(session.get_bind().engine.url), batch.id, draw.id, *state)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    result = _compute(session, batch, draw, book, storage)
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = result
    return result


def estimable_batches(session: Session) -> list[Batch]:
    """Drawn batches with at least one published result, newest window first (what the
    statistics page offers to estimate from)."""
    with_results = select(Task.batch_id).where(Task.state == TaskState.published).distinct()
    return list(
        session.exec(
            select(Batch)
            .where(col(Batch.id).in_(with_results))
            .order_by(col(Batch.window_start).desc(), Batch.code)
        )
    )


def _pool(session: Session, draw: Draw, storage: Path) -> tuple[list[str], list[str], list[str]]:
    """The committed pool's USCCs, strata (the real ones, also under sr2) and units."""
    commitment = session.get(Commitment, draw.commitment_id)
    pool = sr1.parse_pool(get_bytes(storage, commitment.pool_sha256), checked=True)
    params = json.loads(commitment.params_json)
    if params.get("strata_sha256"):
        strata = sr1.parse_strata(get_bytes(storage, params["strata_sha256"]), checked=True)
        return pool.usccs, strata.strata, pool.units
    return pool.usccs, pool.strata, pool.units


def _industries(session: Session, usccs: list[str]) -> list[str]:
    """Each pool entity's industry code today (the pool is sorted by USCC)."""
    out: dict[str, str] = {}
    if len(usccs) <= _LOOKUP_LIMIT:
        for i in range(0, len(usccs), 900):
            out.update(
                session.exec(
                    select(Entity.uscc, Entity.industry_code).where(
                        col(Entity.uscc).in_(usccs[i : i + 900])
                    )
                ).all()
            )
        return [out.get(u, "") for u in usccs]
    wanted = iter(usccs)
    codes: list[str] = []
    current = next(wanted, None)
    rows = session.execute(
        select(Entity.uscc, Entity.industry_code)
        .order_by(Entity.uscc)
        .execution_options(yield_per=20_000)
    )
    for uscc, industry in rows:
        while current is not None and current < uscc:
            codes.append("")
            current = next(wanted, None)
        if current == uscc:
            codes.append(industry)
            current = next(wanted, None)
    codes.extend("" for _ in range(len(usccs) - len(codes)))
    return codes


def _compute(
    session: Session, batch: Batch, draw: Draw, book: ResultCodeBook, storage: Path
) -> BatchEstimates:
    usccs, strata, units = _pool(session, draw, storage)
    sections = industry_sections(session)
    industry = [section_of(sections, c) for c in _industries(session, usccs)]
    stratum_of = dict(zip(usccs, strata, strict=True))
    section_by_uscc = dict(zip(usccs, industry, strict=True))
    unit_of = dict(zip(usccs, units, strict=True))

    problem_codes = book.problem_codes()
    latest = (
        select(ResultVersion.task_id, func.max(ResultVersion.seq).label("seq"))
        .join(Task, Task.id == ResultVersion.task_id)
        .where(Task.batch_id == batch.id, ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    versions = session.execute(
        select(ResultVersion.id, Task.uscc)
        .join(
            latest,
            (latest.c.task_id == ResultVersion.task_id) & (latest.c.seq == ResultVersion.seq),
        )
        .join(Task, Task.id == ResultVersion.task_id)
        .where(Task.state == TaskState.published)
    ).all()
    uscc_of = {vid: uscc for vid, uscc in versions}
    bad: set[str] = set()
    ids = list(uscc_of)
    for i in range(0, len(ids), 5000):
        for vid, codes in session.execute(
            select(ResultLine.version_id, ResultLine.codes).where(
                col(ResultLine.version_id).in_(ids[i : i + 5000])
            )
        ):
            if set(codes.split(",")) & problem_codes:
                bad.add(uscc_of[vid])
    drawn = session.execute(
        select(func.count())
        .select_from(Task)
        .where(Task.batch_id == batch.id, Task.state != TaskState.withdrawn)
    ).scalar_one()

    def cells(domain: dict[str, str] | None) -> dict[str, list[Cell]]:
        """Per domain value (or "" for the whole pool): one cell per stratum."""
        sizes: Counter[tuple[str, str]] = Counter()
        for u in usccs:
            sizes[(domain[u] if domain else "", stratum_of[u])] += 1
        n: Counter[tuple[str, str]] = Counter()
        k: Counter[tuple[str, str]] = Counter()
        for u in uscc_of.values():
            if u not in stratum_of:
                continue  # drawn from outside the pool: cannot happen for a verified draw
            cell = (domain[u] if domain else "", stratum_of[u])
            n[cell] += 1
            k[cell] += u in bad
        out: dict[str, list[Cell]] = defaultdict(list)
        for cell, size in sizes.items():
            out[cell[0]].append(Cell(size, n[cell], k[cell]))
        return out

    def domains(domain: dict[str, str], labels: dict[str, str]) -> list[DomainEstimate]:
        rows = [
            DomainEstimate(d, labels.get(d, d), stratified_share(cs))
            for d, cs in cells(domain).items()
        ]
        # Only domains the sample reached; largest samples first.
        rows = [r for r in rows if r.estimate.sampled]
        return sorted(rows, key=lambda r: (-r.estimate.sampled, r.key))

    overall = stratified_share(cells(None)[""])
    by_stratum: dict[str, list[Cell]] = defaultdict(list)
    sizes = Counter(strata)
    n = Counter(stratum_of[u] for u in uscc_of.values() if u in stratum_of)
    k = Counter(stratum_of[u] for u in bad if u in stratum_of)
    for s, size in sizes.items():
        by_stratum[s].append(Cell(size, n[s], k[s]))
    unit_names = dict(session.exec(select(Unit.code, Unit.name)).all())
    classes: dict[str, list[str]] = defaultdict(list)  # stratum → the risk classes in it
    for risk_class, stratum in sorted(stratum_labels(batch).items()):
        classes[stratum].append(risk_class)
    return BatchEstimates(
        code=batch.code,
        overall=overall,
        results=len(uscc_of),
        drawn=drawn,
        industries=domains(section_by_uscc, section_names(session)),
        units=domains(unit_of, unit_names),
        strata=sorted(
            (
                DomainEstimate(s, "、".join(classes.get(s, [s])), stratified_share(cs))
                for s, cs in by_stratum.items()
            ),
            key=lambda r: r.key,
        ),
    )
