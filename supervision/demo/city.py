"""The demo city's parameters (`data/demo/city.yaml`): proportions, word lists, streets."""

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from supervision.registry.models import (
    EntityStatus,
    EntityType,
    RiskClass,
)
from supervision.registry.reference import (
    ReferenceData,
    ReferenceDataError,
    read_reference,
    read_yaml_model,
)
from supervision.settings import PROJECT_ROOT

DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
CITY_FILE = "demo/city.yaml"


# --- the city's parameters -------------------------------------------------------------------

Weight = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Range = tuple[int, int]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Established(_Config):
    first_year: int
    yearly_growth: Annotated[float, Field(gt=0)]
    uscc_from: date


class AnnualReports(_Config):
    first_year: int
    due_month: int
    due_day: int
    missing_trailing_years: dict[int, Weight]
    revoked_min_missing: int


class Trading(_Config):
    opened_after_days: Range
    never_opened_share: Share
    ceased_share: Share
    ceased_days_ago: Range
    revoked_after_days: Annotated[int, Field(ge=0)]


class Authority(_Config):
    name: str
    region: str
    name_prefix: str
    weight: Weight


class Township(_Config):
    weight: Weight
    places: tuple[str, ...] = Field(min_length=1)
    rural: bool = False


class IndustryWords(_Config):
    weights: dict[EntityType, Weight]
    enterprise: tuple[str, ...] = ()
    individual: tuple[str, ...] = ()
    cooperative: tuple[str, ...] = ()


class NamesBySex(_Config):
    male: tuple[str, ...] = Field(min_length=1)
    female: tuple[str, ...] = Field(min_length=1)


class InspectorDepartment(_Config):
    weight: Weight
    units: dict[str, Weight]
    qualifications: dict[str, Share]


class Inspectors(_Config):
    departments: dict[str, InspectorDepartment]
    expert_share: Share
    inactive_share: Share
    cert_valid_days: Range
    lapsed_share: Share


class Conflicts(_Config):
    count: int
    reasons: dict[EntityType, tuple[str, ...]]
    declared_days_ago: Range
    ended_share: Share
    ended_after_days: Range


class DemoCity(_Config):
    version: str
    county: str
    entity_types: dict[EntityType, Weight]
    risk_classes: dict[RiskClass, Weight]
    statuses: dict[EntityStatus, Weight]
    revoked_min_age_years: int
    trading: Trading
    established: Established
    annual_reports: AnnualReports
    business_address: dict[Literal["same", "moved", "none"], Weight]
    registration_authorities: tuple[Authority, ...] = Field(min_length=1)
    address_prefix: str
    townships: dict[str, Township]
    industries: dict[str, IndustryWords]
    trade_name_chars: tuple[str, ...] = Field(min_length=1)
    enterprise_suffixes: dict[str, Weight]
    individual_name_patterns: dict[str, Weight]
    cooperative_suffix: str
    surnames: dict[str, Weight]
    given_name_chars: NamesBySex
    two_char_given_share: Share
    male_share: Share
    minority_share: Share
    minority_names: NamesBySex
    id_regions: dict[str, Weight]
    founder_age: Range
    mobile_prefixes: tuple[str, ...] = Field(min_length=1)
    inspectors: Inspectors
    conflicts: Conflicts


def load_city(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[DemoCity, ReferenceData]:
    """The demo parameters, checked against the reference data they name."""
    ref = read_reference(data_dir)
    city = read_yaml_model(data_dir / CITY_FILE, DemoCity, name=CITY_FILE)

    def fail(key: str, zh: str, en: str) -> None:
        raise ReferenceDataError(CITY_FILE, key, zh, en)

    regions = {r.code for r in ref.regions}
    stations = ref.station_of_township()
    divisions = {i.code for i in ref.industries if i.level == "division"}
    if city.county not in regions:
        fail("county", "区划代码不存在", "unknown region")
    for n, authority in enumerate(city.registration_authorities):
        if authority.region not in regions:
            fail(f"registration_authorities[{n}].region", "区划代码不存在", "unknown region")
    for code in city.townships:
        if code not in stations:
            fail(f"townships.{code}", "没有市场监管所管辖该乡镇", "no station covers it")
    for code, words in city.industries.items():
        if code not in divisions:
            fail(f"industries.{code}", "不是GB/T 4754大类", "not a GB/T 4754 division")
        for kind, weight in words.weights.items():
            if weight > 0 and not getattr(words, kind.value):
                fail(f"industries.{code}.{kind.value}", "有权重却无名称用词", "no name words")
    for kind, weight in city.entity_types.items():
        if weight > 0 and not any(w.weights.get(kind, 0) > 0 for w in city.industries.values()):
            fail(f"entity_types.{kind.value}", "没有可用行业", "no industry weighted for it")
        if weight > 0 and not city.conflicts.reasons.get(kind):
            fail(f"conflicts.reasons.{kind.value}", "缺少回避事由", "no reasons")
    if city.entity_types.get(EntityType.cooperative, 0) > 0 and not any(
        t.rural for t in city.townships.values()
    ):
        fail("townships", "合作社需要农村乡镇", "cooperatives need a rural township")
    departments = {d.code: d for d in ref.departments}
    for code, spec in city.inspectors.departments.items():
        key = f"inspectors.departments.{code}"
        if code not in departments:
            fail(key, "部门不存在", "unknown department")
        own_units = {u.code for u in departments[code].units}
        for unit in spec.units:
            if unit not in own_units:
                fail(f"{key}.units.{unit}", "不是该部门的单位", "not a unit of the department")
        for qual in spec.qualifications:
            if qual not in ref.qualifications:
                fail(f"{key}.qualifications.{qual}", "资格代码不存在", "unknown qualification")
    return city, ref


# --- drawing helpers -------------------------------------------------------------------------
