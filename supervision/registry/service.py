"""Registry operations. Services take a Session, flush, and never commit."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, literal, or_
from sqlmodel import Session, col, select

from supervision.audit.service import record_change
from supervision.clock import Clock, SystemClock
from supervision.disclosure import Audience, restrict, visible
from supervision.errors import Conflict, Invalid, NotFound
from supervision.registry import schemas as s
from supervision.registry.models import (
    AnnualReport,
    ConflictDeclaration,
    Department,
    Entity,
    EntityStatus,
    InspectionItem,
    Inspector,
    Unit,
    entity_date_problem,
)
from supervision.registry.uscc import validate_uscc

MAX_PAGE_SIZE = 200


@dataclass
class EntityFilter:
    q: str | None = None
    region_code: str | None = None
    supervising_unit: str | None = None
    industry_code: str | None = None
    entity_type: str | None = None
    status: str | None = None
    risk_class: str | None = None
    uscc_check_ok: bool | None = None
    # Only these entities (a subquery of entity ids), e.g. those of an inspector's own tasks.
    among: Any = None


def _page_bounds(page: int, page_size: int) -> tuple[int, int]:
    if page < 1:
        raise Invalid("页码须从1开始", "page starts at 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid(f"每页条数须在1–{MAX_PAGE_SIZE}之间", f"page_size must be 1..{MAX_PAGE_SIZE}")
    return (page - 1) * page_size, page_size


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---- entities -----------------------------------------------------------------------------


def _require_unit(session: Session, code: str) -> None:
    if session.get(Unit, code) is None:
        raise Invalid(f"管辖单位“{code}”不存在", f"unit {code!r} does not exist")


def _require_department(session: Session, code: str) -> None:
    if session.get(Department, code) is None:
        raise Invalid(f"部门“{code}”不存在", f"department {code!r} does not exist")


def annual_report_years(session: Session, uscc: str) -> list[int]:
    return list(
        session.exec(
            select(AnnualReport.year).where(AnnualReport.uscc == uscc).order_by(AnnualReport.year)
        )
    )


def entity_staff_view(session: Session, entity: Entity, audience: Audience) -> s.EntityStaff:
    """The entity with the fields ``audience`` may read (unread fields are left unset)."""
    keep = visible("entity", audience)
    data = s.EntityStaff.model_validate(entity).model_dump()
    if "annual_report_years" in keep:
        data["annual_report_years"] = annual_report_years(session, entity.uscc)
    return s.EntityStaff(**{k: v for k, v in data.items() if k in keep})


def get_entity(session: Session, uscc: str) -> Entity:
    entity = session.exec(select(Entity).where(Entity.uscc == uscc.strip().upper())).first()
    if entity is None:
        raise NotFound(f"未找到统一社会信用代码为“{uscc}”的市场主体", f"no entity {uscc!r}")
    return entity


def entity_names(session: Session, usccs: list[str]) -> dict[str, str]:
    """Names by credit code, for the codes that exist."""
    out: dict[str, str] = {}
    for i in range(0, len(usccs), 500):
        chunk = usccs[i : i + 500]
        out.update(
            session.exec(select(Entity.uscc, Entity.name).where(col(Entity.uscc).in_(chunk))).all()
        )
    return out


def inspector_names(session: Session, badges: list[str]) -> dict[str, str]:
    """Names by badge number, for the badges that exist."""
    out: dict[str, str] = {}
    for i in range(0, len(badges), 500):
        chunk = badges[i : i + 500]
        out.update(
            session.exec(
                select(Inspector.badge_no, Inspector.name).where(col(Inspector.badge_no).in_(chunk))
            ).all()
        )
    return out


def list_entities(
    session: Session, flt: EntityFilter, page: int = 1, page_size: int = 50
) -> tuple[list[Entity], int]:
    offset, limit = _page_bounds(page, page_size)
    conds: list[Any] = []
    if flt.q:
        q = flt.q.strip()
        conds.append(
            or_(
                col(Entity.name).like(f"%{_like_escape(q)}%", escape="\\"),
                col(Entity.uscc).like(f"{_like_escape(q.upper())}%", escape="\\"),
            )
        )
    for field in ("region_code", "supervising_unit", "entity_type", "status", "risk_class"):
        value = getattr(flt, field)
        if value:
            conds.append(getattr(Entity, field) == value)
    if flt.industry_code:
        conds.append(
            col(Entity.industry_code).like(f"{_like_escape(flt.industry_code)}%", escape="\\")
        )
    if flt.uscc_check_ok is not None:
        conds.append(Entity.uscc_check_ok == flt.uscc_check_ok)
    if flt.among is not None:
        conds.append(col(Entity.id).in_(flt.among))
    total = session.exec(select(func.count()).select_from(Entity).where(*conds)).one()
    rows = session.exec(
        select(Entity).where(*conds).order_by(Entity.uscc).offset(offset).limit(limit)
    ).all()
    return list(rows), total


def _set_annual_reports(session: Session, uscc: str, years: list[int], today: date) -> None:
    bad = [y for y in years if not 1990 <= y <= today.year]
    if bad:
        raise Invalid(f"年报年度超出范围：{bad}", f"annual report years out of range: {bad}")
    session.exec(delete(AnnualReport).where(AnnualReport.uscc == uscc))
    for year in sorted(set(years)):
        session.add(AnnualReport(uscc=uscc, year=year))


NO_REVOKED_ON_WARNING = (
    "登记状态为吊销但未填写吊销日期，该主体不会列为强制注销候选 / "
    "revoked without revoked_on: never a compulsory-deregistration candidate"
)


def _check_entity_dates(entity: Entity | s.EntityCreate, today: date) -> None:
    """Refuse an entity whose dates contradict each other, its status or today."""
    problem = entity_date_problem(
        established_on=entity.established_on,
        status=entity.status,
        opened_on=entity.opened_on,
        ceased_trading_on=entity.ceased_trading_on,
        revoked_on=entity.revoked_on,
        today=today,
    )
    if problem is not None:
        _field, zh, en = problem
        raise Invalid(zh, en)


def create_entity(
    session: Session, data: s.EntityCreate, *, actor: str, clock: Clock | None = None
) -> tuple[Entity, list[str]]:
    """Create one entity; returns it and any warnings (a flagged check character, a revoked
    entity without its revocation date)."""
    clock = clock or SystemClock()
    check = validate_uscc(data.uscc)
    if session.exec(select(Entity.id).where(Entity.uscc == check.code)).first():
        raise Conflict(f"统一社会信用代码“{check.code}”已存在", f"entity {check.code} exists")
    _require_unit(session, data.supervising_unit)
    if data.established_on > clock.today():
        raise Invalid("成立日期不能晚于今天", "established_on is in the future")
    _check_entity_dates(data, clock.today())
    now = clock.now()
    fields = data.model_dump(exclude={"uscc", "annual_report_years"})
    entity = Entity(
        uscc=check.code, uscc_check_ok=check.check_ok, created_at=now, updated_at=now, **fields
    )
    session.add(entity)
    session.flush()
    _set_annual_reports(session, check.code, data.annual_report_years, clock.today())
    session.flush()
    record_change(session, actor, "registry.entity.create", "entity", check.code, {}, clock)
    warnings = [check.warning] if check.warning else []
    if entity.status == EntityStatus.revoked and entity.revoked_on is None:
        warnings.append(NO_REVOKED_ON_WARNING)
    return entity, warnings


def update_entity(
    session: Session, uscc: str, data: s.EntityUpdate, *, actor: str, clock: Clock | None = None
) -> Entity:
    clock = clock or SystemClock()
    entity = get_entity(session, uscc)
    changes = data.model_dump(exclude_unset=True, exclude={"annual_report_years"})
    for key in (
        "name",
        "entity_type",
        "legal_rep",
        "registered_address",
        "region_code",
        "industry_code",
        "registration_authority",
        "supervising_unit",
        "established_on",
        "status",
        "risk_class",
    ):
        if key in changes and changes[key] is None:
            raise Invalid(f"字段“{key}”不能置空", f"{key} cannot be null")
    if "supervising_unit" in changes:
        _require_unit(session, changes["supervising_unit"])
    if changes.get("established_on") and changes["established_on"] > clock.today():
        raise Invalid("成立日期不能晚于今天", "established_on is in the future")
    dates = ("established_on", "status", "opened_on", "ceased_trading_on", "revoked_on")
    if any(key in changes for key in dates):
        merged = {key: changes.get(key, getattr(entity, key)) for key in dates}
        problem = entity_date_problem(**merged, today=clock.today())
        if problem is not None:
            raise Invalid(problem[1], problem[2])
    for key, value in changes.items():
        setattr(entity, key, value)
    entity.updated_at = clock.now()
    session.add(entity)
    if data.annual_report_years is not None:
        _set_annual_reports(session, entity.uscc, data.annual_report_years, clock.today())
        changes["annual_report_years"] = data.annual_report_years
    session.flush()
    record_change(
        session,
        actor,
        "registry.entity.update",
        "entity",
        entity.uscc,
        {"fields": sorted(changes)},
        clock,
    )
    return entity


# ---- inspectors ---------------------------------------------------------------------------


def inspector_staff_view(inspector: Inspector, audience: Audience) -> s.InspectorStaff:
    """The inspector with the fields ``audience`` may read (unread fields are left unset)."""
    data = inspector.model_dump()
    data["qualifications"] = [q for q in inspector.qualifications.split(",") if q]
    return s.InspectorStaff(**restrict("inspector", audience, data))


def get_inspector(session: Session, badge_no: str) -> Inspector:
    row = session.exec(select(Inspector).where(Inspector.badge_no == badge_no.strip())).first()
    if row is None:
        raise NotFound(f"未找到执法证号为“{badge_no}”的执法检查人员", f"no inspector {badge_no!r}")
    return row


def list_inspectors(
    session: Session,
    *,
    q: str | None = None,
    department_code: str | None = None,
    unit_code: str | None = None,
    qualification: str | None = None,
    active: bool | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Inspector], int]:
    offset, limit = _page_bounds(page, page_size)
    conds: list[Any] = []
    if q:
        conds.append(
            or_(
                col(Inspector.name).like(f"%{_like_escape(q.strip())}%", escape="\\"),
                col(Inspector.badge_no).like(f"{_like_escape(q.strip())}%", escape="\\"),
            )
        )
    if department_code:
        conds.append(Inspector.department_code == department_code)
    if unit_code:
        conds.append(Inspector.unit_code == unit_code)
    if qualification:
        # Canonical comma-joined codes: match a whole code, not a substring of another.
        padded = literal(",") + col(Inspector.qualifications) + literal(",")
        conds.append(padded.like(f"%,{_like_escape(qualification)},%", escape="\\"))
    if active is not None:
        conds.append(Inspector.active == active)
    total = session.exec(select(func.count()).select_from(Inspector).where(*conds)).one()
    rows = session.exec(
        select(Inspector).where(*conds).order_by(Inspector.badge_no).offset(offset).limit(limit)
    ).all()
    return list(rows), total


def create_inspector(
    session: Session, data: s.InspectorCreate, *, actor: str, clock: Clock | None = None
) -> Inspector:
    clock = clock or SystemClock()
    if session.exec(select(Inspector.id).where(Inspector.badge_no == data.badge_no)).first():
        raise Conflict(f"执法证号“{data.badge_no}”已存在", f"inspector {data.badge_no} exists")
    _require_department(session, data.department_code)
    _require_unit(session, data.unit_code)
    now = clock.now()
    fields = data.model_dump()
    fields["qualifications"] = ",".join(data.qualifications)
    inspector = Inspector(created_at=now, updated_at=now, **fields)
    session.add(inspector)
    session.flush()
    record_change(
        session, actor, "registry.inspector.create", "inspector", data.badge_no, {}, clock
    )
    return inspector


def update_inspector(
    session: Session,
    badge_no: str,
    data: s.InspectorUpdate,
    *,
    actor: str,
    clock: Clock | None = None,
) -> Inspector:
    clock = clock or SystemClock()
    inspector = get_inspector(session, badge_no)
    changes = data.model_dump(exclude_unset=True)
    for key in ("name", "department_code", "unit_code", "qualifications", "active", "is_expert"):
        if key in changes and changes[key] is None:
            raise Invalid(f"字段“{key}”不能置空", f"{key} cannot be null")
    if "department_code" in changes:
        _require_department(session, changes["department_code"])
    if "unit_code" in changes:
        _require_unit(session, changes["unit_code"])
    if "qualifications" in changes:
        changes["qualifications"] = ",".join(changes["qualifications"])
    for key, value in changes.items():
        setattr(inspector, key, value)
    inspector.updated_at = clock.now()
    session.add(inspector)
    session.flush()
    record_change(
        session,
        actor,
        "registry.inspector.update",
        "inspector",
        inspector.badge_no,
        {"fields": sorted(changes)},
        clock,
    )
    return inspector


# ---- items, departments, units ------------------------------------------------------------


def item_public_view(item: InspectionItem) -> s.ItemPublic:
    data = item.model_dump()
    data["methods"] = [m for m in item.methods.split(",") if m]
    data["participating_departments"] = [d for d in item.participating_departments.split(",") if d]
    return s.ItemPublic.model_validate(data)


def list_items(session: Session, *, active_only: bool = False) -> list[InspectionItem]:
    stmt = select(InspectionItem).order_by(InspectionItem.code)
    if active_only:
        stmt = stmt.where(InspectionItem.active == True)  # noqa: E712
    return list(session.exec(stmt))


def get_item(session: Session, code: str) -> InspectionItem:
    item = session.get(InspectionItem, code)
    if item is None:
        raise NotFound(f"未找到抽查事项“{code}”", f"no inspection item {code!r}")
    return item


def _item_departments(session: Session, department: str | None, participating: list[str]) -> None:
    for code in ([department] if department else []) + participating:
        _require_department(session, code)


def create_item(
    session: Session, data: s.ItemCreate, *, actor: str, clock: Clock | None = None
) -> InspectionItem:
    if session.get(InspectionItem, data.code):
        raise Conflict(f"抽查事项编码“{data.code}”已存在", f"item {data.code} exists")
    _item_departments(session, data.department_code, data.participating_departments)
    fields = data.model_dump()
    fields["methods"] = ",".join(data.methods)
    fields["participating_departments"] = ",".join(sorted(set(data.participating_departments)))
    item = InspectionItem(**fields)
    session.add(item)
    session.flush()
    record_change(session, actor, "registry.item.create", "item", data.code, {}, clock)
    return item


def update_item(
    session: Session, code: str, data: s.ItemUpdate, *, actor: str, clock: Clock | None = None
) -> InspectionItem:
    item = get_item(session, code)
    changes = data.model_dump(exclude_unset=True)
    for key in ("name", "legal_basis", "object_type", "content", "methods", "category", "active"):
        if key in changes and changes[key] is None:
            raise Invalid(f"字段“{key}”不能置空", f"{key} cannot be null")
    if "participating_departments" in changes:
        parts = changes["participating_departments"] or []
        _item_departments(session, None, parts)
        changes["participating_departments"] = ",".join(sorted(set(parts)))
    if "methods" in changes:
        changes["methods"] = ",".join(changes["methods"])
    for key, value in changes.items():
        setattr(item, key, value)
    session.add(item)
    session.flush()
    record_change(
        session, actor, "registry.item.update", "item", code, {"fields": sorted(changes)}, clock
    )
    return item


def create_department(
    session: Session, data: s.DepartmentCreate, *, actor: str, clock: Clock | None = None
) -> Department:
    if session.get(Department, data.code):
        raise Conflict(f"部门代码“{data.code}”已存在", f"department {data.code} exists")
    dept = Department(**data.model_dump())
    session.add(dept)
    session.flush()
    record_change(session, actor, "registry.department.create", "department", data.code, {}, clock)
    return dept


def create_unit(
    session: Session, data: s.UnitCreate, *, actor: str, clock: Clock | None = None
) -> Unit:
    if session.get(Unit, data.code):
        raise Conflict(f"单位代码“{data.code}”已存在", f"unit {data.code} exists")
    _require_department(session, data.department_code)
    unit = Unit(**data.model_dump())
    session.add(unit)
    session.flush()
    record_change(session, actor, "registry.unit.create", "unit", data.code, {}, clock)
    return unit


# ---- conflicts of interest ----------------------------------------------------------------


def conflict_view(session: Session, row: ConflictDeclaration) -> s.ConflictStaff:
    inspector = session.get(Inspector, row.inspector_id)
    entity = session.get(Entity, row.entity_id)
    return s.ConflictStaff(
        id=row.id,
        inspector_badge=inspector.badge_no,
        uscc=entity.uscc,
        reason=row.reason,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def declare_conflict(
    session: Session, data: s.ConflictCreate, *, actor: str, clock: Clock | None = None
) -> ConflictDeclaration:
    clock = clock or SystemClock()
    if data.valid_until is not None and data.valid_until < data.valid_from:
        raise Invalid("回避截止日期早于起始日期", "valid_until is before valid_from")
    inspector = get_inspector(session, data.inspector_badge)
    entity = get_entity(session, data.uscc)
    dup = session.exec(
        select(ConflictDeclaration.id).where(
            ConflictDeclaration.inspector_id == inspector.id,
            ConflictDeclaration.entity_id == entity.id,
            ConflictDeclaration.valid_from == data.valid_from,
        )
    ).first()
    if dup:
        raise Conflict("该回避声明已存在", "this conflict declaration already exists")
    row = ConflictDeclaration(
        inspector_id=inspector.id,
        entity_id=entity.id,
        reason=data.reason.strip(),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        declared_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        "registry.conflict.declare",
        "conflict",
        str(row.id),
        {"inspector": inspector.badge_no, "uscc": entity.uscc},
        clock,
    )
    return row


def end_conflict(
    session: Session,
    conflict_id: int,
    valid_until: date,
    *,
    actor: str,
    clock: Clock | None = None,
) -> ConflictDeclaration:
    """Conflicts are never deleted: a declaration ends on a date, and the record stays."""
    row = session.get(ConflictDeclaration, conflict_id)
    if row is None:
        raise NotFound(f"未找到回避声明{conflict_id}", f"no conflict {conflict_id}")
    if valid_until < row.valid_from:
        raise Invalid("回避截止日期早于起始日期", "valid_until is before valid_from")
    row.valid_until = valid_until
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        "registry.conflict.end",
        "conflict",
        str(conflict_id),
        {"valid_until": valid_until.isoformat()},
        clock,
    )
    return row


def list_conflicts(
    session: Session,
    *,
    inspector_badge: str | None = None,
    uscc: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[ConflictDeclaration], int]:
    offset, limit = _page_bounds(page, page_size)
    conds: list[Any] = []
    if inspector_badge:
        conds.append(ConflictDeclaration.inspector_id == get_inspector(session, inspector_badge).id)
    if uscc:
        conds.append(ConflictDeclaration.entity_id == get_entity(session, uscc).id)
    total = session.exec(select(func.count()).select_from(ConflictDeclaration).where(*conds)).one()
    rows = session.exec(
        select(ConflictDeclaration)
        .where(*conds)
        .order_by(ConflictDeclaration.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total
