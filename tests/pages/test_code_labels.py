"""Every code a page prints comes with its Chinese name: no bare `revoked`, `food`,
`annual_report` or `unassigned` in what a person reads (attributes and links may carry codes)."""

import re
from html.parser import HTMLParser

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


def _codes(data_dir) -> set[str]:
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


def test_no_page_prints_a_bare_code(browser, drawn_batch, data_dir) -> None:
    codes = _codes(data_dir)
    # Roles are not scanned (usernames are often the role's word); /open-data is left out: it
    # documents the files' values, each code beside its name, as a schema does.
    pages = {
        "planner": [
            "/staff",
            f"/staff/batches/{drawn_batch}",
            "/staff/entities",
            "/staff/inspectors",
            "/staff/tasks",
        ],
        "reviewer": ["/staff/enforcement", "/staff/candidates", "/staff/tasks", "/staff/lookup"],
        "admin": ["/staff/admin/users", "/staff/admin/audit", "/staff/admin/status"],
        None: [
            "/",
            f"/batches/{drawn_batch}",
            "/announcements",
            "/statistics",
            "/lists",
            "/results",
            "/items",
        ],
    }
    bare = []
    for role, paths in pages.items():
        client = browser(role)
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (role, path)
            parser = _Text()
            parser.feed(r.text)
            words = set(
                re.findall(
                    r"(?<![A-Za-z0-9_.:/-])[a-z][a-z_]+(?![A-Za-z0-9_./-])", " ".join(parser.parts)
                )
            )
            found = sorted(words & codes)
            if found:
                bare.append((role, path, found))
    assert not bare, bare
