"""Reads of plans and batches, and what each audience may see of them.

One answer to "may this person see this batch?" (`visible_batch`), used by the JSON API, the
pages and the PDFs. Lists are serialised in a constant number of queries whatever their
length: the plans, draws, items and commitments of all listed batches are fetched together.
"""

import json
import zipfile
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlmodel import Session, col, func, select

from supervision.accounts.models import Role, User
from supervision.disclosure import Audience, visible
from supervision.draw import sr1, standalone_verifier_source
from supervision.errors import NotFound
from supervision.planning import schemas as s
from supervision.planning.bundle import bundle_key, export_bundle
from supervision.planning.drawing import get_draw
from supervision.planning.freeze import active_commitment
from supervision.planning.models import (
    Batch,
    BatchItem,
    BatchState,
    Commitment,
    Draw,
    DrawEvent,
    Plan,
    PlanChange,
    PlanState,
    Task,
    TaskMember,
    TaskState,
)
from supervision.planning.service import get_batch, get_plan
from supervision.registry.models import Entity, Inspector
from supervision.storage.artefacts import artefact, content_key
from supervision.storage.service import get_bytes, stored_path

# Once its commitment is published a batch is public, and stays so.
PUBLIC_BATCH_STATES = (
    BatchState.frozen,
    BatchState.drawn,
    BatchState.in_progress,
    BatchState.closed,
)
# Who works with batches before they are public: the planners who make them, the reviewers
# who check them, and the administrators.
UNPUBLISHED_READERS = (Role.admin, Role.planner, Role.reviewer)


def sees_unpublished(user: User | None) -> bool:
    return user is not None and user.role in UNPUBLISHED_READERS


def visible_batch(session: Session, code: str, user: User | None) -> Batch:
    """The public sees a batch once its commitment is published — and never a draft."""
    batch = get_batch(session, code)
    if batch.state == BatchState.draft and not sees_unpublished(user):
        has_commitment = session.exec(
            select(Commitment.id).where(Commitment.batch_id == batch.id)
        ).first()
        if has_commitment is None:
            raise NotFound(f"未找到抽查批次“{code}”", f"no batch {code!r}")
    return batch


# ---- plans ---------------------------------------------------------------------------------


def plans_public(session: Session, plans: Sequence[Plan]) -> list[s.PlanPublic]:
    changes: dict[int, list[dict[str, str]]] = defaultdict(list)
    ids = [p.id for p in plans]
    if ids:
        for c in session.exec(
            select(PlanChange).where(col(PlanChange.plan_id).in_(ids)).order_by(PlanChange.id)
        ):
            changes[c.plan_id].append({"at": c.at.isoformat(), "description": c.description})
    return [
        s.PlanPublic(
            code=p.code,
            year=p.year,
            name=p.name,
            authority=p.authority,
            state=p.state,
            filed_with=p.filed_with,
            published_at=p.published_at,
            changes=changes.get(p.id, []),
        )
        for p in plans
    ]


def plan_public(session: Session, plan: Plan) -> s.PlanPublic:
    return plans_public(session, [plan])[0]


def list_plans(session: Session, user: User | None) -> list[s.PlanPublic]:
    stmt = select(Plan).order_by(col(Plan.year).desc(), Plan.code)
    if not sees_unpublished(user):
        stmt = stmt.where(Plan.state == PlanState.published)
    return plans_public(session, list(session.exec(stmt)))


def plan_by_code(session: Session, code: str) -> s.PlanPublic:
    return plan_public(session, get_plan(session, code))


# ---- batches -------------------------------------------------------------------------------


def batches_public(session: Session, batches: Sequence[Batch]) -> list[s.BatchPublic]:
    """Serialise batches in four queries, however many there are."""
    ids = [b.id for b in batches]
    if not ids:
        return []
    plan_ids = {b.plan_id for b in batches}
    plan_codes = dict(
        session.exec(select(Plan.id, Plan.code).where(col(Plan.id).in_(plan_ids))).all()
    )
    draws = {d.batch_id: d for d in session.exec(select(Draw).where(col(Draw.batch_id).in_(ids)))}
    items: dict[int, list[str]] = defaultdict(list)
    for batch_id, code in session.exec(
        select(BatchItem.batch_id, BatchItem.item_code)
        .where(col(BatchItem.batch_id).in_(ids))
        .order_by(BatchItem.batch_id, BatchItem.position)
    ):
        items[batch_id].append(code)
    commitments: dict[int, list[s.CommitmentPublic]] = defaultdict(list)
    for c in session.exec(
        select(Commitment)
        .where(col(Commitment.batch_id).in_(ids))
        .order_by(Commitment.batch_id, Commitment.seq)
    ):
        commitments[c.batch_id].append(
            s.CommitmentPublic(
                seq=c.seq,
                commitment=c.commitment,
                params=json.loads(c.params_json),
                published_at=c.published_at,
                withdrawn_at=c.withdrawn_at,
                withdrawn_reason=c.withdrawn_reason,
            )
        )
    out = []
    for b in batches:
        draw = draws.get(b.id)
        out.append(
            s.BatchPublic(
                code=b.code,
                name=b.name,
                plan_code=plan_codes[b.plan_id],
                directed=b.directed,
                initiating_department=b.initiating_department,
                participating_departments=[d for d in b.participating_departments.split(",") if d],
                item_codes=items.get(b.id, []),
                window_start=b.window_start,
                window_end=b.window_end,
                entropy_plan=b.entropy_plan,
                state=b.state,
                commitments=commitments.get(b.id, []),
                entropy=json.loads(draw.entropy_json) if draw else None,
                seed=draw.seed if draw else None,
                drawn_at=draw.drawn_at if draw else None,
                ceremony_at=b.ceremony_at,
                ceremony_place=b.ceremony_place,
                entropy_source=b.entropy_source,
                beacon_chain=b.beacon_chain,
                witnesses=json.loads(draw.witnesses_json) if draw else [],
                late_reason=draw.late_reason if draw else None,
            )
        )
    return out


def batch_public(session: Session, batch: Batch) -> s.BatchPublic:
    return batches_public(session, [batch])[0]


def list_batches(
    session: Session, user: User | None, plan: str | None = None
) -> list[s.BatchPublic]:
    stmt = select(Batch).order_by(col(Batch.window_start).desc(), Batch.code)
    if plan:
        stmt = stmt.join(Plan, col(Plan.id) == Batch.plan_id).where(Plan.code == plan)
    if not sees_unpublished(user):
        stmt = stmt.where(col(Batch.state).in_(PUBLIC_BATCH_STATES))
    return batches_public(session, list(session.exec(stmt)))


def protocol_of(session: Session, batch: Batch) -> str | None:
    """The protocol of the batch's standing commitment (the one drawn under, once drawn: a
    commitment can only be withdrawn before the draw); None before any."""
    c = active_commitment(session, batch)
    return json.loads(c.params_json)["protocol"] if c is not None else None


def is_sealed(session: Session, batch: Batch) -> bool:
    return protocol_of(session, batch) == "sr2"


def drawn_tasks(
    session: Session, batch: Batch, *, internal: bool = False
) -> list[s.DrawnTaskPublic]:
    """The drawn tasks; a sealed (sr2) draw's strata and entity tickets stay internal — only
    staff views (``internal``) carry them."""
    rows = task_rows(session, batch)
    if internal:
        return [s.DrawnTaskPublic(**row) for row in rows]
    return _public_tasks(session, batch, rows)


def _public_tasks(
    session: Session, batch: Batch, rows: list[dict[str, Any]]
) -> list[s.DrawnTaskPublic]:
    keep = visible("task", Audience.public, sealed=is_sealed(session, batch))
    return [
        s.DrawnTaskPublic(
            **{k: v for k, v in row.items() if k in keep and k != "state"},
            state=public_task_state(row["state"]),
        )
        for row in rows
    ]


# What the public learns of a task's progress: drawn (with or without a full team),
# withdrawn, or its result published. Work in progress, returns and reviews are internal.
PUBLIC_TASK_STATES = (
    TaskState.assigned,
    TaskState.unassigned,
    TaskState.withdrawn,
    TaskState.published,
)


def public_task_state(state: str) -> str:
    return state if state in PUBLIC_TASK_STATES else TaskState.assigned.value


def unassigned_usccs(session: Session, draw: Draw) -> list[str]:
    return list(
        session.exec(
            select(Task.uscc)
            .where(Task.batch_id == draw.batch_id, Task.state == "unassigned")
            .order_by(Task.position)
        )
    )


def draw_public(session: Session, draw: Draw) -> s.DrawPublic:
    return s.DrawPublic(
        seed=draw.seed,
        selected=draw.selected_count,
        unassigned=unassigned_usccs(session, draw),
        pairing_tickets=draw.pairing_tickets,
    )


def event_public(row: DrawEvent) -> s.DrawEventPublic:
    return s.DrawEventPublic(
        seq=row.seq,
        event=json.loads(row.event_json),
        outcome=json.loads(row.outcome_json),
        chain=row.chain,
    )


# ---- tasks and teams ----------------------------------------------------------------------


def workload(session: Session, batch: Batch) -> list[dict[str, Any]]:
    """Entities per inspector in this batch (current teams), most loaded first."""
    rows = session.execute(
        select(TaskMember.badge_no, func.count())
        .join(Task, Task.id == TaskMember.task_id)
        .where(Task.batch_id == batch.id, TaskMember.active == True)  # noqa: E712
        .group_by(TaskMember.badge_no)
    ).all()
    counts = Counter(dict(rows))
    return [
        {"badge_no": b, "tasks": n} for b, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    ]


def _task_filter(stmt: Any, q: str | None, unit: str | None) -> Any:
    """Tasks whose entity name contains ``q`` or whose code starts with it, and/or whose
    current team has a member from ``unit`` (the team's unit is public)."""
    if q:
        stmt = stmt.where(
            col(Entity.name).contains(q, autoescape=True)
            | col(Task.uscc).startswith(q.upper(), autoescape=True)
        )
    if unit:
        stmt = stmt.where(
            select(TaskMember.id)
            .join(Inspector, Inspector.id == TaskMember.inspector_id)
            .where(
                TaskMember.task_id == Task.id,
                TaskMember.active == True,  # noqa: E712
                Inspector.unit_code == unit,
            )
            .exists()
        )
    return stmt


def task_rows(
    session: Session,
    batch: Batch,
    *,
    q: str | None = None,
    unit: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The tasks of a batch in selection order, with entity name and current team: all of
    them, or one page of those matching the filters."""
    stmt = (
        select(Task, Entity.name)
        .join(Entity, Entity.id == Task.entity_id)
        .where(Task.batch_id == batch.id)
    )
    if limit is not None and not q and not unit:
        # A page of the whole list. Positions run 0, 1, 2, … without gaps (the draw's order,
        # then each replacement after the last), so the page is a range of the (batch,
        # position) index: a deep page does not walk every task before it.
        stmt = stmt.where(
            col(Task.position) >= offset, col(Task.position) < offset + limit
        ).order_by(Task.position)
    else:
        stmt = _task_filter(stmt, q, unit).order_by(Task.position)
        if limit is not None:
            stmt = stmt.offset(offset).limit(limit)
    rows = session.exec(stmt).all()
    members = (
        select(TaskMember.task_id, TaskMember.badge_no, Inspector.name)
        .join(Inspector, Inspector.id == TaskMember.inspector_id)
        .where(TaskMember.active == True)  # noqa: E712
        .order_by(TaskMember.task_id, TaskMember.position)
    )
    if limit is not None:  # a page: its tasks' members by the task index
        members = members.where(col(TaskMember.task_id).in_([t.id for t, _ in rows]))
    else:
        members = members.join(Task, Task.id == TaskMember.task_id).where(Task.batch_id == batch.id)
    teams: dict[int, list[dict[str, str]]] = {}
    for task_id, badge, name in session.exec(members).all():
        teams.setdefault(task_id, []).append({"badge_no": badge, "name": name})
    return [
        {
            "position": t.position,
            "uscc": t.uscc,
            "entity_name": name,
            "stratum": t.stratum,
            "ticket": t.ticket,
            "state": t.state,
            "understaffed": t.understaffed,
            "team": teams.get(t.id, []),
        }
        for t, name in rows
    ]


def task_count(
    session: Session, batch: Batch, *, q: str | None = None, unit: str | None = None
) -> int:
    stmt = select(func.count()).select_from(Task).join(Entity, Entity.id == Task.entity_id)
    stmt = _task_filter(stmt.where(Task.batch_id == batch.id), q, unit)
    return session.execute(stmt).scalar_one()


def task_summary(session: Session, batch: Batch) -> dict[str, int]:
    """How many tasks, how many unassigned, withdrawn and short of staff: the batch's
    summary without loading its tasks."""
    rows = session.execute(
        select(Task.state, Task.understaffed, func.count())
        .where(Task.batch_id == batch.id)
        .group_by(Task.state, Task.understaffed)
    ).all()
    out = {"total": 0, "unassigned": 0, "withdrawn": 0, "understaffed": 0, "published": 0}
    for state, short, n in rows:
        out["total"] += n
        if state in ("unassigned", "withdrawn", "published"):
            out[state] += n
        if short:
            out["understaffed"] += n
    return out


def published_plan_years(session: Session) -> list[int]:
    """The years of the published annual plans, newest first."""
    return sorted(
        set(session.exec(select(Plan.year).where(Plan.state == "published")).all()), reverse=True
    )


def stratum_count(session: Session, batch: Batch) -> int:
    return session.execute(
        select(func.count(func.distinct(Task.stratum))).where(Task.batch_id == batch.id)
    ).scalar_one()


def task_units(session: Session, batch: Batch) -> list[str]:
    """The units whose inspectors are on this batch's current teams (the filter's choices)."""
    return list(
        session.exec(
            select(Inspector.unit_code)
            .join(TaskMember, TaskMember.inspector_id == Inspector.id)
            .join(Task, Task.id == TaskMember.task_id)
            .where(Task.batch_id == batch.id, TaskMember.active == True)  # noqa: E712
            .distinct()
            .order_by(Inspector.unit_code)
        )
    )


def drawn_task_page(
    session: Session,
    batch: Batch,
    *,
    q: str | None,
    unit: str | None,
    page: int,
    per_page: int,
) -> tuple[list[s.DrawnTaskPublic], int]:
    """One page of the public drawn list (filters applied) and how many match."""
    rows = task_rows(session, batch, q=q, unit=unit, offset=(page - 1) * per_page, limit=per_page)
    total = (
        task_count(session, batch, q=q, unit=unit)
        if q or unit
        else draw_facts(session, batch).summary["total"]
    )
    return _public_tasks(session, batch, rows), total


@dataclass(frozen=True)
class DrawFacts:
    """What a drawn batch's page summarises, fixed by its draw and events: counts by state
    (publication aside), the teams' units, the load per inspector, the number of strata."""

    summary: dict[str, int]
    units: list[str]
    workload: list[dict[str, Any]]
    strata: int


_FACTS: OrderedDict[tuple[int, str], DrawFacts] = OrderedDict()
_FACTS_SIZE = 32


def last_chain(session: Session, batch: Batch) -> str:
    draw = session.exec(select(Draw.id, Draw.seed).where(Draw.batch_id == batch.id)).first()
    if draw is None:
        return ""
    last = session.exec(
        select(DrawEvent.chain)
        .where(DrawEvent.draw_id == draw[0])
        .order_by(col(DrawEvent.seq).desc())
        .limit(1)
    ).first()
    return last or draw[1]


def draw_facts(session: Session, batch: Batch) -> DrawFacts:
    """The batch's draw facts, computed once per state of its hash chain (the chain moves with
    every event that changes a team or the selection), so a 30,000-task batch's page does not
    aggregate its tasks on every view. Publication counts are not in here: they move without
    the chain and are counted live."""
    key = (batch.id, last_chain(session, batch))
    facts = _FACTS.get(key)
    if facts is None:
        summary = task_summary(session, batch)
        summary.pop("published", None)
        facts = DrawFacts(
            summary,
            task_units(session, batch),
            workload(session, batch),
            stratum_count(session, batch),
        )
        _FACTS[key] = facts
        if len(_FACTS) > _FACTS_SIZE:
            _FACTS.popitem(last=False)
    else:
        _FACTS.move_to_end(key)
    return facts


def published_count(session: Session, batch: Batch) -> int:
    return session.execute(
        select(func.count())
        .select_from(Task)
        .where(Task.batch_id == batch.id, Task.state == TaskState.published)
    ).scalar_one()


# ---- the published bundle ------------------------------------------------------------------


def bundle_json_text(session: Session, code: str, *, storage: Path) -> str:
    files = export_bundle(session, code, storage=storage)
    return json.dumps(files.bundle, ensure_ascii=False, indent=1, sort_keys=True)


def bundle_json_file(session: Session, code: str, *, storage: Path) -> Path:
    """bundle.json as a stored artefact: built once per content, then read from storage."""
    return artefact(
        storage,
        f"{code}-bundle.json",
        bundle_key(session, code),
        lambda: bundle_json_text(session, code, storage=storage).encode("utf-8"),
    )


PUBLIC_FROZEN_FILES = {"pool.tsv": "pool_sha256", "roster.tsv": "roster_sha256"}


def public_frozen_file(session: Session, code: str, name: str, *, storage: Path) -> Path:
    """pool.tsv or roster.tsv of a drawn batch, as frozen (the files of its public bundle,
    one by one, for the in-browser verifier)."""
    if name not in PUBLIC_FROZEN_FILES:
        raise NotFound(f"没有公开文件“{name[:40]}”", f"no public file {name!r}")
    batch = get_batch(session, code)
    draw = get_draw(session, batch)
    c = session.get(Commitment, draw.commitment_id)
    return stored_path(storage, getattr(c, PUBLIC_FROZEN_FILES[name]))


def bundle_zip_file(session: Session, code: str, *, storage: Path) -> Path:
    """The public bundle.zip as a stored artefact (the auditor's copy is never stored)."""
    return artefact(
        storage,
        f"{code}-bundle.zip",
        content_key("zip", bundle_key(session, code), standalone_verifier_source()),
        write=lambda out: write_bundle_zip(session, code, out, storage=storage),
    )


def write_bundle_zip(
    session: Session, code: str, out: BinaryIO, *, storage: Path, auditor: bool = False
) -> None:
    """bundle.json, pool.tsv and roster.tsv under CODE/, and the standalone verify.py; the
    auditor's copy (staff only) adds the private strata.tsv (sr2) and conflicts.tsv, with
    which the same verifier checks everything, the selection per stratum included. Written
    into ``out`` as it is deflated: a pool of millions of lines is never held whole."""
    files = export_bundle(session, code, storage=storage)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            f"{code}/bundle.json",
            json.dumps(files.bundle, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        )
        z.write(files.pool_path, f"{code}/pool.tsv")
        z.writestr(f"{code}/roster.tsv", files.roster)
        if auditor:
            z.writestr(f"{code}/conflicts.tsv", files.conflicts)
            if files.strata_path is not None:
                z.write(files.strata_path, f"{code}/strata.tsv")
        z.writestr("verify.py", standalone_verifier_source())


# ---- one entity's credential (sr2) ---------------------------------------------------------


def entity_credential(session: Session, code: str, uscc: str, *, storage: Path) -> dict[str, Any]:
    """抽取核验凭据: one entity's class and salt in a sealed batch, with which it checks its own
    tag in the public pool.tsv. Staff only; given to that entity alone."""
    batch = get_batch(session, code)
    c = _sealed_commitment(session, batch)
    params = json.loads(c.params_json)
    # Frozen files read back by their digest were validated at the freeze: cut, not re-checked.
    pool = sr1.parse_pool(get_bytes(storage, c.pool_sha256), checked=True)
    strata = sr1.parse_strata(get_bytes(storage, params["strata_sha256"]), checked=True)
    line = pool.index(uscc)
    if line is None:
        raise NotFound(f"主体 {uscc} 不在批次 {code} 的抽取范围内", f"{uscc} is not in the pool")
    stratum, salt = strata.strata[line], strata.salts[line]
    labels: dict[str, str] = json.loads(batch.stratum_labels_json)
    return {
        "batch": code,
        "uscc": uscc,
        "stratum": stratum,
        "risk_class": "、".join(risk for risk, label in labels.items() if label == stratum),
        "salt": salt,
        "tag": pool.strata[line],
        "pool_line": line + 1,
        "pool_sha256": c.pool_sha256,
        "commitment": c.commitment,
        "check": f"sha256(sr2:S:{uscc}:{stratum}:{salt})",
        "ok": sr1.tag(uscc, stratum, salt) == pool.strata[line],
    }


def _sealed_commitment(session: Session, batch: Batch) -> Commitment:
    c = active_commitment(session, batch)
    if c is None or json.loads(c.params_json)["protocol"] != sr1.SEALED:
        raise NotFound(
            f"批次 {batch.code} 未采用密封分层（sr2），没有核验凭据",
            f"batch {batch.code} is not sealed (sr2): there is no credential",
        )
    return c


def task_entity_ids(inspector_id: int | None) -> Any:
    """The ids of the entities on an inspector's current tasks, as a subquery: the only
    entities an inspector reads (`supervision.disclosure`, mark ``o``)."""
    return (
        select(Task.entity_id)
        .join(TaskMember, TaskMember.task_id == Task.id)
        .where(
            TaskMember.inspector_id == inspector_id,
            TaskMember.active == True,  # noqa: E712
            Task.state != TaskState.withdrawn,
        )
    )
