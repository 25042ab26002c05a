"""Request and response schemas of the registries (validation at the edge; privacy by schema)."""

from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from supervision.registry.models import (
    EntityStatus,
    EntityType,
    RiskClass,
    canonical_qualifications,
    entity_date_problem,
)
from supervision.registry.uscc import UsccError, validate_uscc
from supervision.validation import StrictInput

T = TypeVar("T")

_REGION = r"^\d{6}(\d{3})?(\d{3})?$"
_CODE = r"^[A-Za-z0-9_.\-]+$"


def _nonblank(v: str) -> str:
    v = v.strip()
    if not v:
        raise ValueError("不能为空 / must not be blank")
    if any(c in v for c in "\t\r\n\x00"):
        raise ValueError("不能包含制表符、换行或空字符 / no TAB, CR, LF or NUL")
    return v


_Strict = StrictInput


class EntityFields(_Strict):
    name: str = Field(min_length=1, max_length=200)
    entity_type: EntityType
    legal_rep: str = Field(min_length=1, max_length=100)
    registered_address: str = Field(min_length=1, max_length=300)
    business_address: str | None = Field(default=None, max_length=300)
    region_code: str = Field(pattern=_REGION)
    industry_code: str = Field(min_length=1, max_length=8, pattern=_CODE)
    registration_authority: str = Field(min_length=1, max_length=100)
    supervising_unit: str = Field(min_length=1, max_length=32, pattern=_CODE)
    established_on: date
    status: EntityStatus = EntityStatus.active
    legal_rep_id_no: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    risk_class: RiskClass = RiskClass.B
    # 开业日期 (None: not known to have opened), 自行停业起始日 (None: trading), 吊销日期.
    opened_on: date | None = None
    ceased_trading_on: date | None = None
    revoked_on: date | None = None

    _blank = field_validator("name", "legal_rep", "registered_address", "registration_authority")(
        _nonblank
    )

    @model_validator(mode="after")
    def _dates(self) -> "EntityFields":
        # Dates after today are refused by the service, which knows the clock.
        problem = entity_date_problem(
            established_on=self.established_on,
            status=self.status,
            opened_on=self.opened_on,
            ceased_trading_on=self.ceased_trading_on,
            revoked_on=self.revoked_on,
        )
        if problem is not None:
            raise ValueError(f"{problem[1]} / {problem[2]}")
        return self


class EntityCreate(EntityFields):
    # Length is checked by validate_uscc, whose message says what is wrong.
    uscc: str = Field(max_length=64)
    annual_report_years: list[int] = Field(default_factory=list, max_length=100)

    @field_validator("uscc")
    @classmethod
    def _uscc_shape(cls, v: str) -> str:
        try:
            return validate_uscc(v).code
        except UsccError as e:
            raise ValueError(str(e)) from None


class EntityUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    entity_type: EntityType | None = None
    legal_rep: str | None = Field(default=None, min_length=1, max_length=100)
    registered_address: str | None = Field(default=None, min_length=1, max_length=300)
    business_address: str | None = Field(default=None, max_length=300)
    region_code: str | None = Field(default=None, pattern=_REGION)
    industry_code: str | None = Field(default=None, min_length=1, max_length=8, pattern=_CODE)
    registration_authority: str | None = Field(default=None, min_length=1, max_length=100)
    supervising_unit: str | None = Field(default=None, min_length=1, max_length=32, pattern=_CODE)
    established_on: date | None = None
    status: EntityStatus | None = None
    legal_rep_id_no: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    risk_class: RiskClass | None = None
    annual_report_years: list[int] | None = Field(default=None, max_length=100)
    # null clears the date; checked against the stored fields by the service.
    opened_on: date | None = None
    ceased_trading_on: date | None = None
    revoked_on: date | None = None


class EntityStaff(BaseModel):
    """An entity as a staff member reads it: the fields `supervision.disclosure` gives the
    reader's role. The fields some staff roles do not read are optional here; a response
    leaves out every field the role does not see (they are never sent as null)."""

    model_config = ConfigDict(from_attributes=True)
    uscc: str
    uscc_check_ok: bool | None = None
    name: str
    entity_type: EntityType
    legal_rep: str
    registered_address: str
    business_address: str | None
    region_code: str
    industry_code: str
    registration_authority: str
    supervising_unit: str
    established_on: date
    status: EntityStatus
    legal_rep_id_no: str | None = None
    phone: str | None = None
    risk_class: RiskClass | None = None
    opened_on: date | None = None
    ceased_trading_on: date | None = None
    revoked_on: date | None = None
    annual_report_years: list[int] = []


class EntityPublic(BaseModel):
    """What the public may see of an entity: no identity numbers, phones or risk class."""

    model_config = ConfigDict(from_attributes=True)
    uscc: str
    name: str
    entity_type: EntityType
    legal_rep: str
    registered_address: str
    region_code: str
    industry_code: str
    status: EntityStatus


class InspectorFields(_Strict):
    name: str = Field(min_length=1, max_length=50)
    department_code: str = Field(min_length=1, max_length=16, pattern=_CODE)
    unit_code: str = Field(min_length=1, max_length=32, pattern=_CODE)
    qualifications: list[str] = Field(default_factory=list, max_length=50)
    active: bool = True
    is_expert: bool = False
    cert_valid_until: date | None = None
    phone: str | None = Field(default=None, max_length=32)

    _blank = field_validator("name")(_nonblank)

    @field_validator("qualifications")
    @classmethod
    def _quals(cls, v: list[str]) -> list[str]:
        return [q for q in canonical_qualifications(v).split(",") if q]


class InspectorCreate(InspectorFields):
    badge_no: str = Field(min_length=1, max_length=32, pattern=_CODE)


class InspectorUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    department_code: str | None = Field(default=None, min_length=1, max_length=16, pattern=_CODE)
    unit_code: str | None = Field(default=None, min_length=1, max_length=32, pattern=_CODE)
    qualifications: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None
    is_expert: bool | None = None
    cert_valid_until: date | None = None
    phone: str | None = Field(default=None, max_length=32)

    @field_validator("qualifications")
    @classmethod
    def _quals(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else [q for q in canonical_qualifications(v).split(",") if q]


class InspectorStaff(BaseModel):
    """An inspector as a staff member reads it (fields per `supervision.disclosure`)."""

    model_config = ConfigDict(from_attributes=True)
    badge_no: str
    name: str
    department_code: str
    unit_code: str
    qualifications: list[str]
    active: bool
    is_expert: bool
    cert_valid_until: date | None = None
    phone: str | None = None


class InspectorPublic(BaseModel):
    """Badge number and name are public (they are printed on every notice); phones are not."""

    badge_no: str
    name: str
    department_code: str
    unit_code: str


class ItemFields(_Strict):
    name: str = Field(min_length=1, max_length=200)
    legal_basis: str = Field(min_length=1, max_length=4000)
    department_code: str = Field(min_length=1, max_length=16, pattern=_CODE)
    object_type: str = Field(min_length=1, max_length=100)
    content: str = Field(min_length=1, max_length=4000)
    methods: list[str] = Field(min_length=1, max_length=3)
    category: str = Field(pattern=r"^(general|key)$")
    qualification: str | None = Field(default=None, max_length=32, pattern=_CODE)
    participating_departments: list[str] = Field(default_factory=list, max_length=20)
    active: bool = True

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: list[str]) -> list[str]:
        allowed = {"desk", "onsite", "online"}
        bad = [m for m in v if m not in allowed]
        if bad:
            raise ValueError(f"检查方式须为 desk/onsite/online / unknown methods {bad}")
        return sorted(set(v))


class ItemCreate(ItemFields):
    code: str = Field(min_length=1, max_length=32, pattern=_CODE)


class ItemUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    legal_basis: str | None = Field(default=None, min_length=1, max_length=4000)
    object_type: str | None = Field(default=None, min_length=1, max_length=100)
    content: str | None = Field(default=None, min_length=1, max_length=4000)
    methods: list[str] | None = Field(default=None, min_length=1, max_length=3)
    category: str | None = Field(default=None, pattern=r"^(general|key)$")
    qualification: str | None = Field(default=None, max_length=32, pattern=_CODE)
    participating_departments: list[str] | None = Field(default=None, max_length=20)
    active: bool | None = None


class ItemPublic(BaseModel):
    code: str
    name: str
    legal_basis: str
    department_code: str
    object_type: str
    content: str
    methods: list[str]
    category: str
    qualification: str | None
    participating_departments: list[str]
    active: bool


class DepartmentCreate(_Strict):
    code: str = Field(min_length=1, max_length=16, pattern=_CODE)
    name: str = Field(min_length=1, max_length=100)


class UnitCreate(_Strict):
    code: str = Field(min_length=1, max_length=32, pattern=_CODE)
    name: str = Field(min_length=1, max_length=100)
    department_code: str = Field(min_length=1, max_length=16, pattern=_CODE)
    region_code: str | None = Field(default=None, pattern=_REGION)


class ConflictCreate(_Strict):
    inspector_badge: str = Field(min_length=1, max_length=32)
    uscc: str = Field(min_length=18, max_length=18)
    reason: str = Field(min_length=2, max_length=500)
    valid_from: date
    valid_until: date | None = None


class ConflictEnd(_Strict):
    valid_until: date


class ConflictStaff(BaseModel):
    id: int
    inspector_badge: str
    uscc: str
    reason: str
    valid_from: date
    valid_until: date | None


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
