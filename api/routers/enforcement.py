"""The lists, restrictions and candidates in the JSON API.

The public reads published list entries; other departments (liaison) ask for restrictions;
planners and reviewers see proposals and candidates, reviewers decide. Routes parse, call the
service and shape the answer.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request

from api.deps import (
    CalendarDep,
    ClockDep,
    RulebookDep,
    SessionDep,
    ShortText,
    inline_read,
    run_db,
)
from api.errors import ERROR_RESPONSES
from api.roles import Admin, Liaison, Planner, Reviewer, StaffReader
from supervision.enforcement import decisions, escalation, queries, service, zombies
from supervision.enforcement import restrictions as r
from supervision.enforcement import schemas as s
from supervision.enforcement.models import CandidateKind, EntryState, ListKind

router = APIRouter(prefix="/api/v1", tags=["enforcement"], responses=ERROR_RESPONSES)

Uscc = Annotated[str, Path(pattern=s.USCC_PATTERN, description="统一社会信用代码")]
EntryId = Annotated[int, Path(ge=1, le=2_147_483_647, description="名录记录编号")]
CandidateId = Annotated[int, Path(ge=1, le=2_147_483_647, description="候选记录编号")]
Day = Annotated[date, Query(description="日期（默认今天）")]
Proposer = StaffReader
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


# ---- public --------------------------------------------------------------------------------


@router.get(
    "/lists/{list_kind}/entries",
    response_model=s.ListEntriesPublicPage,
    summary="公示的经营异常名录 / 严重违法失信名单（名称、代码、事由、日期、作出机关）",
)
def public_list(
    list_kind: ListKind,
    session: SessionDep,
    book: RulebookDep,
    q: ShortText = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> s.ListEntriesPublicPage:
    q = (q or "").strip() or None
    return queries.public_entries(
        session, book, list_kind=list_kind, q=q, page=page, per_page=per_page
    )


@router.get(
    "/credit-measures", response_model=list[s.MeasurePublic], summary="某日施行的信用惩戒措施"
)
def credit_measures(
    book: RulebookDep, clock: ClockDep, on: Day | None = None
) -> list[s.MeasurePublic]:
    return r.measures(book, on or clock.today())


# ---- other departments ---------------------------------------------------------------------
# A lookup only reads: on SQLite its transaction begins deferred (see api.deps.get_session),
# so concurrent lookups never queue for the write lock.

RESTRICTIONS_PATH = "/api/v1/entities/{uscc}/restrictions"


def document_measures(app: FastAPI, codes: list[str]) -> None:
    """Name the rulebook's measure codes in the OpenAPI schema of the lookup.

    The codes are data (a jurisdiction adds local measures in its own file), so the route
    checks them against the rulebook in force, and the schema lists those known when the
    service started.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for param in schema["paths"][RESTRICTIONS_PATH]["get"]["parameters"]:
                if param["name"] == "measure":
                    param["schema"]["enum"] = codes
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@router.get(
    RESTRICTIONS_PATH.removeprefix("/api/v1"),
    dependencies=[Depends(inline_read)],
    response_model=s.RestrictionAnswer,
    summary="某市场主体某日是否受某项信用惩戒措施限制（含理由、名录记录、法律依据、期限）",
)
async def entity_restrictions(
    request: Request,
    uscc: Uscc,
    session: SessionDep,
    user: Liaison,
    book: RulebookDep,
    clock: ClockDep,
    measure: Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")],
    on: Day | None = None,
) -> s.RestrictionAnswer:
    # Two or three indexed reads: inline on SQLite, in the thread pool on a server database.
    return await run_db(request, r.restrictions, session, book, uscc, measure, on or clock.today())


# ---- staff: entries ------------------------------------------------------------------------


@router.get(
    "/enforcement/entries", response_model=list[s.ListEntryStaff], summary="名录记录（工作人员）"
)
def entries(
    session: SessionDep,
    user: StaffReader,
    book: RulebookDep,
    list_kind: ListKind | None = None,
    state: EntryState | None = None,
    uscc: Annotated[str | None, Query(pattern=s.USCC_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[s.ListEntryStaff]:
    return queries.list_entries(
        session, book, list_kind=list_kind, state=state, uscc=uscc, limit=limit, offset=offset
    )


@router.post(
    "/enforcement/entries", response_model=s.ListEntryStaff, status_code=201, summary="提出列入建议"
)
def propose(
    data: s.ProposalCreate, session: SessionDep, user: Proposer, clock: ClockDep, book: RulebookDep
) -> s.ListEntryStaff:
    entry = service.propose(session, data, user=user, clock=clock, book=book)
    return queries.entry_out(session, entry, book)


@router.get(
    "/enforcement/entries/{entry_id}",
    response_model=s.ListEntryStaff,
    summary="名录记录及其全部过程",
)
def entry(
    entry_id: EntryId, session: SessionDep, user: StaffReader, book: RulebookDep
) -> s.ListEntryStaff:
    return queries.entry_out(session, service.get_entry(session, entry_id), book)


@router.get(
    "/entities/{uscc}/list-history",
    response_model=list[s.ListEntryStaff],
    summary="市场主体的名录历史（全部记录与过程）",
)
def list_history(
    uscc: Uscc, session: SessionDep, user: StaffReader, book: RulebookDep
) -> list[s.ListEntryStaff]:
    return queries.history(session, uscc, book)


@router.post(
    "/enforcement/entries/{entry_id}/decision",
    response_model=s.ListEntryStaff,
    summary="决定列入（文号、日期、理由、依据）或不予列入",
)
def decide(
    entry_id: EntryId,
    data: s.DecisionCreate,
    session: SessionDep,
    user: Reviewer,
    clock: ClockDep,
    book: RulebookDep,
) -> s.ListEntryStaff:
    entry = decisions.decide(session, entry_id, data, user=user, clock=clock, book=book)
    return queries.entry_out(session, entry, book)


@router.post(
    "/enforcement/decisions/bulk",
    response_model=s.BulkDecisionResult,
    summary="批量决定：同一决定、日期、理由和依据，每户各自的决定记录和文号（全部成功或全部不执行）",
)
def decide_bulk(
    data: s.BulkDecisionCreate,
    session: SessionDep,
    user: Reviewer,
    clock: ClockDep,
    book: RulebookDep,
) -> s.BulkDecisionResult:
    out = decisions.decide_many(session, data, user=user, clock=clock, book=book)
    numbers = [n for _, _, n in out.decided if n]
    return s.BulkDecisionResult(
        decided=len(out.decided),
        refused=[{"entry_id": i, "uscc": u, "reason": why} for i, u, why in out.refused],
        first_number=numbers[0] if numbers else None,
        last_number=numbers[-1] if numbers else None,
    )


@router.post(
    "/enforcement/entries/{entry_id}/objections",
    response_model=s.ListEntryStaff,
    summary="登记市场主体的异议（列入公示之日起30日内；受理期限随之起算）",
)
def file_objection(
    entry_id: EntryId,
    data: s.ObjectionCreate,
    session: SessionDep,
    user: Proposer,
    clock: ClockDep,
    book: RulebookDep,
    calendar: CalendarDep,
) -> s.ListEntryStaff:
    entry = decisions.file_objection(
        session, entry_id, data, user=user, clock=clock, book=book, calendar=calendar
    )
    return queries.entry_out(session, entry, book)


@router.post(
    "/enforcement/entries/{entry_id}/order",
    response_model=s.ListEntryStaff,
    summary="登记书面责令限期公示即时信息的通知（期满仍未公示方可列入；列入期限自期满起算）",
)
def record_order(
    entry_id: EntryId,
    data: s.OrderCreate,
    session: SessionDep,
    user: Proposer,
    clock: ClockDep,
    book: RulebookDep,
    calendar: CalendarDep,
) -> s.ListEntryStaff:
    entry = decisions.record_order(
        session, entry_id, data, user=user, clock=clock, book=book, calendar=calendar
    )
    return queries.entry_out(session, entry, book)


@router.post(
    "/enforcement/entries/{entry_id}/approval",
    response_model=s.ListEntryStaff,
    summary="上一级市场监督管理部门同意或不同意列入严重违法失信名单（总局令第44号；管理员代为审批）",
)
def approve_entry(
    entry_id: EntryId,
    data: s.ApprovalCreate,
    session: SessionDep,
    user: Admin,
    clock: ClockDep,
    book: RulebookDep,
) -> s.ListEntryStaff:
    entry = decisions.approve(session, entry_id, data, user=user, clock=clock, book=book)
    return queries.entry_out(session, entry, book)


@router.post(
    "/enforcement/entries/{entry_id}/objections/acceptance",
    response_model=s.ListEntryStaff,
    summary="受理或不予受理异议（5个工作日内；受理后核实期限起算）",
)
def accept_objection(
    entry_id: EntryId,
    data: s.ObjectionAcceptanceCreate,
    session: SessionDep,
    user: Reviewer,
    clock: ClockDep,
    book: RulebookDep,
    calendar: CalendarDep,
) -> s.ListEntryStaff:
    entry = decisions.accept_objection(
        session, entry_id, data, user=user, clock=clock, book=book, calendar=calendar
    )
    return queries.entry_out(session, entry, book)


@router.get(
    "/enforcement/objections",
    response_model=list[s.ObjectionClockStaff],
    summary="待受理、待核实的异议及其期限（最近到期在前）",
)
def objection_clocks(
    session: SessionDep, user: Reviewer, clock: ClockDep, calendar: CalendarDep, book: RulebookDep
) -> list[s.ObjectionClockStaff]:
    return [
        s.ObjectionClockStaff(**c.__dict__)
        for c in decisions.objection_clocks(session, clock.today(), calendar, book=book)
    ]


@router.post(
    "/enforcement/entries/{entry_id}/objections/decision",
    response_model=s.ListEntryStaff,
    summary="异议处理结果（成立则撤销列入）",
)
def decide_objection(
    entry_id: EntryId,
    data: s.ObjectionDecisionCreate,
    session: SessionDep,
    user: Reviewer,
    clock: ClockDep,
    book: RulebookDep,
    calendar: CalendarDep,
) -> s.ListEntryStaff:
    entry = decisions.decide_objection(
        session, entry_id, data, user=user, clock=clock, book=book, calendar=calendar
    )
    return queries.entry_out(session, entry, book)


@router.post(
    "/enforcement/entries/{entry_id}/removal",
    response_model=s.ListEntryStaff,
    summary="移出（须列明更正证据；逾期作出的标记为逾期）",
)
def remove(
    entry_id: EntryId,
    data: s.RemovalCreate,
    session: SessionDep,
    user: Reviewer,
    clock: ClockDep,
    book: RulebookDep,
) -> s.ListEntryStaff:
    entry = decisions.remove(session, entry_id, data, user=user, clock=clock, book=book)
    return queries.entry_out(session, entry, book)


# ---- staff: candidates and jobs ------------------------------------------------------------


@router.get(
    "/enforcement/candidates",
    response_model=list[s.CandidateStaff],
    summary="僵死企业、吊销及强制注销候选（附证据，待人工决定）",
)
def candidates(
    session: SessionDep,
    user: StaffReader,
    kind: CandidateKind | None = None,
    state: Annotated[str | None, Query(pattern=r"^(open|decided)$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[s.CandidateStaff]:
    return zombies.list_candidates(session, kind=kind, state=state, limit=limit, offset=offset)


@router.post(
    "/enforcement/candidates/{candidate_id}/decision",
    response_model=s.CandidateStaff,
    summary="对候选作出决定（唤醒、提出吊销、公告、不予处理）",
)
def decide_candidate(
    candidate_id: CandidateId,
    data: s.CandidateDecisionCreate,
    session: SessionDep,
    user: Reviewer,
    clock: ClockDep,
) -> s.CandidateStaff:
    row = zombies.decide_candidate(session, candidate_id, data, user=user, clock=clock)
    return zombies.candidate_out(session, row)


@router.post(
    "/enforcement/jobs/annual-reports",
    response_model=s.JobRunSummary,
    summary="6月30日后：对未报送上一年度年报的市场主体提出列入建议（批量）",
)
def job_annual_reports(
    session: SessionDep,
    user: Planner,
    clock: ClockDep,
    book: RulebookDep,
    year: Annotated[int, Query(ge=2015, le=2100)],
) -> s.JobRunSummary:
    n = service.propose_annual_report_listings(session, clock, year, book=book, actor=user.username)
    return s.JobRunSummary(job="annual-reports", created=n, detail={"reporting_year": year - 1})


@router.post(
    "/enforcement/jobs/results",
    response_model=s.JobRunSummary,
    summary="根据已公示检查结果提出列入建议",
)
def job_results(
    session: SessionDep, user: Planner, clock: ClockDep, book: RulebookDep
) -> s.JobRunSummary:
    n = service.propose_from_results(session, clock, book, actor=user.username)
    return s.JobRunSummary(job="results", created=n)


@router.post(
    "/enforcement/jobs/escalation",
    response_model=s.JobRunSummary,
    summary="按现行规则：届满提醒、列入严重违法名单建议或吊销候选；严重违法名单期满移出",
)
def job_escalation(
    session: SessionDep, user: Planner, clock: ClockDep, book: RulebookDep
) -> s.JobRunSummary:
    out = escalation.escalate(session, clock, book, actor=user.username)
    out["expired"] = decisions.expire_serious(session, clock, actor=user.username)
    return s.JobRunSummary(job="escalation", created=sum(out.values()), detail=out)


@router.post(
    "/enforcement/jobs/zombies",
    response_model=s.JobRunSummary,
    summary="查找僵死企业与强制注销候选（批量）",
)
def job_zombies(
    session: SessionDep, user: Planner, clock: ClockDep, book: RulebookDep
) -> s.JobRunSummary:
    detail = {
        **zombies.all_zombie_candidates(session, clock, book, actor=user.username),
        "compulsory_deregistration": zombies.deregistration_candidates(
            session, clock, book, actor=user.username
        ),
    }
    return s.JobRunSummary(job="zombies", created=sum(detail.values()), detail=detail)
