"""The demo as a citizen crawls it: nothing internal leaves.

The demo city is built through the product's services (registry import, batches drawn with
a recusal and a withdrawal, listings decided), then every public page reachable from the
home page and every public API answer, bundle and PDF is read as an anonymous visitor:

- no identity number or phone number of any entity or inspector appears anywhere;
- no private conflict declaration or free-text recusal note appears anywhere;
- no published column lets anyone recover an entity's risk class: in every pool.tsv, a label
  shared by several entities is shared by entities of every class in the pool, and sealed
  draws publish no stratum or ticket per task.
"""

import io
import json
import re
import zipfile
from collections import defaultdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session, select

from supervision.accounts.models import User
from supervision.accounts.service import UserCreate, create_user
from supervision.clock import FixedClock
from supervision.demo.batches import DEMO_RECUSAL_NOTE, build_demo_batches
from supervision.demo.consequences import build_demo_consequences
from supervision.demo.generator import build_demo_city
from supervision.planning.ceremony import CeremonyRules
from supervision.planning.models import DrawEvent
from supervision.registry.models import ConflictDeclaration, Entity, Inspector
from supervision.settings import Settings
from tests.conftest import TEST_PASSWORD, post_login

MAX_PAGES = 250
SKIP_PREFIXES = ("/staff", "/login", "/logout", "/api/v1/auth", "/docs", "/redoc", "/static")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


@pytest.fixture
def demo(session: Session, app, tmp_path, data_dir):
    clock = FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    storage = tmp_path / "files"
    app.state.settings.storage_dir = storage
    build_demo_city(
        session, data_dir, tmp_path, entities=3000, inspectors=110, seed=2018, clock=clock
    )
    batches = build_demo_batches(
        session, clock=clock, storage=storage, rules=CeremonyRules.of(Settings())
    )
    create_user(
        session,
        UserCreate(
            username="reviewer",
            display_name="审核",
            password=TEST_PASSWORD,
            role="reviewer",
        ),
        actor="test",
        clock=clock,
    )
    reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
    build_demo_consequences(session, clock=clock, reviewer=reviewer)
    session.commit()
    batches["inspected"] = _inspect_two(session, batches["drawn"], reviewer, data_dir)
    session.commit()
    return batches


UNPUBLISHED_FINDING = "现场发现未公示的问题（尚在审核）"


def _inspect_two(session: Session, code: str, reviewer: User, data_dir) -> dict[str, str]:
    """Two drawn entities inspected inside the window: one result published, one submitted
    and approved but not published (it must not show anywhere public)."""
    from supervision.calendar import default_calendar
    from supervision.inspection import schemas as ins
    from supervision.inspection import service as inspection
    from supervision.planning import service as planning_service
    from supervision.planning.models import Batch, Task, TaskMember
    from supervision.registry.reference import result_codebook

    book = result_codebook(data_dir)
    batch = session.exec(select(Batch).where(Batch.code == code)).one()
    day = batch.window_start
    later = FixedClock(datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC))
    tasks = session.exec(
        select(Task)
        .where(Task.batch_id == batch.id, Task.state == "assigned")
        .order_by(Task.position)
    ).all()[:2]
    out = {}
    for n, task in enumerate(tasks):
        badge = session.exec(
            select(TaskMember.badge_no).where(
                TaskMember.task_id == task.id,
                TaskMember.active == True,  # noqa: E712
                TaskMember.position == 0,
            )
        ).one()
        inspector = create_user(
            session,
            UserCreate(
                username=f"privacy-inspector{n}",
                display_name="检查员",
                password=TEST_PASSWORD,
                role="inspector",
                inspector_badge=badge,
            ),
            actor="test",
            clock=later,
        )
        finding = UNPUBLISHED_FINDING if n else "已公示结果的发现"
        result = ins.ResultCreate(
            lines=[
                ins.ResultLineCreate(
                    item_code=item,
                    codes=["3"],
                    methods=["desk"],
                    problems=finding,
                    check_date=day,
                )
                for item in planning_service.batch_items(session, batch)
            ]
        )
        inspection.save_draft(session, task.id, result, user=inspector, clock=later, book=book)
        inspection.submit(session, task.id, user=inspector, clock=later, book=book)
        inspection.review(
            session, task.id, ins.ReviewCreate(decision="approve"), user=reviewer, clock=later
        )
        if n == 0:
            inspection.publish_task(
                session, task.id, user=reviewer, clock=later, calendar=default_calendar(data_dir)
            )
            out["published"] = task.uscc
        else:
            out["unpublished"] = task.uscc
    return out


def _secrets(session: Session) -> set[str]:
    values: set[str] = set()
    for phone, id_no in session.exec(select(Entity.phone, Entity.legal_rep_id_no)):
        values |= {v for v in (phone, id_no) if v}
    values |= {p for p in session.exec(select(Inspector.phone)) if p}
    values |= {r for r in session.exec(select(ConflictDeclaration.reason)) if r}
    values |= {n for n in session.exec(select(DrawEvent.note)) if n}
    values.add(UNPUBLISHED_FINDING)
    return values


def _texts(url: str, content_type: str, body: bytes) -> list[tuple[str, str]]:
    """(where, text) pieces of a response: the body, each zip member, a PDF's text."""
    if "zip" in content_type:
        z = zipfile.ZipFile(io.BytesIO(body))
        return [(f"{url}!{n}", z.read(n).decode("utf-8", "replace")) for n in z.namelist()]
    if "pdf" in content_type:
        reader = PdfReader(io.BytesIO(body))
        return [(url, "\n".join(page.extract_text() or "" for page in reader.pages))]
    return [(url, body.decode("utf-8", "replace"))]


def _crawl(client: TestClient, start: list[str]) -> dict[str, tuple[str, bytes]]:
    seen: dict[str, tuple[str, bytes]] = {}
    queue = list(start)
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIP_PREFIXES):
            continue
        r = client.get(url)
        assert r.status_code < 500, url
        if r.status_code != 200:
            continue
        kind = r.headers.get("content-type", "")
        seen[url] = (kind, r.content)
        if "html" in kind:
            parser = _Links()
            parser.feed(r.text)
            for link in parser.links:
                target = urlsplit(urljoin(url, link))
                if target.netloc in ("", "testserver") and target.path:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    # One page of each paged list is enough; every filter value is not.
                    if "page=" in target.query and not target.query.startswith("page=2"):
                        continue
                    queue.append(path)
    return seen


def test_nothing_internal_leaves_the_demo(demo, session: Session, app) -> None:
    secrets = _secrets(session)
    assert DEMO_RECUSAL_NOTE in secrets and len(secrets) > 3000  # the test can see them
    client = TestClient(app)
    codes = [b["code"] for b in client.get("/api/v1/batches").json()]
    assert demo["drawn"] in codes
    api = ["/api/v1/batches", "/api/v1/plans", "/api/v1/public/results", "/api/v1/items"]
    for kind in ("abnormal", "serious"):
        api.append(f"/api/v1/lists/{kind}/entries")
    for code in codes:
        for leaf in ("", "/tasks", "/workload", "/bundle.json", "/bundle.zip"):
            api.append(f"/api/v1/batches/{code}{leaf}")
        api.append(f"/api/v1/batches/{code}/commitment.pdf")
    api.append(f"/api/v1/batches/{demo['drawn']}/draw.pdf")
    inspected = demo["inspected"]
    portal = ["/announcements", "/feed.xml", "/statistics", "/open-data", "/entities?q=昌吉"]
    for name in ("results", "list-entries", "batches"):
        portal += [f"/open-data/{name}.csv", f"/open-data/{name}.json"]
    portal += [f"/entities/{inspected['published']}", f"/entities/{inspected['unpublished']}"]
    portal.append(f"/api/v1/batches/{demo['drawn']}/files/pool.tsv")
    pages = _crawl(client, [*portal, "/", "/verify", "/results", "/lists", "/items", *api])
    assert len(pages) > 20 and f"/batches/{demo['drawn']}" in pages
    assert all(url in pages for url in portal), [u for u in portal if u not in pages]

    # The published result is public; the approved but unpublished one is nowhere.
    published = pages[f"/entities/{inspected['published']}"][1].decode()
    assert "“双随机”抽查检查结果" in published and demo["drawn"] in published
    assert "暂无已公示的抽查检查结果" not in published
    unpublished = pages[f"/entities/{inspected['unpublished']}"][1].decode()
    assert "暂无已公示的抽查检查结果" in unpublished
    for url in ("/open-data/results.csv", "/open-data/results.json"):
        body = pages[url][1].decode("utf-8-sig")
        assert inspected["published"] in body and inspected["unpublished"] not in body
    for url in (f"/open-data/{n}.csv" for n in ("results", "list-entries", "batches")):
        header = pages[url][1].decode("utf-8-sig").splitlines()[0].lower()
        assert not any(word in header for word in ("risk", "stratum", "phone", "id_no", "salt"))

    leaks = []
    for url, (kind, body) in pages.items():
        for where, text in _texts(url, kind, body):
            found = [s for s in secrets if s in text]
            if found:
                leaks.append((where, found[:3]))
    assert not leaks, leaks

    risk = dict(session.exec(select(Entity.uscc, Entity.risk_class)).all())
    drawn = [code for code in codes if f"/api/v1/batches/{code}/bundle.zip" in pages]
    assert demo["drawn"] in drawn
    for code in drawn:
        z = zipfile.ZipFile(io.BytesIO(pages[f"/api/v1/batches/{code}/bundle.zip"][1]))
        assert not any(n.endswith(("strata.tsv", "conflicts.tsv")) for n in z.namelist())
        pool = z.read(f"{code}/pool.tsv").decode()
        classes_of: dict[str, set[str]] = defaultdict(set)
        count: dict[str, int] = defaultdict(int)
        for line in pool.splitlines():
            uscc, label, _ = line.split("\t")
            classes_of[label].add(str(risk[uscc]))
            count[label] += 1
        present = set().union(*classes_of.values())
        for label, classes in classes_of.items():
            if count[label] > 1:
                assert classes == present, (code, label, classes, present)
        bundle = json.loads(z.read(f"{code}/bundle.json"))
        tasks = json.loads(pages[f"/api/v1/batches/{code}/tasks"][1])
        if bundle["protocol"] == "sr2":
            assert all(set(e) == {"uscc", "team", "unassigned"} for e in bundle["selected"])
            assert all("stratum" not in t and "ticket" not in t for t in tasks)
            page = pages[f"/batches/{code}"][1].decode()
            assert not re.search(r"S[1-4]（", page)
        for t in tasks:
            assert t["state"] in ("assigned", "unassigned", "withdrawn", "published")


def test_every_code_on_the_demo_pages_is_named(demo, session: Session, app, data_dir) -> None:
    """Over the whole demo (not a test city): the public pages a citizen reaches from the home
    page, and each role's pages of its own work, print no bare code from the code tables."""
    from tests.pages.code_scan import bare_codes, code_words, where_bare

    codes = code_words(data_dir)
    public = _crawl(TestClient(app), ["/", "/results", "/lists", "/items", "/announcements"])
    pages = {("anonymous", url): body for url, (kind, body) in public.items() if "html" in kind}
    # /open-data documents the files' values, each code beside its name, as a schema does.
    pages = {k: v for k, v in pages.items() if not k[1].startswith("/open-data")}
    assert len(pages) > 20
    drawn = demo["drawn"]
    staff = {
        "planner": [
            "/staff",
            f"/staff/batches/{drawn}",
            "/staff/entities",
            f"/staff/entities/{demo['inspected']['published']}",
            "/staff/inspectors",
        ],
        "reviewer": ["/staff/enforcement", "/staff/candidates", "/staff/tasks", "/staff/lookup"],
        "admin": ["/staff/admin/users", "/staff/admin/audit", "/staff/admin/status"],
        "liaison": ["/staff/lookup"],
    }
    for role, paths in staff.items():
        client = TestClient(app, follow_redirects=False)
        username = f"scan-{role}"
        create_user(
            session,
            UserCreate(username=username, display_name="扫描", password=TEST_PASSWORD, role=role),
            actor="test",
            clock=FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC)),
        )
        session.commit()
        login = post_login(client, {"username": username, "password": TEST_PASSWORD})
        assert login.status_code == 303
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (role, path)
            pages[(role, path)] = r.content
    bare = [
        (who, url, {code: where_bare(body.decode("utf-8", "replace"), code) for code in found})
        for (who, url), body in pages.items()
        if (found := bare_codes(body.decode("utf-8", "replace"), codes))
    ]
    assert not bare, bare


def test_the_demo_batches_obey_the_ceremony_rules(demo, session: Session) -> None:
    """Every demo commitment was public at least 24 h before its ceremony, and every draw was
    made at it (within the 2 h grace, so no late reason)."""
    from datetime import timedelta

    from supervision.planning.models import Batch, Commitment, Draw

    def aware(at):
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    rows = session.exec(
        select(Batch, Commitment).join(Commitment, Commitment.batch_id == Batch.id)
    ).all()
    assert len(rows) == 2
    for batch, c in rows:
        assert batch.ceremony_at is not None
        assert batch.ceremony_place == "昌吉市市场监督管理局一楼随机抽取室（昌吉市延安北路198号）"
        assert aware(c.published_at) <= aware(batch.ceremony_at) - timedelta(hours=24), batch.code
    draws = session.exec(select(Batch, Draw).join(Draw, Draw.batch_id == Batch.id)).all()
    assert len(draws) == 1
    for batch, draw in draws:
        at = aware(batch.ceremony_at)
        assert at <= aware(draw.drawn_at) <= at + timedelta(hours=2), batch.code
        assert draw.late_reason is None and len(json.loads(draw.witnesses_json)) == 2
