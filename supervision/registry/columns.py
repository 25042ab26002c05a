"""Column names and values of registry import files, as registration systems export them.

The vocabulary is data, not code: `data/import/headers.csv` lists every header each field is
known by (a jurisdiction adds its own systems' names there), `data/import/values.csv` how
statuses and entity types are written, and `data/import/address_rules.csv` which words of an
address name a township (for the supervising unit when a file has none). `vocabulary(dir)`
reads them (cached per file version); the module-level names below are the shipped data's,
for the demo generator, which writes the first Chinese header and spelling of each field.
"""

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from supervision.settings import PROJECT_ROOT

DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
HEADERS_FILE = "import/headers.csv"
VALUES_FILE = "import/values.csv"
ADDRESS_RULES_FILE = "import/address_rules.csv"

ENTITY_REQUIRED = (
    "uscc",
    "name",
    "entity_type",
    "legal_rep",
    "registered_address",
    "region_code",
    "industry_code",
    "registration_authority",
    "supervising_unit",
    "established_on",
)
# Required fields an entities file may leave out because each row's value can be derived:
# the type from the credit code's type characters, the unit from the address (or a default).
ENTITY_DERIVABLE = ("entity_type", "supervising_unit")
INSPECTOR_REQUIRED = ("badge_no", "name", "department_code", "unit_code")
# Tax filings as the tax office exchanges them (涉税信息交换): one row per entity and year.
# A row needs 是否申报 or 申报日期 (a date means a return was filed).
TAX_FILING_REQUIRED = ("uscc", "year")

BOOLEAN_VALUES = {
    "是": True,
    "否": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
}
# 是否申报 in tax exports: yes/no, or how the tax office words it. A zero return (零申报) is a
# return.
TAX_FILED_VALUES = {
    **BOOLEAN_VALUES,
    "已申报": True,
    "零申报": True,
    "未申报": False,
}
# The USCC's first two characters (登记管理部门 + 机构类别, GB 32100-2015) for market entities
# registered by market regulation: 91 enterprise, 92 individual business, 93 cooperative.
USCC_TYPE_PREFIXES = {"91": "enterprise", "92": "individual", "93": "cooperative"}


class VocabularyError(ValueError):
    """A vocabulary file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Vocabulary:
    columns: dict[str, dict[str, tuple[str, ...]]]  # kind → field → headers, preferred first
    values: dict[str, dict[str, str]]  # field → exact spelling (lower-case) → code
    contains: dict[str, tuple[tuple[str, str], ...]]  # field → (word, code), in file order
    # (pattern, township code): township names first, then places, the longest first in each.
    address_rules: tuple[tuple[str, str], ...]

    def value(self, field: str, raw: str) -> str | None:
        """The code of a written value: an exact spelling, else the first word it contains."""
        code = self.values.get(field, {}).get(raw.lower())
        if code is not None:
            return code
        for word, code in self.contains.get(field, ()):
            if word in raw:
                return code
        return None

    def township_of(self, address: str) -> str | None:
        for pattern, township in self.address_rules:
            if pattern in address:
                return township
        return None


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"{path.name}: cannot read ({exc})") from None
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(lines)
    out = []
    for n, row in enumerate(reader, start=2):
        if None in row or any(v is None or not v.strip() for v in row.values()):
            raise VocabularyError(f"{path.name} row {n}: every cell must be filled")
        out.append((n, {k: v.strip() for k, v in row.items()}))
    return out


@lru_cache(maxsize=8)
def _load(data_dir: Path, stamp: tuple[float, ...]) -> Vocabulary:
    columns: dict[str, dict[str, list[str]]] = {}
    seen: dict[tuple[str, str], str] = {}
    for n, row in _rows(data_dir / HEADERS_FILE):
        kind, field, header = row["kind"], row["field"], row["header"]
        key = (kind, header.lower())
        if key in seen and seen[key] != field:
            raise VocabularyError(
                f"headers.csv row {n}: {header!r} already means {seen[key]} for {kind}"
            )
        seen[key] = field
        columns.setdefault(kind, {}).setdefault(field, []).append(header)
    values: dict[str, dict[str, str]] = {}
    contains: dict[str, list[tuple[str, str]]] = {}
    for n, row in _rows(data_dir / VALUES_FILE):
        if row["match"] == "exact":
            values.setdefault(row["field"], {})[row["value"].lower()] = row["code"]
        elif row["match"] == "contains":
            contains.setdefault(row["field"], []).append((row["value"], row["code"]))
        else:
            raise VocabularyError(f"values.csv row {n}: match must be exact or contains")
    rules = []
    for n, row in _rows(data_dir / ADDRESS_RULES_FILE):
        if row["kind"] not in ("township", "place"):
            raise VocabularyError(f"address_rules.csv row {n}: kind must be township or place")
        rules.append(
            (row["kind"] != "township", -len(row["pattern"]), row["pattern"], row["township"])
        )
    return Vocabulary(
        columns={k: {f: tuple(h) for f, h in v.items()} for k, v in columns.items()},
        values=values,
        contains={f: tuple(w) for f, w in contains.items()},
        address_rules=tuple((pattern, township) for *_, pattern, township in sorted(rules)),
    )


def vocabulary(data_dir: Path | None = None) -> Vocabulary:
    """The import vocabulary of ``data_dir`` (the configured one by default), re-read when a
    file changes."""
    if data_dir is None:
        from supervision.settings import get_settings

        data_dir = get_settings().data_dir
    files = (HEADERS_FILE, VALUES_FILE, ADDRESS_RULES_FILE)
    stamp = tuple((data_dir / f).stat().st_mtime if (data_dir / f).exists() else 0.0 for f in files)
    return _load(Path(data_dir), stamp)


_SHIPPED = vocabulary(DEFAULT_DATA_DIR)
ENTITY_COLUMNS = _SHIPPED.columns["entities"]
INSPECTOR_COLUMNS = _SHIPPED.columns["inspectors"]
TAX_FILING_COLUMNS = _SHIPPED.columns["tax_filings"]
ENTITY_TYPE_VALUES = _SHIPPED.values["entity_type"]
ENTITY_STATUS_VALUES = _SHIPPED.values["status"]
