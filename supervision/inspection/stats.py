"""Staff statistics of a batch or a plan: progress, deadlines met, problem rates.

Problem rates are over the current submitted result of each task (submitted, approved or
published; drafts and returned versions do not count) and come with a 95% Wilson interval: the
draw is a random sample, so a rate estimates the whole population. The breakdown by credit-risk
class is for staff only and never reaches a public page.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date

from sqlmodel import Session, col, select

from supervision.calendar import WorkdayCalendar
from supervision.inspection import schemas as s
from supervision.inspection.deadlines import deadline_of, is_late
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.inspection.rules import CLOSED_STATES
from supervision.planning.models import Batch, Plan, Task, TaskState
from supervision.registry.models import Entity, Industry, Unit
from supervision.registry.reference import ResultCodeBook

COUNTED = (ResultStatus.submitted, ResultStatus.approved, ResultStatus.published)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """95% Wilson score interval of a proportion k/n."""
    if n == 0:
        return None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def _rate(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def batch_stats(
    session: Session,
    batch: Batch,
    *,
    today: date,
    book: ResultCodeBook,
    calendar: WorkdayCalendar | None = None,
) -> s.StatsPublic:
    return _stats(session, [batch], "batch", batch.code, batch.name, today, book, calendar)


def plan_stats(
    session: Session,
    plan: Plan,
    *,
    today: date,
    book: ResultCodeBook,
    calendar: WorkdayCalendar | None = None,
) -> s.StatsPublic:
    batches = list(session.exec(select(Batch).where(Batch.plan_id == plan.id).order_by(Batch.code)))
    return _stats(session, batches, "plan", plan.code, plan.name, today, book, calendar)


def _stats(
    session: Session,
    batches: list[Batch],
    scope: str,
    code: str,
    name: str,
    today: date,
    book: ResultCodeBook,
    calendar: WorkdayCalendar | None,
) -> s.StatsPublic:
    by_id = {b.id: b for b in batches}
    tasks = session.exec(
        select(
            Task.id,
            Task.batch_id,
            Task.state,
            Entity.supervising_unit,
            Entity.industry_code,
            Entity.risk_class,
        )
        .join(Entity, Entity.id == Task.entity_id)
        .where(col(Task.batch_id).in_(list(by_id) or [-1]))
    ).all()
    task_ids = [t[0] for t in tasks]
    versions: dict[int, list[ResultVersion]] = defaultdict(list)
    if task_ids:
        for v in session.exec(
            select(ResultVersion)
            .where(col(ResultVersion.task_id).in_(task_ids))
            .order_by(ResultVersion.task_id, ResultVersion.seq)
        ):
            versions[v.task_id].append(v)
    current = {
        tid: next((v for v in reversed(vs) if v.status in COUNTED), None)
        for tid, vs in versions.items()
    }
    current_ids = [v.id for v in current.values() if v is not None]
    codes_of: dict[int, set[str]] = defaultdict(set)
    if current_ids:
        for vid, codes in session.exec(
            select(ResultLine.version_id, ResultLine.codes).where(
                col(ResultLine.version_id).in_(current_ids)
            )
        ):
            codes_of[vid].update(c for c in codes.split(",") if c)

    labels: dict[str, str] = {}
    problem = book.problem_codes()
    order: list[str] = []
    for version in book.versions:
        for c in version.walk():
            labels[c.code] = c.label
            if c.code not in order:
                order.append(c.code)

    deadlines = {b.id: deadline_of(b, today, done=False, calendar=calendar) for b in batches}
    counts: Counter[str] = Counter()
    category: Counter[str] = Counter()
    groups: dict[str, dict[str, Counter[str]]] = {
        "unit": defaultdict(Counter),
        "industry": defaultdict(Counter),
        "risk": defaultdict(Counter),
    }
    for tid, batch_id, state, unit, industry, risk in tasks:
        if state == TaskState.withdrawn:
            counts["withdrawn"] += 1
            continue
        counts["drawn"] += 1
        if state in (TaskState.unassigned, TaskState.in_progress):
            counts[TaskState(state).value] += 1
        vs = versions.get(tid, [])
        recorded = any(v.status != ResultStatus.draft for v in vs)
        counts["recorded"] += recorded
        counts["reviewed"] += any(
            v.status in (ResultStatus.approved, ResultStatus.published) for v in vs
        )
        if state == TaskState.published:
            counts["published"] += 1
            first = next(v for v in vs if v.status == ResultStatus.published)
            late = is_late(first, by_id[batch_id], calendar)
            counts[{True: "late", False: "on_time", None: "unknown"}[late]] += 1
        elif state not in CLOSED_STATES and deadlines[batch_id].overdue:
            counts["overdue"] += 1
        result = current.get(tid)
        has_problem = False
        if result is not None:
            counts["results"] += 1
            codes = codes_of.get(result.id, set())
            category.update(codes)
            has_problem = bool(codes & problem)
            counts["with_problems"] += has_problem
        for kind, key in (("unit", unit), ("industry", industry), ("risk", str(risk))):
            g = groups[kind][key]
            g["tasks"] += 1
            g["recorded"] += result is not None
            g["with_problems"] += has_problem

    unit_names = dict(session.exec(select(Unit.code, Unit.name)).all())
    industry_names = dict(session.exec(select(Industry.code, Industry.name)).all())

    def breakdown(kind: str, names: Callable[[str], str]) -> list[s.Breakdown]:
        return [
            s.Breakdown(
                key=key,
                name=names(key),
                tasks=g["tasks"],
                recorded=g["recorded"],
                with_problems=g["with_problems"],
                problem_rate=_rate(g["with_problems"], g["recorded"]),
            )
            for key, g in sorted(groups[kind].items())
        ]

    judged = counts["on_time"] + counts["late"]
    return s.StatsPublic(
        scope=scope,
        code=code,
        name=name,
        deadline=(
            deadline_of(
                batches[0],
                today,
                done=counts["drawn"] == counts["published"] + counts["unassigned"],
                calendar=calendar,
            ).out()
            if scope == "batch"
            else None
        ),
        drawn=counts["drawn"],
        withdrawn=counts["withdrawn"],
        unassigned=counts["unassigned"],
        in_progress=counts["in_progress"],
        recorded=counts["recorded"],
        reviewed=counts["reviewed"],
        published=counts["published"],
        published_on_time=counts["on_time"],
        published_late=counts["late"],
        lateness_unknown=counts["unknown"],
        overdue=counts["overdue"],
        on_time_rate=_rate(counts["on_time"], judged),
        problem_rate=_rate(counts["with_problems"], counts["results"]),
        problem_rate_ci95=wilson(counts["with_problems"], counts["results"]),
        by_category=[
            s.CategoryCount(
                code=c,
                label=labels[c],
                tasks=category[c],
                rate=_rate(category[c], counts["results"]),
            )
            for c in order
            if category[c]
        ],
        by_unit=breakdown("unit", lambda k: unit_names.get(k, k)),
        by_industry=breakdown("industry", lambda k: industry_names.get(k, k)),
        by_risk_class=breakdown("risk", lambda k: k),
    )
