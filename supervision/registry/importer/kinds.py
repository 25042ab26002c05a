"""The kinds of import (entities, inspectors) and how a header maps onto their columns."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, and_, or_
from sqlmodel import select

from supervision.registry.columns import (
    ENTITY_COLUMNS,
    ENTITY_DERIVABLE,
    ENTITY_REQUIRED,
    INSPECTOR_COLUMNS,
    INSPECTOR_REQUIRED,
    USCC_TYPE_PREFIXES,
    Vocabulary,
    vocabulary,
)
from supervision.registry.importer.fields import (
    _badge_key,
    _boolean,
    _Field,
    _industry_code,
    _max_len,
    _parse_date,
    _past_date,
    _qualifications,
    _reference,
    _Refs,
    _region_code,
    _risk_class,
    _uscc_key,
    _vocabulary_value,
    _years,
)
from supervision.registry.importer.report import _FileProblem
from supervision.registry.models import (
    REVOKED_ON_STATUSES,
    Entity,
    EntityStatus,
    Inspector,
    entity_date_problem,
)

# ---- the two kinds of import --------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    today: str  # ISO date in China
    this_year: int
    refs: _Refs
    vocab: Vocabulary = field(default_factory=vocabulary)
    # The supervising unit of entities whose unit the file neither gives nor lets derive.
    default_unit: str | None = None
    stations: dict[str, str] = field(default_factory=dict)  # township code → station code
    # A full snapshot of one unit (its code) or region (a code prefix): registered entities
    # of that scope the file does not list are reported for a person to review.
    snapshot_of: str | None = None


@dataclass(frozen=True)
class _Kind:
    name: str
    table: Table
    key: str  # the field rows are matched on
    key_columns: tuple[str, ...]  # columns the key parser fills, in order
    parse_key: Callable[[str], tuple[str, list[Any], tuple[str, str] | None]]
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    fields: Callable[[_Context], dict[str, _Field]]
    check_row: Callable[[_Context, dict[str, Any]], tuple[str, str, str] | None] | None = None
    # check_row (and flag_row) run only when the file has one of these columns (() = always).
    check_columns: tuple[str, ...] = ()
    # A warning about a valid row: (field, zh, en); the field must be a column of the file.
    flag_row: Callable[[_Context, dict[str, Any]], tuple[str, str, str] | None] | None = None
    # After the rows are written (still inside the savepoint): (key, field, zh, en) for every
    # stored record the file made inconsistent with values it did not carry.
    check_written: Callable[[Connection, "_Plan"], Iterator[tuple[str, str, str, str]]] | None = (
        None
    )
    child: tuple[str, tuple[str, str]] | None = None  # table, (key column, value column)
    # Required fields a file may leave out: each row's value is derived instead (`_derived`).
    derivable: tuple[str, ...] = ()
    # The pass over the rows, when the kind does not fit the upsert-by-key writers.
    stream: Callable[..., None] | None = None


def _entity_fields(ctx: _Context) -> dict[str, _Field]:
    unit = (
        _Field(_reference(ctx.refs.units, ctx.refs.unit_names, "管辖单位", "supervising unit"))
        if ctx.refs.units
        else _Field()
    )
    return {
        "name": _Field(),
        "entity_type": _Field(
            _vocabulary_value(ctx.vocab, "entity_type", "主体类型", "entity type")
        ),
        "legal_rep": _Field(),
        "legal_rep_id_no": _Field(),
        "phone": _Field(),
        "registered_address": _Field(),
        "business_address": _Field(),
        "region_code": _Field(_region_code(ctx.refs)),
        "industry_code": _Field(_industry_code(ctx.refs)),
        "registration_authority": _Field(),
        "supervising_unit": unit,
        "established_on": _Field(_past_date(ctx.today)),
        "status": _Field(
            _vocabulary_value(ctx.vocab, "status", "登记状态", "status"), default="active"
        ),
        "opened_on": _Field(_past_date(ctx.today)),
        "ceased_trading_on": _Field(_past_date(ctx.today)),
        "revoked_on": _Field(_past_date(ctx.today)),
        "risk_class": _Field(_risk_class, default="B"),
        "annual_report_years": _Field(_years(ctx.this_year), child=True),
    }


def _inspector_fields(ctx: _Context) -> dict[str, _Field]:
    refs = ctx.refs
    return {
        "name": _Field(),
        "department_code": _Field(
            _reference(refs.departments, refs.department_names, "部门", "department")
        ),
        "unit_code": _Field(_reference(refs.units, refs.unit_names, "单位", "unit")),
        "qualifications": _Field(_qualifications, default=""),
        "active": _Field(_boolean, default=True),
        "is_expert": _Field(_boolean, default=False),
        "cert_valid_until": _Field(_parse_date),
        "phone": _Field(),
    }


def _unit_in_department(ctx: _Context, row: dict[str, Any]) -> tuple[str, str, str] | None:
    unit, department = row.get("unit_code"), row.get("department_code")
    owner = ctx.refs.units.get(unit) if unit else None
    if owner and department and owner != department:
        return (
            "unit_code",
            f"单位{unit}属于部门{owner}，不属于{department}",
            f"unit {unit} belongs to department {owner}, not {department}",
        )
    return None


_DATE_FIELDS = ("opened_on", "ceased_trading_on", "revoked_on")


def _entity_dates(ctx: _Context, row: dict[str, Any]) -> tuple[str, str, str] | None:
    """The row's dates against each other, its establishment and its status."""
    if row.get("revoked_on") is not None and "status" not in row:
        return (
            "revoked_on",
            "填写吊销日期时，文件须同时包含“登记状态”列",
            "a file giving revoked_on must also have the status column",
        )
    # Dates are ISO text here, which compares like the dates (and this runs once per row).
    get = row.get
    return entity_date_problem(
        established_on=get("established_on"),
        status=get("status"),
        opened_on=get("opened_on"),
        ceased_trading_on=get("ceased_trading_on"),
        revoked_on=get("revoked_on"),
    )


def _revoked_without_date(ctx: _Context, row: dict[str, Any]) -> tuple[str, str, str] | None:
    if row.get("status") == EntityStatus.revoked and "revoked_on" in row and not row["revoked_on"]:
        return (
            "revoked_on",
            "登记状态为吊销但未填写吊销日期：该主体不会列为强制注销候选",
            "revoked without revoked_on: never a compulsory-deregistration candidate",
        )
    return None


def _entity_dates_written(conn: Connection, plan: "_Plan") -> Iterator[tuple[str, str, str, str]]:
    """Stored entities whose dates or status now contradict each other.

    Only needed when the file lacks one of the columns involved: a file updating status alone
    must not leave a revocation date on an entity in business, nor one moving the
    establishment date past a stored opening date.
    """
    if all(name in plan.columns for name in ("status", *_DATE_FIELDS)):
        return
    e = Entity.__table__.c
    rows = conn.execute(
        select(e.uscc, e.established_on, e.status, *(e[name] for name in _DATE_FIELDS)).where(
            or_(
                e.opened_on < e.established_on,
                e.ceased_trading_on < e.established_on,
                e.ceased_trading_on < e.opened_on,
                e.revoked_on < e.established_on,
                and_(
                    e.revoked_on.is_not(None),
                    e.status.not_in([s.value for s in REVOKED_ON_STATUSES]),
                ),
            )
        )
    )
    for uscc, established_on, status, opened_on, ceased_trading_on, revoked_on in rows:
        days = {
            "established_on": established_on,
            "opened_on": opened_on,
            "ceased_trading_on": ceased_trading_on,
            "revoked_on": revoked_on,
        }
        # Located at a column of the file: the date's own, else the establishment (dates) or
        # the status (a revocation date on an entity that is not revoked).
        problem = entity_date_problem(**days, status=None)
        fallback = "established_on"
        if problem is None:
            problem = entity_date_problem(**days, status=status)
            fallback = "status"
        if problem is not None:
            name, zh, en = problem
            name = name if name in plan.columns else fallback
            yield (
                uscc,
                name,
                f"与库中已有信息合并后：{zh}",
                f"combined with the stored record: {en}",
            )


_ENTITIES = _Kind(
    name="entities",
    table=Entity.__table__,
    key="uscc",
    key_columns=("uscc", "uscc_check_ok"),
    parse_key=_uscc_key,
    columns=ENTITY_COLUMNS,
    required=ENTITY_REQUIRED,
    fields=_entity_fields,
    check_row=_entity_dates,
    check_columns=_DATE_FIELDS,
    flag_row=_revoked_without_date,
    check_written=_entity_dates_written,
    child=("annual_report", ("uscc", "year")),
    derivable=ENTITY_DERIVABLE,
)
_INSPECTORS = _Kind(
    name="inspectors",
    table=Inspector.__table__,
    key="badge_no",
    key_columns=("badge_no",),
    parse_key=_badge_key,
    columns=INSPECTOR_COLUMNS,
    required=INSPECTOR_REQUIRED,
    fields=_inspector_fields,
    check_row=_unit_in_department,
)


# ---- header -------------------------------------------------------------------------------

_TEXT, _PARSED, _CHILD, _DERIVED = 0, 1, 2, 3
_REQUIRED = object()
_MISS = object()


@dataclass
class _Plan:
    """The header, resolved: where each field's cells are and how to read them."""

    width: int
    key_index: int
    key_header: str
    # (cell index, header as written, field name, mode, text limit or (cache, parse), default)
    # A _DERIVED step reads another column's cell (the key, the address) and its parse gives
    # the value or None (not derivable: then the default, or an error).
    steps: list[tuple[int, str, str, int, Any, Any]]
    columns: list[str]  # row values after the key columns, in order
    absent_defaults: dict[str, Any]  # columns not in the file that still need a value
    ignored: list[str]
    derived: dict[str, str] = field(default_factory=dict)  # field → how, for the report


def _columns(kind: _Kind, ctx: _Context) -> dict[str, tuple[str, ...]]:
    return ctx.vocab.columns.get(kind.name, kind.columns)


def header_score(kind: _Kind, ctx: _Context, cells: list[str]) -> int:
    """How many of a row's cells are headers of this kind (0 unless the key's is there)."""
    lookup = _lookup(kind, ctx)
    found = {lookup[c][0] for cell in cells if (c := cell.strip().lower()) in lookup}
    return len(found) if kind.key in found else 0


def _lookup(kind: _Kind, ctx: _Context) -> dict[str, tuple[str, int]]:
    """Header (lower-case) → (field, rank of the header among the field's names)."""
    return {
        alias.lower(): (name, rank)
        for name, aliases in _columns(kind, ctx).items()
        for rank, alias in enumerate(aliases)
    }


def _plan(kind: _Kind, ctx: _Context, header: list[str], line: int) -> _Plan:
    columns_of = _columns(kind, ctx)
    lookup = _lookup(kind, ctx)
    found: dict[str, tuple[int, str, int]] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        title = cell.strip()
        hit = lookup.get(title.lower())
        if hit is None:
            if title:
                ignored.append(title)
            continue
        name, rank = hit
        if name not in found:
            found[name] = (index, title, rank)
            continue
        first_index, first, first_rank = found[name]
        if rank == first_rank:
            raise _FileProblem(
                line,
                f"列“{first}”出现了两次，只能保留一列",
                f"column {first!r} appears twice: keep one",
            )
        # Two names of one field (成立日期 and 核准日期): the preferred name is read.
        if rank < first_rank:
            found[name] = (index, title, rank)
            ignored.append(f"{first}（与“{title}”同义，未采用）")
        else:
            ignored.append(f"{title}（与“{first}”同义，未采用）")
    derived: dict[str, str] = {}
    missing = []
    for name in kind.required:
        if name in found:
            continue
        how = _derivation(kind, ctx, name, found)
        if how is None:
            missing.append(name)
        else:
            derived[name] = how
    if missing:
        raise _FileProblem(
            line,
            "缺少必填列："
            + "、".join(columns_of[n][0] for n in missing)
            + "（可用的列名见导入页面的列名对照表，或下载导入模板）",
            "missing required columns: "
            + ", ".join(f"{n} ({columns_of[n][0]})" for n in missing)
            + " (the import page lists every accepted header; or download the template)",
        )
    fields = kind.fields(ctx)
    steps = []
    columns = []
    for name, spec in fields.items():
        if name in derived:
            steps.append(_derived_step(ctx, name, found, derived[name]))
            columns.append(name)
            continue
        if name not in found:
            continue
        index, title, _rank = found[name]
        default = _REQUIRED if name in kind.required else spec.default
        if spec.parse is None:
            steps.append((index, title, name, _TEXT, _max_len(kind.table, name), default))
        else:
            mode = _CHILD if spec.child else _PARSED
            steps.append((index, title, name, mode, ({}, spec.parse), default))
        if not spec.child:
            columns.append(name)
    absent = {
        name: spec.default
        for name, spec in fields.items()
        if name not in found and name not in derived and spec.default is not None
    }
    key_index, key_header, _rank = found[kind.key]
    return _Plan(len(header), key_index, key_header, steps, columns, absent, ignored, derived)


def _derivation(
    kind: _Kind, ctx: _Context, name: str, found: dict[str, tuple[int, str, int]]
) -> str | None:
    """How a required field missing from the file is derived per row, if it can be."""
    if name not in kind.derivable:
        return None
    if name == "entity_type":
        return "uscc"
    if name == "supervising_unit" and "registered_address" in found:
        return "address"
    return None


def _derived_step(
    ctx: _Context, name: str, found: dict[str, tuple[int, str, int]], how: str
) -> tuple[int, str, str, int, Any, Any]:
    if how == "uscc":
        index, title, _ = found["uscc"]

        def derive(raw: str) -> str | None:
            return USCC_TYPE_PREFIXES.get(raw[:2].upper())

        return (index, title, name, _DERIVED, ({}, derive), None)
    index, title, _ = found["registered_address"]
    stations, vocab = ctx.stations, ctx.vocab

    def from_address(raw: str) -> str | None:
        township = vocab.township_of(raw)
        return stations.get(township) if township is not None else None

    return (index, title, name, _DERIVED, ({}, from_address), ctx.default_unit)
