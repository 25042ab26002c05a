"""Risk feedback into the draw's strata: list memberships and recent published problem
results put an entity in a riskier stratum (one SQL expression, used by the pool query)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import (
    String,
    case,
    cast,
    exists,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlmodel import col

from supervision.calendar.dates import add_months
from supervision.enforcement.models import (
    EntryState,
    ListEntry,
    ListKind,
)
from supervision.enforcement.rulebook import rulebook
from supervision.errors import Conflict
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import Task, TaskState
from supervision.registry.models import Entity

# ---- risk feedback -------------------------------------------------------------------------


def _has_published_result(codes: tuple[str, ...], since: date, until: date) -> Any:
    """The entity is among those whose task has a current published result with one of
    `codes`, checked (完结日期) in [since, until).

    An uncorrelated IN, not a correlated EXISTS: the database builds the (small) set of
    matching entities once and probes it per pool row — at ten million entities a
    correlated subquery would walk three indexes ten million times.

    Only the latest published version of a task counts, so a correction that drops the code
    drops the match; drafts, submitted, returned and approved versions never count, nor
    withdrawn tasks. The later-version check uses unique (task_id, seq).
    """
    task = Task.__table__.alias("rf_task")
    version = ResultVersion.__table__.alias("rf_version")
    later = ResultVersion.__table__.alias("rf_later")
    line = ResultLine.__table__.alias("rf_line")
    # Lines store codes comma-joined ("A,B"): match whole codes, never "1" inside "10".
    comma = literal_column("','", String)
    padded = comma + line.c.codes + comma
    return col(Entity.id).in_(
        select(task.c.entity_id).where(
            task.c.state == TaskState.published.value,
            version.c.task_id == task.c.id,
            version.c.status == ResultStatus.published.value,
            version.c.completed_on >= since,
            version.c.completed_on < until,
            ~exists().where(
                later.c.task_id == version.c.task_id,
                later.c.seq > version.c.seq,
                later.c.status == ResultStatus.published.value,
            ),
            line.c.version_id == version.c.id,
            or_(*(padded.like(f"%,{code},%") for code in codes)),
        )
    )


def stratum_risk_class(on: date, data_dir: Path | None = None) -> Any:
    """SQL expression: the risk class that places an entity in a pool's stratum.

    The entity's own class, unless a risk-feedback rule of the regime in force on `on` (the
    batch's first day) matches — then the rule's class; the first matching rule wins. A rule
    matches an entity on one of its lists now, or with a published result of one of its codes
    from a check completed within its months before `on`. Without rules, list entries or
    published results, it is exactly the entity's own class.
    """
    expr: Any = type_coerce(Entity.risk_class, String)
    try:
        regime = rulebook(data_dir).regime_on(on)
    except Conflict:
        return expr
    t = ListEntry.__table__.c
    if regime.risk_feedback:
        expr = cast(Entity.risk_class, String)  # PostgreSQL: CASE branches of one type
    for rule in reversed(regime.risk_feedback):
        matches: list[Any] = []
        if rule.lists:
            matches.append(
                col(Entity.uscc).in_(
                    select(t.uscc).where(
                        t.state == EntryState.listed,
                        t.list_kind.in_([ListKind(k) for k in rule.lists]),
                    )
                )
            )
        if rule.results and rule.within_months:
            since = add_months(on, -rule.within_months)
            matches.append(_has_published_result(rule.results, since, on))
        expr = case((or_(*matches), rule.risk_class), else_=expr)
    return expr
