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

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session

from supervision.clock import Clock
from supervision.errors import Invalid
from supervision.registry.importer.kinds import _ENTITIES, _INSPECTORS
from supervision.registry.importer.report import ImportFailed, ImportReport, RowError
from supervision.registry.importer.stream import _import
from supervision.registry.importer.tax import _TAX_FILINGS

__all__ = [
    "IMPORT_KINDS",
    "ImportFailed",
    "ImportReport",
    "RowError",
    "import_entities",
    "import_inspectors",
    "import_tax_filings",
    "import_upload",
]


def import_entities(
    session: Session,
    source: BinaryIO | Path,
    *,
    filename: str,
    actor: str,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
    error_cap: int = 200,
    default_unit: str | None = None,
    snapshot_of: str | None = None,
) -> ImportReport:
    """Upsert market entities (and their annual-report years) from a CSV or XLSX file.

    ``snapshot_of`` (a unit, or a region code) declares the file a full snapshot of that
    scope: registered entities of it the file does not list are reported, never deleted.

    A file without a supervising-unit column has each entity's unit derived from its
    address (data/import/address_rules.csv); ``default_unit`` (a unit's code or name) is
    used where none can be, and without it such rows are errors."""
    return _import(
        session,
        source,
        _ENTITIES,
        filename,
        actor,
        clock,
        progress,
        error_cap,
        default_unit,
        snapshot_of,
    )


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


def import_upload(
    session: Session,
    kind: str,
    source: BinaryIO,
    *,
    filename: str,
    max_bytes: int,
    actor: str,
    clock: Clock | None = None,
    error_cap: int = 200,
    default_unit: str | None = None,
    snapshot_of: str | None = None,
) -> ImportReport:
    """An uploaded file of one of IMPORT_KINDS: refused whole when larger than `max_bytes`."""
    source.seek(0, 2)
    size = source.tell()
    source.seek(0)
    if size > max_bytes:
        raise Invalid(
            f"文件过大（{size // 1_048_576} MB），上限为 {max_bytes // 1_048_576} MB",
            f"file too large: {size} bytes, limit {max_bytes}",
        )
    options = (
        {"default_unit": default_unit, "snapshot_of": snapshot_of} if kind == "entities" else {}
    )
    return IMPORT_KINDS[kind](
        session,
        source,
        filename=filename,
        actor=actor,
        clock=clock,
        error_cap=error_cap,
        **options,
    )


# The kinds a file upload may be (as the API's URLs and the import page name them).
IMPORT_KINDS = {
    "entities": import_entities,
    "inspectors": import_inspectors,
    "tax-filings": import_tax_filings,
}
