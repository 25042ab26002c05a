"""The streaming pass: validate every row, write while all rows so far are good."""

import itertools
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import or_, select
from sqlmodel import Session

from supervision.audit.service import record_change
from supervision.clock import Clock, SystemClock
from supervision.registry.columns import vocabulary
from supervision.registry.importer.fields import _Refs
from supervision.registry.importer.kinds import (
    _CHILD,
    _DERIVED,
    _MISS,
    _REQUIRED,
    _TEXT,
    _Context,
    _Kind,
    _Plan,
    _plan,
    header_score,
)
from supervision.registry.importer.reading import (
    CACHE_CAP,
    _binary,
    _read_csv,
    _read_xls,
    _read_xlsx,
    _sniff,
)
from supervision.registry.importer.report import (
    ABSENT_SHOWN,
    ImportFailed,
    ImportReport,
    _Bad,
    _FileProblem,
    _Issues,
    _Unreadable,
)
from supervision.registry.importer.seen import SeenKeys
from supervision.registry.importer.writers import _PostgresWriter, _SqliteWriter, _writer
from supervision.registry.models import Entity


def _not_derived(name: str, raw: str) -> tuple[str, str]:
    if name == "entity_type":
        return (
            f"文件没有“主体类型”列，且无法由信用代码第1–2位（{raw[:2]}）推断主体类型",
            f"no entity type column, and the credit code's characters {raw[:2]!r} do not give one",
        )
    return (
        "文件没有“管辖单位”列，且无法从住所推断管辖单位（住所中没有可识别的乡镇、街道或道路）："
        "请指定默认管辖单位，或在 data/import/address_rules.csv 中补充",
        "no supervising-unit column and none can be derived from the address: give a default "
        "unit, or add the place to data/import/address_rules.csv",
    )


# ---- the pass -----------------------------------------------------------------------------

# Rows per write: big enough to amortise a statement, small enough to keep memory flat.
CHUNK_ROWS = 10_000


def _import(
    session: Session,
    source: BinaryIO | Path,
    kind: _Kind,
    filename: str,
    actor: str,
    clock: Clock | None,
    progress: Callable[[int], None] | None,
    error_cap: int,
    default_unit: str | None = None,
    snapshot_of: str | None = None,
) -> ImportReport:
    clock = clock or SystemClock()
    report = ImportReport(kind=kind.name, filename=filename)
    issues = _Issues(report, error_cap)
    session.flush()  # reference rows the caller just added must be visible to the checks
    with _binary(source) as stream:
        sniffed = _sniff(stream)
        report.sha256 = sniffed.sha256
        report.format = sniffed.format
        report.encoding = sniffed.encoding
        if sniffed.problem is not None:
            issues.error(sniffed.problem.line, None, "", sniffed.problem.zh, sniffed.problem.en)
            raise ImportFailed(report)
        today = clock.today()
        try:
            ctx = _context(session, today, default_unit, snapshot_of)
        except _FileProblem as problem:
            issues.error(problem.line, None, "", problem.zh, problem.en)
            raise ImportFailed(report) from None

        def has_header(rows: list[list[str]]) -> bool:
            return any(header_score(kind, ctx, cells) >= 2 for cells in rows)

        if sniffed.format == "xlsx":
            reader = _read_xlsx(stream, has_header)
        elif sniffed.format == "xls":
            reader = _read_xls(stream, has_header)
        else:
            reader = _read_csv(stream, sniffed.encoding)
        # closing(): the reader lets go of the stream before `_binary` closes it.
        with closing(reader) as rows, session.begin_nested():
            try:
                (kind.stream or _stream)(session, kind, ctx, rows, issues, clock.now(), progress)
            except _FileProblem as problem:
                issues.error(problem.line, None, "", problem.zh, problem.en)
            if not report.ok:
                raise ImportFailed(report)  # leaving the block rolls the savepoint back
            record_change(
                session,
                actor,
                f"registry.import_{kind.name}",
                "import",
                report.sha256,
                {
                    "filename": filename,
                    "format": report.format,
                    "rows": report.rows_read,
                    "inserted": report.inserted,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "flagged": report.flagged_total,
                    "annual_reports_added": report.annual_reports_added,
                    "derived": report.derived,
                    "snapshot_of": report.snapshot_of,
                    "absent": report.absent_total,
                },
                clock=clock,
            )
    # Rows were written beneath the ORM: objects it holds may be stale.
    session.expire_all()
    return report


def _context(
    session: Session, today: date, default_unit: str | None, snapshot_of: str | None = None
) -> _Context:
    """What the rows are checked against: reference data, the vocabulary, and — for the
    supervising unit of entities a file gives none — the stations and a default."""
    from supervision.registry.reference import read_reference
    from supervision.settings import get_settings

    data_dir = get_settings().data_dir
    refs = _Refs.load(session)
    stations = read_reference(data_dir).station_of_township()
    if refs.units:
        stations = {t: u for t, u in stations.items() if u in refs.units}
    unit = None
    if default_unit:
        unit = default_unit.strip()
        unit = refs.unit_names.get(unit, unit)
        if refs.units and unit not in refs.units:
            raise _FileProblem(
                None,
                f"默认管辖单位“{default_unit}”不存在",
                f"the default supervising unit {default_unit!r} does not exist",
            )
    return _Context(
        today.isoformat(),
        today.year,
        refs,
        vocab=vocabulary(data_dir),
        default_unit=unit,
        stations=stations,
        snapshot_of=_snapshot_scope(refs, snapshot_of),
    )


def _snapshot_scope(refs: _Refs, scope: str | None) -> str | None:
    """A unit (code or name) or a region code (a prefix: 652301, 652301101) — or refused."""
    if not scope or not scope.strip():
        return None
    scope = scope.strip()
    scope = refs.unit_names.get(scope, scope)
    if scope in refs.units or (scope.isascii() and scope.isdigit() and len(scope) in (2, 4, 6, 9)):
        return scope
    raise _FileProblem(
        None,
        f"全量快照的范围“{scope}”既不是管辖单位，也不是行政区划代码",
        f"snapshot scope {scope!r} is neither a unit nor a region code",
    )


# A row whose key cell starts with one of these is a totals or note row of the export.
TOTALS_WORDS = ("合计", "总计", "共计", "小计", "总数", "备注", "说明", "制表")
# Title and note rows an export may put above its header.
HEADER_SEARCH_ROWS = 30


def _stream(
    session: Session,
    kind: _Kind,
    ctx: _Context,
    rows: Iterator[tuple[int, list[str] | _Unreadable]],
    issues: _Issues,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> None:
    """Find the header (title rows above it are skipped), then hand the rows to the
    validator and a writer."""
    line, header, rows = _find_header(kind, ctx, rows)
    issues.report.header_line = line
    plan = _plan(kind, ctx, header, line)
    issues.report.derived = {name: {} for name in plan.derived}
    issues.report.ignored_columns = plan.ignored
    conn = session.connection()
    with closing(SeenKeys()) as seen:
        with closing(_writer(conn, kind, plan, now)) as writer:
            written = _validate_and_write(
                kind, ctx, plan, header, rows, issues, writer, progress, seen
            )
        if not written:
            return
        if ctx.snapshot_of and kind.name == "entities":
            _report_absent(conn, ctx.snapshot_of, seen, issues.report)
        # Only an update can meet stored values the file did not carry: inserted rows hold the
        # file's values alone, already checked row by row (a first load skips the scan).
        if kind.check_written is not None and issues.report.updated:
            titles = {step[2]: step[1] for step in plan.steps}
            found = [
                (line, titles.get(name), zh, en)
                for key, name, zh, en in kind.check_written(conn, plan)
                if (line := seen.first_line(key)) is not None
            ]
            for line, title, zh, en in sorted(found, key=lambda f: f[0]):
                issues.error(line, title, "", zh, en)


def _report_absent(conn: Any, scope: str, seen: SeenKeys, report: Any) -> None:
    """Registered entities of the snapshot's unit or region that the file does not list."""
    e = Entity.__table__.c
    report.snapshot_of = scope
    rows = conn.execute(
        select(e.uscc, e.name, e.supervising_unit, e.status)
        .where(or_(e.supervising_unit == scope, e.region_code.startswith(scope, autoescape=True)))
        .order_by(e.uscc)
        .execution_options(yield_per=10_000)
    )
    for uscc, name, unit, status in rows:
        if uscc in seen:
            continue
        report.absent_total += 1
        if len(report.absent) < ABSENT_SHOWN:
            report.absent.append(
                {"uscc": uscc, "name": name, "supervising_unit": unit, "status": str(status)}
            )


def _find_header(
    kind: _Kind, ctx: _Context, rows: Iterator[tuple[int, list[str] | _Unreadable]]
) -> tuple[int, list[str], Iterator[tuple[int, list[str] | _Unreadable]]]:
    """The header row: among the first rows, the first that names the key column and most
    fields; rows above it are the export's title and notes. With none, the first non-blank
    row (whose missing columns the plan then names)."""
    looked: list[tuple[int, list[str]]] = []
    for line, cells in rows:
        if cells.__class__ is _Unreadable:
            raise _FileProblem(line, cells.zh, cells.en)
        if not any(cell.strip() for cell in cells):
            continue
        looked.append((line, cells))
        if header_score(kind, ctx, cells) >= 2:
            return line, cells, rows
        if len(looked) >= HEADER_SEARCH_ROWS:
            break
    if not looked:
        raise _FileProblem(None, "文件为空（没有表头行）", "the file is empty (no header row)")
    # No row names the key and another field: the first one is the header, whose missing
    # columns the plan then names.
    return looked[0][0], looked[0][1], itertools.chain(looked[1:], rows)


def _validate_and_write(
    kind: _Kind,
    ctx: _Context,
    plan: _Plan,
    header: list[str],
    rows: Iterator[tuple[int, list[str] | _Unreadable]],
    issues: _Issues,
    writer: _SqliteWriter | _PostgresWriter,
    progress: Callable[[int], None] | None,
    seen: SeenKeys,
) -> bool:
    """Validate every row; write chunks while all rows so far are good; fill in the counts.

    Records every key and its line in `seen`; returns whether everything was written.
    """
    report = issues.report

    # The loop below runs once per row of files with millions of rows: everything it touches
    # is a local, and cells are checked with str methods and cached verdicts.
    text_mode, child_mode, required, miss, bad_value = _TEXT, _CHILD, _REQUIRED, _MISS, _Bad
    derived_mode, totals_words, derived_counts = _DERIVED, TOTALS_WORDS, report.derived
    width, steps, tail = plan.width, plan.steps, writer.tail
    key_index, key_header, parse_key = plan.key_index, plan.key_header, kind.parse_key
    check_row, flag_row = kind.check_row, kind.flag_row
    if kind.check_columns and not set(kind.check_columns) & set(plan.columns):
        check_row = flag_row = None
    names = [*kind.key_columns, *plan.columns]
    error, flag = issues.error, issues.flag
    padding = [""] * width
    first_line, remember = seen.first_line, seen.add  # key → line, for duplicates
    chunk: list[list[Any]] = []
    children: list[tuple[str, int]] = []
    writing = True
    read = 0
    next_progress = CHUNK_ROWS

    try:
        for line, cells in rows:
            if cells.__class__ is _Unreadable:
                read += 1
                column = header[cells.column] if cells.column is not None else None
                error(line, column, cells.value, cells.zh, cells.en)
                writing = False
                continue
            if not any(cells):
                continue
            read += 1
            if read >= next_progress:
                next_progress += CHUNK_ROWS
                if progress is not None:
                    progress(read)
            bad = False
            n = len(cells)
            if n < width:
                cells += padding[n:]
            elif n > width and any(cells[width:]):
                error(
                    line,
                    None,
                    next(c for c in cells[width:] if c),
                    f"本行有{n}列，多于表头的{width}列（值中含未加引号的逗号？）",
                    f"the row has {n} cells, the header {width} (unquoted comma in a value?)",
                )
                bad = True

            values: list[Any] = []
            key = raw = cells[key_index].strip()
            if raw.startswith(totals_words):
                report.skipped_lines.append(line)  # the export's totals or notes
                read -= 1
                continue
            if not raw:
                error(line, key_header, raw, "必填项为空", "required value is empty")
                bad = True
            else:
                try:
                    key, values, flagged = parse_key(raw)
                except _Bad as exc:
                    error(line, key_header, raw, exc.zh, exc.en)
                    bad = True
                else:
                    first = first_line(key)
                    if first is not None:
                        error(
                            line,
                            key_header,
                            raw,
                            f"与第{first}行重复",
                            f"duplicate of line {first}",
                        )
                        bad = True
                    else:
                        remember(key, line)
                        if flagged is not None:
                            flag(line, key_header, raw, *flagged)
            years = None
            for index, title, _name, mode, arg, default in steps:
                raw = cells[index].strip()
                if not raw:
                    if default is required:
                        error(line, title, raw, "必填项为空", "required value is empty")
                        bad = True
                    elif mode != child_mode:
                        values.append(default)
                elif mode == derived_mode:
                    cache, derive = arg
                    value = cache.get(raw, miss)
                    if value is miss:
                        value = derive(raw)
                        if len(cache) < CACHE_CAP:
                            cache[raw] = value
                    counts = derived_counts[_name]
                    if value is None and default is not None:
                        value = default
                        counts["default"] = counts.get("default", 0) + 1
                        flag(
                            line,
                            title,
                            raw,
                            f"未能从住所推断管辖单位，已用默认单位{default}",
                            f"no unit could be derived from the address; default {default} used",
                        )
                    elif value is None:
                        error(
                            line,
                            title,
                            raw,
                            *_not_derived(_name, raw),
                        )
                        bad = True
                        continue
                    else:
                        counts["derived"] = counts.get("derived", 0) + 1
                    values.append(value)
                elif mode == text_mode:
                    if "\x00" in raw:
                        error(line, title, raw, "含有空字符（NUL）", "contains a NUL character")
                        bad = True
                    elif len(raw) > arg:
                        error(
                            line,
                            title,
                            raw,
                            f"长度{len(raw)}超过上限{arg}",
                            f"{len(raw)} characters, at most {arg}",
                        )
                        bad = True
                    else:
                        values.append(raw)
                else:
                    cache, parse = arg
                    value = cache.get(raw, miss)
                    if value is miss:
                        try:
                            value = parse(raw)
                        except _Bad as exc:
                            value = exc
                        if len(cache) < CACHE_CAP:
                            cache[raw] = value
                    if value.__class__ is bad_value:
                        error(line, title, raw, value.zh, value.en)
                        bad = True
                    elif mode == child_mode:
                        years = value
                    else:
                        values.append(value)
            if check_row is not None and not bad:
                row = dict(zip(names, values, strict=True))
                problem = check_row(ctx, row)
                if problem is not None:
                    name, zh, en = problem
                    index, title, *_ = next(step for step in steps if step[2] == name)
                    error(line, title, cells[index].strip(), zh, en)
                    bad = True
                elif flag_row is not None and (warning := flag_row(ctx, row)) is not None:
                    name, zh, en = warning
                    index, title, *_ = next(step for step in steps if step[2] == name)
                    flag(line, title, cells[index].strip(), zh, en)

            if bad:
                if writing:
                    writing = False
                    chunk.clear()
                    children.clear()
            elif writing:
                values += tail
                chunk.append(values)
                if years:
                    children.extend((key, year) for year in years)
                if len(chunk) >= CHUNK_ROWS:
                    writer.write(chunk, children)
                    chunk, children = [], []
    finally:
        report.rows_read = read  # also when reading stopped early

    if progress is not None:
        progress(read)
    if not writing:
        return False
    if chunk:
        writer.write(chunk, children)
    report.inserted, changed, report.annual_reports_added = writer.finish()
    report.updated = changed - report.inserted
    report.unchanged = read - changed
    return True
