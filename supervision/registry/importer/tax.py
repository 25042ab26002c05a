"""Tax filings (涉税信息): entity × year rows, checked against the registry chunk by chunk."""

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlmodel import Session, select

from supervision.registry.columns import (
    TAX_FILED_VALUES,
    TAX_FILING_COLUMNS,
    TAX_FILING_REQUIRED,
)
from supervision.registry.importer.fields import _coded, _Field, _past_date, _uscc_key
from supervision.registry.importer.kinds import _MISS, _REQUIRED, _Context, _Kind, _plan
from supervision.registry.importer.reading import CACHE_CAP
from supervision.registry.importer.report import (
    _Bad,
    _FileProblem,
    _Issues,
    _split_message,
    _Unreadable,
)
from supervision.registry.importer.stream import CHUNK_ROWS
from supervision.registry.models import (
    Entity,
    TaxFiling,
)
from supervision.registry.uscc import UsccError, validate_uscc

# ---- tax filings --------------------------------------------------------------------------

# Rows per existence check and write: the USCCs of a chunk go into one IN (…) list.
TAX_CHUNK_ROWS = 5_000


def _tax_year(this_year: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        token = raw.removesuffix("年度").removesuffix("年").strip()
        if not (token.isascii() and token.isdigit() and 1990 <= int(token) <= this_year):
            raise _Bad(
                f"年度“{raw}”无效，应为1990–{this_year}之间的年份",
                f"year {raw!r} must be a year from 1990 to {this_year}",
            )
        return int(token)

    return parse


def _tax_fields(ctx: _Context) -> dict[str, _Field]:
    return {
        "year": _Field(_tax_year(ctx.this_year)),
        "filed": _Field(_coded(TAX_FILED_VALUES, "是否申报", "filed value")),
        "filed_on": _Field(_past_date(ctx.today)),
    }


def _stream_tax_filings(
    session: Session,
    kind: _Kind,
    ctx: _Context,
    rows: Iterator[tuple[int, list[str] | _Unreadable]],
    issues: _Issues,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> None:
    """Validate every row; upsert (uscc, year) chunk by chunk while all rows so far are good.

    A row says a return was filed when 是否申报 says so or, without it, when it has a filing
    date; a file with only the 是否申报 column must fill it in. Every entity must be in the
    registry, and the year not before its establishment.
    """
    for line, header in rows:
        if header.__class__ is _Unreadable:
            raise _FileProblem(line, header.zh, header.en)
        if any(cell.strip() for cell in header):
            break
    else:
        raise _FileProblem(None, "文件为空（没有表头行）", "the file is empty (no header row)")
    plan = _plan(kind, ctx, header, line)
    issues.report.ignored_columns = plan.ignored
    titles = {step[2]: step[1] for step in plan.steps}
    if "filed" not in titles and "filed_on" not in titles:
        raise _FileProblem(
            line,
            "缺少“是否申报”或“申报日期”列（至少需要其中一列）",
            "the file needs a 是否申报 (filed) or a 申报日期 (filed_on) column",
        )
    filed_required = "filed_on" not in titles
    key_index, key_title = plan.key_index, plan.key_header
    report = issues.report
    conn = session.connection()
    entity = Entity.__table__.c
    table = TaxFiling.__table__
    width = plan.width
    seen: dict[tuple[str, int], int] = {}
    # (line, uscc as written, uscc, year, filed, filed_on) of valid rows not yet checked.
    pending: list[tuple[int, str, str, int, bool, date | None]] = []
    # This chunk's problems, reported in line order once its entities are checked.
    problems: list[tuple[int, str | None, str, str, str]] = []
    state = {"writing": True, "read": 0, "inserted": 0, "updated": 0, "unchanged": 0}

    def problem(line: int, column: str | None, value: str, zh: str, en: str) -> None:
        problems.append((line, column, value, zh, en))
        state["writing"] = False

    def flush() -> None:
        good: list[tuple[str, int, bool, date | None]] = []
        if pending:
            usccs = {row[2] for row in pending}
            known = dict(
                conn.execute(
                    select(entity.uscc, entity.established_on).where(entity.uscc.in_(sorted(usccs)))
                ).all()
            )
            for line, raw, uscc, year, filed, filed_on in pending:
                established = known.get(uscc)
                if established is None:
                    problem(
                        line,
                        key_title,
                        raw,
                        "市场主体名录中没有该统一社会信用代码（请先导入市场主体）",
                        "no entity with this code in the registry (import the entities first)",
                    )
                elif year < established.year:
                    problem(
                        line,
                        titles["year"],
                        str(year),
                        f"所属年度早于该主体的成立年度（{established.year}）",
                        f"the year is before the entity was established ({established.year})",
                    )
                else:
                    good.append((uscc, year, filed, filed_on))
            pending.clear()
        for args in sorted(problems, key=lambda p: p[0]):
            issues.error(*args)
        problems.clear()
        if state["writing"] and good:
            _write_tax_filings(conn, table, good, state)

    try:
        for line, cells in rows:
            if cells.__class__ is _Unreadable:
                state["read"] += 1
                column = header[cells.column] if cells.column is not None else None
                problem(line, column, cells.value, cells.zh, cells.en)
                continue
            if not any(cells):
                continue
            state["read"] += 1
            if progress is not None and state["read"] % CHUNK_ROWS == 0:
                progress(state["read"])
            bad = False
            n = len(cells)
            if n < width:
                cells += [""] * (width - n)
            elif n > width and any(cells[width:]):
                problem(
                    line,
                    None,
                    next(c for c in cells[width:] if c),
                    f"本行有{n}列，多于表头的{width}列（值中含未加引号的逗号？）",
                    f"the row has {n} cells, the header {width} (unquoted comma in a value?)",
                )
                bad = True
            raw = cells[key_index].strip()
            uscc = None
            if not raw:
                problem(line, key_title, raw, "必填项为空", "required value is empty")
                bad = True
            else:
                try:
                    uscc = validate_uscc(raw).code
                except UsccError as exc:
                    problem(line, key_title, raw, *_split_message(str(exc)))
                    bad = True
            values: dict[str, Any] = {}
            for index, title, name, _mode, (cache, parse), default in plan.steps:
                text = cells[index].strip()
                if not text:
                    if default is _REQUIRED:
                        problem(line, title, text, "必填项为空", "required value is empty")
                        bad = True
                    values[name] = None
                    continue
                value = cache.get(text, _MISS)
                if value is _MISS:
                    try:
                        value = parse(text)
                    except _Bad as exc:
                        value = exc
                    if len(cache) < CACHE_CAP:
                        cache[text] = value
                if value.__class__ is _Bad:
                    problem(line, title, text, value.zh, value.en)
                    bad = True
                    value = _MISS
                values[name] = value
            if bad:
                continue
            year, filed, iso = values["year"], values.get("filed"), values.get("filed_on")
            filed_on = date.fromisoformat(iso) if iso else None
            if filed is None:
                if filed_required:
                    problem(line, titles["filed"], "", "必填项为空", "required value is empty")
                    continue
                filed = filed_on is not None
            elif not filed and filed_on is not None:
                problem(
                    line,
                    titles["filed_on"],
                    iso,
                    "“是否申报”为否，却填写了申报日期",
                    "a filing date is given for a return marked as not filed",
                )
                continue
            if filed_on is not None and filed_on.year < year:
                problem(
                    line,
                    titles["filed_on"],
                    iso,
                    f"申报日期早于所属年度（{year}年）",
                    f"the filing date is before the year {year}",
                )
                continue
            first = seen.get((uscc, year))
            if first is not None:
                problem(
                    line,
                    key_title,
                    raw,
                    f"与第{first}行重复（同一主体同一年度）",
                    f"duplicate of line {first} (same entity and year)",
                )
                continue
            seen[uscc, year] = line
            pending.append((line, raw, uscc, year, filed, filed_on))
            if len(pending) >= TAX_CHUNK_ROWS:
                flush()
        flush()
    finally:
        report.rows_read = state["read"]
    if progress is not None:
        progress(state["read"])
    if state["writing"]:
        report.inserted = state["inserted"]
        report.updated = state["updated"]
        report.unchanged = state["unchanged"]


def _write_tax_filings(
    conn: Connection,
    table: Table,
    rows: list[tuple[str, int, bool, date | None]],
    counts: dict[str, Any],
) -> None:
    """Insert new (uscc, year) rows, update changed ones, leave equal ones alone."""
    c = table.c
    stored = {
        (uscc, year): (filed, filed_on)
        for uscc, year, filed, filed_on in conn.execute(
            select(c.uscc, c.year, c.filed, c.filed_on).where(
                c.uscc.in_(sorted({row[0] for row in rows}))
            )
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for uscc, year, filed, filed_on in rows:
        old = stored.get((uscc, year))
        if old is None:
            inserts.append({"uscc": uscc, "year": year, "filed": filed, "filed_on": filed_on})
        elif old != (filed, filed_on):
            updates.append({"k_uscc": uscc, "k_year": year, "v_filed": filed, "v_on": filed_on})
        else:
            counts["unchanged"] += 1
    if inserts:
        conn.execute(sa_insert(table), inserts)
    if updates:
        conn.execute(
            sa_update(table)
            .where(c.uscc == bindparam("k_uscc"), c.year == bindparam("k_year"))
            .values(filed=bindparam("v_filed"), filed_on=bindparam("v_on")),
            updates,
        )
    counts["inserted"] += len(inserts)
    counts["updated"] += len(updates)


_TAX_FILINGS = _Kind(
    name="tax_filings",
    table=TaxFiling.__table__,
    key="uscc",
    key_columns=("uscc",),
    parse_key=_uscc_key,
    columns=TAX_FILING_COLUMNS,
    required=TAX_FILING_REQUIRED,
    fields=_tax_fields,
    stream=_stream_tax_filings,
)
