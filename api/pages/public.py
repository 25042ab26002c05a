"""The public portal: what is published, and nothing else (一公开).

Every batch page goes through the API's own visibility rule with no user, so a draft that was
never committed is a 404 here even for a logged-in planner; the data comes from the API's
public schemas (``batch_public``, ``task_rows``, ``plan_public``), which carry no identity
numbers, phones, risk classes or conflict declarations.
"""

import json
import re
import shlex
import unicodedata
from collections import Counter
from typing import Any

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.artefacts import warm_after_commit
from api.deps import ClockDep, SessionDep, SettingsDep, run_db
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    attempt,
    cached_page,
    page_links,
    redirect,
    render,
    validation_messages,
)
from api.roles import PageUser, PlannerPage, is_planner, page_context
from supervision.audit.service import audit_head
from supervision.clock import as_utc
from supervision.draw import sr1, standalone_verifier_source
from supervision.errors import DomainError, NotFound
from supervision.planning import drawing, events, service
from supervision.planning import freeze as freeze_q
from supervision.planning import pool as pool_q
from supervision.planning import queries as pq
from supervision.planning import schemas as ps
from supervision.planning.ceremony import CeremonyRules, china_time, commitment_beacon
from supervision.planning.models import ENTROPY_SOURCES, Batch, BatchState, DrawEvent
from supervision.registry import service as registry_service
from supervision.registry.queries import department_names, item_names, unit_names

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
CEREMONY_FIRST = 10
TASKS_PER_PAGE = 100
MAX_ENTROPY_LINES = next(
    m.max_length
    for m in ps.EntropyCreate.model_fields["entropy"].metadata
    if getattr(m, "max_length", None)
)


# ---- shared views -------------------------------------------------------------------------


def commitment_view(c: ps.CommitmentPublic, departments: dict[str, str]) -> dict[str, Any]:
    """A published commitment in readable form, with its canonical JSON and digest check."""
    p = c.params
    canonical = sr1.canonical_json(p)
    return {
        "seq": c.seq,
        "commitment": c.commitment,
        "published_at": c.published_at,
        "withdrawn_at": c.withdrawn_at,
        "withdrawn_reason": c.withdrawn_reason,
        "pool_size": p.get("pool_size"),
        "quotas": sorted(p.get("quotas", {}).items()),
        "quota_total": sum(p.get("quotas", {}).values()),
        "team": [
            {**slot, "group_name": departments.get(slot["group"], slot["group"])}
            for slot in p.get("team", [])
        ],
        "cross_unit": p.get("cross_unit"),
        "max_load": p.get("max_load"),
        "entropy_plan": p.get("entropy_plan"),
        "files": [
            ("pool.tsv（检查对象名录快照）", p.get("pool_sha256")),
            ("roster.tsv（执法人员名录快照）", p.get("roster_sha256")),
            ("conflicts.tsv（回避声明，不公开，仅公布摘要）", p.get("conflicts_sha256")),
        ],
        "canonical": canonical,
        "digest_matches": sr1.H(canonical) == c.commitment,
    }


def current_commitment(pub: ps.BatchPublic) -> ps.CommitmentPublic | None:
    live = [c for c in pub.commitments if c.withdrawn_at is None]
    return live[-1] if live else None


def draw_events(session: Session, batch: Batch) -> list[DrawEvent]:
    return events.draw_events(session, drawing.get_draw(session, batch))


def _inspector_name(session: Session, names: dict[str, str], badge: str | None) -> str:
    if badge is None:
        return ""
    if badge not in names:
        try:
            names[badge] = registry_service.get_inspector(session, badge).name
        except NotFound:
            names[badge] = ""
    return names[badge]


def events_view(
    session: Session,
    batch: Batch,
    entity_names: dict[str, str],
    names: dict[str, str],
    *,
    internal: bool = False,
) -> list[dict[str, Any]]:
    out = []
    for row in draw_events(session, batch):
        event = json.loads(row.event_json)
        outcome = json.loads(row.outcome_json)
        item = {
            "seq": row.seq,
            "type": event["type"],
            "uscc": event["uscc"],
            "entity_name": entity_names.get(event["uscc"], ""),
            "reason": event["reason"],
            "at": row.at,
            "chain": row.chain,
            "canonical": row.event_json,
            "note": row.note if internal else None,
        }
        if event["type"] == "recuse":
            replacement = outcome.get("replacement")
            item["inspector"] = event["inspector"]
            item["inspector_name"] = _inspector_name(session, names, event["inspector"])
            item["replacement"] = replacement
            item["replacement_name"] = _inspector_name(session, names, replacement)
        else:
            new = outcome.get("replacement_uscc")
            item["replacement_uscc"] = new
            item["replacement_entity"] = entity_names.get(new, "") if new else ""
            item["replacement_team"] = [
                {"badge_no": b, "name": _inspector_name(session, names, b)}
                for b in outcome.get("team", [])
            ]
            item["replacement_unassigned"] = outcome.get("unassigned", False)
        out.append(item)
    return out


def drawn_record(
    session: Session,
    batch: Batch,
    *,
    internal: bool = False,
    q: str | None = None,
    unit: str | None = None,
    page: int = 1,
    per_page: int | None = None,
    full_workload: bool = True,
) -> dict[str, Any]:
    """Tasks, events and workload of a drawn batch, as the public (or, ``internal``, staff)
    sees them: every task, or (``per_page``) one page of those matching ``q``/``unit``; the
    load per inspector by name, or (``full_workload=False``) only how it is spread."""
    if per_page is None:
        tasks = pq.drawn_tasks(session, batch, internal=internal)
        total = len(tasks)
    else:
        tasks, total = pq.drawn_task_page(
            session, batch, q=q, unit=unit, page=page, per_page=per_page
        )
    names = {m["badge_no"]: m["name"] for t in tasks for m in t.team}
    facts = pq.draw_facts(session, batch)
    evs = draw_events(session, batch)
    involved = {t.uscc: t.entity_name for t in tasks}
    for row in evs:
        outcome = json.loads(row.outcome_json)
        for u in (json.loads(row.event_json)["uscc"], outcome.get("replacement_uscc")):
            if u and u not in involved:
                involved[u] = ""
    missing = [u for u, n in involved.items() if not n]
    if missing:
        involved.update(registry_service.entity_names(session, missing))
    loads = facts.workload
    workload: list[dict[str, Any]] = []
    if full_workload:
        names.update(
            registry_service.inspector_names(
                session, [w["badge_no"] for w in loads if w["badge_no"] not in names]
            )
        )
        workload = [{**w, "name": names.get(w["badge_no"], "")} for w in loads]
    spread = Counter(w["tasks"] for w in loads)
    summary = facts.summary
    return {
        "tasks": tasks,
        "matching": total,
        "selected": summary["total"],
        "events": events_view(session, batch, involved, names, internal=internal),
        "workload": workload,
        # How evenly the work fell: (entities per inspector, how many inspectors), the
        # public page's view of the load (the full list is at /api/v1/batches/{code}/workload).
        "load_spread": sorted(spread.items()),
        "inspectors": len(loads),
        "unassigned": summary["unassigned"],
        "withdrawn": summary["withdrawn"],
        "understaffed": summary["understaffed"],
        "published": pq.published_count(session, batch),
        "sealed": pq.is_sealed(session, batch),
        "single_stratum": facts.strata <= 1 and pool_q.uniform_percent(batch) is not None,
    }


def task_views(
    session: Session, batch: Batch, *, first: int | None = None
) -> list[ps.DrawnTaskPublic]:
    """The tasks (or the ``first`` ones) in selection order with current teams, as the public
    sees them."""
    if first is None:
        return pq.drawn_tasks(session, batch)
    tasks, _ = pq.drawn_task_page(session, batch, q=None, unit=None, page=1, per_page=first)
    return tasks


def _units(session: Session, batch: Batch) -> list[tuple[str, str]]:
    names = unit_names(session)
    return [(code, names.get(code, code)) for code in pq.draw_facts(session, batch).units]


def public_batch(session: Session, code: str) -> Batch:
    """The API's visibility rule for an anonymous reader."""
    return pq.visible_batch(session, code, None)


# ---- pages --------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, session: SessionDep, user: PageUser) -> Response:
    plans = pq.list_plans(session, None)
    batches = pq.list_batches(session, None)
    return render(
        request,
        "public/home.html",
        {"plans": plans, "batches": batches},
        title="首页",
    )


@router.get("/items")
def items(request: Request, session: SessionDep, user: PageUser) -> Response:
    rows = [
        registry_service.item_public_view(i)
        for i in registry_service.list_items(session, active_only=True)
    ]
    return render(
        request,
        "public/items.html",
        {"items": rows, "departments": department_names(session)},
        title="随机抽查事项清单",
    )


@router.get("/plans/{code}")
def plan_page(request: Request, code: str, session: SessionDep, user: PageUser) -> Response:
    plan = service.get_plan(session, code)
    if plan.state != "published":
        raise NotFound(f"未找到已公示的抽查计划“{code}”", f"no published plan {code!r}")
    return render(
        request,
        "public/plan.html",
        {
            "plan": pq.plan_public(session, plan),
            "batches": pq.list_batches(session, None, plan=code),
        },
        title=plan.name,
    )


@router.get("/batches/{code}")
async def batch_page(
    request: Request,
    code: str,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    q: str = "",
    unit: str = "",
    page: str = "1",
) -> Response:
    # A hot public page: on the embedded SQLite database it runs inline (mostly a cache hit
    # after four small reads), elsewhere in the thread pool.
    return await run_db(request, _cached_batch_page, request, session, clock, code, q, unit, page)


def _cached_batch_page(
    request: Request, session: Session, clock: Any, code: str, q: str, unit: str, page: str
) -> Response:
    batch = public_batch(session, code)
    # Everything the page is drawn from, by what moves it: any audited change (registry,
    # plans, commitments, results, lists), the draw's hash chain, publications, the day.
    state = (
        batch.id,
        audit_head(session),
        pq.last_chain(session, batch),
        pq.published_count(session, batch),
        clock.today(),
    )
    return cached_page(
        request,
        state,
        lambda: _batch_page(request, session, batch, q=q, unit=unit, page=page),
    )


def _batch_page(
    request: Request, session: Session, batch: Batch, *, q: str, unit: str, page: str
) -> Response:
    pub = pq.batch_public(session, batch)
    departments = department_names(session)
    query = q.replace("\x00", "").strip()[:60]
    unit = unit.replace("\x00", "").strip()[:32]
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    record = None
    pages = None
    if pub.seed:
        record = drawn_record(
            session,
            batch,
            q=query or None,
            unit=unit or None,
            page=number,
            per_page=TASKS_PER_PAGE,
            full_workload=False,
        )
        pages = page_links(record["matching"], number, TASKS_PER_PAGE, {"q": query, "unit": unit})
    context: dict[str, Any] = {
        "batch": pub,
        "items": item_names(session),
        "departments": departments,
        "commitments": [commitment_view(c, departments) for c in reversed(pub.commitments)],
        "record": record,
        "pages": pages,
        "per_page": TASKS_PER_PAGE,
        "q": query,
        "unit": unit,
        "units": _units(session, batch) if pub.seed else [],
        "base_url": request.app.state.settings.public_url.rstrip("/"),
    }
    return render(request, "public/batch.html", context, title=f"{pub.name}（{pub.code}）")


_SOURCE = re.compile(r"/[A-Za-z0-9/_.-]{1,200}")


@router.get("/batches/{code}/verify")
def verify_batch(
    request: Request, code: str, session: SessionDep, user: PageUser, source: str = ""
) -> Response:
    """The in-browser verifier. ``source`` (a path on this site) points it at another copy of
    the files — how a test serves it a tampered bundle; anything else is ignored."""
    batch = public_batch(session, code)
    pub = pq.batch_public(session, batch)
    if not pub.seed:
        raise NotFound(f"批次“{code}”尚未抽取，还没有可核验的结果", f"batch {code!r} is not drawn")
    base = f"/api/v1/batches/{code}"
    sources = {
        "bundle": f"{base}/bundle.json",
        "pool": f"{base}/files/pool.tsv",
        "roster": f"{base}/files/roster.tsv",
    }
    if _SOURCE.fullmatch(source) and ".." not in source and not source.startswith("//"):
        sources = {k: f"{source.rstrip('/')}/{v.rsplit('/', 1)[1]}" for k, v in sources.items()}
    current = current_commitment(pub)
    return render(
        request,
        "public/verify_batch.html",
        {
            "batch": pub,
            "sources": sources,
            "sealed": pq.is_sealed(session, batch),
            "pool_size": current.params.get("pool_size", 0) if current else 0,
        },
        title=f"核验 · {pub.name}",
    )


def _ceremony_context(
    request: Request, session: Session, batch: Batch, user: Any, first: int
) -> dict[str, Any]:
    """What the ceremony page and presentation mode show: the announced time, place and
    source, whether entry is open now (and late), the beacon round, the drawn list's head."""
    pub = pq.batch_public(session, batch)
    settings = request.app.state.settings
    rules = CeremonyRules.of(settings)
    now = request.app.state.clock.now()
    at = as_utc(pub.ceremony_at) if pub.ceremony_at else None
    c = freeze_q.active_commitment(session, batch)
    beacon = commitment_beacon(c) if c is not None else None
    return {
        "batch": pub,
        "commitment": current_commitment(pub),
        "first": task_views(session, batch, first=first) if pub.seed else [],
        "selected_total": pq.draw_facts(session, batch).summary["total"] if pub.seed else 0,
        "can_enter": is_planner(user)
        and pub.state == BatchState.frozen
        and pub.entropy_source != "beacon",
        "ceremony_time": china_time(at) if at else "",
        "opens_now": at is None or now >= at,
        "late": at is not None and now > at + rules.grace,
        "beacon_round": beacon.round if beacon else None,
        "beacon_chain": beacon.chain_hash if beacon else None,
        "source_label": ENTROPY_SOURCES.get(pub.entropy_source, pub.entropy_source),
    }


def _ceremony(
    request: Request,
    session: Session,
    batch: Batch,
    user: Any,
    *,
    entered: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = _ceremony_context(request, session, batch, user, CEREMONY_FIRST)
    pub = context["batch"]
    entered = entered or {"entropy": "", "witnesses": "", "late_reason": ""}
    return render(
        request,
        "public/ceremony.html",
        {**context, "entered": entered, "error": error, "max_lines": MAX_ENTROPY_LINES},
        status_code=status_code,
        title=f"抽取仪式 · {pub.name}",
    )


PRESENT_STEPS = ("批次与承诺", "见证人", "熵值", "种子", "抽中名单", "公开记录")
PRESENT_FIRST = 24


@router.get("/batches/{code}/present")
def present(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    step: int = 1,
    witnesses: str = "",
) -> Response:
    """The ceremony on a projector: one step per screen, advanced by the planner."""
    batch = pq.visible_batch(session, code, user)
    step = min(max(step, 1), len(PRESENT_STEPS))
    context = _ceremony_context(request, session, batch, user, PRESENT_FIRST)
    record_url = f"{request.app.state.settings.public_url.rstrip('/')}/batches/{code}"
    qr = segno.make(record_url, error="m").svg_data_uri(scale=8, border=2)
    return render(
        request,
        "public/present.html",
        {
            **context,
            "step": step,
            "steps": PRESENT_STEPS,
            "witnesses_text": witnesses[:2000],
            "entered": {"entropy": "", "late_reason": ""},
            "error": None,
            "record_url": record_url,
            "qr": qr,
        },
        title=f"抽取仪式（演示）· {context['batch'].name}",
    )


def witness_lines(text: str) -> tuple[list[dict[str, str]], str | None]:
    """One witness per line, "姓名：身份" (a half-width colon too); blank lines are skipped."""
    people = []
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        name, sep, role = line.replace("：", ":").partition(":")
        if not sep or not name.strip() or not role.strip():
            return [], f"见证人第{n}行应为“姓名：身份”，例如“张伟：人大代表”"
        people.append({"name": name.strip(), "role": role.strip()})
    return people, None


@router.get("/batches/{code}/ceremony")
def ceremony(request: Request, code: str, session: SessionDep, user: PageUser) -> Response:
    return _ceremony(request, session, public_batch(session, code), user)


def entropy_lines(text: str) -> list[str]:
    """One entropy string per textarea line, verbatim; trailing empty lines are dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def entropy_problem(lines: list[str], confirmed: bool) -> str | None:
    """Say in Chinese what is wrong with the entered lines, before the protocol refuses them."""
    if not lines:
        return "请至少输入一行熵值（每行一个来源，例如见证人掷出的骰子点数）"
    for n, line in enumerate(lines, start=1):
        if line == "":
            return f"第{n}行是空行：每一行都会作为一个熵值原样使用，请删除空行后再提交"
        if not unicodedata.is_normalized("NFC", line):
            return f"第{n}行含有非规范形式（非 NFC）的 Unicode 字符，请重新键入该行"
    try:
        ps.EntropyCreate(entropy=lines)
    except ValidationError as exc:
        return "；".join(validation_messages(exc.errors(), {"entropy": "熵值"}))
    if not confirmed:
        return "请勾选“我确认熵值已当众产生，提交后不可更改”后再提交"
    return None


@router.post("/batches/{code}/ceremony")
def ceremony_submit(
    request: Request,
    code: str,
    session: SessionDep,
    user: PlannerPage,
    clock: ClockDep,
    settings: SettingsDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    batch = pq.visible_batch(session, code, user)
    entropy = str(form.get("entropy") or "")
    confirm = form.get("confirm")
    lines = entropy_lines(entropy)
    problem = entropy_problem(lines, confirm == "yes")
    witnesses, witness_problem = witness_lines(str(form.get("witnesses") or ""))
    problem = problem or witness_problem
    late_reason = str(form.get("late_reason") or "").strip() or None
    back = str(form.get("back") or "")
    entered = {
        "entropy": entropy,
        "witnesses": str(form.get("witnesses") or ""),
        "late_reason": late_reason or "",
    }
    if problem is None:
        try:
            with attempt(session):
                drawing.enter_entropy(
                    session,
                    code,
                    lines,
                    actor=user.username,
                    clock=clock,
                    storage=settings.storage_dir,
                    rules=CeremonyRules.of(settings),
                    witnesses=witnesses,
                    late_reason=late_reason,
                )
            warm_after_commit(request, code)
        except DomainError as exc:
            return _ceremony(
                request, session, batch, user, entered=entered, error=exc.zh, status_code=exc.status
            )
        target = (
            f"/batches/{code}/present?step=4" if back == "present" else f"/batches/{code}/ceremony"
        )
        return redirect(target, "熵值已录入，抽取完成。结果已公开，不可更改。")
    return _ceremony(request, session, batch, user, entered=entered, error=problem, status_code=400)


@router.get("/verify")
def verify_page(request: Request, session: SessionDep, user: PageUser) -> Response:
    return render(
        request,
        "public/verify.html",
        {
            "example": worked_example(session),
            "base_url": request.app.state.settings.public_url.rstrip("/"),
        },
        title="如何核验抽取结果",
    )


def worked_example(session: Session) -> dict[str, Any] | None:
    """The protocol's steps recomputed on the most recent public draw, to show real numbers."""
    drawn = [b for b in pq.list_batches(session, None) if b.seed]
    if not drawn:
        return None
    pub = max(drawn, key=lambda b: b.drawn_at)
    current = current_commitment(pub)
    if current is None:
        return None
    batch = service.get_batch(session, pub.code)
    tasks = task_views(session, batch, first=3)
    first = tasks  # positions follow the selected list: smallest tickets first
    lead = tasks[0] if tasks else None
    leader = lead.team[0] if lead and lead.team else None
    canonical = sr1.canonical_json(current.params)
    sealed = current.params.get("protocol") == sr1.SEALED
    # sr2 orders the selected list by the public pairing-order ticket TP(u) = H(seed:P:u);
    # sr1 by the entity ticket TE(u) = H(seed:E:u).
    kind = "P" if sealed else "E"
    ticket_of = {t.uscc: sr1.order_ticket(pub.seed, t.uscc) if sealed else t.ticket for t in first}
    return {
        "batch": pub,
        "params": current.params,
        "canonical": canonical,
        "commitment": current.commitment,
        "commitment_ok": sr1.H(canonical) == current.commitment,
        "entropy": pub.entropy,
        "seed_input": "\n".join([current.commitment, *pub.entropy]),
        "seed": pub.seed,
        "seed_ok": sr1.seed(current.commitment, pub.entropy) == pub.seed,
        "seed_command": sha256_command([current.commitment, *pub.entropy]),
        "sealed": sealed,
        "ticket_command": sha256_command([f"{pub.seed}:{kind}:{lead.uscc}"]) if lead else "",
        "first": first,
        "first_tickets": ticket_of,
        "lead": lead,
        "lead_input": f"{pub.seed}:{kind}:{lead.uscc}" if lead else "",
        "lead_ticket": ticket_of.get(lead.uscc, "") if lead else "",
        # sr1: the published ticket is recomputed; sr2: the list really follows the TP order.
        "lead_ticket_ok": lead is not None
        and (
            list(ticket_of.values()) == sorted(ticket_of.values())
            if sealed
            else sr1.entity_ticket(pub.seed, lead.uscc) == lead.ticket
        ),
        "leader": leader,
        "leader_input": f"{pub.seed}:I:{lead.uscc}:{leader['badge_no']}" if leader else "",
        "leader_ticket": sr1.pairing_ticket(pub.seed, lead.uscc, leader["badge_no"])
        if leader
        else "",
    }


def sha256_command(parts: list[str]) -> str:
    """A shell line hashing the parts joined by LF (no trailing LF), for readers to re-run."""
    fmt = "\\n".join(["%s"] * len(parts))
    args = " ".join(shlex.quote(p) for p in parts)
    return f"printf '{fmt}' {args} | sha256sum    # macOS：把 sha256sum 换成 shasum -a 256"


@router.get("/verify.py")
def verify_script() -> Response:
    return Response(
        standalone_verifier_source(),
        media_type="text/x-python; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="verify.py"'},
    )
