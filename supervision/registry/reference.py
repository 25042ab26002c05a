"""Reference data shipped in `data/`: regions, industries, departments and units, qualifications,
the inspection item list and the result codes.

Files are read and cross-checked together (`read_reference`); any problem raises
`ReferenceDataError` naming the file and the key. `load_reference_data` upserts the tables from
them in the caller's transaction and records one audit row.
"""

import csv
import functools
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, SQLModel, select

from supervision.audit.service import record_change
from supervision.clock import Clock
from supervision.errors import Invalid
from supervision.registry.models import (
    Department,
    Industry,
    InspectionItem,
    Region,
    Unit,
    canonical_qualifications,
)

REGIONS_FILE = "regions.csv"
INDUSTRIES_FILE = "industries.csv"
DEPARTMENTS_FILE = "departments.yaml"
QUALIFICATIONS_FILE = "qualifications.yaml"
ITEMS_FILE = "items.yaml"
RESULT_CODES_FILE = "result_codes.yaml"
# A jurisdiction's own result codes, added to the national ones (optional).
LOCAL_RESULT_CODES_FILE = "result_codes.local.yaml"

METHODS = ("desk", "onsite", "online")
METHOD_LABELS = {"desk": "书面检查", "onsite": "实地核查", "online": "网络监测"}
ITEM_CATEGORY_LABELS = {"general": "一般检查事项", "key": "重点检查事项"}
REGION_LEVELS = ("province", "prefecture", "county", "township")
# The safe loader, in C where libyaml is installed.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ReferenceDataError(Invalid):
    """A reference file is missing, unreadable or has a bad value; says which file and key."""

    def __init__(self, file: str, key: str, zh: str, en: str) -> None:
        super().__init__(
            f"参考数据文件 {file} 的 {key} 有误：{zh}",
            f"reference data file {file}, {key}: {en}",
            file=file,
            key=key,
        )
        self.file = file
        self.key = key
        self.reason_zh, self.reason_en = zh, en  # without the file and key, to rewrap


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RegionSpec(_Spec):
    code: str
    name: str
    level: Literal["province", "prefecture", "county", "township"]
    parent_code: str | None = None

    @field_validator("code")
    @classmethod
    def _digits(cls, v: str) -> str:
        if not v.isdigit() or len(v) not in (6, 9):
            raise ValueError("GB/T 2260 code must be 6 digits (9 for a township)")
        return v


class IndustrySpec(_Spec):
    code: str
    name: str
    level: Literal["section", "division"]
    parent_code: str | None = None


class UnitSpec(_Spec):
    code: str
    name: str
    kind: Literal["office", "station"]
    region_code: str
    # Townships whose entities a station supervises (管辖).
    townships: tuple[str, ...] = ()


class DepartmentSpec(_Spec):
    code: str
    name: str
    # Two digits after the region code in the department's badge numbers.
    badge_prefix: str
    units: tuple[UnitSpec, ...]

    @field_validator("badge_prefix")
    @classmethod
    def _two_digits(cls, v: str) -> str:
        if len(v) != 2 or not v.isdigit():
            raise ValueError("badge_prefix must be two digits")
        return v


class Qualification(_Spec):
    code: str
    label: str

    @field_validator("code")
    @classmethod
    def _canonical(cls, v: str) -> str:
        if canonical_qualifications(v) != v:
            raise ValueError("a qualification code is one ASCII word (letters, digits, _ or -)")
        return v


class ItemSpec(_Spec):
    code: str
    name: str
    legal_basis: str
    department_code: str
    object_type: str
    content: str
    methods: str
    category: Literal["general", "key"]
    qualification: str | None = None
    participating_departments: str = ""

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: str) -> str:
        methods = [m.strip() for m in v.split(",") if m.strip()]
        unknown = [m for m in methods if m not in METHODS]
        if not methods or unknown:
            raise ValueError(f"methods must be among {', '.join(METHODS)}")
        return ",".join(m for m in METHODS if m in methods)

    @field_validator("participating_departments")
    @classmethod
    def _departments(cls, v: str) -> str:
        return ",".join(sorted({d.strip() for d in v.split(",") if d.strip()}))


class EvidenceOption(_Spec):
    code: str
    label: str


# The record form's "problem found" categories (with their sub-codes): the problem rate counts
# them. "No problem found" cannot be combined with them.
PROBLEM_CODES = ("A", "E")
NO_PROBLEM_CODE = "1"


class ResultCode(_Spec):
    code: str
    label: str
    sub_codes: tuple["ResultCode", ...] = ()
    # Any one of these is needed before the result may be recorded.
    evidence: tuple[EvidenceOption, ...] = ()


class ResultCodeVersion(_Spec):
    version: str
    effective_from: date
    source: str
    codes: tuple[ResultCode, ...]

    def walk(self) -> Iterator[ResultCode]:
        """Every code of this version in file order, each followed by its sub-codes (at any
        depth: A 发现问题 → 2 违反工商行政管理相关规定 → B, C, 6, D)."""

        def down(codes: tuple[ResultCode, ...]) -> Iterator[ResultCode]:
            for code in codes:
                yield code
                yield from down(code.sub_codes)

        return down(self.codes)

    def all_codes(self) -> dict[str, ResultCode]:
        return {c.code: c for c in self.walk()}

    def parent_of(self, code: str) -> str | None:
        return next((c.code for c in self.walk() if any(s.code == code for s in c.sub_codes)), None)

    def ancestors(self, code: str) -> list[str]:
        """The codes above ``code``, nearest first (B → 2, A)."""
        out: list[str] = []
        parent = self.parent_of(code)
        while parent is not None:
            out.append(parent)
            parent = self.parent_of(parent)
        return out

    def problem_codes(self) -> set[str]:
        """The "problem found" categories with every code below them (the problem rate counts
        them)."""
        out: set[str] = set()
        for top in self.codes:
            if top.code in PROBLEM_CODES:
                out |= {c.code for c in ResultCodeVersion._below(top)}
        return out

    @staticmethod
    def _below(code: ResultCode) -> Iterator[ResultCode]:
        yield code
        for sub in code.sub_codes:
            yield from ResultCodeVersion._below(sub)


class LocalResultCode(_Spec):
    """A code a jurisdiction adds to the national record form (e.g. G 违反公安部门相关规定),
    under a parent of a version, with the document that introduced it."""

    version: str
    parent: str
    code: str = Field(min_length=1, max_length=4)
    label: str = Field(min_length=2)
    source: str = Field(min_length=4)


class _LocalResultCodesFile(_Spec):
    codes: tuple[LocalResultCode, ...] = Field(min_length=1)


class ResultCodeBook(_Spec):
    versions: tuple[ResultCodeVersion, ...]

    def in_force(self, on: date) -> ResultCodeVersion:
        """The version effective on a day (records keep the version they were made under)."""
        current = [v for v in self.versions if v.effective_from <= on]
        if not current:
            raise LookupError(f"no result code version in force on {on.isoformat()}")
        return max(current, key=lambda v: v.effective_from)

    def named(self, version: str) -> ResultCodeVersion:
        """The version a record was made under (records keep it)."""
        return next(v for v in self.versions if v.version == version)

    def problem_codes(self) -> set[str]:
        """Codes that mean a problem was found, under any version."""
        return set().union(*(v.problem_codes() for v in self.versions))

    def code_labels(self) -> dict[str, str]:
        """Every code of every version with its label (the first version's wording), in the
        code book's order."""
        labels: dict[str, str] = {}
        for version in self.versions:
            for c in version.walk():
                labels.setdefault(c.code, c.label)
        return labels


class _DepartmentsFile(_Spec):
    version: str
    departments: tuple[DepartmentSpec, ...]


class _QualificationsFile(_Spec):
    version: str
    qualifications: tuple[Qualification, ...]


class _ItemsFile(_Spec):
    version: str
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class ReferenceData:
    regions: tuple[RegionSpec, ...]
    industries: tuple[IndustrySpec, ...]
    departments: tuple[DepartmentSpec, ...]
    qualifications: dict[str, Qualification]
    items: tuple[ItemSpec, ...]
    # SHA-256 of each file read, for the audit record.
    digests: dict[str, str]

    @property
    def units(self) -> tuple[tuple[DepartmentSpec, UnitSpec], ...]:
        return tuple((d, u) for d in self.departments for u in d.units)

    def station_of_township(self) -> dict[str, str]:
        """Township code → code of the station supervising it."""
        return {t: u.code for _, u in self.units for t in u.townships}


M = TypeVar("M", bound=BaseModel)


def _error_key(loc: Iterable[Any], data: Any) -> str:
    """'items[3].qualification (SCJ-JG-001)' from a pydantic location and the raw document."""
    parts: list[str] = []
    node, code = data, None
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(node, dict) and isinstance(node.get("code"), str):
            code = node["code"]
    key = "".join(parts).lstrip(".")
    return f"{key} ({code})" if code else key


def _invalid(name: str, key: str, exc: ValidationError) -> ReferenceDataError:
    msg = exc.errors()[0]["msg"]
    return ReferenceDataError(name, key, f"取值无效（{msg}）", msg)


def _read_text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReferenceDataError(name, "(file)", "文件不存在", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(name, "(encoding)", "不是UTF-8编码", f"not UTF-8: {exc}") from None


def read_yaml_model(path: Path, model: type[M], *, name: str | None = None) -> M:
    """Parse a YAML file into a model; errors name the file and the key path."""
    name = name or path.name
    return validate_yaml_data(read_yaml_data(path, name), model, name)


def read_yaml_data(path: Path, name: str) -> Any:
    """A YAML file's data, before any model (errors name the file)."""
    try:
        return yaml.load(_read_text(path, name), Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise ReferenceDataError(name, "(YAML)", f"YAML语法错误：{exc}", str(exc)) from None


def validate_yaml_data(data: Any, model: type[M], name: str) -> M:
    """Validate a YAML document's data as ``model``; errors name the file and the key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(name, _error_key(exc.errors()[0]["loc"], data) or "(root)", exc) from None


def _read_csv(path: Path, model: type[M], name: str) -> list[M]:
    lines = _read_text(path, name).splitlines()
    reader = csv.DictReader(lines)
    expected = list(model.model_fields)
    if reader.fieldnames != expected:
        header = ",".join(expected)
        raise ReferenceDataError(name, "(header)", f"表头应为 {header}", f"header must be {header}")
    rows: list[M] = []
    for line_no, raw in enumerate(reader, start=2):
        values = {k: (v if v != "" else None) for k, v in raw.items()}
        try:
            rows.append(model.model_validate(values))
        except ValidationError as exc:
            field = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise _invalid(name, f"line {line_no} {field} ({raw.get('code')})", exc) from None
    return rows


def _unique(name: str, what: str, codes: Iterable[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ReferenceDataError(name, f"{what} {code}", "代码重复", "duplicate code")
        seen.add(code)


def _check_regions(regions: list[RegionSpec]) -> None:
    by_code = {r.code: r for r in regions}
    _unique(REGIONS_FILE, "code", (r.code for r in regions))
    for r in regions:
        level = REGION_LEVELS.index(r.level)
        parent = by_code.get(r.parent_code or "")
        if level == 0:
            if r.parent_code:
                raise ReferenceDataError(
                    REGIONS_FILE, f"{r.code}.parent_code", "省级区划无上级", "a province has none"
                )
            continue
        if parent is None or REGION_LEVELS.index(parent.level) != level - 1:
            raise ReferenceDataError(
                REGIONS_FILE,
                f"{r.code}.parent_code",
                "上级区划不存在或不是上一级",
                "the parent is missing or not one level up",
            )
        if (r.level == "township") != (len(r.code) == 9) or (
            r.level == "township" and not r.code.startswith(parent.code)
        ):
            raise ReferenceDataError(
                REGIONS_FILE,
                f"{r.code}.code",
                "乡级代码为9位（所属县级代码加3位），其他级别为6位",
                "a township code is its county's code and 3 digits; other codes have 6",
            )


def _check_industries(industries: list[IndustrySpec]) -> None:
    _unique(INDUSTRIES_FILE, "code", (i.code for i in industries))
    sections = {i.code for i in industries if i.level == "section"}
    for i in industries:
        ok = (
            len(i.code) == 1 and i.code.isupper() and i.parent_code is None
            if i.level == "section"
            else len(i.code) == 2 and i.code.isdigit() and i.parent_code in sections
        )
        if not ok:
            raise ReferenceDataError(
                INDUSTRIES_FILE,
                i.code,
                "门类为一个大写字母且无上级；大类为两位数字且上级为已列门类",
                "a section is one capital letter without parent; a division is two digits under "
                "a listed section",
            )


def _check_departments(departments: tuple[DepartmentSpec, ...], regions: set[str]) -> None:
    _unique(DEPARTMENTS_FILE, "department", (d.code for d in departments))
    _unique(DEPARTMENTS_FILE, "unit", (u.code for d in departments for u in d.units))
    covered: set[str] = set()
    for d in departments:
        for i, u in enumerate(d.units):
            key = f"departments.{d.code}.units[{i}] ({u.code})"
            if u.region_code not in regions:
                raise ReferenceDataError(
                    DEPARTMENTS_FILE, f"{key}.region_code", "区划代码不存在", "unknown region"
                )
            if (u.kind == "station") != bool(u.townships):
                raise ReferenceDataError(
                    DEPARTMENTS_FILE,
                    f"{key}.townships",
                    "市场监管所须列出管辖乡镇，科室不列",
                    "a station lists the townships it covers, an office none",
                )
            for t in u.townships:
                if t not in regions or len(t) != 9:
                    raise ReferenceDataError(
                        DEPARTMENTS_FILE, f"{key}.townships", f"{t} 不是已列乡镇", f"{t}: unknown"
                    )
                if t in covered:
                    raise ReferenceDataError(
                        DEPARTMENTS_FILE,
                        f"{key}.townships",
                        f"{t} 已由其他市场监管所管辖",
                        f"{t} is covered by another station",
                    )
                covered.add(t)


def _check_items(
    items: tuple[ItemSpec, ...], departments: set[str], qualifications: dict[str, Qualification]
) -> None:
    _unique(ITEMS_FILE, "item", (i.code for i in items))
    for n, item in enumerate(items):
        key = f"items[{n}] ({item.code})"
        if item.department_code not in departments:
            raise ReferenceDataError(
                ITEMS_FILE, f"{key}.department_code", "部门不存在", "unknown department"
            )
        joined = item.participating_departments.split(",") if item.participating_departments else []
        if any(d not in departments or d == item.department_code for d in joined):
            raise ReferenceDataError(
                ITEMS_FILE,
                f"{key}.participating_departments",
                "配合部门须为发起部门以外的已列部门",
                "must be listed departments other than the initiating one",
            )
        if item.qualification is not None and item.qualification not in qualifications:
            raise ReferenceDataError(
                ITEMS_FILE, f"{key}.qualification", "资格代码不存在", "unknown qualification"
            )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_reference(data_dir: Path) -> ReferenceData:
    """Read and cross-check the reference files; raise ReferenceDataError on the first problem."""
    regions = _read_csv(data_dir / REGIONS_FILE, RegionSpec, REGIONS_FILE)
    _check_regions(regions)
    industries = _read_csv(data_dir / INDUSTRIES_FILE, IndustrySpec, INDUSTRIES_FILE)
    _check_industries(industries)
    departments = read_yaml_model(data_dir / DEPARTMENTS_FILE, _DepartmentsFile).departments
    _check_departments(departments, {r.code for r in regions})
    qualifications = load_qualifications(data_dir)
    items = read_yaml_model(data_dir / ITEMS_FILE, _ItemsFile).items
    _check_items(items, {d.code for d in departments}, qualifications)
    files = (REGIONS_FILE, INDUSTRIES_FILE, DEPARTMENTS_FILE, QUALIFICATIONS_FILE, ITEMS_FILE)
    return ReferenceData(
        regions=tuple(regions),
        industries=tuple(industries),
        departments=departments,
        qualifications=qualifications,
        items=items,
        digests={f: _digest(data_dir / f) for f in files},
    )


def load_qualifications(data_dir: Path) -> dict[str, Qualification]:
    """Qualification codes and their Chinese labels, by code, in file order."""
    quals = read_yaml_model(data_dir / QUALIFICATIONS_FILE, _QualificationsFile).qualifications
    _unique(QUALIFICATIONS_FILE, "qualification", (q.code for q in quals))
    return {q.code: q for q in quals}


@functools.lru_cache(maxsize=4)
def _result_codes_cached(data_dir: Path, stamp: tuple[float, float]) -> ResultCodeBook:
    return load_result_codes(data_dir)


def result_codebook(data_dir: Path) -> ResultCodeBook:
    """The one accessor for the result categories (re-read when either file changes)."""
    local = data_dir / LOCAL_RESULT_CODES_FILE
    stamp = (
        (data_dir / RESULT_CODES_FILE).stat().st_mtime,
        local.stat().st_mtime if local.exists() else 0.0,
    )
    return _result_codes_cached(data_dir, stamp)


def load_result_codes(data_dir: Path) -> ResultCodeBook:
    """The versioned result categories (DOMAIN §4), with the jurisdiction's own extra codes
    (`result_codes.local.yaml`, when present) placed under their parents."""
    book = read_yaml_model(data_dir / RESULT_CODES_FILE, ResultCodeBook)
    _unique(
        RESULT_CODES_FILE, "effective_from", (v.effective_from.isoformat() for v in book.versions)
    )
    local = data_dir / LOCAL_RESULT_CODES_FILE
    if local.exists():
        extra = read_yaml_model(local, _LocalResultCodesFile).codes
        book = ResultCodeBook(versions=tuple(_with_local(v, extra) for v in book.versions))
        known = {v.version for v in book.versions}
        for n, c in enumerate(extra):
            if c.version not in known:
                raise ReferenceDataError(
                    LOCAL_RESULT_CODES_FILE,
                    f"codes[{n}].version ({c.code})",
                    f"没有版本“{c.version}”",
                    f"no result code version {c.version!r}",
                )
    for v in book.versions:
        _unique(RESULT_CODES_FILE, f"versions.{v.version}.code", (c.code for c in v.walk()))
    return book


def _with_local(
    version: ResultCodeVersion, extra: tuple[LocalResultCode, ...]
) -> ResultCodeVersion:
    mine = [c for c in extra if c.version == version.version]
    if not mine:
        return version
    parents = {c.parent for c in mine}
    missing = parents - set(version.all_codes())
    if missing:
        raise ReferenceDataError(
            LOCAL_RESULT_CODES_FILE,
            "parent",
            f"版本{version.version}中没有上级代码 {'、'.join(sorted(missing))}",
            f"version {version.version} has no parent code {', '.join(sorted(missing))}",
        )

    def graft(code: ResultCode) -> ResultCode:
        added = tuple(ResultCode(code=c.code, label=c.label) for c in mine if c.parent == code.code)
        return code.model_copy(update={"sub_codes": tuple(map(graft, code.sub_codes)) + added})

    return version.model_copy(update={"codes": tuple(map(graft, version.codes))})


def _upsert(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> int:
    """Insert or update rows by primary key `code`; return how many were new or changed."""
    existing = {row.code: row for row in session.exec(select(model))}
    changed = 0
    for values in rows:
        row = existing.get(values["code"])
        if row is None:
            session.add(model(**values))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changed += 1
    session.flush()
    return changed


def load_reference_data(
    session: Session, data_dir: Path, *, actor: str = "system", clock: Clock | None = None
) -> dict[str, int]:
    """Upsert regions, industries, departments, units and items from `data_dir`; idempotent.

    Returns the number of rows per table in the files. Rows no longer in the files are kept:
    plans and results made under them still refer to them.
    """
    ref = read_reference(data_dir)
    tables: list[tuple[str, type[SQLModel], list[dict[str, Any]]]] = [
        ("regions", Region, [r.model_dump() for r in ref.regions]),
        ("industries", Industry, [i.model_dump() for i in ref.industries]),
        ("departments", Department, [{"code": d.code, "name": d.name} for d in ref.departments]),
        (
            "units",
            Unit,
            [
                {
                    "code": u.code,
                    "name": u.name,
                    "department_code": d.code,
                    "region_code": u.region_code,
                }
                for d, u in ref.units
            ],
        ),
        ("items", InspectionItem, [i.model_dump() for i in ref.items]),
    ]
    counts = {name: len(rows) for name, _, rows in tables}
    changed = {name: _upsert(session, model, rows) for name, model, rows in tables}
    record_change(
        session,
        actor,
        "reference.load",
        "reference_data",
        hashlib.sha256("".join(sorted(ref.digests.values())).encode()).hexdigest(),
        {"counts": counts, "changed": changed, "files": ref.digests},
        clock=clock,
    )
    return counts
