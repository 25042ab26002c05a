"""公告: everything the bureau has made public, newest first — the announcements page and the
Atom feed read the same list.

Kinds: a published annual plan, a change to it, a batch's commitment (and its withdrawal),
a draw, a day's published results of a batch, a day's list decisions (listings and removals
per list and authority). Each names the public page it links to. Nothing here is new data:
every item is derived from records that are already public, so the feed can never publish
more than the pages do.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from supervision.audit.models import AuditAnchor
from supervision.clock import CHINA_TZ, as_utc
from supervision.enforcement.models import LIST_KIND_LABELS, EntryState, ListEntry
from supervision.inspection.models import ResultStatus, ResultVersion
from supervision.planning.models import Batch, Commitment, Draw, Plan, PlanChange, Task

KIND_LABELS = {
    "plan": "年度计划",
    "plan_change": "计划调整",
    "commitment": "抽取承诺",
    "withdrawal": "撤回承诺",
    "draw": "随机抽取",
    "results": "结果公示",
    "listing": "名录决定",
    "removal": "移出名录",
    "anchor": "审计锚点",
}
MAX_ITEMS = 200
# Rows read per source: enough to fill MAX_ITEMS after grouping by day.
_SCAN = 5000


@dataclass(frozen=True)
class Announcement:
    at: datetime  # aware
    kind: str
    title: str
    summary: str
    path: str
    key: str  # stable: the feed's entry id

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def day(self) -> date:
        return self.at.astimezone(CHINA_TZ).date()


def _noon(day: date) -> datetime:
    """A list decision carries a date, not a time: placed at noon, China time."""
    return datetime.combine(day, time(12, 0), tzinfo=CHINA_TZ)


def announcements(session: Session, *, limit: int = 50) -> list[Announcement]:
    limit = max(1, min(limit, MAX_ITEMS))
    out: list[Announcement] = []
    out += _plans(session, limit)
    out += _commitments(session, limit)
    out += _draws(session, limit)
    out += _results(session, limit)
    out += _decisions(session, limit)
    out += _anchors(session, limit)
    # At the same instant, the later step of a batch's life comes first.
    rank = {k: n for n, k in enumerate(KIND_LABELS)}
    out.sort(key=lambda a: (a.at, rank[a.kind], a.key), reverse=True)
    return out[:limit]


def _anchors(session: Session, limit: int) -> list[Announcement]:
    """The audit log's head of each day: kept by a reader, it proves later what the log held."""
    rows = session.exec(
        select(AuditAnchor).order_by(col(AuditAnchor.anchored_on).desc()).limit(limit)
    ).all()
    return [
        Announcement(
            as_utc(a.published_at),
            "anchor",
            f"审计日志锚点：{a.anchored_on.isoformat()}",
            f"截至第 {a.entry_id} 条（共 {a.entries} 条）记录的链头哈希为 {a.hash}。保存此值，"
            "日后可用 supervision audit verify --anchors 核验审计日志未被删改。",
            "/audit-anchors",
            f"anchor:{a.anchored_on.isoformat()}",
        )
        for a in rows
    ]


def _plans(session: Session, limit: int) -> list[Announcement]:
    out = []
    plans = session.exec(
        select(Plan)
        .where(Plan.state == "published", col(Plan.published_at).is_not(None))
        .order_by(col(Plan.published_at).desc())
        .limit(limit)
    ).all()
    for p in plans:
        out.append(
            Announcement(
                as_utc(p.published_at),
                "plan",
                f"发布{p.name}",
                f"{p.authority}发布{p.year}年度“双随机、一公开”抽查工作计划（{p.code}）。",
                f"/plans/{p.code}",
                f"plan:{p.code}",
            )
        )
    changes = session.exec(
        select(PlanChange, Plan)
        .join(Plan, Plan.id == PlanChange.plan_id)
        .where(Plan.state == "published")
        .order_by(col(PlanChange.at).desc())
        .limit(limit)
    ).all()
    for ch, p in changes:
        out.append(
            Announcement(
                as_utc(ch.at),
                "plan_change",
                f"调整{p.name}",
                ch.description,
                f"/plans/{p.code}",
                f"plan-change:{ch.id}",
            )
        )
    return out


def _commitments(session: Session, limit: int) -> list[Announcement]:
    out = []
    rows = session.exec(
        select(Commitment, Batch)
        .join(Batch, Batch.id == Commitment.batch_id)
        .order_by(col(Commitment.published_at).desc())
        .limit(limit)
    ).all()
    for c, b in rows:
        out.append(
            Announcement(
                as_utc(c.published_at),
                "commitment",
                f"公示抽取承诺：{b.name}",
                f"批次 {b.code} 冻结抽取参数并公示承诺值 {c.commitment[:16]}…，"
                f"检查对象名录 {c.pool_size} 户。随机数将按公告的方式产生。",
                f"/batches/{b.code}",
                f"commitment:{b.code}:{c.seq}",
            )
        )
        if c.withdrawn_at is not None:
            out.append(
                Announcement(
                    as_utc(c.withdrawn_at),
                    "withdrawal",
                    f"撤回抽取承诺：{b.name}",
                    f"批次 {b.code} 撤回第 {c.seq} 次承诺。理由：{c.withdrawn_reason or ''}",
                    f"/batches/{b.code}",
                    f"withdrawal:{b.code}:{c.seq}",
                )
            )
    return out


def _draws(session: Session, limit: int) -> list[Announcement]:
    rows = session.exec(
        select(Draw, Batch)
        .join(Batch, Batch.id == Draw.batch_id)
        .order_by(col(Draw.drawn_at).desc())
        .limit(limit)
    ).all()
    return [
        Announcement(
            as_utc(d.drawn_at),
            "draw",
            f"完成随机抽取：{b.name}",
            f"批次 {b.code} 按公示的承诺完成抽取，抽中 {d.selected_count} 户，种子 {d.seed[:16]}…。"
            "任何人可下载抽取记录包独立核验。",
            f"/batches/{b.code}",
            f"draw:{b.code}",
        )
        for d, b in rows
    ]


def _results(session: Session, limit: int) -> list[Announcement]:
    """One item per batch and day of publication (a day publishes many results)."""
    rows = session.execute(
        select(Batch.code, Batch.name, ResultVersion.published_at, ResultVersion.corrects_seq)
        .join(Task, Task.id == ResultVersion.task_id)
        .join(Batch, Batch.id == Task.batch_id)
        .where(
            ResultVersion.status == ResultStatus.published,
            col(ResultVersion.published_at).is_not(None),
        )
        .order_by(col(ResultVersion.published_at).desc())
        .limit(_SCAN)
    ).all()
    groups: dict[tuple[str, date], dict[str, Any]] = {}
    for code, name, at, corrects in rows:
        at = as_utc(at)
        g = groups.setdefault(
            (code, at.astimezone(CHINA_TZ).date()),
            {"name": name, "at": at, "new": 0, "corrected": 0},
        )
        g["at"] = max(g["at"], at)
        g["corrected" if corrects is not None else "new"] += 1
    out = []
    for (code, day), g in groups.items():
        parts = []
        if g["new"]:
            parts.append(f"{g['new']} 户检查结果")
        if g["corrected"]:
            parts.append(f"{g['corrected']} 户结果更正")
        out.append(
            Announcement(
                g["at"],
                "results",
                f"公示检查结果：{g['name']}",
                f"批次 {code} 于 {day.isoformat()} 公示{'、'.join(parts)}。",
                f"/results?batch={code}",
                f"results:{code}:{day.isoformat()}",
            )
        )
    out.sort(key=lambda a: a.at, reverse=True)
    return out[:limit]


def _decisions(session: Session, limit: int) -> list[Announcement]:
    """Listings and removals, one item per list, authority and day."""
    listed: dict[tuple[str, str, date], int] = defaultdict(int)
    for kind, authority, day in session.execute(
        select(ListEntry.list_kind, ListEntry.authority, ListEntry.decided_on)
        .where(
            col(ListEntry.state).in_((EntryState.listed, EntryState.removed)),
            col(ListEntry.decided_on).is_not(None),
        )
        .order_by(col(ListEntry.decided_on).desc())
        .limit(_SCAN)
    ).all():
        listed[(kind, authority or "", day)] += 1
    removed: dict[tuple[str, str, date], int] = defaultdict(int)
    for kind, authority, day in session.execute(
        select(ListEntry.list_kind, ListEntry.authority, ListEntry.removed_on)
        .where(ListEntry.state == EntryState.removed, col(ListEntry.removed_on).is_not(None))
        .order_by(col(ListEntry.removed_on).desc())
        .limit(_SCAN)
    ).all():
        removed[(kind, authority or "", day)] += 1
    out = []
    for (kind, authority, day), n in listed.items():
        label = LIST_KIND_LABELS.get(kind, kind)
        out.append(
            Announcement(
                _noon(day),
                "listing",
                f"列入{label}：{n} 户",
                f"{authority}于 {day.isoformat()} 决定将 {n} 户市场主体列入{label}。",
                "/lists" if kind == "abnormal" else f"/lists/{kind}",
                f"listing:{kind}:{authority}:{day.isoformat()}",
            )
        )
    for (kind, authority, day), n in removed.items():
        label = LIST_KIND_LABELS.get(kind, kind)
        out.append(
            Announcement(
                _noon(day),
                "removal",
                f"移出{label}：{n} 户",
                f"{authority}于 {day.isoformat()} 决定将 {n} 户市场主体移出{label}。",
                "/lists" if kind == "abnormal" else f"/lists/{kind}",
                f"removal:{kind}:{authority}:{day.isoformat()}",
            )
        )
    out.sort(key=lambda a: a.at, reverse=True)
    return out[:limit]
