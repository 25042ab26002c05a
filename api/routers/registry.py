"""Registries in the JSON API: entities, inspectors, items, departments, units, conflicts."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import select

from api.deps import ClockDep, SessionDep, ShortText
from api.errors import ERROR_RESPONSES
from api.roles import Admin, ConflictWriter, Planner, Staff, StaffReader
from api.scope import entity_scope
from supervision.accounts.models import Role, User
from supervision.disclosure import audience_of
from supervision.errors import Forbidden
from supervision.registry import queries, service
from supervision.registry import schemas as s
from supervision.registry.models import (
    Department,
    EntityStatus,
    EntityType,
    Industry,
    Inspector,
    Region,
    RiskClass,
    Unit,
)

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=ERROR_RESPONSES)

PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)]


class EntityWritten(BaseModel):
    entity: s.EntityStaff
    warnings: list[str]


# ---- entities -----------------------------------------------------------------------------


@router.get(
    "/entities",
    response_model=s.Page[s.EntityStaff],
    response_model_exclude_unset=True,
    summary="市场主体名录（工作人员；字段按角色，检查人员仅见本人任务对象）",
)
def list_entities(
    session: SessionDep,
    user: Staff,
    q: ShortText = None,
    region_code: ShortText = None,
    supervising_unit: ShortText = None,
    industry_code: ShortText = None,
    entity_type: EntityType | None = None,
    status: EntityStatus | None = None,
    risk_class: RiskClass | None = None,
    uscc_check_ok: bool | None = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> s.Page[s.EntityStaff]:
    scope = entity_scope(user)
    scope.refuse_hidden_filters(
        risk_class=risk_class, uscc_check_ok=uscc_check_ok, supervising_unit=supervising_unit
    )
    flt = service.EntityFilter(
        q,
        region_code,
        supervising_unit,
        industry_code,
        entity_type,
        status,
        risk_class,
        uscc_check_ok,
        among=scope.among,
    )
    rows, total = service.list_entities(session, flt, page, page_size)
    items = [service.entity_staff_view(session, e, scope.audience) for e in rows]
    return s.Page(items=items, total=total, page=page, page_size=page_size)


@router.get(
    "/entities/{uscc}",
    response_model=s.EntityStaff,
    response_model_exclude_unset=True,
    summary="市场主体详情（字段按角色）",
)
def get_entity(uscc: str, session: SessionDep, user: Staff) -> s.EntityStaff:
    scope = entity_scope(user)
    entity = service.get_entity(session, uscc)
    scope.check(session, entity)
    return service.entity_staff_view(session, entity, scope.audience)


@router.post("/entities", response_model=EntityWritten, status_code=201, summary="新增市场主体")
def create_entity(
    data: s.EntityCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> EntityWritten:
    entity, warnings = service.create_entity(session, data, actor=user.username, clock=clock)
    return EntityWritten(
        entity=service.entity_staff_view(session, entity, audience_of(user)), warnings=warnings
    )


@router.patch("/entities/{uscc}", response_model=s.EntityStaff, summary="修改市场主体")
def update_entity(
    uscc: str, data: s.EntityUpdate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.EntityStaff:
    entity = service.update_entity(session, uscc, data, actor=user.username, clock=clock)
    return service.entity_staff_view(session, entity, audience_of(user))


# ---- inspectors ---------------------------------------------------------------------------


@router.get(
    "/inspectors",
    response_model=s.Page[s.InspectorStaff],
    response_model_exclude_unset=True,
    summary="执法检查人员名录（字段按角色：电话仅计划管理员、系统管理员可见）",
)
def list_inspectors(
    session: SessionDep,
    user: Staff,
    q: ShortText = None,
    department_code: ShortText = None,
    unit_code: ShortText = None,
    qualification: ShortText = None,
    active: bool | None = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> s.Page[s.InspectorStaff]:
    rows, total = service.list_inspectors(
        session,
        q=q,
        department_code=department_code,
        unit_code=unit_code,
        qualification=qualification,
        active=active,
        page=page,
        page_size=page_size,
    )
    items = [service.inspector_staff_view(i, audience_of(user)) for i in rows]
    return s.Page(items=items, total=total, page=page, page_size=page_size)


@router.get(
    "/inspectors/{badge_no}",
    response_model=s.InspectorStaff,
    response_model_exclude_unset=True,
    summary="执法检查人员详情（字段按角色）",
)
def get_inspector(badge_no: str, session: SessionDep, user: Staff) -> s.InspectorStaff:
    inspector = service.get_inspector(session, badge_no)
    return service.inspector_staff_view(inspector, audience_of(user))


@router.post(
    "/inspectors", response_model=s.InspectorStaff, status_code=201, summary="新增执法检查人员"
)
def create_inspector(
    data: s.InspectorCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.InspectorStaff:
    row = service.create_inspector(session, data, actor=user.username, clock=clock)
    return service.inspector_staff_view(row, audience_of(user))


@router.patch("/inspectors/{badge_no}", response_model=s.InspectorStaff, summary="修改执法检查人员")
def update_inspector(
    badge_no: str, data: s.InspectorUpdate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.InspectorStaff:
    row = service.update_inspector(session, badge_no, data, actor=user.username, clock=clock)
    return service.inspector_staff_view(row, audience_of(user))


# ---- inspection items (published) -------------------------------------------------------


@router.get("/items", response_model=list[s.ItemPublic], summary="随机抽查事项清单（公开）")
def list_items(session: SessionDep, active_only: bool = False) -> list[s.ItemPublic]:
    return [
        service.item_public_view(i) for i in service.list_items(session, active_only=active_only)
    ]


@router.get("/items/{code}", response_model=s.ItemPublic, summary="抽查事项详情（公开）")
def get_item(code: str, session: SessionDep) -> s.ItemPublic:
    return service.item_public_view(service.get_item(session, code))


@router.post("/items", response_model=s.ItemPublic, status_code=201, summary="新增抽查事项")
def create_item(
    data: s.ItemCreate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.ItemPublic:
    return service.item_public_view(
        service.create_item(session, data, actor=user.username, clock=clock)
    )


@router.patch("/items/{code}", response_model=s.ItemPublic, summary="修改抽查事项")
def update_item(
    code: str, data: s.ItemUpdate, session: SessionDep, user: Planner, clock: ClockDep
) -> s.ItemPublic:
    return service.item_public_view(
        service.update_item(session, code, data, actor=user.username, clock=clock)
    )


# ---- departments, units, reference codes (public) -----------------------------------------


@router.get("/departments", response_model=list[Department], summary="部门（公开）")
def list_departments(session: SessionDep) -> list[Department]:
    return queries.list_departments(session)


@router.post("/departments", response_model=Department, status_code=201, summary="新增部门")
def create_department(
    data: s.DepartmentCreate,
    session: SessionDep,
    user: Admin,
    clock: ClockDep,
) -> Department:
    return service.create_department(session, data, actor=user.username, clock=clock)


@router.get("/units", response_model=list[Unit], summary="单位（公开）")
def list_units(session: SessionDep) -> list[Unit]:
    return queries.list_units(session)


@router.post("/units", response_model=Unit, status_code=201, summary="新增单位")
def create_unit(
    data: s.UnitCreate,
    session: SessionDep,
    user: Admin,
    clock: ClockDep,
) -> Unit:
    return service.create_unit(session, data, actor=user.username, clock=clock)


@router.get("/regions", response_model=list[Region], summary="行政区划代码（公开）")
def list_regions(session: SessionDep) -> list[Region]:
    return list(session.exec(select(Region).order_by(Region.code)))


@router.get("/industries", response_model=list[Industry], summary="国民经济行业分类（公开）")
def list_industries(session: SessionDep) -> list[Industry]:
    return list(session.exec(select(Industry).order_by(Industry.code)))


# ---- declared conflicts (private) --------------------------------------------------------


def _own_badge_only(session: SessionDep, user: User, badge: str) -> None:
    """An inspector may declare or end only their own conflicts."""
    if user.role == Role.inspector:
        me = session.get(Inspector, user.inspector_id) if user.inspector_id else None
        if me is None or me.badge_no != badge:
            raise Forbidden("执法检查人员只能申报本人的回避", "inspectors declare only their own")


@router.get("/conflicts", response_model=s.Page[s.ConflictStaff], summary="回避声明（内部）")
def list_conflicts(
    session: SessionDep,
    user: StaffReader,
    inspector_badge: ShortText = None,
    uscc: ShortText = None,
    page: PageNo = 1,
    page_size: PageSize = 50,
) -> s.Page[s.ConflictStaff]:
    rows, total = service.list_conflicts(
        session, inspector_badge=inspector_badge, uscc=uscc, page=page, page_size=page_size
    )
    items = [service.conflict_view(session, r) for r in rows]
    return s.Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/conflicts", response_model=s.ConflictStaff, status_code=201, summary="申报回避")
def declare_conflict(
    data: s.ConflictCreate, session: SessionDep, user: ConflictWriter, clock: ClockDep
) -> s.ConflictStaff:
    _own_badge_only(session, user, data.inspector_badge)
    row = service.declare_conflict(session, data, actor=user.username, clock=clock)
    return service.conflict_view(session, row)


@router.post("/conflicts/{conflict_id}/end", response_model=s.ConflictStaff, summary="结束回避")
def end_conflict(
    conflict_id: int, data: s.ConflictEnd, session: SessionDep, user: Planner, clock: ClockDep
) -> s.ConflictStaff:
    row = service.end_conflict(
        session, conflict_id, data.valid_until, actor=user.username, clock=clock
    )
    return service.conflict_view(session, row)
