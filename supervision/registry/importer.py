"""Bulk import of market entities and inspectors (市场主体、执法检查人员批量导入).

Files come as registration offices export them: CSV in UTF-8 (with or without BOM) or
GB18030/GBK, CRLF or LF, comma- or tab-separated, or XLSX; headers in Chinese or English
(`supervision.registry.columns`).

All or nothing. The file streams through one pass: chunks are written while every row so far
is valid; after the first bad row the rest is only validated, so the report lists every
problem. The writes run inside a savepoint that is rolled back before `ImportFailed` is
raised, so a failed import leaves nothing behind even if the caller went on to commit.

Upsert semantics. Rows match existing ones by USCC (entities) or badge number (inspectors).
A column absent from the file is never touched on update; a present column is authoritative:
a blank cell clears an optional value, and status, risk class, active and expert flags fall
back to their defaults. Annual-report years are only ever added, never removed. Rows whose
values equal the stored ones are left alone (reported as unchanged).
"""

import codecs
import csv
import hashlib
import io
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

import charset_normalizer
import openpyxl
from sqlalchemy import Connection, Table, and_, bindparam, or_
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlmodel import Session, select

from supervision.audit.service import record_change
from supervision.clock import Clock, SystemClock
from supervision.errors import Invalid
from supervision.registry.columns import (
    BOOLEAN_VALUES,
    ENTITY_COLUMNS,
    ENTITY_REQUIRED,
    ENTITY_STATUS_VALUES,
    ENTITY_TYPE_VALUES,
    INSPECTOR_COLUMNS,
    INSPECTOR_REQUIRED,
    TAX_FILED_VALUES,
    TAX_FILING_COLUMNS,
    TAX_FILING_REQUIRED,
)
from supervision.registry.models import (
    REVOKED_ON_STATUSES,
    Department,
    Entity,
    EntityStatus,
    Industry,
    Inspector,
    TaxFiling,
    Unit,
    canonical_qualifications,
    entity_date_problem,
)
from supervision.registry.uscc import UsccError, validate_uscc

# Rows per write: big enough to amortise a statement, small enough to keep memory flat.
CHUNK_ROWS = 10_000
READ_BLOCK = 1 << 20
# No sane export has a physical line this long; it bounds memory on hostile input.
LINE_CAP = 1 << 20
SPOOL_BYTES = 32 << 20
VALUE_SHOWN = 50
# Values of coded columns (dates, units, industries…) repeat; caching their verdicts makes a
# million rows cheap. The cap keeps a hostile file of all-distinct values from growing it.
CACHE_CAP = 1 << 16

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UTF8_BOM = codecs.BOM_UTF8
# Excel keeps 15 significant digits: a longer number in a numeric cell has lost digits.
EXCEL_EXACT_LIMIT = 10**15
# Bytes that never occur in a text CSV (C0 controls except tab, LF, CR): their share in the
# first block tells UTF-16 and binary files from text.
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
CONTROL_SHARE_MAX = 0.05


@dataclass
class RowError:
    """One problem, located: `line` is the physical line (CSV) or row (XLSX), header = 1."""

    line: int | None
    column: str | None
    value: str
    reason_zh: str
    reason_en: str


@dataclass
class ImportReport:
    kind: str
    filename: str
    sha256: str = ""
    encoding: str | None = None
    format: str | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    annual_reports_added: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    flagged: list[RowError] = field(default_factory=list)
    flagged_total: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_total: int = 0

    @property
    def ok(self) -> bool:
        return self.error_total == 0

    @property
    def errors_truncated(self) -> bool:
        return self.error_total > len(self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "errors_truncated": self.errors_truncated}


class ImportFailed(Invalid):
    """Nothing was written; `.report` lists what is wrong (a domain refusal, like `Invalid`)."""

    def __init__(self, report: ImportReport) -> None:
        first = report.errors[0] if report.errors else RowError(None, None, "", "", "")
        where_zh = f"第{first.line}行" if first.line else ""
        where_en = f"line {first.line}" if first.line else ""
        if first.column:
            where_zh += f"“{first.column}”列"
            where_en += f", column {first.column!r}" if where_en else f"column {first.column!r}"
        where_zh = f"{where_zh}：" if where_zh else ""
        where_en = f"{where_en}: " if where_en else ""
        super().__init__(
            f"导入失败，未写入任何数据。共{report.error_total}处错误，首处：{where_zh}"
            f"{first.reason_zh}",
            f"import failed, nothing was written. {report.error_total} error(s), first: "
            f"{where_en}{first.reason_en}",
            report=report.to_dict(),
        )
        self.report = report


def import_entities(
    session: Session,
    source: BinaryIO | Path,
    *,
    filename: str,
    actor: str,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
    error_cap: int = 200,
) -> ImportReport:
    """Upsert market entities (and their annual-report years) from a CSV or XLSX file."""
    return _import(session, source, _ENTITIES, filename, actor, clock, progress, error_cap)


def import_tax_filings(
    session: Session,
    source: BinaryIO | Path,
    *,
    filename: str,
    actor: str,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
    error_cap: int = 200,
) -> ImportReport:
    """Upsert tax filings (涉税信息: entity × year, filed or not) from a CSV or XLSX file.

    All or nothing, like the registries: every entity must already be in the registry.
    """
    return _import(session, source, _TAX_FILINGS, filename, actor, clock, progress, error_cap)


def import_inspectors(
    session: Session,
    source: BinaryIO | Path,
    *,
    filename: str,
    actor: str,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
    error_cap: int = 200,
) -> ImportReport:
    """Upsert inspectors from a CSV or XLSX file."""
    return _import(session, source, _INSPECTORS, filename, actor, clock, progress, error_cap)


# ---- problems ---------------------------------------------------------------------------


class _Bad(Exception):
    """A refused value, with the reason in both languages."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def _split_message(message: str) -> tuple[str, str]:
    """Split the "中文 / English" messages of the USCC and model validators."""
    zh, _, en = message.partition(" / ")
    return zh, en or zh


class _FileProblem(Exception):
    """The file cannot be read on (encoding, layout): reading stops here."""

    def __init__(self, line: int | None, zh: str, en: str) -> None:
        super().__init__(en)
        self.line = line
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class _Unreadable:
    """A record the reader could not turn into cells; stands in for the row's cells."""

    column: int | None
    value: str
    zh: str
    en: str


class _Issues:
    """Counts every error and flag; keeps the first `cap` of each for the report."""

    def __init__(self, report: ImportReport, cap: int) -> None:
        self.report = report
        self.cap = cap

    def error(self, line: int | None, column: str | None, value: str, zh: str, en: str) -> None:
        self.report.error_total += 1
        if len(self.report.errors) < self.cap:
            self.report.errors.append(RowError(line, column, _shown(value), zh, en))

    def flag(self, line: int, column: str, value: str, zh: str, en: str) -> None:
        self.report.flagged_total += 1
        if len(self.report.flagged) < self.cap:
            self.report.flagged.append(RowError(line, column, _shown(value), zh, en))


def _shown(value: str) -> str:
    value = value.replace("\x00", "\\x00")
    return value if len(value) <= VALUE_SHOWN else value[:VALUE_SHOWN] + "…"


# ---- reading the file ---------------------------------------------------------------------


@contextmanager
def _binary(source: BinaryIO | Path) -> Iterator[BinaryIO]:
    """A seekable binary stream over the source (detection reads it twice)."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            yield f
    elif source.seekable():
        yield source
    else:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            shutil.copyfileobj(source, spool, READ_BLOCK)
            spool.seek(0)
            yield spool


@dataclass
class _Sniffed:
    sha256: str
    format: str | None  # "csv" / "xlsx"; None when the file is refused
    encoding: str | None
    problem: _FileProblem | None = None


def _sniff(stream: BinaryIO) -> _Sniffed:
    """Hash the bytes and tell the format and text encoding, streaming block by block.

    UTF-8 is checked over the whole file, so a non-UTF-8 byte late in the file still selects
    GB18030 before a single row is read (or refuses a file that mixes the two).
    """
    start = stream.tell()
    head = stream.read(READ_BLOCK)
    digest = hashlib.sha256(head)

    def rest() -> Iterator[bytes]:
        while block := stream.read(READ_BLOCK):
            digest.update(block)
            yield block

    def done(
        fmt: str | None, encoding: str | None, problem: _FileProblem | None = None
    ) -> _Sniffed:
        for _ in rest():
            pass
        stream.seek(start)
        return _Sniffed(digest.hexdigest(), fmt, encoding, problem)

    if not head:
        return done(None, None, _FileProblem(None, "文件为空", "the file is empty"))
    if head.startswith(XLSX_MAGIC):
        return done("xlsx", None)
    if head.startswith(XLS_MAGIC):
        return done(
            None,
            None,
            _FileProblem(
                None,
                "不支持旧版Excel（.xls）文件，请另存为.xlsx或CSV",
                "legacy Excel (.xls) files are not supported: save as .xlsx or CSV",
            ),
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_binary(head):
        return done(None, None, _unknown_encoding(head))

    has_bom = head.startswith(UTF8_BOM)
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    ascii_lines_only = True  # no complete line with non-ASCII text decoded so far
    block = head
    blocks = rest()
    while True:
        try:
            decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            bad_line = line + exc.object.count(b"\n", 0, exc.start)
            before = exc.object[: exc.object.rfind(b"\n", 0, exc.start) + 1]
            if has_bom or not ascii_lines_only or not before.isascii():
                return done(None, None, _mixed_encoding(bad_line))
            if not _decodes_as_gb18030(head):
                return done(None, None, _unknown_encoding(head))
            return done("csv", "gb18030")
        if not block:
            return done("csv", "utf-8-sig" if has_bom else "utf-8")
        last_nl = block.rfind(b"\n")
        if last_nl >= 0 and not block[: last_nl + 1].isascii():
            ascii_lines_only = False
        line += block.count(b"\n")
        block = next(blocks, b"")


def _looks_binary(head: bytes) -> bool:
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    return controls > CONTROL_SHARE_MAX * len(head)


def _decodes_as_gb18030(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _unknown_encoding(head: bytes) -> _FileProblem:
    best = charset_normalizer.from_bytes(head[:65536]).best()
    guess = best.encoding if best is not None else "binary"
    return _FileProblem(
        None,
        f"无法识别文件编码（检测结果：{guess}），不是UTF-8或GB18030编码的CSV，也不是XLSX。"
        "请另存为UTF-8或GB18030编码的CSV，或XLSX文件",
        f"unrecognised file encoding (detected: {guess}); not a UTF-8 or GB18030 CSV nor an "
        "XLSX file. Save it as CSV in UTF-8 or GB18030, or as XLSX",
    )


def _mixed_encoding(line: int) -> _FileProblem:
    return _FileProblem(
        line,
        f"文件前部为UTF-8编码，第{line}行出现非UTF-8字节（可能混入了GBK编码的内容）。"
        "请统一另存为UTF-8或GB18030编码的CSV",
        f"the file starts in UTF-8 but line {line} has bytes that are not UTF-8 (GBK content "
        "mixed in?). Save the whole file as CSV in UTF-8 or GB18030",
    )


def _capped_lines(text: io.TextIOWrapper) -> Iterator[str]:
    readline = text.readline
    while line := readline(LINE_CAP):
        if len(line) == LINE_CAP and line[-1] not in "\r\n":
            raise _LineTooLong
        yield line


class _LineTooLong(Exception):
    pass


def _read_csv(stream: BinaryIO, encoding: str) -> Iterator[tuple[int, list[str] | _Unreadable]]:
    """(physical line where the record starts, cells) for every record, blank ones included."""
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    consumed = 0  # physical lines read so far
    try:
        lines = _capped_lines(text)
        for first in lines:
            if first.strip():
                break
            consumed += 1
        else:
            return
        # A header with tabs and no commas is a tab-separated export.
        delimiter = "\t" if "\t" in first and "," not in first else ","
        reader = csv.reader(itertools.chain((first,), lines), delimiter=delimiter)
        base = consumed
        while True:
            try:
                for cells in reader:
                    start = consumed + 1
                    consumed = base + reader.line_num
                    yield start, cells
                return
            except csv.Error as exc:
                start = consumed + 1
                consumed = base + reader.line_num
                yield start, _csv_problem(exc)
    except _LineTooLong:
        raise _FileProblem(
            consumed + 1,
            f"第{consumed + 1}行超过{LINE_CAP}个字符，文件不像是CSV",
            f"line {consumed + 1} is longer than {LINE_CAP} characters: not a CSV file?",
        ) from None
    except UnicodeDecodeError:
        encoding = encoding.upper().removesuffix("-SIG")
        raise _FileProblem(
            consumed + 1,
            f"第{consumed + 1}行附近有无法按{encoding}解码的字节，请另存为UTF-8或GB18030编码的CSV",
            f"bytes near line {consumed + 1} cannot be decoded as {encoding}: save the file as "
            "CSV in UTF-8 or GB18030",
        ) from None
    finally:
        text.detach()  # the caller owns the binary stream


def _csv_problem(exc: csv.Error) -> _Unreadable:
    if "field larger than field limit" in str(exc):
        limit = csv.field_size_limit()
        return _Unreadable(
            None,
            "",
            f"单元格超过{limit}个字符（可能是引号未闭合）",
            f"a cell is longer than {limit} characters (unbalanced quote?)",
        )
    return _Unreadable(None, "", f"CSV格式错误：{exc}", f"malformed CSV: {exc}")


def _read_xlsx(stream: BinaryIO) -> Iterator[tuple[int, list[str] | _Unreadable]]:
    """Rows of the first sheet as text, numbered like Excel numbers them."""
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl fails in many ways on untrusted input: report any
        raise _FileProblem(
            None,
            f"无法读取XLSX文件（{type(exc).__name__}），请用Excel重新另存后再导入",
            f"cannot read the XLSX file ({type(exc).__name__}: {exc}); re-save it from Excel",
        ) from None
    try:
        sheet = workbook.worksheets[0]
        # Read-only sheets fill gaps with empty rows, so enumeration gives Excel's numbers.
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, _xlsx_cells(values)
    finally:
        workbook.close()


def _xlsx_cells(values: tuple[Any, ...]) -> list[str] | _Unreadable:
    cells: list[str] = []
    for index, value in enumerate(values):
        if value is None:
            cells.append("")
        elif isinstance(value, str):
            cells.append(value)
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        elif isinstance(value, int | float):
            if abs(value) >= EXCEL_EXACT_LIMIT:
                return _Unreadable(
                    index,
                    f"{value:.15g}",
                    "数值超过15位有效数字，Excel已截断（请将该列设为文本格式后重新录入）",
                    "a number with more than 15 significant digits was truncated by Excel "
                    "(format the column as text and re-enter it)",
                )
            # A code or year typed as a number comes back as 652301.0.
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            cells.append(str(value))
        elif isinstance(value, datetime):
            cells.append(value.date().isoformat() if value.time() == time() else str(value))
        elif isinstance(value, date):
            cells.append(value.isoformat())
        else:
            cells.append(str(value))
    return cells


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

    @classmethod
    def load(cls, session: Session) -> "_Refs":
        units = session.exec(select(Unit.code, Unit.name, Unit.department_code)).all()
        departments = session.exec(select(Department.code, Department.name)).all()
        industries = session.exec(select(Industry.code, Industry.parent_code)).all()
        return cls(
            industries=dict(industries),
            units={code: dept for code, _, dept in units},
            unit_names={name: code for code, name, _ in units},
            departments={code for code, _ in departments},
            department_names={name: code for code, name in departments},
        )


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


def _region_code(raw: str) -> str:
    if not (raw.isascii() and raw.isdigit() and len(raw) in (6, 9, 12)):
        raise _Bad(
            "行政区划代码应为6位数字（乡镇街道为9或12位）",
            "region code must be 6 digits (9 or 12 for townships)",
        )
    return raw


def _industry_code(refs: _Refs) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        code = raw.upper()
        m = INDUSTRY_RE.fullmatch(code)
        if not code or m is None:
            raise _Bad(
                "行业代码应为GB/T 4754门类字母和/或2–4位数字，如F5211、5211或F",
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


# ---- the two kinds of import --------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    today: str  # ISO date in China
    this_year: int
    refs: _Refs


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
        "entity_type": _Field(_coded(ENTITY_TYPE_VALUES, "主体类型", "entity type")),
        "legal_rep": _Field(),
        "legal_rep_id_no": _Field(),
        "phone": _Field(),
        "registered_address": _Field(),
        "business_address": _Field(),
        "region_code": _Field(_region_code),
        "industry_code": _Field(_industry_code(ctx.refs)),
        "registration_authority": _Field(),
        "supervising_unit": unit,
        "established_on": _Field(_past_date(ctx.today)),
        "status": _Field(_coded(ENTITY_STATUS_VALUES, "登记状态", "status"), default="active"),
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

_TEXT, _PARSED, _CHILD = 0, 1, 2
_REQUIRED = object()
_MISS = object()


@dataclass
class _Plan:
    """The header, resolved: where each field's cells are and how to read them."""

    width: int
    key_index: int
    key_header: str
    # (cell index, header as written, field name, mode, text limit or (cache, parse), default)
    steps: list[tuple[int, str, str, int, Any, Any]]
    columns: list[str]  # row values after the key columns, in order
    absent_defaults: dict[str, Any]  # columns not in the file that still need a value
    ignored: list[str]


def _plan(kind: _Kind, ctx: _Context, header: list[str], line: int) -> _Plan:
    lookup = {alias.lower(): name for name, aliases in kind.columns.items() for alias in aliases}
    found: dict[str, tuple[int, str]] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        title = cell.strip()
        name = lookup.get(title.lower())
        if name is None:
            if title:
                ignored.append(title)
        elif name in found:
            first = found[name][1]
            raise _FileProblem(
                line,
                f"列“{first}”和“{title}”都表示{kind.columns[name][0]}，只能保留一列",
                f"columns {first!r} and {title!r} both mean {name}: keep one",
            )
        else:
            found[name] = (index, title)
    missing = [name for name in kind.required if name not in found]
    if missing:
        raise _FileProblem(
            line,
            "缺少必填列：" + "、".join(kind.columns[n][0] for n in missing),
            "missing required columns: "
            + ", ".join(f"{n} ({kind.columns[n][0]})" for n in missing),
        )
    fields = kind.fields(ctx)
    steps = []
    columns = []
    for name, spec in fields.items():
        if name not in found:
            continue
        index, title = found[name]
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
        if name not in found and spec.default is not None
    }
    key_index, key_header = found[kind.key]
    return _Plan(len(header), key_index, key_header, steps, columns, absent, ignored)


# ---- writing ------------------------------------------------------------------------------


class _SqliteWriter:
    """executemany upserts on the session's own DBAPI connection, chunk by chunk."""

    def __init__(self, conn: Connection, kind: _Kind, plan: _Plan, now: datetime) -> None:
        self.cursor = conn.connection.driver_connection.cursor()
        table = kind.table.name
        own = [*kind.key_columns, *plan.columns]
        insert = [*own, *plan.absent_defaults, "created_at", "updated_at"]
        # Row values are bound as ?1..?n; the two timestamps share the last parameter.
        params = [f"?{i}" for i in range(1, len(insert))] + [f"?{len(insert) - 1}"]
        changed = [*kind.key_columns[1:], *plan.columns]
        self.sql = (
            f"INSERT INTO {table} ({', '.join(insert)}) VALUES ({', '.join(params)}) "
            f"ON CONFLICT ({kind.key}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in [*changed, "updated_at"])
            + " WHERE "
            + " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in changed)
        )
        # Row tail: defaults of absent columns, then the timestamp (as SQLAlchemy writes it).
        self.tail = (
            *plan.absent_defaults.values(),
            now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
        self.child_sql = None
        if kind.child:
            child, (key_col, value_col) = kind.child
            self.child_sql = (
                f"INSERT INTO {child} ({key_col}, {value_col}) VALUES (?, ?) "
                f"ON CONFLICT ({key_col}, {value_col}) DO NOTHING"
            )
        self.table = table
        self.cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        self.max_id_before = self.cursor.fetchone()[0]
        self.changed = self.children = 0

    def write(self, rows: list[list[Any]], children: list[tuple[str, int]]) -> None:
        self.cursor.executemany(self.sql, rows)
        # Upserts whose WHERE found nothing to change do not count.
        self.changed += self.cursor.rowcount
        if children:
            self.cursor.executemany(self.child_sql, children)
            self.children += self.cursor.rowcount

    def finish(self) -> tuple[int, int, int]:
        """(rows inserted, rows inserted or changed, child rows added)."""
        # The transaction holds SQLite's write lock, so ids above the old maximum are ours.
        self.cursor.execute(
            f"SELECT count(*) FROM {self.table} WHERE id > ?", (self.max_id_before,)
        )
        return self.cursor.fetchone()[0], self.changed, self.children

    def close(self) -> None:
        self.cursor.close()


class _PostgresWriter:
    """COPY validated rows into a temporary staging table and upsert them set-based — the
    upsert in a worker thread, on the same connection, while the main thread validates on.

    The set-based upsert of a million rows takes the server about as long as validating them
    takes Python; one after the other they added up to 2.2× a raw COPY. Now, while an upsert
    runs, validated rows wait in memory (at most BUFFER_ROWS; then the main thread waits);
    when it has finished they are copied to the stage and the next upsert starts. The
    connection is used by one thread at a time, and the import stays one transaction.
    """

    STAGE = "registry_import_stage"
    CHILD_STAGE = "registry_import_child_stage"
    UPSERT_ROWS = 50_000  # rows staged per upsert
    BUFFER_ROWS = 200_000  # validated rows held while an upsert runs

    def __init__(self, conn: Connection, kind: _Kind, plan: _Plan, now: datetime) -> None:
        driver = conn.connection.driver_connection
        self.cursor = driver.cursor()
        self.upsert_cursor = driver.cursor()  # used by the worker thread only
        self.kind, self.now = kind, now
        self.table = table = kind.table.name
        self.own = [*kind.key_columns, *plan.columns]
        self.absent = plan.absent_defaults
        self.changed_columns = [*kind.key_columns[1:], *plan.columns]
        self.tail = ()
        # Staging columns take the target's types (enums included) without its constraints.
        self.cursor.execute(
            f"CREATE TEMPORARY TABLE {self.STAGE} ON COMMIT DROP AS "
            f"SELECT {', '.join(self.own)} FROM {table} WITH NO DATA"
        )
        if kind.child:
            child, cols = kind.child
            self.cursor.execute(
                f"CREATE TEMPORARY TABLE {self.CHILD_STAGE} ON COMMIT DROP AS "
                f"SELECT {', '.join(cols)} FROM {child} WITH NO DATA"
            )
        insert = [*self.own, *self.absent, "created_at", "updated_at"]
        changed = self.changed_columns
        # Counts what it did: xmax is 0 on a row version this statement inserted, set on one
        # it updated; unchanged rows (the WHERE below) are not returned.
        self.upsert_sql = (
            "WITH written AS ("
            f"INSERT INTO {table} ({', '.join(insert)}) "
            f"SELECT {', '.join(self.own)}, {', '.join(['%s'] * (len(self.absent) + 2))} "
            f"FROM {self.STAGE} "
            f"ON CONFLICT ({kind.key}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in [*changed, "updated_at"])
            + f" WHERE ({', '.join(f'{table}.{c}' for c in changed)}) IS DISTINCT FROM "
            f"({', '.join(f'excluded.{c}' for c in changed)})"
            " RETURNING (xmax = 0) AS inserted"
            ") SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
        )
        self.upsert_params = [*self.absent.values(), now, now]
        self.inserted = self.written = 0
        self.buffer: list[list[Any]] = []
        self.child_buffer: list[tuple[str, int]] = []
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-upsert")
        self.pending: Future[tuple[int, int]] | None = None

    def _upsert_stage(self) -> tuple[int, int]:
        """Upsert the staged rows, then empty the stage: (rows inserted, inserted or changed)."""
        cur = self.upsert_cursor
        cur.execute(self.upsert_sql, self.upsert_params)
        inserted, written = cur.fetchone()
        cur.execute(f"TRUNCATE {self.STAGE}")
        return inserted, written

    def _wait(self) -> None:
        """Let the chunk's upsert finish (raising its error, if any) before the next step."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            inserted, written = pending.result()
            self.inserted += inserted
            self.written += written

    def write(self, rows: list[list[Any]], children: list[tuple[str, int]]) -> None:
        self.buffer += rows
        self.child_buffer += children
        if self.pending is not None and not self.pending.done():
            if len(self.buffer) < self.BUFFER_ROWS:
                return  # validate on while the server upserts
        self._wait()  # the stage is free again, and the connection is ours
        if len(self.buffer) >= self.UPSERT_ROWS:
            self._stage()
            self.pending = self.worker.submit(self._upsert_stage)

    def _stage(self) -> None:
        """COPY the buffered rows into the stage (the main thread, connection free)."""
        with self.cursor.copy(f"COPY {self.STAGE} ({', '.join(self.own)}) FROM STDIN") as copy:
            for row in self.buffer:
                copy.write_row(row)
        self.buffer = []
        if self.child_buffer:
            child, cols = self.kind.child
            with self.cursor.copy(
                f"COPY {self.CHILD_STAGE} ({', '.join(cols)}) FROM STDIN"
            ) as copy:
                for pair in self.child_buffer:
                    copy.write_row(pair)
            self.child_buffer = []

    def finish(self) -> tuple[int, int, int]:
        """(rows inserted, rows inserted or changed, child rows added)."""
        self._wait()
        if self.buffer or self.child_buffer:
            self._stage()
            self.pending = self.worker.submit(self._upsert_stage)
            self._wait()
        cur = self.cursor
        children = 0
        if self.kind.child:
            child, (key_col, value_col) = self.kind.child
            cur.execute(
                f"INSERT INTO {child} ({key_col}, {value_col}) "
                f"SELECT {key_col}, {value_col} FROM {self.CHILD_STAGE} "
                f"ON CONFLICT ({key_col}, {value_col}) DO NOTHING"
            )
            children = cur.rowcount
        # Dropped now, not at commit: the same transaction may import another file.
        cur.execute(f"DROP TABLE IF EXISTS {self.STAGE}, {self.CHILD_STAGE}")
        return self.inserted, self.written, children

    def close(self) -> None:
        try:
            # After a failure elsewhere the caller rolls the transaction back; the chunk's
            # upsert must still end before that, and its own error would only repeat it.
            if self.pending is not None:
                wait([self.pending])
        finally:
            self.worker.shutdown(wait=True)
            self.upsert_cursor.close()
            self.cursor.close()


def _writer(
    conn: Connection, kind: _Kind, plan: _Plan, now: datetime
) -> _SqliteWriter | _PostgresWriter:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return _SqliteWriter(conn, kind, plan, now)
    if dialect == "postgresql":
        return _PostgresWriter(conn, kind, plan, now)
    raise NotImplementedError(f"bulk import is not implemented for {dialect}")


# ---- the pass -----------------------------------------------------------------------------


def _import(
    session: Session,
    source: BinaryIO | Path,
    kind: _Kind,
    filename: str,
    actor: str,
    clock: Clock | None,
    progress: Callable[[int], None] | None,
    error_cap: int,
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
        ctx = _Context(today.isoformat(), today.year, _Refs.load(session))
        if sniffed.format == "xlsx":
            reader = _read_xlsx(stream)
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
                },
                clock=clock,
            )
    # Rows were written beneath the ORM: objects it holds may be stale.
    session.expire_all()
    return report


def _stream(
    session: Session,
    kind: _Kind,
    ctx: _Context,
    rows: Iterator[tuple[int, list[str] | _Unreadable]],
    issues: _Issues,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> None:
    """Resolve the header, then hand the rows to the validator and a writer."""
    for line, header in rows:
        if header.__class__ is _Unreadable:
            raise _FileProblem(line, header.zh, header.en)
        if any(cell.strip() for cell in header):
            break
    else:
        raise _FileProblem(None, "文件为空（没有表头行）", "the file is empty (no header row)")
    plan = _plan(kind, ctx, header, line)
    issues.report.ignored_columns = plan.ignored
    conn = session.connection()
    with closing(_writer(conn, kind, plan, now)) as writer:
        seen = _validate_and_write(kind, ctx, plan, header, rows, issues, writer, progress)
    # Only an update can meet stored values the file did not carry: inserted rows hold the
    # file's values alone, already checked row by row (a million-row first load skips the scan).
    if seen is not None and kind.check_written is not None and issues.report.updated:
        titles = {step[2]: step[1] for step in plan.steps}
        found = [
            (seen[key], titles.get(name), zh, en)
            for key, name, zh, en in kind.check_written(conn, plan)
            if key in seen
        ]
        for line, title, zh, en in sorted(found, key=lambda f: f[0]):
            issues.error(line, title, "", zh, en)


def _validate_and_write(
    kind: _Kind,
    ctx: _Context,
    plan: _Plan,
    header: list[str],
    rows: Iterator[tuple[int, list[str] | _Unreadable]],
    issues: _Issues,
    writer: _SqliteWriter | _PostgresWriter,
    progress: Callable[[int], None] | None,
) -> dict[str, int] | None:
    """Validate every row; write chunks while all rows so far are good; fill in the counts.

    Returns the line of every key when everything was written, None otherwise.
    """
    report = issues.report

    # The loop below runs once per row of files with millions of rows: everything it touches
    # is a local, and cells are checked with str methods and cached verdicts.
    text_mode, child_mode, required, miss, bad_value = _TEXT, _CHILD, _REQUIRED, _MISS, _Bad
    width, steps, tail = plan.width, plan.steps, writer.tail
    key_index, key_header, parse_key = plan.key_index, plan.key_header, kind.parse_key
    check_row, flag_row = kind.check_row, kind.flag_row
    if kind.check_columns and not set(kind.check_columns) & set(plan.columns):
        check_row = flag_row = None
    names = [*kind.key_columns, *plan.columns]
    error, flag = issues.error, issues.flag
    padding = [""] * width
    seen: dict[str, int] = {}  # key → line, for duplicates
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
                    first = seen.get(key)
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
                        seen[key] = line
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
        return None
    if chunk:
        writer.write(chunk, children)
    report.inserted, changed, report.annual_reports_added = writer.finish()
    report.updated = changed - report.inserted
    report.unchanged = read - changed
    return seen


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
