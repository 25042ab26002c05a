"""Results of a drawn batch: recording, evidence, review, publication, corrections.

Lifecycle of a task (Task.state): assigned → in_progress (a draft is saved) → recorded
(submitted) → reviewed (approved) or returned (with the reason, back to the team) → published;
withdrawn tasks (an sr1 event) and tasks without a team take no results. After publication a
reviewer may publish a correction: a new version with its reason; earlier versions stay.

The commands of results; who may run each one is `rules`, what they read is `versions`
and `queries`, when results are due is `deadlines`. Services flush and never commit; each
change writes one audit row.
"""

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from supervision.accounts.models import User
from supervision.audit.service import record_change
from supervision.calendar import WorkdayCalendar
from supervision.clock import Clock
from supervision.errors import Conflict, DomainError, Invalid, NotFound
from supervision.inspection import schemas as s
from supervision.inspection.deadlines import lateness
from supervision.inspection.models import EvidenceFile, ResultLine, ResultStatus, ResultVersion
from supervision.inspection.rules import (
    CLOSED_STATES,
    EDITABLE_STATES,
    TaskContext,
    check_line,
    codes_in_force,
    get_task,
    missing_for,
    refuse_closed,
    require_independent_reviewer,
    require_publisher,
    require_team_member,
    task_context,
)
from supervision.inspection.versions import current_version, lines_of, published_version
from supervision.planning.models import (
    Batch,
    BatchState,
    Task,
    TaskState,
)
from supervision.registry.reference import (
    ResultCodeBook,
)
from supervision.storage.service import put_bytes

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
# Evidence files are recognised by their first bytes, never by the client's content type.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"%PDF-", "application/pdf", "PDF"),
)


class TooLarge(DomainError):
    status = 413


class UnsupportedType(DomainError):
    status = 415


def _new_version(
    session: Session, task: Task, book: ResultCodeBook, batch: Batch, *, actor: str, clock: Clock
) -> ResultVersion:
    last = current_version(session, task)
    version = ResultVersion(
        task_id=task.id,
        seq=(last.seq if last else 0) + 1,
        codebook_version=codes_in_force(book, batch).version,
        created_at=clock.now(),
        created_by=actor,
        updated_at=clock.now(),
    )
    session.add(version)
    try:
        session.flush()  # unique (task_id, seq): a concurrent second version is refused
    except IntegrityError:
        raise Conflict("检查结果刚被他人修改，请刷新后重试", "the result just changed") from None
    return version


# ---- recording -----------------------------------------------------------------------------


def _evidence_hashes(session: Session, task: Task) -> set[str]:
    return set(session.exec(select(EvidenceFile.sha256).where(EvidenceFile.task_id == task.id)))


def _checked_lines(
    session: Session, ctx: TaskContext, data: s.ResultCreate, book: ResultCodeBook, today: date
) -> list[dict[str, Any]]:
    codes_book = codes_in_force(book, ctx.batch)
    evidence = _evidence_hashes(session, ctx.task)
    seen: set[str] = set()
    rows = []
    for line in data.lines:
        if line.item_code in seen:
            raise Invalid(f"事项“{line.item_code}”重复录入", f"item {line.item_code} appears twice")
        seen.add(line.item_code)
        rows.append(check_line(line, ctx, codes_book, evidence, today))
    order = ctx.item_codes
    return sorted(rows, key=lambda r: order.index(r["item_code"]))  # stored in the batch's order


def _write_lines(session: Session, version: ResultVersion, rows: list[dict[str, Any]]) -> None:
    session.execute(delete(ResultLine).where(col(ResultLine.version_id) == version.id))
    if rows:
        session.execute(insert(ResultLine), [{"version_id": version.id, **r} for r in rows])


def save_draft(
    session: Session,
    task_id: int,
    data: s.ResultCreate,
    *,
    user: User,
    clock: Clock,
    book: ResultCodeBook,
) -> ResultVersion:
    """Save the team's working copy (items may be missing); a returned task gets a new version."""
    task = get_task(session, task_id, for_update=True)
    require_team_member(session, task, user)
    refuse_closed(task)
    if task.state == TaskState.published:
        raise Conflict(
            "已公示的检查结果不能直接修改：请由审核人员提交更正并说明理由",
            "a published result cannot be edited; file a correction with its reason",
        )
    if task.state not in EDITABLE_STATES:
        raise Conflict(
            "检查结果已提交审核，审核完成前不能修改",
            f"the result is {task.state}; it cannot be edited until it is reviewed",
        )
    ctx = task_context(session, task)
    rows = _checked_lines(session, ctx, data, book, clock.today())
    version = current_version(session, task)
    if version is None or version.status != ResultStatus.draft:
        version = _new_version(session, task, book, ctx.batch, actor=user.username, clock=clock)
    version.updated_at = clock.now()
    session.add(version)
    _write_lines(session, version, rows)
    task.state = TaskState.in_progress
    session.add(task)
    if ctx.batch.state == BatchState.drawn:
        ctx.batch.state = BatchState.in_progress
        session.add(ctx.batch)
    session.flush()
    record_change(
        session,
        user.username,
        "inspection.result.draft",
        "task",
        str(task.id),
        {"seq": version.seq, "items": [r["item_code"] for r in rows]},
        clock,
    )
    return version


def sniff_media_type(data: bytes) -> str | None:
    return next((media for magic, media, _ in MAGIC if data.startswith(magic)), None)


def upload_evidence(
    session: Session,
    task_id: int,
    data: bytes,
    filename: str,
    *,
    user: User,
    clock: Clock,
    storage: Path,
    max_bytes: int = EVIDENCE_MAX_BYTES,
) -> EvidenceFile:
    """Store a photo or scanned record (JPEG/PNG/PDF by its bytes) under its SHA-256."""
    task = get_task(session, task_id, for_update=True)
    require_team_member(session, task, user)
    refuse_closed(task)
    if task.state not in EDITABLE_STATES:
        raise Conflict(
            "检查结果已提交，不能再上传证据",
            f"the result is {task.state}; evidence can no longer be added",
        )
    if len(data) > max_bytes:
        raise TooLarge(
            f"证据文件超过大小上限（{max_bytes // (1024 * 1024)} MB）",
            f"evidence file exceeds the limit of {max_bytes} bytes",
            limit=max_bytes,
        )
    media_type = sniff_media_type(data)
    if media_type is None:
        kinds = "、".join(name for _, _, name in MAGIC)
        raise UnsupportedType(
            f"证据文件只接受 {kinds}（按文件内容识别）",
            f"evidence must be {', '.join(n for _, _, n in MAGIC)} (recognised by content)",
        )
    sha = put_bytes(session, storage, data, media_type, clock)
    existing = session.exec(
        select(EvidenceFile).where(EvidenceFile.task_id == task.id, EvidenceFile.sha256 == sha)
    ).first()
    if existing is not None:
        return existing  # the same file twice is one piece of evidence
    name = (Path(filename or "").name or "evidence")[-200:]
    row = EvidenceFile(
        task_id=task.id,
        sha256=sha,
        filename=name,
        media_type=media_type,
        size=len(data),
        uploaded_at=clock.now(),
        uploaded_by=user.username,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        user.username,
        "inspection.evidence.upload",
        "task",
        str(task.id),
        {"sha256": sha, "size": len(data), "media_type": media_type, "filename": name},
        clock,
    )
    return row


def evidence_files(session: Session, task: Task) -> list[EvidenceFile]:
    return list(
        session.exec(
            select(EvidenceFile).where(EvidenceFile.task_id == task.id).order_by(EvidenceFile.id)
        )
    )


def submit(
    session: Session, task_id: int, *, user: User, clock: Clock, book: ResultCodeBook
) -> ResultVersion:
    """Send the draft for review; every item must be answered completely."""
    task = get_task(session, task_id, for_update=True)
    require_team_member(session, task, user)
    refuse_closed(task)
    version = current_version(session, task)
    if task.state == TaskState.returned or (version and version.status == ResultStatus.returned):
        raise Conflict(
            "结果已被退回：请按退回理由修改并保存后再提交",
            "the result was returned: revise and save it before submitting again",
        )
    if task.state != TaskState.in_progress or version is None or version.status != "draft":
        raise Conflict(
            "没有待提交的草稿（请先保存检查结果）",
            f"nothing to submit (task is {task.state}); save a draft first",
        )
    ctx = task_context(session, task)
    missing = missing_for(session, ctx, version, book)
    if missing:
        raise Invalid(
            "检查结果不完整，不能提交：" + "；".join(p.zh for p in missing),
            "the result is incomplete: " + "; ".join(p.en for p in missing),
            missing=[p.model_dump() for p in missing],
        )
    version.status = ResultStatus.submitted
    version.submitted_at = clock.now()
    version.submitted_by = user.username
    version.completed_on = max(line.check_date for line in lines_of(session, version))
    task.state = TaskState.recorded
    session.add_all([version, task])
    session.flush()
    record_change(
        session,
        user.username,
        "inspection.result.submit",
        "task",
        str(task.id),
        {"seq": version.seq},
        clock,
    )
    return version


# ---- review --------------------------------------------------------------------------------


def review(
    session: Session, task_id: int, data: s.ReviewCreate, *, user: User, clock: Clock
) -> ResultVersion:
    task = get_task(session, task_id, for_update=True)
    require_independent_reviewer(session, task, user)
    version = current_version(session, task)
    if task.state != TaskState.recorded or version is None or version.status != "submitted":
        raise Conflict("该任务没有待审核的检查结果", f"nothing to review (task is {task.state})")
    reason = (data.reason or "").strip()
    if data.decision == "return" and not reason:
        raise Invalid("退回须说明理由", "returning a result needs a reason")
    version.reviewed_at = clock.now()
    version.reviewed_by = user.username
    version.review_note = reason or None
    if data.decision == "approve":
        version.status = ResultStatus.approved
        task.state = TaskState.reviewed
    else:
        version.status = ResultStatus.returned
        task.state = TaskState.returned
    session.add_all([version, task])
    session.flush()
    record_change(
        session,
        user.username,
        f"inspection.result.{data.decision}",
        "task",
        str(task.id),
        {"seq": version.seq, "reason": reason},
        clock,
    )
    return version


def _publish(
    session: Session,
    task: Task,
    batch: Batch,
    *,
    user: User,
    clock: Clock,
    calendar: WorkdayCalendar | None,
) -> ResultVersion:
    version = current_version(session, task)
    version.status = ResultStatus.published
    version.published_at = clock.now()
    version.published_by = user.username
    version.deadline, version.late, version.deadline_provisional = lateness(
        batch, clock.today(), calendar
    )
    task.state = TaskState.published
    session.add_all([version, task])
    return version


def _close_when_done(session: Session, batch: Batch) -> bool:
    """A batch whose every task is published (or withdrawn, or without a team) is over:
    it shows as 已结束 and takes no more changes of teams or entities."""
    if batch.state not in (BatchState.drawn, BatchState.in_progress):
        return False
    session.flush()
    still_open = session.exec(
        select(Task.id)
        .where(
            Task.batch_id == batch.id,
            col(Task.state).not_in((TaskState.published, *CLOSED_STATES)),
        )
        .limit(1)
    ).first()
    if still_open is not None:
        return False
    batch.state = BatchState.closed
    session.add(batch)
    return True


def publish_task(
    session: Session,
    task_id: int,
    *,
    user: User,
    clock: Clock,
    calendar: WorkdayCalendar | None = None,
) -> ResultVersion:
    require_publisher(user)
    task = get_task(session, task_id, for_update=True)
    if task.state == TaskState.published:
        raise Conflict("该检查结果已公示", "the result is already published")
    if task.state != TaskState.reviewed:
        raise Conflict(
            "只有审核通过的检查结果可以公示",
            f"only an approved result can be published ({task.state})",
        )
    batch = session.get(Batch, task.batch_id)
    version = _publish(session, task, batch, user=user, clock=clock, calendar=calendar)
    closed = _close_when_done(session, batch)
    session.flush()
    record_change(
        session,
        user.username,
        "inspection.result.publish",
        "task",
        str(task.id),
        {
            "seq": version.seq,
            "deadline": version.deadline,
            "late": version.late,
            "deadline_provisional": version.deadline_provisional,
            **({"batch_closed": batch.code} if closed else {}),
        },
        clock,
    )
    return version


def publish_batch(
    session: Session,
    code: str,
    *,
    user: User,
    clock: Clock,
    calendar: WorkdayCalendar | None = None,
) -> s.PublicationSummary:
    """Publish every approved result of a batch at once; the rest are listed as not ready."""
    require_publisher(user)
    batch = session.exec(select(Batch).where(Batch.code == code)).first()
    if batch is None:
        raise NotFound(f"未找到抽查批次“{code}”", f"no batch {code!r}")
    tasks = list(
        session.exec(
            select(Task).where(Task.batch_id == batch.id).order_by(Task.position).with_for_update()
        )
    )
    published: list[int] = []
    late: list[int] = []
    not_ready: list[s.NotReady] = []
    for task in tasks:
        if task.state == TaskState.reviewed:
            version = _publish(session, task, batch, user=user, clock=clock, calendar=calendar)
            published.append(task.id)
            if version.late:
                late.append(task.id)
        elif task.state not in (TaskState.published, *CLOSED_STATES):
            not_ready.append(s.NotReady(task_id=task.id, uscc=task.uscc, state=task.state))
    if published:
        closed = _close_when_done(session, batch)
        session.flush()
        record_change(
            session,
            user.username,
            "inspection.batch.publish",
            "batch",
            code,
            {"tasks": published, "late": late, **({"closed": True} if closed else {})},
            clock,
        )
    return s.PublicationSummary(published=published, late=late, not_ready=not_ready)


def correct(
    session: Session,
    task_id: int,
    data: s.CorrectionCreate,
    *,
    user: User,
    clock: Clock,
    book: ResultCodeBook,
) -> ResultVersion:
    """A correction after publication: a new, complete, reasoned version, published at once."""
    task = get_task(session, task_id, for_update=True)
    require_independent_reviewer(session, task, user)
    reason = (data.reason or "").strip()
    if not reason:
        raise Invalid(
            "更正已公示的检查结果须说明理由", "correcting a published result needs a reason"
        )
    previous = published_version(session, task)
    if task.state != TaskState.published or previous is None:
        raise Conflict(
            "只有已公示的检查结果可以更正；未公示的结果请退回检查组修改",
            "only a published result can be corrected; return an unpublished one instead",
        )
    ctx = task_context(session, task)
    rows = _checked_lines(session, ctx, data.result, book, clock.today())
    version = _new_version(session, task, book, ctx.batch, actor=user.username, clock=clock)
    _write_lines(session, version, rows)
    missing = missing_for(session, ctx, version, book)
    if missing:
        raise Invalid(
            "更正后的检查结果不完整：" + "；".join(p.zh for p in missing),
            "the corrected result is incomplete: " + "; ".join(p.en for p in missing),
            missing=[p.model_dump() for p in missing],
        )
    now = clock.now()
    version.status = ResultStatus.published
    version.corrects_seq = previous.seq
    version.correction_reason = reason
    version.submitted_at = version.reviewed_at = version.published_at = now
    version.submitted_by = version.reviewed_by = version.published_by = user.username
    version.completed_on = max(line.check_date for line in lines_of(session, version))
    version.deadline = previous.deadline  # lateness belongs to the first publication
    session.add(version)
    session.flush()
    record_change(
        session,
        user.username,
        "inspection.result.correct",
        "task",
        str(task.id),
        {"seq": version.seq, "corrects": previous.seq, "reason": reason},
        clock,
    )
    return version
