"""The rules of results: who may touch a task, and what a valid result line is.

Who may do what is a domain rule, so it is checked here, not in the routes:
- results and evidence: an active member of the task's team (TaskMember.inspector_id);
- review and corrections: a reviewer who has never been on the task's team;
- publication: a reviewer or a planner."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from supervision.accounts.models import Role, User
from supervision.errors import Conflict, Forbidden, Invalid, NotFound
from supervision.inspection import schemas as s
from supervision.inspection.models import ResultVersion
from supervision.inspection.versions import lines_of
from supervision.planning.models import (
    Batch,
    BatchItem,
    Task,
    TaskMember,
    TaskState,
)
from supervision.registry.models import InspectionItem
from supervision.registry.reference import (
    METHODS,
    NO_PROBLEM_CODE,
    ResultCode,
    ResultCodeBook,
    ResultCodeVersion,
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


def refuse_closed(task: Task) -> None:
    if task.state == TaskState.withdrawn:
        raise Conflict("该检查对象已撤出，不再录入结果", "the entity was withdrawn from the batch")
    if task.state == TaskState.unassigned:
        raise Conflict("该任务未能组成检查组，不能录入结果", "the task has no team")


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


def check_line(
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
    where, where_en = f"{_item_label(item)}：", f"item {item.code}: "
    all_codes = book.all_codes()
    unknown = [c for c in line.codes if c not in all_codes]
    if unknown:
        known = "、".join(c.code for c in book.walk())
        raise Invalid(
            f"{where}未知的检查结果代码 {'、'.join(unknown)}（{book.version}版结果代码：{known}）",
            f"{where_en}unknown result code(s) {', '.join(unknown)}",
            item_code=item.code,
        )
    # A sub-code implies the codes above it (B → 2 违反工商行政管理相关规定 → A 发现问题).
    codes = set(line.codes) | {p for c in line.codes for p in book.ancestors(c)}
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


def _item_label(item: InspectionItem) -> str:
    """An item as a person reads it: its name, its code beside it."""
    return f"事项“{item.name}”（{item.code}）"


def missing_for(
    session: Session, ctx: TaskContext, version: ResultVersion | None, book: ResultCodeBook
) -> list[s.Problem]:
    """Everything still missing before the result can be submitted (empty when complete)."""
    if version is None:
        return [
            s.Problem(
                item_code=i.code, zh=f"{_item_label(i)}尚未录入结果", en=f"{i.code}: no result"
            )
            for i in ctx.items
        ]
    codes_book = book.named(version.codebook_version)
    all_codes = codes_book.all_codes()
    problems = codes_book.problem_codes()
    by_item = {line.item_code: line for line in lines_of(session, version)}
    out: list[s.Problem] = []

    labels = {i.code: _item_label(i) for i in ctx.items}

    def add(item: str, zh: str, en: str) -> None:
        out.append(s.Problem(item_code=item, zh=f"{labels[item]}：{zh}", en=f"{item}: {en}"))

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
