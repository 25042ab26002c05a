"""Registries: departments, units, reference codes, market entities, inspectors, items, conflicts.

Table models are never request bodies; `*Create`/`*Update` validate input and `*Public`/`*Staff`
decide what a reader sees (the schema is the privacy boundary).
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel


class EntityType(StrEnum):
    enterprise = "enterprise"  # 企业
    individual = "individual"  # 个体工商户
    cooperative = "cooperative"  # 农民专业合作社


class EntityStatus(StrEnum):
    active = "active"  # 存续/在营
    suspended = "suspended"  # 歇业
    revoked = "revoked"  # 吊销
    deregistered = "deregistered"  # 注销
    moved_out = "moved_out"  # 迁出


# The statuses that owe an annual report (a revoked or deregistered entity files none).
REPORTING_STATUSES = (EntityStatus.active, EntityStatus.suspended)


class RiskClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


ENTITY_TYPE_LABELS = {
    "enterprise": "企业",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
}
ENTITY_STATUS_LABELS = {
    "active": "存续（在营）",
    "suspended": "歇业",
    "revoked": "吊销",
    "deregistered": "注销",
    "moved_out": "迁出",
}


class Department(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=100)


class Unit(SQLModel, table=True):
    """An organisational unit: a bureau office or a market-supervision station (市场监管所)."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    department_code: str = Field(foreign_key="department.code", max_length=16)
    region_code: str | None = Field(default=None, max_length=12)


class Region(SQLModel, table=True):
    """GB/T 2260 administrative divisions (and township codes below them)."""

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16)  # province / prefecture / county / township
    parent_code: str | None = Field(default=None, max_length=12)


class Industry(SQLModel, table=True):
    """GB/T 4754-2017 sections (letters) and divisions (two digits)."""

    code: str = Field(primary_key=True, max_length=8)
    name: str = Field(max_length=200)
    level: str = Field(max_length=16)  # section / division
    parent_code: str | None = Field(default=None, max_length=8)


class EntityBase(SQLModel):
    name: str = Field(max_length=200)
    entity_type: EntityType = Field(max_length=16)
    legal_rep: str = Field(max_length=100)
    registered_address: str = Field(max_length=300)
    business_address: str | None = Field(default=None, max_length=300)
    region_code: str = Field(max_length=12)
    industry_code: str = Field(max_length=8)
    registration_authority: str = Field(max_length=100)
    supervising_unit: str = Field(max_length=32)
    established_on: date
    status: EntityStatus = Field(default=EntityStatus.active, max_length=16)
    # 开业日期: the day the business actually started trading; None = not known to have opened.
    opened_on: date | None = None
    # 自行停业起始日: trading observed to have stopped without a lawful suspension (歇业) being
    # filed; None = trading (as far as is known).
    ceased_trading_on: date | None = None
    # 吊销营业执照日期: set for revoked entities (and kept when a revoked entity is deregistered);
    # without it a revoked entity is never a compulsory-deregistration candidate.
    revoked_on: date | None = None


class Entity(EntityBase, table=True):
    __table_args__ = (
        Index("ix_entity_unit_status", "supervising_unit", "status"),
        Index("ix_entity_region", "region_code"),
        Index("ix_entity_industry", "industry_code"),
        Index("ix_entity_legal_rep_id_no", "legal_rep_id_no"),
        # Exact names, and the ordered scan that short search fragments fall back to.
        Index("ix_entity_name", "name"),
    )
    id: int | None = Field(default=None, primary_key=True)
    uscc: str = Field(max_length=18, unique=True)
    uscc_check_ok: bool = True
    # 省级区划: the region code's first two digits, always. On PostgreSQL the registry is
    # partitioned by it (`registry.partitions`); written by whoever writes the region code
    # (`province_of`: the column default for Core inserts, the mapper events below for ORM
    # writes, the importer's own statements).
    province: str = Field(
        max_length=2,
        sa_column_kwargs={
            "default": lambda ctx: province_of(ctx.get_current_parameters()["region_code"])
        },
    )
    # Private fields: never on a public page or file.
    legal_rep_id_no: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    risk_class: RiskClass = Field(default=RiskClass.B, max_length=1)
    created_at: datetime
    updated_at: datetime


def province_of(region_code: str) -> str:
    """The province-level division a region code belongs to (GB/T 2260: its first two digits)."""
    return region_code[:2]


@event.listens_for(Entity, "before_insert")
@event.listens_for(Entity, "before_update")
def _entity_province(_mapper: object, _conn: object, entity: Entity) -> None:
    entity.province = province_of(entity.region_code)


class AnnualReport(SQLModel, table=True):
    """One filed annual report (年报) of an entity for a reporting year."""

    __tablename__ = "annual_report"
    uscc: str = Field(foreign_key="entity.uscc", primary_key=True, max_length=18)
    year: int = Field(primary_key=True)
    filed_on: date | None = None


class TaxFiling(SQLModel, table=True):
    """Tax data exchanged with the tax office (涉税信息): one entity's return for a year.

    Optional: only entities whose tax data was imported have rows. A row says whether a
    return was filed for the year (`filed`, with the date when known); its absence says
    nothing.
    """

    __tablename__ = "tax_filing"
    uscc: str = Field(foreign_key="entity.uscc", primary_key=True, max_length=18)
    year: int = Field(primary_key=True)
    filed: bool
    filed_on: date | None = None


class InspectorBase(SQLModel):
    name: str = Field(max_length=50)
    department_code: str = Field(foreign_key="department.code", max_length=16)
    unit_code: str = Field(foreign_key="unit.code", max_length=32)
    # Canonical form: sorted, unique codes joined by "," (the sr1 roster field as it is).
    qualifications: str = Field(default="", max_length=300)
    active: bool = True
    is_expert: bool = False
    cert_valid_until: date | None = None


class Inspector(InspectorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    badge_no: str = Field(max_length=32, unique=True)
    phone: str | None = Field(default=None, max_length=32)
    created_at: datetime
    updated_at: datetime


class InspectionItem(SQLModel, table=True):
    """One line of the published inspection item list (随机抽查事项清单)."""

    __tablename__ = "inspection_item"
    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    legal_basis: str = Field(sa_column=Column(Text, nullable=False))
    department_code: str = Field(foreign_key="department.code", max_length=16)
    object_type: str = Field(max_length=100)
    content: str = Field(sa_column=Column(Text, nullable=False))
    methods: str = Field(max_length=64)  # comma-joined: desk, onsite, online
    category: str = Field(max_length=16)  # general / key
    qualification: str | None = Field(default=None, max_length=32)
    participating_departments: str = Field(default="", max_length=200)
    active: bool = True


class ConflictDeclaration(SQLModel, table=True):
    """A declared conflict of interest (回避): the pair must never be drawn together."""

    __tablename__ = "conflict_declaration"
    __table_args__ = (UniqueConstraint("inspector_id", "entity_id", "valid_from"),)
    id: int | None = Field(default=None, primary_key=True)
    inspector_id: int = Field(foreign_key="inspector.id", index=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    reason: str = Field(max_length=500)
    valid_from: date
    valid_until: date | None = None
    declared_at: datetime


# Statuses an entity with a revocation date may have: revoked, or revoked and since
# deregistered (the date stays as history).
REVOKED_ON_STATUSES = (EntityStatus.revoked, EntityStatus.deregistered)
ENTITY_DATE_LABELS = {
    "established_on": "成立日期",
    "opened_on": "开业日期",
    "ceased_trading_on": "自行停业日期",
    "revoked_on": "吊销日期",
}


def entity_date_problem(
    *,
    established_on: date | None,
    status: str | None,
    opened_on: date | None,
    ceased_trading_on: date | None,
    revoked_on: date | None,
    today: date | None = None,
) -> tuple[str, str, str] | None:
    """The first inconsistency among an entity's dates: (field, zh, en), or None.

    A date is never after today nor before the establishment; self-suspension starts after
    opening; only a revoked entity (or one revoked and then deregistered) has a revocation
    date. An argument that is None is not checked (`status` None: not known).
    """
    for name, day in (
        ("opened_on", opened_on),
        ("ceased_trading_on", ceased_trading_on),
        ("revoked_on", revoked_on),
    ):
        if day is None:
            continue
        label = ENTITY_DATE_LABELS[name]
        if today is not None and day > today:
            return name, f"{label}（{day}）不能晚于今天（{today}）", f"{name} {day} is after today"
        if established_on is not None and day < established_on:
            return (
                name,
                f"{label}（{day}）不能早于成立日期（{established_on}）",
                f"{name} {day} is before established_on {established_on}",
            )
    if opened_on is not None and ceased_trading_on is not None and ceased_trading_on < opened_on:
        return (
            "ceased_trading_on",
            f"自行停业日期（{ceased_trading_on}）不能早于开业日期（{opened_on}）",
            f"ceased_trading_on {ceased_trading_on} is before opened_on {opened_on}",
        )
    if revoked_on is not None and status is not None and status not in REVOKED_ON_STATUSES:
        shown = ENTITY_STATUS_LABELS.get(str(status), str(status))
        return (
            "revoked_on",
            f"登记状态为“{shown}”的市场主体不能有吊销日期（仅吊销或吊销后注销的主体有）",
            f"an entity with status {status} cannot have revoked_on (only revoked or "
            "deregistered after revocation)",
        )
    return None


def canonical_qualifications(raw: str | list[str] | None) -> str:
    """Sorted, de-duplicated codes joined by ',' — the roster's QUALIFICATIONS field."""
    if raw is None:
        return ""
    parts = raw if isinstance(raw, list) else raw.replace("，", ",").replace("、", ",").split(",")
    codes = sorted({p.strip() for p in parts if p.strip()})
    for c in codes:
        if not c.isascii() or not c.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"资格代码无效 / invalid qualification code: {c!r}")
    return ",".join(codes)
