"""开放数据: the published record as files anyone may take — CSV (UTF-8 with a BOM, so Excel
opens it as Chinese) and JSON, whole or per year, streamed in chunks so a file of millions of
rows never sits in memory.

Three datasets, each with a declared schema (field, meaning, type, example) that the schema
page shows and the files follow column for column:

* ``results`` — published inspection results, one row per entity and inspection item, in
  the national record format (抽查检查结果): only the latest published version of each
  task, with its first publication date and whether it was corrected;
* ``list-entries`` — decided entries of the abnormal-operation list and the serious list,
  with removals;
* ``batches`` — every public batch: scope, window, commitment, draw, protocol.

Rows come only from what is already public: published versions, decided entries, committed
batches. The year is the annual plan's year (results, batches) or the decision's (entries).
"""

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from supervision.clock import CHINA_TZ
from supervision.enforcement.models import LIST_KIND_LABELS, EntryState, ListEntry
from supervision.enforcement.rulebook import Rulebook
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.models import Batch, Commitment, Draw, Plan, Task, TaskState
from supervision.registry.models import Entity, InspectionItem
from supervision.registry.reference import ResultCodeBook

CHUNK = 2000
BOM = "\ufeff"


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    type: str  # 文本 / 日期 / 整数 / 布尔
    example: str


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    rows: Callable[..., Iterator[dict[str, Any]]]

    @property
    def fields(self) -> list[str]:
        return [c.name for c in self.columns]


def _day(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA_TZ).date().isoformat()


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


# ---- results ------------------------------------------------------------------------------

RESULT_COLUMNS = (
    Column("plan_code", "抽查计划编号", "文本", "CJ-2026"),
    Column("plan_name", "抽查计划名称", "文本", "昌吉市市场监督管理局2026年度抽查工作计划"),
    Column("task_code", "抽查任务编号", "文本", "CJ-2026-001"),
    Column("task_name", "抽查任务名称", "文本", "2026年第一批企业公示信息抽查"),
    Column("check_type", "抽查类型（定向/不定向）", "文本", "不定向"),
    Column("authority", "抽查机关", "文本", "昌吉市市场监督管理局"),
    Column("uscc", "统一社会信用代码", "文本", "91652301MA78XK2Q0B"),
    Column("entity_name", "市场主体名称", "文本", "昌吉市天山乳业有限公司"),
    Column("item_code", "抽查事项编码", "文本", "SCJ-GS-001"),
    Column("item_name", "抽查事项", "文本", "企业公示信息检查"),
    Column("result_codes", "检查结果代码（多个以分号分隔）", "文本", "1"),
    Column("result", "检查结果", "文本", "未发现问题"),
    Column("completed_on", "抽查完成日期", "日期", "2026-09-10"),
    Column("published_on", "公示日期（首次）", "日期", "2026-09-28"),
    Column("corrected", "是否已更正", "布尔", "false"),
    Column("corrected_on", "更正日期", "日期", ""),
)


def _result_rows(
    session: Session, *, year: int | None, book: ResultCodeBook, **_: Any
) -> Iterator[dict[str, Any]]:
    latest = (
        select(ResultVersion.task_id, func.max(ResultVersion.seq).label("seq"))
        .where(ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    first = (
        select(ResultVersion.task_id, func.min(ResultVersion.published_at).label("first_at"))
        .where(ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    items = dict(session.exec(select(InspectionItem.code, InspectionItem.name)).all())
    labels: dict[str, dict[str, str]] = {}
    after = 0
    while True:
        stmt = (
            select(ResultVersion, Task.uscc, Batch, Plan, Entity.name, first.c.first_at)
            .join(
                latest,
                (latest.c.task_id == ResultVersion.task_id) & (latest.c.seq == ResultVersion.seq),
            )
            .join(first, first.c.task_id == ResultVersion.task_id)
            .join(Task, Task.id == ResultVersion.task_id)
            .join(Batch, Batch.id == Task.batch_id)
            .join(Plan, Plan.id == Batch.plan_id)
            .join(Entity, Entity.id == Task.entity_id)
            .where(Task.state == TaskState.published, ResultVersion.id > after)
            .order_by(ResultVersion.id)
            .limit(CHUNK)
        )
        if year is not None:
            stmt = stmt.where(Plan.year == year)
        chunk = session.exec(stmt).all()
        if not chunk:
            return
        after = chunk[-1][0].id
        lines: dict[int, list[ResultLine]] = {}
        for line in session.exec(
            select(ResultLine)
            .where(col(ResultLine.version_id).in_([r[0].id for r in chunk]))
            .order_by(ResultLine.version_id, ResultLine.item_code)
        ):
            lines.setdefault(line.version_id, []).append(line)
        for version, uscc, batch, plan, name, first_at in chunk:
            if version.codebook_version not in labels:
                labels[version.codebook_version] = {
                    code: c.label
                    for code, c in book.named(version.codebook_version).all_codes().items()
                }
            named = labels[version.codebook_version]
            corrected = version.corrects_seq is not None
            for line in lines.get(version.id, []):
                codes = [c for c in line.codes.split(",") if c]
                yield {
                    "plan_code": plan.code,
                    "plan_name": plan.name,
                    "task_code": batch.code,
                    "task_name": batch.name,
                    "check_type": "定向" if batch.directed else "不定向",
                    "authority": plan.authority,
                    "uscc": uscc,
                    "entity_name": name,
                    "item_code": line.item_code,
                    "item_name": items.get(line.item_code, line.item_code),
                    "result_codes": ";".join(codes),
                    "result": "；".join(named.get(c, c) for c in codes),
                    "completed_on": _iso(version.completed_on),
                    "published_on": _day(first_at),
                    "corrected": corrected,
                    "corrected_on": _day(version.published_at) if corrected else "",
                }


# ---- list entries -------------------------------------------------------------------------

ENTRY_COLUMNS = (
    Column(
        "list_kind", "名录（abnormal 经营异常名录 / serious 严重违法失信名单）", "文本", "abnormal"
    ),
    Column("list_name", "名录名称", "文本", "经营异常名录"),
    Column("uscc", "统一社会信用代码", "文本", "91652301MA78XK2Q0B"),
    Column("entity_name", "市场主体名称", "文本", "昌吉市天山乳业有限公司"),
    Column("reason", "列入原因", "文本", "未按照规定期限公示年度报告"),
    Column("listed_on", "列入日期", "日期", "2026-07-15"),
    Column("decision_no", "列入决定书文号", "文本", "昌市监异列〔2026〕15号"),
    Column("authority", "作出决定机关", "文本", "昌吉市市场监督管理局"),
    Column("legal_basis", "列入依据", "文本", "《企业信息公示暂行条例》第十八条"),
    Column("removed_on", "移出日期", "日期", ""),
    Column("removal_no", "移出决定书文号", "文本", ""),
    Column("removal_reason", "移出原因", "文本", ""),
)


def _entry_rows(
    session: Session, *, year: int | None, rulebook: Rulebook, **_: Any
) -> Iterator[dict[str, Any]]:
    from supervision.enforcement.queries import reason_label

    after = 0
    while True:
        stmt = (
            select(ListEntry, Entity.name)
            .join(Entity, Entity.uscc == ListEntry.uscc)
            .where(
                col(ListEntry.state).in_((EntryState.listed, EntryState.removed)),
                ListEntry.id > after,
            )
            .order_by(ListEntry.id)
            .limit(CHUNK)
        )
        if year is not None:
            stmt = stmt.where(
                col(ListEntry.decided_on) >= date(year, 1, 1),
                col(ListEntry.decided_on) <= date(year, 12, 31),
            )
        chunk = session.exec(stmt).all()
        if not chunk:
            return
        after = chunk[-1][0].id
        for e, name in chunk:
            yield {
                "list_kind": e.list_kind,
                "list_name": LIST_KIND_LABELS.get(e.list_kind, e.list_kind),
                "uscc": e.uscc,
                "entity_name": name,
                "reason": reason_label(rulebook, e),
                "listed_on": _iso(e.decided_on),
                "decision_no": e.decision_no or "",
                "authority": e.authority or "",
                "legal_basis": e.legal_basis or "",
                "removed_on": _iso(e.removed_on),
                "removal_no": e.removal_no or "",
                "removal_reason": e.removal_reason or "",
            }


# ---- batches ------------------------------------------------------------------------------

BATCH_COLUMNS = (
    Column("code", "抽查任务编号", "文本", "CJ-2026-001"),
    Column("name", "抽查任务名称", "文本", "2026年第一批企业公示信息抽查"),
    Column("plan_code", "抽查计划编号", "文本", "CJ-2026"),
    Column("year", "年度", "整数", "2026"),
    Column("check_type", "抽查类型（定向/不定向）", "文本", "不定向"),
    Column("initiating_department", "发起部门代码", "文本", "SCJ"),
    Column("participating_departments", "配合部门代码（分号分隔）", "文本", "WJW"),
    Column("window_start", "检查开始日期", "日期", "2026-09-01"),
    Column("window_end", "检查结束日期", "日期", "2026-10-31"),
    Column("pool_size", "检查对象名录户数", "整数", "53982"),
    Column("protocol", "抽取协议（sr1 / 密封分层 sr2）", "文本", "sr2"),
    Column("commitment", "承诺值（SHA-256）", "文本", "3f8a…"),
    Column("committed_on", "承诺公示日期", "日期", "2026-08-20"),
    Column("drawn_on", "抽取日期", "日期", "2026-08-25"),
    Column("seed", "种子（SHA-256）", "文本", "9c41…"),
    Column("selected", "抽中户数", "整数", "1595"),
)


def _batch_rows(session: Session, *, year: int | None, **_: Any) -> Iterator[dict[str, Any]]:
    stmt = (
        select(Batch, Plan, Commitment, Draw)
        .join(Plan, Plan.id == Batch.plan_id)
        .join(Commitment, Commitment.batch_id == Batch.id)
        .outerjoin(Draw, Draw.commitment_id == Commitment.id)
        .where(col(Commitment.withdrawn_at).is_(None))
        .order_by(Batch.id)
    )
    if year is not None:
        stmt = stmt.where(Plan.year == year)
    for batch, plan, c, draw in session.exec(stmt):
        params = json.loads(c.params_json)
        yield {
            "code": batch.code,
            "name": batch.name,
            "plan_code": plan.code,
            "year": plan.year,
            "check_type": "定向" if batch.directed else "不定向",
            "initiating_department": batch.initiating_department,
            "participating_departments": ";".join(
                d for d in batch.participating_departments.split(",") if d
            ),
            "window_start": _iso(batch.window_start),
            "window_end": _iso(batch.window_end),
            "pool_size": c.pool_size,
            "protocol": params.get("protocol", ""),
            "commitment": c.commitment,
            "committed_on": _day(c.published_at),
            "drawn_on": _day(draw.drawn_at) if draw else "",
            "seed": draw.seed if draw else "",
            "selected": draw.selected_count if draw else "",
        }


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "results",
            "抽查检查结果",
            "已公示的“双随机”抽查检查结果，每个市场主体每个抽查事项一行；更正后的结果取最新公示版本并标明更正。",
            RESULT_COLUMNS,
            _result_rows,
        ),
        Dataset(
            "list-entries",
            "经营异常名录和严重违法失信名单",
            "已作出决定的列入信息及移出情况（不含尚在审查中的建议）。",
            ENTRY_COLUMNS,
            _entry_rows,
        ),
        Dataset(
            "batches",
            "抽查批次",
            "已公示承诺的抽查批次：范围、检查期间、承诺值、抽取日期、种子与抽中户数。",
            BATCH_COLUMNS,
            _batch_rows,
        ),
    )
}
FORMATS = ("csv", "json")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    # A cell Excel would run as a formula (=, +, -, @) is quoted as text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_chunks(dataset: Dataset, rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    buf.write(BOM)
    writer.writerow(dataset.fields)
    n = 0
    for row in rows:
        writer.writerow([_cell(row[f]) for f in dataset.fields])
        n += 1
        if n % 500 == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def json_chunks(dataset: Dataset, rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    yield b"["
    first = True
    parts: list[str] = []
    for row in rows:
        parts.append(
            ("\n" if first else ",\n")
            + json.dumps({f: row[f] for f in dataset.fields}, ensure_ascii=False)
        )
        first = False
        if len(parts) >= 500:
            yield "".join(parts).encode("utf-8")
            parts = []
    parts.append("\n]\n")
    yield "".join(parts).encode("utf-8")
