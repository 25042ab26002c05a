"""Field rules: how each cell is parsed and checked (dates, codes, references, years)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session, select

from supervision.registry.columns import (
    BOOLEAN_VALUES,
    Vocabulary,
)
from supervision.registry.importer.report import _Bad, _split_message
from supervision.registry.models import (
    Department,
    Industry,
    Inspector,
    Region,
    Unit,
    canonical_qualifications,
)
from supervision.registry.uscc import UsccError, validate_uscc

# ---- fields -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """How one column's text becomes a value.

    `parse` None means free text up to the column's length; a parse function's verdicts are
    cached per distinct text. `child` fields feed the child table instead of a column.
    """

    parse: Callable[[str], Any] | None = None
    default: Any = None
    child: bool = False


@dataclass(frozen=True)
class _Refs:
    """Reference data the rows are checked against; empty when not loaded."""

    industries: dict[str, str | None]  # code → parent code
    units: dict[str, str]  # unit code → department code
    unit_names: dict[str, str]  # unit name → code
    departments: set[str]
    department_names: dict[str, str]  # department name → code
    # A region written as text (新疆维吾尔自治区昌吉回族自治州昌吉市, 昌吉市…) → its code; a text
    # two regions share maps to None (ambiguous).
    region_names: dict[str, str | None] = field(default_factory=dict)
    industry_names: dict[str, str] = field(default_factory=dict)  # 批发业 → 51

    @classmethod
    def load(cls, session: Session) -> "_Refs":
        units = session.exec(select(Unit.code, Unit.name, Unit.department_code)).all()
        departments = session.exec(select(Department.code, Department.name)).all()
        industries = session.exec(select(Industry.code, Industry.parent_code, Industry.name)).all()
        regions = session.exec(select(Region.code, Region.name, Region.parent_code)).all()
        return cls(
            industries={code: parent for code, parent, _ in industries},
            units={code: dept for code, _, dept in units},
            unit_names={name: code for code, name, _ in units},
            departments={code for code, _ in departments},
            department_names={name: code for code, name in departments},
            region_names=_region_names(regions),
            industry_names={name: code for code, _, name in industries},
        )


def _region_names(regions: list[tuple[str, str, str | None]]) -> dict[str, str | None]:
    """Every way of writing a region from its own name up to the full chain of its parents'
    names (昌吉市, 昌吉回族自治州昌吉市, 新疆维吾尔自治区昌吉回族自治州昌吉市)."""
    by_code = {code: (name, parent) for code, name, parent in regions}
    names: dict[str, str | None] = {}
    for code, (name, parent) in by_code.items():
        text = name
        while True:
            names[text] = code if names.get(text, code) == code else None
            if parent is None or parent not in by_code:
                break
            parent_name, parent = by_code[parent]
            text = parent_name + text
    return names


DATE_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?",
    re.ASCII,
)
INDUSTRY_RE = re.compile(r"([A-T])?(\d{2,4})?", re.ASCII)
YEAR_SPLIT_RE = re.compile(r"[,，、;；\s]+")


def _parse_date(raw: str) -> str:
    """ISO text of a date written 2019-03-01, 2019/3/1, 20190301 or 2019年3月1日."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        m = DATE_RE.fullmatch(raw)
        if m is None:
            raise _Bad(
                "日期格式无法识别（可用2019-03-01、2019/3/1、20190301或2019年3月1日）",
                "unrecognised date (use 2019-03-01, 2019/3/1, 20190301 or 2019年3月1日)",
            ) from None
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise _Bad("日期不存在", "no such date") from None
    if day.year < 1900:
        raise _Bad("日期早于1900年", "date before 1900")
    return day.isoformat()


def _past_date(today: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        iso = _parse_date(raw)
        if iso > today:
            raise _Bad(f"日期晚于今天（{today}）", f"date is after today ({today})")
        return iso

    return parse


def _vocabulary_value(
    vocab: Vocabulary, field_name: str, zh_name: str, en_name: str
) -> Callable[[str], str]:
    """A status or type as registration systems write it (data/import/values.csv): an exact
    spelling, else the first listed word it contains (有限责任公司（自然人投资或控股）→ enterprise)."""
    accepted = "、".join(k for k in vocab.values.get(field_name, {}) if not k.isascii())

    def parse(raw: str) -> str:
        code = vocab.value(field_name, raw)
        if code is None:
            raise _Bad(
                f"{zh_name}“{raw}”无法识别（可用：{accepted}，或在 data/import/values.csv 中补充）",
                f"unknown {en_name} {raw!r} (add it to data/import/values.csv)",
            )
        return code

    return parse


def _coded(values: dict[str, Any], zh_name: str, en_name: str) -> Callable[[str], Any]:
    """Look a value up in one of the columns.py value maps (English case-insensitively)."""
    accepted = "、".join(k for k in values if not k.isascii())

    def parse(raw: str) -> Any:
        try:
            return values[raw.lower()]
        except KeyError:
            raise _Bad(
                f"{zh_name}“{raw}”无法识别（可用：{accepted}）",
                f"unknown {en_name} {raw!r}",
            ) from None

    return parse


def _risk_class(raw: str) -> str:
    code = raw.upper()
    if code not in ("A", "B", "C", "D"):
        raise _Bad("信用风险分类应为A、B、C或D", "risk class must be A, B, C or D")
    return code


def _region_code(refs: _Refs) -> Callable[[str], str]:
    """A region by its code, or by its name as exports write it (昌吉市, or with its
    province and prefecture in front: 新疆维吾尔自治区昌吉回族自治州昌吉市)."""

    def parse(raw: str) -> str:
        if raw.isascii() and raw.isdigit() and len(raw) in (6, 9, 12):
            return raw
        text = "".join(raw.split())
        if text in refs.region_names:
            code = refs.region_names[text]
            if code is None:
                raise _Bad(
                    f"行政区划“{raw}”对应多个区划，请填写代码",
                    f"region {raw!r} names several regions: give its code",
                )
            return code
        raise _Bad(
            "行政区划应为6位代码（乡镇街道为9或12位）或区划名称，如652301或新疆维吾尔自治区"
            "昌吉回族自治州昌吉市",
            "region must be a 6-digit code (9 or 12 for townships) or a region's name",
        )

    return parse


def _industry_code(refs: _Refs) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw in refs.industry_names:  # a section or division by name: 批发业 → 51
            return refs.industry_names[raw]
        code = raw.upper()
        m = INDUSTRY_RE.fullmatch(code)
        if not code or m is None:
            raise _Bad(
                "行业代码应为GB/T 4754门类字母和/或2–4位数字，如F5211、5211或F，或门类、大类名称",
                "industry code must be a GB/T 4754 section letter and/or 2-4 digits "
                "(F5211, 5211, F)",
            )
        if refs.industries:
            section, digits = m[1], m[2]
            division = digits[:2] if digits else None
            for part in (section, division):
                if part is not None and part not in refs.industries:
                    raise _Bad(f"行业代码“{part}”不存在", f"unknown industry code {part!r}")
            parent = refs.industries.get(division) if division else None
            if section and parent and parent != section:
                raise _Bad(
                    f"行业大类{division}属于门类{parent}，不属于{section}",
                    f"industry division {division} belongs to section {parent}, not {section}",
                )
        return code

    return parse


def _reference(
    codes: set[str] | dict[str, str], names: dict[str, str], zh_name: str, en_name: str
) -> Callable[[str], str]:
    """A department or unit given by code or by its exact name → its code."""

    def parse(raw: str) -> str:
        if raw in codes:
            return raw
        if raw in names:
            return names[raw]
        raise _Bad(f"{zh_name}“{raw}”不存在", f"unknown {en_name} {raw!r}")

    return parse


def _years(this_year: int) -> Callable[[str], tuple[int, ...]]:
    def parse(raw: str) -> tuple[int, ...]:
        years = set()
        for token in YEAR_SPLIT_RE.split(raw):
            token = token.removesuffix("年度").removesuffix("年")
            if not token:
                continue
            if not (token.isascii() and token.isdigit() and 1990 <= int(token) <= this_year):
                raise _Bad(
                    f"年报年度“{token}”无效，应为1990–{this_year}之间的年份",
                    f"annual-report year {token!r} must be a year from 1990 to {this_year}",
                )
            years.add(int(token))
        return tuple(sorted(years))

    return parse


def _boolean(raw: str) -> bool:
    try:
        return BOOLEAN_VALUES[raw.lower()]
    except KeyError:
        raise _Bad("应为“是”或“否”", "must be yes or no (是/否)") from None


def _qualifications(raw: str) -> str:
    try:
        codes = canonical_qualifications(raw)
    except ValueError as exc:
        raise _Bad(*_split_message(str(exc))) from None
    limit = _max_len(Inspector.__table__, "qualifications")
    if len(codes) > limit:
        raise _Bad(f"长度{len(codes)}超过上限{limit}", f"{len(codes)} characters, at most {limit}")
    return codes


def _uscc_key(raw: str) -> tuple[str, list[Any], tuple[str, str] | None]:
    try:
        check = validate_uscc(raw)
    except UsccError as exc:
        raise _Bad(*_split_message(str(exc))) from None
    flag = _split_message(check.warning) if check.warning else None
    return check.code, [check.code, check.check_ok], flag


def _badge_key(raw: str) -> tuple[str, list[Any], tuple[str, str] | None]:
    limit = _max_len(Inspector.__table__, "badge_no")  # inspector files are small
    if len(raw) > limit or any(c.isspace() or c == "\x00" for c in raw):
        raise _Bad(
            f"执法证号不能含空白字符，长度不超过{limit}",
            f"badge number must have no whitespace and at most {limit} characters",
        )
    return raw, [raw], None


def _max_len(table: Table, column: str) -> int:
    return table.c[column].type.length
