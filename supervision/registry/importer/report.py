"""The import report, its errors and flags, and the problems that stop a row or a file."""

from dataclasses import asdict, dataclass, field
from typing import Any

from supervision.errors import Invalid

# Characters of a bad value repeated in the report (enough to find it in the file).
VALUE_SHOWN = 50
# Entities absent from a snapshot listed in the report (all are counted).
ABSENT_SHOWN = 1000


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
    header_line: int | None = None  # rows above it were the export's title and notes
    # Derived required fields: field → {"derived": n, "default": m}.
    derived: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped_lines: list[int] = field(default_factory=list)  # totals and note rows
    # A snapshot import: registered entities of its scope the file does not list (kept, not
    # deleted), the first ABSENT_SHOWN of them, and how many in all.
    snapshot_of: str | None = None
    absent: list[dict[str, str]] = field(default_factory=list)
    absent_total: int = 0
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
