"""Reads of results: the views each audience gets of a task, and the public record."""

import json
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.calendar import WorkdayCalendar
from supervision.clock import china_day
from supervision.inspection import schemas as s
from supervision.inspection.deadlines import china_date, deadline_of
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.inspection.rules import CLOSED_STATES, EDITABLE_STATES, missing_for, task_context
from supervision.inspection.versions import current_version, lines_of
from supervision.planning.models import (
    Batch,
    Plan,
    Task,
    TaskMember,
    TaskState,
)
from supervision.registry.models import Entity, InspectionItem, Inspector
from supervision.registry.reference import (
    ResultCodeBook,
)

# ---- views ---------------------------------------------------------------------------------


def first_publication(session: Session, task: Task) -> ResultVersion | None:
    return session.exec(
        select(ResultVersion)
        .where(ResultVersion.task_id == task.id, ResultVersion.status == ResultStatus.published)
        .order_by(ResultVersion.seq)
        .limit(1)
    ).first()


def version_out(
    session: Session, version: ResultVersion, book: ResultCodeBook
) -> s.ResultVersionStaff:
    codes_book = book.named(version.codebook_version).all_codes()
    items = dict(session.exec(select(InspectionItem.code, InspectionItem.name)).all())
    lines = [
        s.ResultLineStaff(
            item_code=line.item_code,
            item_name=items.get(line.item_code, line.item_code),
            codes=[
                s.ResultCodePublic(code=c, label=codes_book[c].label if c in codes_book else c)
                for c in line.codes.split(",")
                if c
            ],
            methods=[m for m in line.methods.split(",") if m],
            problems=line.problems,
            handling=line.handling,
            follow_up=line.follow_up,
            check_date=line.check_date,
            proof=json.loads(line.proof_json) or None,
            evidence=[h for h in line.evidence.split(",") if h],
        )
        for line in lines_of(session, version)
    ]
    fields = {k: getattr(version, k) for k in s.ResultVersionStaff.model_fields if k != "lines"}
    return s.ResultVersionStaff(**fields, lines=lines)


def _team(session: Session, task: Task) -> list[tuple[int, s.TeamMemberStaff]]:
    rows = session.exec(
        select(TaskMember.inspector_id, TaskMember.badge_no, Inspector.name, TaskMember.position)
        .join(Inspector, Inspector.id == TaskMember.inspector_id)
        .where(TaskMember.task_id == task.id, TaskMember.active == True)  # noqa: E712
        .order_by(TaskMember.position)
    ).all()
    return [
        (iid, s.TeamMemberStaff(badge_no=badge, name=name, leader=pos == 0))
        for iid, badge, name, pos in rows
    ]


def task_view(
    session: Session,
    task: Task,
    user: User,
    *,
    today: date,
    book: ResultCodeBook,
    calendar: WorkdayCalendar | None = None,
) -> s.InspectionTaskStaff:
    ctx = task_context(session, task)
    plan = session.get(Plan, ctx.batch.plan_id)
    entity = session.get(Entity, task.entity_id)
    team = _team(session, task)
    mine = next((m for iid, m in team if iid == user.inspector_id), None)
    version = current_version(session, task)
    done = task.state in (TaskState.published, *CLOSED_STATES)
    editable = task.state in EDITABLE_STATES
    return s.InspectionTaskStaff(
        id=task.id,
        batch_code=ctx.batch.code,
        batch_name=ctx.batch.name,
        plan_code=plan.code,
        uscc=task.uscc,
        entity_name=entity.name,
        address=entity.business_address or entity.registered_address,
        state=task.state,
        items=[
            s.TaskItemStaff(
                code=i.code, name=i.name, methods=[m for m in i.methods.split(",") if m]
            )
            for i in ctx.items
        ],
        team=[m for _, m in team],
        my_role=None if mine is None else ("leader" if mine.leader else "member"),
        window_start=ctx.batch.window_start,
        window_end=ctx.batch.window_end,
        deadline=deadline_of(ctx.batch, today, done=done, calendar=calendar).out(),
        missing=missing_for(session, ctx, version, book) if editable else [],
        returned_reason=(
            version.review_note
            if task.state == TaskState.returned and version is not None
            else None
        ),
        current=version_out(session, version, book) if version else None,
    )


def my_tasks(
    session: Session,
    user: User,
    *,
    today: date,
    book: ResultCodeBook,
    state: str | None = None,
    calendar: WorkdayCalendar | None = None,
) -> list[s.InspectionTaskStaff]:
    """The tasks whose current team includes the user's inspector, soonest deadline first."""
    if user.inspector_id is None:
        return []
    stmt = (
        select(Task)
        .join(TaskMember, TaskMember.task_id == Task.id)
        .join(Batch, Batch.id == Task.batch_id)
        .where(TaskMember.inspector_id == user.inspector_id, TaskMember.active == True)  # noqa: E712
        .order_by(Batch.window_end, Task.batch_id, Task.position)
    )
    if state:
        stmt = stmt.where(Task.state == state)
    return [
        task_view(session, t, user, today=today, book=book, calendar=calendar)
        for t in session.exec(stmt)
    ]


def review_queue(
    session: Session, user: User, *, today: date, book: ResultCodeBook
) -> list[s.InspectionTaskStaff]:
    """Submitted results the user may review (tasks they were never on), oldest first."""
    stmt = (
        select(Task)
        .join(ResultVersion, ResultVersion.task_id == Task.id)
        .where(Task.state == TaskState.recorded, ResultVersion.status == ResultStatus.submitted)
        .order_by(ResultVersion.submitted_at, Task.id)
    )
    if user.inspector_id is not None:
        own = select(TaskMember.task_id).where(TaskMember.inspector_id == user.inspector_id)
        stmt = stmt.where(col(Task.id).not_in(own))
    return [task_view(session, t, user, today=today, book=book) for t in session.exec(stmt)]


# ---- the public record ---------------------------------------------------------------------


def _published_filter(batch: str | None, q: str | None):
    """Latest published version per task, joined to what the public record shows."""
    latest = (
        select(ResultVersion.task_id, func.max(ResultVersion.seq).label("seq"))
        .where(ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    stmt = (
        select(ResultVersion, Task, Batch, Plan, Entity)
        .join(
            latest,
            (latest.c.task_id == ResultVersion.task_id) & (latest.c.seq == ResultVersion.seq),
        )
        .join(Task, Task.id == ResultVersion.task_id)
        .join(Batch, Batch.id == Task.batch_id)
        .join(Plan, Plan.id == Batch.plan_id)
        .join(Entity, Entity.id == Task.entity_id)
        .where(Task.state == TaskState.published)
    )
    if batch:
        stmt = stmt.where(Batch.code == batch)
    if q:
        stmt = stmt.where(
            col(Entity.name).contains(q, autoescape=True)
            | col(Task.uscc).startswith(q.upper(), autoescape=True)
        )
    return stmt


def _result_public(
    version: ResultVersion,
    task: Task,
    batch: Batch,
    plan: Plan,
    entity_name: str,
    first: ResultVersion,
    lines: list[ResultLine],
    items: dict[str, str],
    book: ResultCodeBook,
) -> s.ResultPublic:
    """One published record in the national format, from its latest version and lines."""
    labels = book.named(version.codebook_version).all_codes()
    corrected = version.corrects_seq is not None
    return s.ResultPublic(
        plan_code=plan.code,
        plan_name=plan.name,
        batch_code=batch.code,
        batch_name=batch.name,
        check_type="定向" if batch.directed else "不定向",
        authority=plan.authority,
        uscc=task.uscc,
        entity_name=entity_name,
        completed_on=version.completed_on,
        published_on=china_date(first),
        items=[
            s.ItemResultPublic(
                item_code=line.item_code,
                item_name=items.get(line.item_code, line.item_code),
                results=[
                    s.ResultCodePublic(code=c, label=labels[c].label if c in labels else c)
                    for c in line.codes.split(",")
                    if c
                ],
            )
            for line in lines
        ],
        corrected=corrected,
        corrected_on=china_date(version) if corrected else None,
    )


def public_results(
    session: Session,
    *,
    batch: str | None,
    q: str | None,
    page: int,
    per_page: int,
    book: ResultCodeBook,
) -> s.ResultsPublicPage:
    """Published results only — the list, the total and the counts all use the same filter."""
    q = (q or "").replace("\x00", "").strip() or None
    batch = (batch or "").replace("\x00", "") or None
    base = _published_filter(batch, q)
    ids = base.with_only_columns(ResultVersion.id).subquery()
    total = session.execute(select(func.count()).select_from(ids)).scalar_one()
    counts: dict[str, int] = {}
    per_version: dict[int, set[str]] = {}
    for vid, codes in session.execute(
        select(ResultLine.version_id, ResultLine.codes).where(
            col(ResultLine.version_id).in_(select(ids.c.id))
        )
    ):
        per_version.setdefault(vid, set()).update(c for c in codes.split(",") if c)
    for codes in per_version.values():
        for c in codes:
            counts[c] = counts.get(c, 0) + 1
    rows = session.exec(
        base.order_by(col(ResultVersion.published_at).desc(), col(Task.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    items = dict(session.exec(select(InspectionItem.code, InspectionItem.name)).all())
    out = [
        _result_public(
            version,
            task,
            b,
            plan,
            entity.name,
            first_publication(session, task),
            lines_of(session, version),
            items,
            book,
        )  # fmt: skip
        for version, task, b, plan, entity in rows
    ]
    return s.ResultsPublicPage(
        total=total, page=page, per_page=per_page, counts=dict(sorted(counts.items())), items=out
    )


def entity_results(session: Session, entity_id: int, book: ResultCodeBook) -> list[s.ResultPublic]:
    """One entity's published results, in the national format (its record page): every
    published version of its tasks read in one query (plain columns: this is the portal's
    busiest page), the latest of each task shown, dated by its first publication and marked
    when it corrects an earlier one."""
    rows = session.execute(
        select(
            ResultVersion.id,
            ResultVersion.task_id,
            ResultVersion.codebook_version,
            ResultVersion.corrects_seq,
            ResultVersion.completed_on,
            ResultVersion.published_at,
            Task.uscc,
            Batch.code.label("batch_code"),
            Batch.name.label("batch_name"),
            Batch.directed,
            Plan.code.label("plan_code"),
            Plan.name.label("plan_name"),
            Plan.authority,
            Entity.name.label("entity_name"),
        )
        .join(Task, Task.id == ResultVersion.task_id)
        .join(Batch, Batch.id == Task.batch_id)
        .join(Plan, Plan.id == Batch.plan_id)
        .join(Entity, Entity.id == Task.entity_id)
        .where(
            Task.entity_id == entity_id,
            Task.state == TaskState.published,
            ResultVersion.status == ResultStatus.published,
        )
        .order_by(Task.id, ResultVersion.seq)
    ).all()
    first: dict[int, Any] = {}
    latest: dict[int, Any] = {}
    for row in rows:
        first.setdefault(row.task_id, row)
        latest[row.task_id] = row
    if not latest:
        return []
    lines: dict[int, list[Any]] = {}
    for line in session.execute(
        select(ResultLine.version_id, ResultLine.item_code, ResultLine.codes)
        .where(col(ResultLine.version_id).in_([v.id for v in latest.values()]))
        .order_by(ResultLine.id)
    ):
        lines.setdefault(line.version_id, []).append(line)
    items = dict(session.exec(select(InspectionItem.code, InspectionItem.name)).all())
    ordered = sorted(latest.values(), key=lambda v: v.published_at, reverse=True)
    out = []
    for v in ordered:
        labels = book.named(v.codebook_version).all_codes()
        corrected = v.corrects_seq is not None
        out.append(
            s.ResultPublic(
                plan_code=v.plan_code,
                plan_name=v.plan_name,
                batch_code=v.batch_code,
                batch_name=v.batch_name,
                check_type="定向" if v.directed else "不定向",
                authority=v.authority,
                uscc=v.uscc,
                entity_name=v.entity_name,
                completed_on=v.completed_on,
                published_on=china_day(first[v.task_id].published_at),
                items=[
                    s.ItemResultPublic(
                        item_code=line.item_code,
                        item_name=items.get(line.item_code, line.item_code),
                        results=[
                            s.ResultCodePublic(code=c, label=labels[c].label if c in labels else c)
                            for c in line.codes.split(",")
                            if c
                        ],
                    )
                    for line in lines.get(v.id, [])
                ],
                corrected=corrected,
                corrected_on=china_day(v.published_at) if corrected else None,
            )
        )
    return out
