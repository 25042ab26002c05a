"""Results of a drawn batch: recording, evidence, review, publication, corrections.

Lifecycle of a task (Task.state): assigned → in_progress (a draft is saved) → recorded
(submitted) → reviewed (approved) or returned (with the reason, back to the team) → published;
withdrawn tasks (an sr1 event) and tasks without a team take no results. After publication a
reviewer may publish a correction: a new version with its reason; earlier versions stay.

Who may do what is a domain rule, so it is checked here, not in the routes:
- results and evidence: an active member of the task's team (TaskMember.inspector_id);
- review and corrections: a reviewer who has never been on the task's team;
- publication: a reviewer or a planner.
Services flush and never commit; each change writes one audit row.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from supervision.accounts.models import Role, User
from supervision.audit.service import record_change
from supervision.calendar import CalendarNotCovered, WorkdayCalendar, default_calendar
from supervision.clock import CHINA_TZ, Clock
from supervision.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from supervision.inspection import schemas as s
from supervision.inspection.models import EvidenceFile, ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import (
    Batch,
    BatchItem,
    BatchState,
    Plan,
    Task,
    TaskMember,
    TaskState,
)
from supervision.registry.models import Entity, InspectionItem, Inspector
from supervision.registry.reference import (
    METHODS,
    NO_PROBLEM_CODE,
    ResultCode,
    ResultCodeBook,
    ResultCodeVersion,
)
from supervision.storage.service import put_bytes

# 《企业公示信息抽查办法》 Art. 12: results are published within 20 working days of the end of
# the check (batch.window_end).
PUBLICATION_WORKING_DAYS = 20
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
# Evidence files are recognised by their first bytes, never by the client's content type.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"),
    (b"%PDF-", "application/pdf", "PDF"),
)
# What each proof option of the rulebook needs; options not listed here need a note.
PROOF_NEEDS = {
    "site_visit": "visit",
    "address_missing": "visit",
    "registered_letters": "letters",
}
LETTER_GAP_DAYS = (15, 30)

EDITABLE_STATES = (TaskState.assigned, TaskState.in_progress, TaskState.returned)
CLOSED_STATES = (TaskState.withdrawn, TaskState.unassigned)
READER_ROLES = (Role.admin, Role.planner, Role.reviewer)
REVIEWER_ROLES = (Role.admin, Role.reviewer)
PUBLISHER_ROLES = (Role.admin, Role.reviewer, Role.planner)


class TooLarge(DomainError):
    status = 413


class UnsupportedType(DomainError):
    status = 415


def codes_in_force(book: ResultCodeBook, batch: Batch) -> ResultCodeVersion:
    """A batch's results are recorded under the categories in force when its check began."""
    return book.in_force(batch.window_start)


# ---- tasks and who may touch them ---------------------------------------------------------


def get_task(session: Session, task_id: int, *, for_update: bool = False) -> Task:
    stmt = select(Task).where(Task.id == task_id)
    if for_update:
        stmt = stmt.with_for_update()  # two team members submitting at once queue here
    task = session.exec(stmt).first()
    if task is None:
        raise NotFound(f"未找到检查任务 {task_id}", f"no task {task_id}")
    return task


def _member_ids(session: Session, task: Task, *, active_only: bool) -> set[int]:
    stmt = select(TaskMember.inspector_id).where(TaskMember.task_id == task.id)
    if active_only:
        stmt = stmt.where(TaskMember.active == True)  # noqa: E712
    return set(session.exec(stmt))


def is_team_member(session: Session, task: Task, user: User) -> bool:
    return user.inspector_id is not None and user.inspector_id in _member_ids(
        session, task, active_only=True
    )


def require_reader(session: Session, task: Task, user: User) -> None:
    """Staff who oversee results, or the task's own team; another team's inspector is refused."""
    if user.role in READER_ROLES or is_team_member(session, task, user):
        return
    raise Forbidden(
        "只有本任务检查组成员、审核人员和计划管理员可以查看此检查任务",
        "only the task's team, reviewers and planners may see this task",
    )


def require_team_member(session: Session, task: Task, user: User) -> None:
    if not is_team_member(session, task, user):
        raise Forbidden(
            "只有本任务检查组成员可以录入或修改检查结果",
            "only a member of the task's team may record its result",
        )


def require_independent_reviewer(session: Session, task: Task, user: User) -> None:
    """A reviewer who is not, and never was, on the task's team (recused members included)."""
    if user.role not in REVIEWER_ROLES:
        raise Forbidden("只有审核人员可以审核检查结果", "only a reviewer may review results")
    if user.inspector_id is not None and user.inspector_id in _member_ids(
        session, task, active_only=False
    ):
        raise Forbidden(
            "审核人员不能审核自己参加的检查任务", "a reviewer may not review a task they are on"
        )


def require_publisher(user: User) -> None:
    if user.role not in PUBLISHER_ROLES:
        raise Forbidden(
            "只有审核人员或计划管理员可以公示检查结果",
            "only a reviewer or a planner may publish results",
        )


def _refuse_closed(task: Task) -> None:
    if task.state == TaskState.withdrawn:
        raise Conflict("该检查对象已撤出，不再录入结果", "the entity was withdrawn from the batch")
    if task.state == TaskState.unassigned:
        raise Conflict("该任务未能组成检查组，不能录入结果", "the task has no team")


# ---- versions ------------------------------------------------------------------------------


def versions(session: Session, task: Task) -> list[ResultVersion]:
    return list(
        session.exec(
            select(ResultVersion)
            .where(ResultVersion.task_id == task.id)
            .order_by(ResultVersion.seq)
        )
    )


def current_version(session: Session, task: Task) -> ResultVersion | None:
    return session.exec(
        select(ResultVersion)
        .where(ResultVersion.task_id == task.id)
        .order_by(col(ResultVersion.seq).desc())
        .limit(1)
    ).first()


def published_version(session: Session, task: Task) -> ResultVersion | None:
    return session.exec(
        select(ResultVersion)
        .where(ResultVersion.task_id == task.id, ResultVersion.status == ResultStatus.published)
        .order_by(col(ResultVersion.seq).desc())
        .limit(1)
    ).first()


def lines_of(session: Session, version: ResultVersion) -> list[ResultLine]:
    return list(
        session.exec(
            select(ResultLine).where(ResultLine.version_id == version.id).order_by(ResultLine.id)
        )
    )


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


# ---- validating a result -------------------------------------------------------------------


@dataclass
class TaskContext:
    task: Task
    batch: Batch
    items: list[InspectionItem]  # the batch's items, in order

    @property
    def item_codes(self) -> list[str]:
        return [i.code for i in self.items]


def task_context(session: Session, task: Task) -> TaskContext:
    batch = session.get(Batch, task.batch_id)
    items = list(
        session.exec(
            select(InspectionItem)
            .join(BatchItem, col(BatchItem.item_code) == InspectionItem.code)
            .where(BatchItem.batch_id == batch.id)
            .order_by(BatchItem.position)
        )
    )
    return TaskContext(task, batch, items)


def _ordered(codes: Iterable[str], book: ResultCodeVersion) -> list[str]:
    wanted = set(codes)
    return [c.code for c in book.walk() if c.code in wanted]


def _needs_proof(line_codes: list[str], book: ResultCodeVersion) -> ResultCode | None:
    all_codes = book.all_codes()
    return next((all_codes[c] for c in line_codes if all_codes[c].evidence), None)


def _check_line(
    line: s.ResultLineCreate,
    ctx: TaskContext,
    book: ResultCodeVersion,
    evidence: set[str],
    today: date,
) -> dict[str, Any]:
    """Refuse what is wrong in a line (complete or not); return it as stored."""
    item = next((i for i in ctx.items if i.code == line.item_code), None)
    if item is None:
        raise Invalid(
            f"事项“{line.item_code}”不在本批次的抽查事项中（{'、'.join(ctx.item_codes)}）",
            f"item {line.item_code!r} is not an item of batch {ctx.batch.code}",
            item_code=line.item_code,
        )
    where, where_en = f"事项{item.code}：", f"item {item.code}: "
    all_codes = book.all_codes()
    unknown = [c for c in line.codes if c not in all_codes]
    if unknown:
        known = "、".join(c.code for c in book.walk())
        raise Invalid(
            f"{where}未知的检查结果代码 {'、'.join(unknown)}（{book.version}版结果代码：{known}）",
            f"{where_en}unknown result code(s) {', '.join(unknown)}",
            item_code=item.code,
        )
    # A sub-code implies its category (B → A 发现问题待后续处理).
    codes = set(line.codes) | {p for c in line.codes if (p := book.parent_of(c))}
    if NO_PROBLEM_CODE in codes and codes & book.problem_codes():
        raise Invalid(
            f"{where}“{all_codes[NO_PROBLEM_CODE].label}”不能与发现问题的结果同时选择",
            f"{where_en}'no problem found' cannot be combined with a problem code",
            item_code=item.code,
        )
    allowed_methods = [m for m in item.methods.split(",") if m]
    bad_methods = [m for m in line.methods if m not in METHODS or m not in allowed_methods]
    if bad_methods:
        raise Invalid(
            f"{where}检查方式 {'、'.join(bad_methods)} 不是该事项的检查方式"
            f"（{'、'.join(allowed_methods)}）",
            f"{where_en}method(s) {', '.join(bad_methods)} not among {allowed_methods}",
            item_code=item.code,
        )
    if line.check_date is not None:
        _check_date_in_range(line.check_date, ctx.batch.window_start, today, where, where_en)
    proof = _check_proof(line, _ordered(codes, book), book, today, where, where_en)
    foreign = [h for h in line.evidence if h not in evidence]
    if foreign:
        raise Invalid(
            f"{where}证据文件 {foreign[0][:12]}… 未上传到本任务",
            f"{where_en}evidence {foreign[0]} was not uploaded for this task",
            item_code=item.code,
        )
    return {
        "item_code": item.code,
        "codes": ",".join(_ordered(codes, book)),
        "methods": ",".join(m for m in METHODS if m in line.methods),
        "problems": line.problems,
        "handling": line.handling,
        "follow_up": line.follow_up,
        "check_date": line.check_date,
        "proof_json": json.dumps(proof, ensure_ascii=False, sort_keys=True, default=str),
        "evidence": ",".join(dict.fromkeys(line.evidence)),
    }


def _check_date_in_range(day: date, first: date, today: date, where: str, where_en: str) -> None:
    if day > today:
        raise Invalid(
            f"{where}检查日期 {day} 晚于今天", f"{where_en}check date {day} is in the future"
        )
    if day < first:
        raise Invalid(
            f"{where}检查日期 {day} 早于本批次检查开始日期 {first}",
            f"{where_en}check date {day} is before the check window opens ({first})",
        )


def _check_proof(
    line: s.ResultLineCreate,
    codes: list[str],
    book: ResultCodeVersion,
    today: date,
    where: str,
    where_en: str,
) -> dict[str, Any]:
    """Proof is checked as far as it goes; whether it is complete is a submission matter."""
    needing = _needs_proof(codes, book)
    if line.proof is None:
        return {}
    if needing is None:
        raise Invalid(
            f"{where}所选结果无需证明材料，请删除证明信息或选择需要证明的结果",
            f"{where_en}proof given for codes that need none",
        )
    options = {o.code: o.label for o in needing.evidence}
    proof = line.proof
    if proof.kind not in options:
        raise Invalid(
            f"{where}证明方式“{proof.kind}”无效，“{needing.label}”的证明方式须为："
            f"{'；'.join(options.values())}",
            f"{where_en}proof kind {proof.kind!r} must be one of {sorted(options)}",
        )
    if proof.visit_date is not None and proof.visit_date > today:
        raise Invalid(f"{where}核查日期晚于今天", f"{where_en}visit date is in the future")
    letters = sorted(proof.letters, key=lambda x: x.sent_on)
    if any(x.sent_on > today for x in letters):
        raise Invalid(
            f"{where}挂号信寄出日期晚于今天", f"{where_en}a letter is dated in the future"
        )
    if len(letters) == 2:
        gap = (letters[1].sent_on - letters[0].sent_on).days
        low, high = LETTER_GAP_DAYS
        if not low <= gap <= high:
            raise Invalid(
                f"{where}两次挂号信须间隔{low}至{high}日寄出，实际间隔{gap}日",
                f"{where_en}the two registered letters must be sent {low}–{high} days apart, "
                f"not {gap}",
            )
    return {
        "kind": proof.kind,
        "visit_date": proof.visit_date.isoformat() if proof.visit_date else None,
        "note": proof.note,
        "letters": [
            {"sent_on": x.sent_on.isoformat(), "tracking_no": x.tracking_no} for x in letters
        ],
    }


def _proof_missing(proof: dict[str, Any], needing: ResultCode) -> str | None:
    """What the proof of a code still lacks (None when complete)."""
    kind = proof.get("kind")
    if not kind:
        return "请选择证明方式（" + "；".join(o.label for o in needing.evidence) + "）"
    need = PROOF_NEEDS.get(kind, "note")
    if need == "visit" and not (proof.get("visit_date") and proof.get("note")):
        return "请填写实地核查日期和核查情况"
    if need == "letters" and len(proof.get("letters") or []) < 2:
        return "请填写两次挂号信的寄出日期（间隔15至30日）"
    if need == "note" and not proof.get("note"):
        return "请填写证明情况"
    return None


def missing_for(
    session: Session, ctx: TaskContext, version: ResultVersion | None, book: ResultCodeBook
) -> list[s.Problem]:
    """Everything still missing before the result can be submitted (empty when complete)."""
    if version is None:
        return [
            s.Problem(item_code=i.code, zh=f"事项{i.code}尚未录入结果", en=f"{i.code}: no result")
            for i in ctx.items
        ]
    codes_book = book.named(version.codebook_version)
    all_codes = codes_book.all_codes()
    problems = codes_book.problem_codes()
    by_item = {line.item_code: line for line in lines_of(session, version)}
    out: list[s.Problem] = []

    def add(item: str, zh: str, en: str) -> None:
        out.append(s.Problem(item_code=item, zh=f"事项{item}：{zh}", en=f"{item}: {en}"))

    for item in ctx.items:
        line = by_item.get(item.code)
        codes = line.codes.split(",") if line and line.codes else []
        if not codes:
            add(item.code, "尚未选择检查结果", "no result code chosen")
            continue
        for code in codes:
            top = all_codes[code]
            if top.sub_codes and not any(sub.code in codes for sub in top.sub_codes):
                add(item.code, f"“{top.label}”须选择具体问题", f"{code} needs a sub-code")
        if not line.methods:
            add(item.code, "尚未选择检查方式", "no inspection method")
        if line.check_date is None:
            add(item.code, "尚未填写检查日期", "no check date")
        if set(codes) & problems and not line.problems:
            add(item.code, "发现问题时须填写问题情况", "describe the problems found")
        needing = _needs_proof(codes, codes_book)
        if needing is not None:
            gap = _proof_missing(json.loads(line.proof_json), needing)
            if gap:
                add(
                    item.code,
                    f"“{needing.label}”{gap}",
                    f"proof for code {needing.code} incomplete",
                )
    return out


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
        rows.append(_check_line(line, ctx, codes_book, evidence, today))
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
    _refuse_closed(task)
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
    _refuse_closed(task)
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
    _refuse_closed(task)
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


# ---- deadlines and publication -------------------------------------------------------------


@dataclass
class Deadline:
    due: date | None
    days_left: int | None
    working_days_left: int | None
    overdue: bool
    note: str | None = None

    def out(self) -> s.DeadlineStaff:
        return s.DeadlineStaff(**self.__dict__)


def publication_due(batch: Batch, calendar: WorkdayCalendar | None = None) -> date:
    """20 working days after the end of the check; raises CalendarNotCovered naming the year."""
    return (calendar or default_calendar()).working_days_after(
        batch.window_end, PUBLICATION_WORKING_DAYS
    )


def deadline_of(
    batch: Batch, today: date, *, done: bool, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """The publication deadline as shown to people; `done` when nothing is left to publish."""
    cal = calendar or default_calendar()
    try:
        due = publication_due(batch, cal)
    except CalendarNotCovered as e:
        return Deadline(None, None, None, False, f"{e.zh} / {e.en}")
    if done:
        return Deadline(due, None, None, False)
    try:
        left = cal.working_days_between(today, due)
    except CalendarNotCovered:
        left = None
    return Deadline(due, (due - today).days, left, today > due)


def lateness(
    batch: Batch, published_on: date, calendar: WorkdayCalendar | None = None
) -> tuple[date | None, bool | None]:
    """(deadline, late) of a publication on `published_on`; None where the calendar cannot tell.

    Late means published after the 20th working day. When that day lies in a year the calendar
    lacks, a publication up to the last covered day is still known to be on time.
    """
    cal = calendar or default_calendar()
    try:
        due = publication_due(batch, cal)
        return due, published_on > due
    except CalendarNotCovered:
        pass
    try:
        counted = cal.working_days_between(batch.window_end, published_on)
        late = counted > PUBLICATION_WORKING_DAYS or (
            counted == PUBLICATION_WORKING_DAYS and not cal.is_workday(published_on)
        )
        return None, late
    except CalendarNotCovered:
        return None, None


def _china_date(version: ResultVersion) -> date:
    return version.published_at.astimezone(CHINA_TZ).date()


def is_late(
    version: ResultVersion, batch: Batch, calendar: WorkdayCalendar | None = None
) -> bool | None:
    """As recorded at publication, or counted now if the calendar could not tell then."""
    if version.late is not None:
        return version.late
    return lateness(batch, _china_date(version), calendar)[1]


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
    version.deadline, version.late = lateness(batch, clock.today(), calendar)
    task.state = TaskState.published
    session.add_all([version, task])
    return version


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
    session.flush()
    record_change(
        session,
        user.username,
        "inspection.result.publish",
        "task",
        str(task.id),
        {"seq": version.seq, "deadline": version.deadline, "late": version.late},
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
        session.flush()
        record_change(
            session,
            user.username,
            "inspection.batch.publish",
            "batch",
            code,
            {"tasks": published, "late": late},
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
    out = []
    for version, task, b, plan, entity in rows:
        labels = book.named(version.codebook_version).all_codes()
        first = first_publication(session, task)
        out.append(
            s.ResultPublic(
                plan_code=plan.code,
                plan_name=plan.name,
                batch_code=b.code,
                batch_name=b.name,
                check_type="定向" if b.directed else "不定向",
                authority=plan.authority,
                uscc=task.uscc,
                entity_name=entity.name,
                completed_on=version.completed_on,
                published_on=_china_date(first),
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
                    for line in lines_of(session, version)
                ],
                corrected=version.corrects_seq is not None,
                corrected_on=_china_date(version) if version.corrects_seq is not None else None,
            )
        )
    return s.ResultsPublicPage(
        total=total, page=page, per_page=per_page, counts=dict(sorted(counts.items())), items=out
    )
