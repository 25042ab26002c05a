"""Candidate pages: zombie enterprises, licence revocation and compulsory deregistration.

What the rulebook found, with its evidence, for a person to decide (唤醒 / 提出吊销 / 公告 /
不予处理). Planners and reviewers read; reviewers decide — the same rules as the JSON API
(supervision.enforcement.zombies). A refused decision is rolled back and shown again next to
the form, in Chinese, with the entered values kept.
"""

import math
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import ClockDep, SessionDep
from api.pages.enforcement import FIELD_LABELS, form_values
from api.pages.render import (
    CsrfChecked,
    FormDep,
    PageRoute,
    attempt,
    form_optional,
    form_text,
    page_links,
    redirect,
    render,
    validation_messages,
)
from api.roles import ReaderPage, ReviewerPage, page_context
from supervision.accounts.models import Role, User
from supervision.clock import Clock
from supervision.enforcement import schemas as s
from supervision.enforcement import zombies
from supervision.enforcement.models import CandidateKind, EnforcementCandidate
from supervision.errors import DomainError, NotFound
from supervision.formatting import cn_date

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[Depends(page_context)]
)
CandidateId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PAGE_SIZE = 50

KIND_LABELS = {
    "zombie": "僵死企业",
    "revocation": "吊销营业执照候选",
    "compulsory_deregistration": "强制注销公告候选",
}
STATE_LABELS = {"open": "待决定", "decided": "已决定"}
DECISION_LABELS = {
    "wake_up": "唤醒（督促恢复经营、补报年报）",
    "revocation_proposal": "提出吊销营业执照",
    "notice": "发布强制注销公告",
    "dismissed": "不予处理",
}
FINDING_LABELS = {
    "missed_annual_reports": "连续未报送年度报告",
    "not_opened": "成立后无正当理由超过六个月未开业",
    "ceased_trading": "开业后自行停业连续六个月以上",
    # Compulsory deregistration: licence revoked, ordered closed or registration cancelled.
    "revoked": "被吊销营业执照、责令关闭或者被撤销满三年",
}
# Evidence keys in the order shown; keys not listed here are shown after them, as they are.
EVIDENCE_LABELS = {
    "finding": "认定情形",
    "missing_annual_reports": "未报送年报的年度",
    "tax_returns": "纳税申报",
    "established_on": "成立日期",
    "established_on_or_before": "成立日期不晚于",
    "opened_on": "开业日期",
    "annual_reports_filed": "已报送的年度报告",
    "tax_returns_filed": "已申报的纳税申报",
    "ceased_trading_on": "自行停业日期",
    "months": "法定期限（月）",
    "status": "登记状态",
    "revoked_on": "吊销日期",
    "revoked_years": "吊销后未注销（年）",
    "notice_days": "公告期（日）",
    "listed_entry": "经营异常名录记录",
    "decision_no": "列入决定书文号",
    "listed_on": "列入日期",
    "reason": "列入事由",
    "rule": "规则",
    "legal_basis": "依据",
    "next_step": "下一步",
}
STATUS_LABELS = {"active": "存续（在营）", "suspended": "歇业", "revoked": "吊销"}
REASON_LABELS = {"unreachable": "通过登记的住所或者经营场所无法联系"}


def _evidence_rows(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """(label, text, link) rows of a candidate's evidence, in a reader's order."""
    keys = [k for k in EVIDENCE_LABELS if k in evidence]
    keys += sorted(k for k in evidence if k not in EVIDENCE_LABELS)
    rows = []
    for key in keys:
        value = evidence[key]
        href = None
        if key == "finding":
            text = FINDING_LABELS.get(str(value), str(value))
        elif key == "tax_returns" and isinstance(value, dict):
            text = str(value.get("note", ""))
        elif key == "status":
            text = STATUS_LABELS.get(str(value), str(value))
        elif key == "reason":
            text = REASON_LABELS.get(str(value), str(value))
        elif key == "listed_entry" and value:
            text, href = f"第{value}号", f"/staff/enforcement/{value}"
        elif isinstance(value, list):
            text = "、".join(str(v) for v in value) if value else "无"
        elif key in ("annual_reports_filed", "tax_returns_filed"):
            text = "无" if not value else str(value)
        elif value is None:
            text = "无记录"
        elif key.endswith(("_on", "_before")) and isinstance(value, str):
            try:
                text = cn_date(date.fromisoformat(value))
            except ValueError:
                text = value
        else:
            text = str(value)
        rows.append({"label": EVIDENCE_LABELS.get(key, key), "text": text, "href": href})
    return rows


def _common(user: User) -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "decision_labels": DECISION_LABELS,
        "finding_labels": FINDING_LABELS,
        "is_reviewer": user.role in (Role.reviewer, Role.admin),
    }


@router.get("/staff/candidates")
def candidate_list(
    request: Request,
    session: SessionDep,
    user: ReaderPage,
    kind: str = "",
    state: str = "open",
    page: str = "1",
) -> Response:
    chosen = CandidateKind(kind) if kind in KIND_LABELS else None
    state = state if state in (*STATE_LABELS, "all") else "open"
    wanted = None if state == "all" else state
    counts = zombies.count_candidates(session, state=wanted)
    total = sum(n for k, n in counts.items() if chosen is None or k == chosen)
    last = max(1, math.ceil(total / PAGE_SIZE))
    number = min(int(page), last) if page.isdigit() and int(page) > 0 else 1
    rows = zombies.list_candidates(
        session, kind=chosen, state=wanted, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    filters = {"kind": chosen.value if chosen else "", "state": state}
    context = {
        **_common(user),
        "rows": rows,
        "counts": counts,
        "kind": chosen.value if chosen else "",
        "state": state,
        "pages": page_links(total, number, PAGE_SIZE, filters, "/staff/candidates"),
    }
    return render(request, "enforcement/candidates.html", context, title="候选与处置")


def _candidate_page(
    request: Request,
    session: Session,
    user: User,
    candidate_id: int,
    clock: Clock,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    row = session.get(EnforcementCandidate, candidate_id)
    if row is None:
        raise NotFound(f"未找到候选记录 {candidate_id}", f"no candidate {candidate_id}")
    candidate = zombies.candidate_out(session, row)
    context = {
        **_common(user),
        "c": candidate,
        "evidence": _evidence_rows(candidate.evidence),
        "decisions": zombies.DECISIONS[candidate.kind],
        "today": clock.today(),
        "values": values or {},
        "errors": errors or [],
    }
    title = f"{KIND_LABELS[candidate.kind]} · {candidate.entity_name}"
    return render(
        request, "enforcement/candidate.html", context, status_code=status_code, title=title
    )


@router.get("/staff/candidates/{candidate_id}")
def candidate_detail(
    request: Request,
    candidate_id: CandidateId,
    session: SessionDep,
    user: ReaderPage,
    clock: ClockDep,
) -> Response:
    return _candidate_page(request, session, user, candidate_id, clock)


@router.post("/staff/candidates/{candidate_id}/decision")
def candidate_decide(
    request: Request,
    candidate_id: CandidateId,
    session: SessionDep,
    user: ReviewerPage,
    clock: ClockDep,
    form: FormDep,
    _csrf: None = CsrfChecked,
) -> Response:
    body = {
        "decision": form_text(form, "decision"),
        "note": form_text(form, "note"),
        "decided_on": form_optional(form, "decided_on"),
    }
    try:
        data = s.CandidateDecisionCreate.model_validate(body)
        with attempt(session):
            zombies.decide_candidate(session, candidate_id, data, user=user, clock=clock)
    except ValidationError as exc:
        errors = validation_messages(exc.errors(), FIELD_LABELS)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        errors = [exc.zh]
    else:
        label = DECISION_LABELS.get(body["decision"], body["decision"])
        return redirect(f"/staff/candidates/{candidate_id}", f"已决定：{label}")
    return _candidate_page(
        request,
        session,
        user,
        candidate_id,
        clock,
        values=form_values(form),
        errors=errors,
        status_code=400,
    )
