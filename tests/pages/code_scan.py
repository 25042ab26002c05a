"""Finding codes printed bare: every code of the code tables (statuses, types, lists, states,
methods, categories, qualifications, rulebook reasons) that appears in the text a person reads
(attributes, links, scripts and <code> samples may carry codes)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import yaml

from supervision.enforcement.models import ENTRY_STATE_LABELS, LIST_KIND_LABELS
from supervision.planning.models import BATCH_STATE_LABELS, TASK_STATE_LABELS
from supervision.registry.models import ENTITY_STATUS_LABELS, ENTITY_TYPE_LABELS
from supervision.registry.reference import ITEM_CATEGORY_LABELS, METHOD_LABELS


class _Text(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts, styles or <code> samples."""

    SKIP = {"script", "style", "code", "pre", "textarea", "option", "header"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data) -> None:
        if not self.depth:
            self.parts.append(data)


def code_words(data_dir: Path) -> set[str]:
    codes: set[str] = set()
    for table in (
        ENTITY_STATUS_LABELS,
        ENTITY_TYPE_LABELS,
        LIST_KIND_LABELS,
        ENTRY_STATE_LABELS,
        BATCH_STATE_LABELS,
        TASK_STATE_LABELS,
        METHOD_LABELS,
        ITEM_CATEGORY_LABELS,
    ):
        codes |= set(table)
    quals = yaml.safe_load((data_dir / "qualifications.yaml").read_text(encoding="utf-8"))
    codes |= {q["code"] for q in quals["qualifications"]}
    for path in (data_dir / "rulebook").glob("*.yaml"):
        codes |= set(
            re.findall(r"^\s*-\s*code:\s*([a-z_]+)\s*$", path.read_text(encoding="utf-8"), re.M)
        )
    return {c for c in codes if len(c) > 2}


def bare_codes(html: str, codes: set[str]) -> list[str]:
    """The codes of ``codes`` printed as words in the readable text of ``html``."""
    parser = _Text()
    parser.feed(html)
    words = set(
        re.findall(r"(?<![A-Za-z0-9_.:/-])[a-z][a-z_]+(?![A-Za-z0-9_./-])", " ".join(parser.parts))
    )
    return sorted(words & codes)


def where_bare(html: str, code: str, width: int = 40) -> list[str]:
    """The readable text around each place ``code`` is printed bare (for a failure message)."""
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    pattern = rf"(?<![A-Za-z0-9_.:/-]){re.escape(code)}(?![A-Za-z0-9_./-])"
    return [
        " ".join(text[max(0, m.start() - width) : m.end() + width].split())
        for m in re.finditer(pattern, text)
    ][:3]
