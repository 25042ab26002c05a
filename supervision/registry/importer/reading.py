"""Reading the file: sniffing its format and encoding, then CSV or XLSX rows, bounded."""

import codecs
import csv
import hashlib
import io
import itertools
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

import charset_normalizer
import openpyxl
import python_calamine

from supervision.registry.importer.report import _FileProblem, _Unreadable

READ_BLOCK = 1 << 20
# No sane export has a physical line this long; it bounds memory on hostile input.
LINE_CAP = 1 << 20
SPOOL_BYTES = 32 << 20
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
        return done("xls", None)
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


# Rows of each sheet looked at for the header when a workbook has several sheets.
SHEET_HEAD_ROWS = 30
# An old .xls holds at most 65,536 rows of 256 cells: read whole (it cannot be streamed).
XLS_MAX_BYTES = 64 << 20


# An XLSX is a zip: what it unpacks to is checked before any of it is parsed. A real export's
# parts compress 5–20×; a part that unpacks to far more than that is a decompression bomb.
XLSX_MAX_UNPACKED = 2 << 30  # all parts together
XLSX_MAX_SHARED_STRINGS = 256 << 20  # read whole by the parser
XLSX_MAX_RATIO = 200  # unpacked / packed, for a part over XLSX_RATIO_FROM
XLSX_RATIO_FROM = 16 << 20


def _check_unpacked_size(stream: BinaryIO) -> None:
    """Refuse a workbook whose parts unpack to more than the bounds above (the sizes are read
    from the zip's directory; nothing is decompressed)."""
    try:
        with zipfile.ZipFile(stream) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        stream.seek(0)
        return  # not a zip at all: the parser says so in its own words
    stream.seek(0)
    total = sum(p.file_size for p in parts)
    shared = sum(p.file_size for p in parts if p.filename.endswith("sharedStrings.xml"))
    bomb = next(
        (
            p
            for p in parts
            if p.file_size > XLSX_RATIO_FROM
            and p.file_size > XLSX_MAX_RATIO * max(p.compress_size, 1)
        ),
        None,
    )
    if total > XLSX_MAX_UNPACKED or shared > XLSX_MAX_SHARED_STRINGS or bomb is not None:
        raise _FileProblem(
            None,
            f"XLSX文件解压后过大（{total / 1024 / 1024:.0f} MB），可能已损坏或是恶意文件；"
            "请另存为CSV或拆分后导入",
            f"the XLSX unpacks to {total / 1024 / 1024:.0f} MB (or a part is far more "
            "compressed than any real workbook): refused unread",
        )


def _read_xlsx(
    stream: BinaryIO, has_header: Callable[[list[list[str]]], bool] | None = None
) -> Iterator[tuple[int, list[str] | _Unreadable]]:
    """Rows of the sheet with the header (the first sheet whose first rows hold it; the
    first sheet when none does), as text, numbered like Excel numbers them."""
    _check_unpacked_size(stream)
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
        if has_header is not None and len(workbook.worksheets) > 1:
            for candidate in workbook.worksheets:
                head = [
                    cells
                    for values in itertools.islice(
                        candidate.iter_rows(values_only=True), SHEET_HEAD_ROWS
                    )
                    if not isinstance(cells := _xlsx_cells(values), _Unreadable)
                ]
                if has_header(head):
                    sheet = candidate
                    break
        # Read-only sheets fill gaps with empty rows, so enumeration gives Excel's numbers.
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, _xlsx_cells(values)
    finally:
        workbook.close()


def _read_xls(
    stream: BinaryIO, has_header: Callable[[list[list[str]]], bool] | None = None
) -> Iterator[tuple[int, list[str] | _Unreadable]]:
    """Rows of an old Excel (.xls) workbook's sheet with the header, read with calamine."""
    data = stream.read(XLS_MAX_BYTES + 1)
    if len(data) > XLS_MAX_BYTES:
        raise _FileProblem(
            None,
            "旧版Excel（.xls）文件过大，请另存为.xlsx或CSV",
            "the .xls file is too large: save it as .xlsx or CSV",
        )
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [workbook.get_sheet_by_index(n) for n in range(len(workbook.sheet_names))]
        tables = [sheet.to_python(skip_empty_area=False) for sheet in sheets]
    except Exception as exc:  # a hostile or damaged file: report whatever calamine says
        raise _FileProblem(
            None,
            f"无法读取旧版Excel（.xls）文件（{type(exc).__name__}），请另存为.xlsx或CSV",
            f"cannot read the .xls file ({type(exc).__name__}: {exc}); save as .xlsx or CSV",
        ) from None
    if not tables:
        return
    table = tables[0]
    if has_header is not None:
        for candidate in tables:
            head = [
                cells
                for values in candidate[:SHEET_HEAD_ROWS]
                if not isinstance(cells := _xlsx_cells(tuple(values)), _Unreadable)
            ]
            if has_header(head):
                table = candidate
                break
    for line, values in enumerate(table, start=1):
        yield line, _xlsx_cells(tuple(_xls_value(v) for v in values))


def _xls_value(value: Any) -> Any:
    """calamine gives "" for an empty cell and floats for numbers, like openpyxl's None/float."""
    return None if value == "" else value


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
