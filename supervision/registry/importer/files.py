"""The clerk's files: an import template per kind, and a failed import's full error report."""

import csv
import io
import json
from typing import Any

import openpyxl
from sqlmodel import Session, col, select

from supervision.audit.models import AuditEntry
from supervision.registry.columns import (
    ENTITY_DERIVABLE,
    ENTITY_REQUIRED,
    INSPECTOR_REQUIRED,
    TAX_FILING_REQUIRED,
    vocabulary,
)
from supervision.registry.importer.report import ImportReport

# Page kinds (as the URLs name them) → vocabulary kind and required fields.
TEMPLATE_KINDS = {
    "entities": ("entities", ENTITY_REQUIRED),
    "inspectors": ("inspectors", INSPECTOR_REQUIRED),
    "tax-filings": ("tax_filings", TAX_FILING_REQUIRED),
}
FIELD_NOTES = {
    "entity_type": "可不填此列：按统一社会信用代码第1–2位推断（91企业、92个体工商户、93农民专业合作社）",
    "supervising_unit": "可不填此列：按住所中的乡镇、街道或道路推断，无法推断的用导入时指定的默认单位",
}


def _preferred(names: tuple[str, ...]) -> str:
    return next((n for n in names if not n.isascii()), names[0])


def template_columns(kind: str) -> list[tuple[str, str, bool, str]]:
    """(field, preferred header, required, every accepted header) of a kind, in file order."""
    vocab_kind, required = TEMPLATE_KINDS[kind]
    columns = vocabulary().columns[vocab_kind]
    return [
        (field, _preferred(names), field in required, "、".join(names))
        for field, names in columns.items()
    ]


def template_csv(kind: str) -> bytes:
    """The header row under the preferred names (UTF-8 with BOM, so Excel shows Chinese)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([h for _, h, _, _ in template_columns(kind)])
    return buf.getvalue().encode("utf-8-sig")


def template_xlsx(kind: str) -> bytes:
    """The header row as a sheet, and a second sheet explaining every column."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "导入模板"
    sheet.append([h for _, h, _, _ in template_columns(kind)])
    notes = book.create_sheet("列名说明")
    notes.append(["字段", "列名", "必填", "可用的列名", "说明"])
    for field, header, required, names in template_columns(kind):
        derivable = kind == "entities" and field in ENTITY_DERIVABLE
        notes.append(
            [field, header, "是" if required else "否", names, FIELD_NOTES.get(field, "")]
            if not derivable
            else [field, header, "可推断", names, FIELD_NOTES[field]]
        )
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def error_report_csv(report: ImportReport) -> bytes:
    """Every error of a failed import (as many as were kept), one per line, for Excel."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["行", "列", "值", "原因", "reason"])
    for e in report.errors:
        w.writerow([e.line or "", e.column or "", e.value, e.reason_zh, e.reason_en])
    if report.errors_truncated:
        w.writerow(["", "", "", f"另有{report.error_total - len(report.errors)}处错误未列出", ""])
    return buf.getvalue().encode("utf-8-sig")


def import_history(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Imports that were written, newest first: who, when, the file and its SHA-256, counts."""
    rows = session.exec(
        select(AuditEntry)
        .where(col(AuditEntry.action).startswith("registry.import_"))
        .order_by(col(AuditEntry.id).desc())
        .limit(limit)
    ).all()
    out = []
    for row in rows:
        payload = json.loads(row.payload)
        out.append(
            {
                "at": row.at,
                "actor": row.actor,
                "kind": row.action.removeprefix("registry.import_"),
                "sha256": row.object_key,
                **payload,
            }
        )
    return out
