"""Every paper the bureau files, as PDF: the annual plan, a batch's announcement, its draw
record, the notices to the drawn businesses, the on-site record form, the published results,
the list decisions, the commitment notice and the annual report.

Each builder reads the facts, takes the document's number from its series
(`supervision.documents.numbers`: issued once, kept) and renders a template of
``reports/templates`` (GB/T 9704 essentials in ``base.html``). Documents of published facts
(plan, announcement, draw record, results, commitment, annual report) are also public; they are
kept in storage by content key (`*_file`) and rebuilt only when what they print changes.

A document asked for before its facts exist — the draw record of a batch not drawn, the
results of a batch with none published, the annual report of a year without a plan — is
refused with a clear message (``Invalid``/``NotFound``), never printed empty.
"""

import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import segno
from sqlalchemy import func
from sqlmodel import Session, col, select

from reports import charts
from reports.render import (
    TEMPLATES,
    register_header,
    register_lines,
    render_pdf,
    render_pdf_chunked,
)
from supervision.audit.service import audit_head
from supervision.clock import Clock, SystemClock, china_day
from supervision.documents import numbers
from supervision.enforcement.models import (
    LIST_KIND_LABELS,
    CandidateKind,
    EnforcementCandidate,
    EntryState,
    ListEntry,
    ListKind,
)
from supervision.enforcement.rulebook import rulebook
from supervision.enforcement.service import reason_label
from supervision.errors import Invalid, NotFound
from supervision.formatting import cn_date
from supervision.inspection import queries as inspection_queries
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning import bundle, ceremony, drawing, freeze, queries, service
from supervision.planning.models import (
    BATCH_STATE_LABELS,
    ENTROPY_SOURCES,
    Batch,
    BatchState,
    Commitment,
    Draw,
    Plan,
    Task,
    TaskMember,
    TaskState,
)
from supervision.portal import inference
from supervision.registry.models import ENTITY_TYPE_LABELS, Entity, Industry, InspectionItem, Region
from supervision.registry.queries import department_names, unit_names
from supervision.registry.reference import METHOD_LABELS, load_qualifications, result_codebook
from supervision.settings import get_settings
from supervision.storage.artefacts import artefact, content_key

# Part of every PDF's content key: bump when a template or the renderer changes what it prints.
DOCUMENTS_VERSION = "2026-12-07b"


@dataclass(frozen=True)
class Context:
    """Where a document is built: reference data, storage, the clock, who asked, the site."""

    data_dir: Path
    storage: Path
    clock: Clock
    actor: str
    public_url: str = ""


def _items(session: Session, batch: Batch) -> list[InspectionItem]:
    return [session.get(InspectionItem, code) for code in service.batch_items(session, batch)]


def _methods(item: InspectionItem) -> str:
    return "、".join(METHOD_LABELS.get(m, m) for m in item.methods.split(",") if m)


def _number(session: Session, ctx: Context, kind: str, key: str, authority: str, year: int) -> str:
    return numbers.number_for(
        session,
        ctx.data_dir,
        kind=kind,
        key=key,
        authority=authority,
        year=year,
        actor=ctx.actor,
        clock=ctx.clock,
    ).text


def _is_drawn(session: Session, batch: Batch) -> bool:
    return session.exec(select(Draw.id).where(Draw.batch_id == batch.id)).first() is not None


def _drawn(session: Session, code: str) -> Batch:
    batch = service.get_batch(session, code)
    if not _is_drawn(session, batch):
        raise NotFound(f"批次“{code}”尚未抽取，还没有这份文书", f"batch {code!r} is not drawn yet")
    return batch


# ---- the annual plan --------------------------------------------------------------------------


def plan_pdf(session: Session, code: str, ctx: Context) -> bytes:
    """年度抽查工作计划: the plan's batches (public ones) and its recorded changes."""
    plan = service.get_plan(session, code)
    if plan.published_at is None:
        raise NotFound(f"计划“{code}”尚未公示，不能印发", f"plan {code!r} is not published")
    batches = session.exec(
        select(Batch).where(Batch.plan_id == plan.id).order_by(Batch.window_start, Batch.code)
    ).all()
    rows = [
        {
            "code": b.code,
            "name": b.name,
            "directed": b.directed,
            "window_start": b.window_start,
            "window_end": b.window_end,
            "state": BATCH_STATE_LABELS.get(str(b.state), str(b.state)),
            "items": "、".join(i.name for i in _items(session, b)),
        }
        for b in batches
        if b.state != BatchState.draft
    ]
    return render_pdf(
        "plan.html",
        plan=plan,
        batches=rows,
        changes=service.plan_changes(session, plan),
        authority=plan.authority,
        docno=_number(session, ctx, "plan", plan.code, plan.authority, plan.year),
        issued_on=china_day(plan.published_at),
    )


# ---- a batch's announcement ------------------------------------------------------------------


def _qr_svg(url: str) -> str:
    svg = segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000")
    return svg


def _ratios(batch: Batch) -> str:
    """The quota rule as announced: one rate for all, or the rate (or count) per credit-risk
    class — the rule is public; which class a business is in is not."""
    spec: dict[str, dict[str, Any]] = json.loads(batch.quota_spec_json)
    if not spec:
        return "—"

    def rule(r: dict[str, Any]) -> str:
        return f"{r['percent']}%" if "percent" in r else f"{r['count']} 户"

    if len({rule(r) for r in spec.values()}) == 1:
        only = next(iter(spec.values()))
        return (
            f"统一按 {rule(only)} 抽取"
            if "percent" in only
            else f"各信用风险类别各抽取 {rule(only)}"
        )
    return "按信用风险分类差异化抽取：" + "，".join(
        f"{risk_class}类 {rule(r)}" for risk_class, r in sorted(spec.items())
    )


def _scope(session: Session, batch: Batch) -> str:
    """The directed draw's scope in words (empty: every entity in business)."""
    f = json.loads(batch.filters_json or "{}")
    parts = []
    if f.get("entity_types"):
        parts.append("类型为" + "、".join(ENTITY_TYPE_LABELS.get(t, t) for t in f["entity_types"]))
    if f.get("region_codes"):
        names = dict(session.exec(select(Region.code, Region.name)).all())
        parts.append("位于" + "、".join(names.get(c, c) for c in f["region_codes"]))
    if f.get("units"):
        units = unit_names(session)
        parts.append("由" + "、".join(units.get(u, u) for u in f["units"]) + "管辖")
    if f.get("industry_codes"):
        names = dict(session.exec(select(Industry.code, Industry.name)).all())
        parts.append("行业为" + "、".join(names.get(c, c) for c in f["industry_codes"]))
    if f.get("established_before"):
        parts.append(f"成立于{cn_date(f['established_before'])}之前")
    return "，".join(parts)


def announcement_pdf(session: Session, code: str, ctx: Context) -> bytes:
    """抽查批次公告: items, scope, ratios, team rules, window, the commitment and how the
    randomness will be made, with a QR code to the batch's public page."""
    batch = service.get_batch(session, code)
    commitment = freeze.active_commitment(session, batch)
    if commitment is None:
        raise NotFound(
            f"批次“{code}”尚未冻结公示承诺，公告须载明承诺值",
            f"batch {code!r} has no standing commitment yet",
        )
    plan = session.get(Plan, batch.plan_id)
    departments = department_names(session)
    quals = {c: q.label for c, q in load_qualifications(ctx.data_dir).items()}
    team = "，".join(
        f"{departments.get(s['group'], s['group'])} {s['count']} 人"
        + (
            f"（须具备{quals.get(s['qualification'], s['qualification'])}资格）"
            if s.get("qualification")
            else ""
        )
        for s in service.team_slots(batch)
    )
    url = (
        f"{ctx.public_url.rstrip('/')}/batches/{batch.code}"
        if ctx.public_url
        else f"/batches/{batch.code}"
    )
    items = [
        {"code": i.code, "name": i.name, "legal_basis": i.legal_basis, "methods": _methods(i)}
        for i in _items(session, batch)
    ]
    return render_pdf(
        "announcement.html",
        batch=batch,
        plan=plan,
        items=items,
        pool_size=commitment.pool_size,
        scope=_scope(session, batch),
        ratios=_ratios(batch),
        team="由" + team + "组成" if team else "",
        cross_unit=batch.cross_unit,
        max_load=batch.max_load,
        commitment=commitment,
        qr=_qr_svg(url),
        batch_url=url,
        authority=plan.authority,
        docno=_number(
            session,
            ctx,
            "announcement",
            f"{batch.code}#{commitment.seq}",
            plan.authority,
            plan.year,
        ),
        issued_on=china_day(commitment.published_at),
    )


# ---- the draw record --------------------------------------------------------------------------


def draw_record_pdf(session: Session, code: str, ctx: Context) -> bytes:
    """随机抽取记录: commitment, entropy as entered, seed, the drawn list with teams, events;
    the entity tickets in an appendix under sr1 (under sr2 they would reveal the strata)."""
    batch = _drawn(session, code)
    files = bundle.export_bundle(session, code, storage=ctx.storage)
    plan = session.get(Plan, batch.plan_id)
    draw = drawing.get_draw(session, batch)
    task_rows = queries.task_rows(session, batch)
    widths = [6, 18, 40, 34]
    header = register_header(["序号", "统一社会信用代码", "名称", "检查组（组长在前）"], widths)
    lines: list[str] = []
    withdrawn = unassigned = 0
    for n, r in enumerate(task_rows, 1):
        gone = r["state"] == "withdrawn"
        withdrawn += gone
        team = [] if gone else r["team"]
        unassigned += not gone and not team
        members = [
            f"{m['name']}（{m['badge_no']}）" + ("组长" if i == 0 else "")
            for i, m in enumerate(team)
        ] or (["（已撤出）"] if gone else ["未能组成检查组"])
        lines.extend(register_lines([[n, r["uscc"], r["entity_name"], members]], widths))
    sealed = queries.is_sealed(session, batch)
    tickets: list[str] = []
    if not sealed:
        tickets = register_lines(
            [[n, r["uscc"], r["ticket"]] for n, r in enumerate(task_rows, 1)], [6, 18, 64]
        )
    return render_pdf(
        "draw_record.html",
        batch=batch,
        bundle=files.bundle,
        rows_count=len(task_rows),
        list_header=header,
        list_lines=lines,
        ticket_header=register_header(["序号", "统一社会信用代码", "签号"], [6, 18, 64]),
        ticket_lines=tickets,
        sealed=sealed,
        withdrawn=withdrawn,
        unassigned=unassigned,
        authority=plan.authority,
        drawn_at=draw.drawn_at,
        docno=_number(session, ctx, "draw", batch.code, plan.authority, plan.year),
    )


# ---- notices to the drawn businesses ----------------------------------------------------------


def _notice_rows(session: Session, batch: Batch, uscc: str | None = None) -> list[dict[str, Any]]:
    rows = [
        r
        for r in queries.task_rows(session, batch)
        if r["state"] != "withdrawn" and r["team"] and (uscc is None or r["uscc"] == uscc)
    ]
    if uscc is not None and not rows:
        raise NotFound(
            f"批次“{batch.code}”没有已组成检查组的检查对象 {uscc}",
            f"no assigned task for {uscc!r} in {batch.code!r}",
        )
    return rows


def _notices(
    session: Session, code: str, ctx: Context, uscc: str | None = None
) -> tuple[Batch, Plan, list[dict[str, Any]], dict[str, Any]]:
    """The batch, its plan, one notice's facts per drawn entity with a team (or ``uscc``'s),
    each with its number, and what every notice prints alike."""
    batch = _drawn(session, code)
    plan = session.get(Plan, batch.plan_id)
    rows = _notice_rows(session, batch, uscc)
    task_ids = dict(session.exec(select(Task.uscc, Task.id).where(Task.batch_id == batch.id)).all())
    docs = numbers.issue(
        session,
        ctx.data_dir,
        kind="notice",
        keys=[f"{batch.code}:{r['uscc']}" for r in rows],
        authority=plan.authority,
        year=plan.year,
        actor=ctx.actor,
        clock=ctx.clock,
    )
    series = numbers.series(ctx.data_dir)
    items = [
        {
            "name": i.name,
            "methods": _methods(i),
            "materials": "；".join(
                series.materials[m] for m in i.methods.split(",") if m in series.materials
            ),
        }
        for i in _items(session, batch)
    ]
    notices = [
        {
            "uscc": r["uscc"],
            "name": r["entity_name"],
            "task_no": task_ids.get(r["uscc"], ""),
            "team": r["team"],
            "checks": items,
            "docno": docs[f"{batch.code}:{r['uscc']}"].text,
        }
        for r in rows
    ]
    common = {
        "batch": batch,
        "duty": series.duty,
        "contact": series.contact(plan.authority),
        "authority": plan.authority,
        "docno": "",
        "issued_on": ctx.clock.today(),
    }
    return batch, plan, notices, common


def notices_pdf(
    session: Session,
    code: str,
    ctx: Context,
    *,
    uscc: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """随机抽查通知书: one per drawn entity with a team (or only ``uscc``'s), each with its own
    number; the whole batch as one PDF. ``progress(done, total)`` is called as pages are laid
    out (the CLI's progress bar)."""
    _, _, notices, common = _notices(session, code, ctx, uscc)
    return render_pdf_chunked(
        "notices.html",
        chunk_key="notices",
        chunk_size=100,
        progress=progress,
        notices=notices,
        **common,
    )


def notices_zip(
    session: Session,
    code: str,
    ctx: Context,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """The notices one PDF per entity (``USCC-名称.pdf``) in a zip."""
    _, _, notices, common = _notices(session, code, ctx)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, notice in enumerate(notices, 1):
            pdf = render_pdf("notices.html", notices=[notice], **common)
            zf.writestr(f"{notice['uscc']}-{notice['name'][:40]}.pdf", pdf)
            if progress:
                progress(n, len(notices))
    return buf.getvalue()


# ---- the on-site record form ------------------------------------------------------------------


def record_form_pdf(session: Session, code: str, ctx: Context, uscc: str | None = None) -> bytes:
    """检查记录表: blank (the batch's items, every result code to tick) or, with ``uscc``, one
    entity's form filled from its latest recorded result (if any)."""
    batch = _drawn(session, code)
    book = result_codebook(ctx.data_dir)
    codes = [{"code": c.code, "label": c.label} for c in book.versions[-1].walk()]
    items = _items(session, batch)
    blank_lines = [{"item_name": i.name, "methods": "", "check_date": None} for i in items]
    if uscc is None:
        forms = [{"team": [], "lines": blank_lines}]
    else:
        row = next((r for r in queries.task_rows(session, batch) if r["uscc"] == uscc), None)
        if row is None:
            raise NotFound(f"批次“{code}”没有检查对象 {uscc}", f"{uscc!r} not drawn in {code!r}")
        task = session.exec(select(Task).where(Task.batch_id == batch.id, Task.uscc == uscc)).one()
        entity = session.get(Entity, task.entity_id)
        version = session.exec(
            select(ResultVersion)
            .where(ResultVersion.task_id == task.id)
            .order_by(col(ResultVersion.seq).desc())
        ).first()
        lines = blank_lines
        if version is not None:
            labels = {c.code: c.label for v in book.versions for c in v.walk()}
            names = {i.code: i.name for i in items}
            lines = [
                {
                    "item_name": names.get(line.item_code, line.item_code),
                    "methods": "、".join(
                        METHOD_LABELS.get(m, m) for m in line.methods.split(",") if m
                    ),
                    "check_date": line.check_date,
                    "results": "；".join(
                        f"{c} {labels.get(c, c)}" for c in line.codes.split(",") if c
                    ),
                    "problems": line.problems or "",
                    "handling": line.handling or "",
                }
                for line in session.exec(
                    select(ResultLine)
                    .where(ResultLine.version_id == version.id)
                    .order_by(ResultLine.id)
                )
            ]
        forms = [
            {
                "task_no": task.id,
                "name": entity.name,
                "uscc": entity.uscc,
                "address": entity.registered_address,
                "team": row["team"],
                "lines": lines,
            }
        ]
    plan = session.get(Plan, batch.plan_id)
    return render_pdf(
        "record_form.html",
        batch=batch,
        forms=forms,
        codes=codes,
        authority=plan.authority,
        docno="",
    )


# ---- the published results --------------------------------------------------------------------


def results_pdf(session: Session, code: str, ctx: Context) -> bytes:
    """抽查结果公示: the batch's published results in the national format."""
    batch = _drawn(session, code)
    plan = session.get(Plan, batch.plan_id)
    book = result_codebook(ctx.data_dir)
    page = inspection_queries.public_results(
        session, batch=code, q=None, page=1, per_page=1_000_000, book=book
    )
    if not page.items:
        raise NotFound(
            f"批次“{code}”还没有已公示的检查结果，尚无结果公示",
            f"batch {code!r} has no published results",
        )
    results = sorted(page.items, key=lambda r: r.uscc)
    drawn = session.execute(
        select(func.count())
        .select_from(Task)
        .where(Task.batch_id == batch.id, Task.state != TaskState.withdrawn)
    ).scalar_one()
    widths = [6, 18, 32, 40, 10]
    lines: list[str] = []
    for n, r in enumerate(results, 1):
        name = r.entity_name + (f"（{cn_date(r.corrected_on)}更正）" if r.corrected else "")
        found = [f"{i.item_name}：{'；'.join(c.label for c in i.results)}" for i in r.items]
        done = r.completed_on.isoformat() if r.completed_on else "—"
        lines.extend(register_lines([[n, r.uscc, name, found, done]], widths))
    header = register_header(
        ["序号", "统一社会信用代码", "名称", "抽查事项及检查结果", "完成日期"], widths
    )
    return render_pdf(
        "results.html",
        batch=batch,
        results=results,
        list_header=header,
        list_lines=lines,
        drawn=drawn,
        as_of=max(r.published_on for r in results),
        authority=plan.authority,
        docno=_number(session, ctx, "results", batch.code, plan.authority, plan.year),
    )


# ---- list decisions ---------------------------------------------------------------------------


def decisions_pdf(session: Session, entry_ids: list[int], ctx: Context) -> bytes:
    """列入/移出经营异常名录（严重违法失信名单）决定书: one per entry, with the objection,
    review (60 days) and lawsuit (6 months) notice; many entries (a bulk decision) in one PDF."""
    book = rulebook(ctx.data_dir)
    series = numbers.series(ctx.data_dir)
    decisions = []
    authority = ""
    objection_days = 30
    for entry_id in entry_ids:
        entry = session.get(ListEntry, entry_id)
        if entry is None:
            raise NotFound(f"没有编号为 {entry_id} 的名录记录", f"no list entry {entry_id}")
        if entry.state not in (EntryState.listed, EntryState.removed) or not entry.decided_on:
            # Like any document whose facts do not exist yet: not found (there is none).
            raise NotFound(
                f"名录记录 {entry_id} 尚未作出列入决定，没有决定书",
                f"list entry {entry_id} is not decided",
            )
        name = session.exec(select(Entity.name).where(Entity.uscc == entry.uscc)).first() or ""
        regime = book.regime(entry.rulebook)
        objection_days = regime.objection.within_days
        authority = entry.authority or ""
        label = LIST_KIND_LABELS.get(str(entry.list_kind), str(entry.list_kind))
        common = {
            "name": name,
            "uscc": entry.uscc,
            "list_label": label,
            "reason": reason_label(book, entry),
            "legal_basis": entry.legal_basis or "",
        }
        decisions.append(
            {
                **common,
                "title": f"列入{label}决定书",
                "docno": entry.decision_no or "",
                "decided_on": entry.decided_on,
                "removal": False,
                "restrictions": "",
                "remedy_hint": "依法履行相关义务后，可以申请移出。"
                if entry.list_kind == ListKind.abnormal
                else "",
            }
        )
        if entry.state == EntryState.removed and entry.removed_on:
            decisions.append(
                {
                    **common,
                    "title": f"移出{label}决定书",
                    "docno": entry.removal_no or "",
                    "decided_on": entry.removed_on,
                    "removal": True,
                    "listed_on": entry.decided_on,
                    "listed_no": entry.decision_no or "",
                    "removal_reason": (entry.removal_reason or "").rstrip("。") + "。"
                    if entry.removal_reason
                    else "",
                }
            )
    if not decisions:
        raise Invalid("没有要印发的决定书", "no decisions given")
    return render_pdf(
        "decision.html",
        title=decisions[0]["title"],
        decisions=decisions,
        authority=authority,
        docno=decisions[0]["docno"],
        objection_days=objection_days,
        review_body=series.review_body(authority),
    )


# ---- the annual report ------------------------------------------------------------------------


def annual_figures(session: Session, year: int, ctx: Context) -> dict[str, Any]:
    """The year in figures, computed from the record (never typed in)."""
    plans = session.exec(select(Plan).where(Plan.year == year)).all()
    if not plans:
        raise NotFound(f"{year}年没有年度抽查工作计划，无法生成年度报告", f"no plan for {year}")
    batches = session.exec(
        select(Batch)
        .where(col(Batch.plan_id).in_([p.id for p in plans]))
        .order_by(Batch.window_start, Batch.code)
    ).all()
    drawn_batches = [b for b in batches if _is_drawn(session, b)]
    if not drawn_batches:
        raise NotFound(f"{year}年还没有已抽取的批次，无法生成年度报告", f"nothing drawn in {year}")
    ids = [b.id for b in drawn_batches]
    book = result_codebook(ctx.data_dir)
    problem_codes = book.problem_codes()
    labels = book.code_labels()
    latest = (
        select(ResultVersion.task_id, func.max(ResultVersion.seq).label("seq"))
        .join(Task, Task.id == ResultVersion.task_id)
        .where(col(Task.batch_id).in_(ids), ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
        .subquery()
    )
    versions = session.execute(
        select(ResultVersion.id, Task.entity_id, Task.batch_id)
        .join(
            latest,
            (latest.c.task_id == ResultVersion.task_id) & (latest.c.seq == ResultVersion.seq),
        )
        .join(Task, Task.id == ResultVersion.task_id)
    ).all()
    codes_of: dict[int, set[str]] = {}
    vids = [v for v, *_ in versions]
    for i in range(0, len(vids), 5000):
        for vid, codes in session.execute(
            select(ResultLine.version_id, ResultLine.codes).where(
                col(ResultLine.version_id).in_(vids[i : i + 5000])
            )
        ):
            codes_of.setdefault(vid, set()).update(c for c in codes.split(",") if c)
    per_code: Counter[str] = Counter()
    problems = 0
    for vid, *_ in versions:
        cs = codes_of.get(vid, set())
        per_code.update(cs)
        problems += bool(cs & problem_codes)
    firsts = session.execute(
        select(ResultVersion.task_id, func.min(ResultVersion.seq))
        .join(Task, Task.id == ResultVersion.task_id)
        .where(col(Task.batch_id).in_(ids), ResultVersion.status == ResultStatus.published)
        .group_by(ResultVersion.task_id)
    ).all()
    first_ids = {(t, s) for t, s in firsts}
    lateness = [
        (published_at, late)
        for task_id, seq, published_at, late in session.execute(
            select(
                ResultVersion.task_id,
                ResultVersion.seq,
                ResultVersion.published_at,
                ResultVersion.late,
            )
            .join(Task, Task.id == ResultVersion.task_id)
            .where(col(Task.batch_id).in_(ids), ResultVersion.status == ResultStatus.published)
        )
        if (task_id, seq) in first_ids
    ]
    on_time = sum(1 for _, late in lateness if late is False)
    inspectors = session.execute(
        select(func.count(func.distinct(TaskMember.inspector_id)))
        .join(Task, Task.id == TaskMember.task_id)
        .where(col(Task.batch_id).in_(ids), TaskMember.active == True)  # noqa: E712
    ).scalar_one()
    drawn_count = session.execute(
        select(func.count())
        .select_from(Task)
        .where(col(Task.batch_id).in_(ids), Task.state != TaskState.withdrawn)
    ).scalar_one()
    start, end = date(year, 1, 1), date(year, 12, 31)
    listed = session.exec(
        select(ListEntry).where(
            col(ListEntry.state).in_((EntryState.listed, EntryState.removed)),
            col(ListEntry.decided_on) >= start,
            col(ListEntry.decided_on) <= end,
        )
    ).all()
    rb = rulebook(ctx.data_dir)
    reasons = Counter(reason_label(rb, e) for e in listed if e.list_kind == ListKind.abnormal)
    removed = session.execute(
        select(func.count())
        .select_from(ListEntry)
        .where(col(ListEntry.removed_on) >= start, col(ListEntry.removed_on) <= end)
    ).scalar_one()
    zombies = session.execute(
        select(func.count())
        .select_from(EnforcementCandidate)
        .where(
            EnforcementCandidate.kind == CandidateKind.zombie,
            EnforcementCandidate.state == "decided",
            col(EnforcementCandidate.decided_on) >= start,
            col(EnforcementCandidate.decided_on) <= end,
        )
    ).scalar_one()
    as_of = min(ctx.clock.today(), end)  # the year's end, or today for the year under way
    restricted = session.execute(
        select(func.count(func.distinct(ListEntry.uscc))).where(
            col(ListEntry.state).in_((EntryState.listed, EntryState.removed)),
            col(ListEntry.decided_on) <= as_of,
            (col(ListEntry.removed_on).is_(None)) | (col(ListEntry.removed_on) > as_of),
        )
    ).scalar_one()
    published_by_batch = Counter(b for _, _, b in versions)
    drawn_by_batch = dict(
        session.execute(
            select(Task.batch_id, func.count())
            .where(col(Task.batch_id).in_(ids), Task.state != TaskState.withdrawn)
            .group_by(Task.batch_id)
        ).all()
    )
    batch_rows = []
    for b in drawn_batches:
        est = inference.batch_estimates(session, b, book, storage=ctx.storage)
        batch_rows.append(
            {
                "code": b.code,
                "name": b.name,
                "drawn": drawn_by_batch.get(b.id, 0),
                "published": published_by_batch.get(b.id, 0),
                "estimate": est.overall if est and published_by_batch.get(b.id) else None,
            }
        )
    months: Counter[str] = Counter()
    months_ok: Counter[str] = Counter()
    for at, late in lateness:
        m = china_day(at).strftime("%m月")
        months[m] += 1
        months_ok[m] += late is False
    inspected = len({e for _, e, _ in versions})
    return {
        "figures": {
            "batches": len(drawn_batches),
            "drawn": drawn_count,
            "inspected": inspected,
            "inspectors": inspectors,
            "problems": problems,
            "problem_rate": problems / len(versions) if versions else 0.0,
            "on_time": on_time,
            "on_time_rate": on_time / len(lateness) if lateness else 0.0,
            "listed": sum(1 for e in listed if e.list_kind == ListKind.abnormal),
            "listed_after_checks": sum(
                1 for e in listed if e.list_kind == ListKind.abnormal and e.source == "result"
            ),
            "serious": sum(1 for e in listed if e.list_kind == ListKind.serious),
            "removed": removed,
            "zombies": zombies,
            "restricted": restricted,
            "as_of": as_of,
        },
        "batches": batch_rows,
        "codes": [
            {"code": c, "label": label, "count": per_code[c]}
            for c, label in labels.items()
            if per_code[c]
        ],
        "reasons": [{"label": k, "count": v} for k, v in reasons.most_common()],
        "months": [(m, months[m], months_ok[m]) for m in sorted(months)],
        "authority": plans[0].authority,
    }


def annual_pdf(session: Session, year: int, ctx: Context) -> bytes:
    """年度报告: the year in figures with charts from the portal's charting module."""
    data = annual_figures(session, year, ctx)
    drawn = {}
    if data["codes"]:
        drawn["codes"] = charts.bar_chart(
            [c["label"][:14] for c in data["codes"]],
            [c["count"] for c in data["codes"]],
            title="检查结果（户）",
            value_format="{:.0f}",
        )
    if data["reasons"]:
        drawn["reasons"] = charts.bar_chart(
            [r["label"][:14] for r in data["reasons"]],
            [r["count"] for r in data["reasons"]],
            title="列入经营异常名录事由（户）",
            value_format="{:.0f}",
        )
    if data["months"]:
        drawn["months"] = charts.line_chart(
            [m for m, _, _ in data["months"]],
            {
                "公示": [n for _, n, _ in data["months"]],
                "按期公示": [k for _, _, k in data["months"]],
            },
            title="各月公示检查结果（户）",
        )
    return render_pdf(
        "annual.html",
        year=year,
        f=data["figures"],
        batches=data["batches"],
        codes=data["codes"],
        reasons=data["reasons"],
        charts=drawn,
        authority=data["authority"],
        docno=_number(session, ctx, "annual", str(year), data["authority"], year),
        issued_on=ctx.clock.today(),
    )


# ---- the ceremony record ----------------------------------------------------------------------

CEREMONY_FIRST = 20
BLANK_SIGNATURE_LINES = 3


def ceremony_pdf(session: Session, code: str, ctx: Context) -> bytes:
    """抽取仪式记录: as announced (time, place, source, commitment) and as held (when, by whom,
    the witnesses, the entropy as entered or the beacon round, the seed, the head of the drawn
    list), with signature lines for the host, the recorder and every witness."""
    batch = _drawn(session, code)
    plan = session.get(Plan, batch.plan_id)
    draw = drawing.get_draw(session, batch)
    c = session.get(Commitment, draw.commitment_id)
    witnesses = json.loads(draw.witnesses_json)
    beacon = ceremony.commitment_beacon(c)
    rows = queries.task_rows(session, batch)[:CEREMONY_FIRST]
    return render_pdf(
        "ceremony.html",
        batch=batch,
        plan=plan,
        draw=draw,
        commitment=c,
        announced_at=ceremony.china_time(batch.ceremony_at) if batch.ceremony_at else "（未公告）",
        drawn_at=ceremony.china_time(draw.drawn_at),
        source=ENTROPY_SOURCES.get(batch.entropy_source, batch.entropy_source),
        beacon=beacon,
        entropy=json.loads(draw.entropy_json),
        witnesses=witnesses,
        blank_lines=range(max(BLANK_SIGNATURE_LINES - len(witnesses), 1)),
        first=rows,
        authority=plan.authority,
    )


# ---- the commitment notice, and documents kept in storage -------------------------------------


def commitment_pdf(session: Session, code: str) -> bytes:
    """抽查承诺公告: the frozen inputs' digests and the commitment, before any randomness."""
    batch = service.get_batch(session, code)
    commitment = freeze.active_commitment(session, batch)
    if commitment is None:
        raise NotFound("该批次没有有效的承诺", "the batch has no standing commitment")
    plan = session.get(Plan, batch.plan_id)
    return render_pdf(
        "commitment.html",
        batch=batch,
        plan=plan,
        items=_items(session, batch),
        commitment=commitment,
        params=json.loads(commitment.params_json),
        authority=plan.authority,
        departments=department_names(session),
        quals={c: q.label for c, q in load_qualifications(get_settings().data_dir).items()},
    )


_DIGESTS: dict[tuple, str] = {}


def _template_digest(*names: str) -> str:
    """The templates' content (and the renderer's version) as part of a PDF's key; re-read
    only when a file's modification time changes."""
    paths = [TEMPLATES / n for n in ("base.html", *names)]
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in paths)
    if stamp not in _DIGESTS:
        _DIGESTS[stamp] = content_key(*(p.read_bytes() for p in paths), DOCUMENTS_VERSION)
    return _DIGESTS[stamp]


def draw_result_pdf_file(
    session: Session, code: str, *, storage: Path, ctx: Context | None = None
) -> Path:
    """The draw record as a stored artefact: rebuilt only when the draw's content (its events,
    hence its teams and withdrawals) or the template changes. Names are printed as the registry
    had them when the record was first built for that content."""
    ctx = ctx or _system_context(storage)
    _drawn(session, code)
    key = content_key(
        "draw.pdf", bundle.bundle_key(session, code), _template_digest("draw_record.html")
    )
    return artefact(storage, f"{code}-draw.pdf", key, lambda: draw_record_pdf(session, code, ctx))


def commitment_pdf_file(session: Session, code: str, *, storage: Path) -> Path:
    """The commitment notice as a stored artefact, keyed by the standing commitment."""
    batch = service.get_batch(session, code)
    commitment = freeze.active_commitment(session, batch)
    if commitment is None:
        raise NotFound("该批次没有有效的承诺", "the batch has no standing commitment")
    items = [(i.code, i.name, i.legal_basis) for i in _items(session, batch)]
    key = content_key(
        "commitment.pdf",
        code,
        commitment.commitment,
        commitment.published_at.isoformat(),
        batch.name,
        items,
        _template_digest("commitment.html"),
    )
    return artefact(storage, f"{code}-commitment.pdf", key, lambda: commitment_pdf(session, code))


def _system_context(storage: Path) -> Context:
    settings = get_settings()
    return Context(settings.data_dir, storage, SystemClock(), "system", settings.public_url or "")


def stored_document(session: Session, kind: str, code: str, ctx: Context) -> Path:
    """A public document of a batch or plan (announcement, results, plan) or a year (annual)
    from storage, rebuilt when the facts it prints change."""
    if kind == "announcement":
        batch = service.get_batch(session, code)
        c = freeze.active_commitment(session, batch)
        state: tuple[Any, ...] = (c.commitment if c else None, batch.name, batch.entropy_plan)
        build = lambda: announcement_pdf(session, code, ctx)  # noqa: E731
    elif kind == "results":
        batch = service.get_batch(session, code)
        state = tuple(
            session.execute(
                select(func.count(), func.max(ResultVersion.id))
                .join(Task, Task.id == ResultVersion.task_id)
                .where(Task.batch_id == batch.id, ResultVersion.status == ResultStatus.published)
            ).one()
        )
        build = lambda: results_pdf(session, code, ctx)  # noqa: E731
    elif kind == "plan":
        plan = service.get_plan(session, code)
        state = (
            plan.published_at.isoformat() if plan.published_at else None,
            len(service.plan_changes(session, plan)),
            tuple(
                session.exec(
                    select(Batch.code, Batch.state, Batch.name).where(Batch.plan_id == plan.id)
                ).all()
            ),
        )
        build = lambda: plan_pdf(session, code, ctx)  # noqa: E731
    elif kind == "ceremony":
        batch = _drawn(session, code)
        draw = drawing.get_draw(session, batch)
        state = (draw.seed, draw.witnesses_json, draw.late_reason)
        build = lambda: ceremony_pdf(session, code, ctx)  # noqa: E731
    elif kind == "annual":
        state = (audit_head(session), ctx.clock.today().isoformat())
        build = lambda: annual_pdf(session, int(code), ctx)  # noqa: E731
    else:
        raise Invalid(f"不认识的文书类别“{kind}”", f"unknown document kind {kind!r}")
    template = f"{kind}.html"
    key = content_key(kind, code, repr(state), _template_digest(template))
    return artefact(ctx.storage, f"{code}-{kind}.pdf", key, build)
