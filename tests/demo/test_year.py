"""A reduced year of the demo city, lived through the services, and what must hold after it.

Same code path as `supervision demo --year` (a smaller city): the plan's 19 batches are
announced, frozen by the scheduler's job, drawn at their ceremonies (one beacon ceremony falls
back to dice in public), inspected, reviewed, published; the rulebook's jobs propose listings
and the reviewer decides them; the 1 July export brings the annual reports. Then:

- every published result belongs to a task the draw made (the entity is in the draw's record);
- every listing follows from a published result whose code the rulebook maps to its reason,
  or from the annual-report rule (no report for that year in the registry);
- every bundle verifies with its own standalone verify.py, public copy and auditor's copy;
- every deadline is met or flagged (results published after the 20 working days say late;
  listing decisions and objection steps within their working days or marked late);
- no batch drew before its announced ceremony, and every commitment was public at least the
  notice period before it.
"""

import json
import re
from datetime import date

import pytest
from sqlmodel import Session, col, select

from supervision.calendar import default_calendar
from supervision.clock import as_utc, china_day
from supervision.demo.year import check_bundles, live_year, load_year
from supervision.enforcement.models import EntryState, ListEntry, ListEvent
from supervision.enforcement.rulebook import rulebook
from supervision.inspection.deadlines import publication_due
from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
from supervision.planning.ceremony import CeremonyRules
from supervision.planning.models import Batch, Commitment, Draw, Task
from supervision.registry.models import AnnualReport
from supervision.settings import Settings

YEAR = 2025


@pytest.fixture(scope="module")
def lived(tmp_path_factory, data_dir_module):
    """One reduced year for every test of this module (it takes a while to live)."""
    import os

    from supervision.db import make_engine
    from supervision.migrate import upgrade
    from tests.conftest import _scratch_postgres

    tmp = tmp_path_factory.mktemp("year")
    pg = os.environ.get("SUPERVISION_TEST_DATABASE_URL")
    urls = _scratch_postgres(pg) if pg else iter([f"sqlite:///{tmp / 'year.db'}"])
    engine = make_engine(next(urls))
    upgrade(engine)
    # No beacon service answers here (a closed loopback port): the year's beacon ceremony
    # takes its offline path whatever network the test machine has.
    settings = Settings(
        storage_dir=tmp / "files", data_dir=data_dir_module, beacon_endpoint="http://127.0.0.1:9"
    )
    lines: list[str] = []
    out = live_year(
        engine,
        settings,
        year=YEAR,
        until=date(YEAR, 12, 31),
        entities=4000,
        inspectors=110,
        seed=7,
        progress=lines.append,
    )
    yield engine, settings, out, lines
    engine.dispose()
    for _ in urls:
        pass


@pytest.fixture(scope="module")
def data_dir_module():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "data"


def _read(engine):
    return Session(engine.execution_options(sqlite_read=True))


def test_the_year_happened_and_was_reported_as_it_went(lived) -> None:
    _, _, out, lines = lived
    spec = load_year(lived[1].data_dir)
    assert out["batches"] == out["drawn_batches"] == len(spec.batches) == 19
    assert out["refused"] == []
    assert out["inspected"] > 100 and out["inspectors"] > 50
    assert out["listed_after_checks"] > 0 and out["listed"] > out["listed_after_checks"]
    assert out["zombies_handled"] > 0
    log = out["log"]
    assert log["withdrawn"] == spec.inspection.withdrawn_batches
    assert log["late"] > 0 and log["returned"] > 0 and log["removed"] > 0
    # The progress display: a line per month, one per draw, the export and the July decision.
    assert sum("已抽取（" in line for line in lines) == 19
    assert any("登记系统导出" in line for line in lines)
    assert any("年报列入决定" in line for line in lines)


def test_every_published_result_belongs_to_a_drawn_task(lived) -> None:
    engine = lived[0]
    with _read(engine) as session:
        rows = session.exec(
            select(Task, Draw, ResultVersion)
            .join(ResultVersion, col(ResultVersion.task_id) == Task.id)
            .join(Draw, col(Draw.batch_id) == Task.batch_id, isouter=True)
            .where(ResultVersion.status == ResultStatus.published)
        ).all()
        assert rows
        for task, draw, version in rows:
            assert draw is not None, f"task {task.id} has a published result and no draw"
            assert task.state == "published"
            assert as_utc(draw.drawn_at) < as_utc(version.published_at)


def test_every_listing_follows_from_a_result_or_the_annual_report_rule(lived) -> None:
    engine, settings, *_ = lived
    book = rulebook(settings.data_dir)
    with _read(engine) as session:
        entries = session.exec(
            select(ListEntry).where(
                col(ListEntry.state).in_(
                    (EntryState.listed, EntryState.removed, EntryState.withdrawn)
                )
            )
        ).all()
        assert {e.source for e in entries} == {"result", "annual_report"}
        for e in entries:
            if e.source == "result":
                task = session.get(Task, int(e.source_ref.split(":")[1]))
                assert task.uscc == e.uscc
                codes = {
                    c
                    for line in session.exec(
                        select(ResultLine.codes)
                        .join(ResultVersion, col(ResultVersion.id) == ResultLine.version_id)
                        .where(
                            ResultVersion.task_id == task.id,
                            ResultVersion.status == ResultStatus.published,
                        )
                    ).all()
                    for c in line.split(",")
                }
                regime = book.regime(e.rulebook)
                assert e.reason_code in {regime.reason_for_result(c) for c in codes}
            else:
                year = int(e.source_ref.split(":")[1])
                filed = session.exec(
                    select(AnnualReport.uscc).where(
                        AnnualReport.uscc == e.uscc, AnnualReport.year == year
                    )
                ).first()
                assert filed is None, f"{e.uscc} filed {year} and was listed for it"


def test_every_bundle_verifies_public_and_auditor_copy(lived) -> None:
    engine, settings, *_ = lived
    checks = check_bundles(engine, settings, YEAR)
    assert len(checks) == 2 * 19
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert all("VERIFIED" in c.verdict for c in checks)
    # The auditor's copy (strata.tsv and the conflicts) checks everything, sealed draws too.
    auditor = [c for c in checks if c.copy == "auditor"]
    assert all("VERIFIED: an independent recomputation" in c.verdict for c in auditor)
    sealed = [c for c in checks if c.copy == "public" and "AS FAR AS THE PUBLIC CAN" in c.verdict]
    assert sealed  # the sr2 batches' public copies say what only an auditor can check


def test_every_deadline_is_met_or_flagged(lived) -> None:
    engine, settings, *_ = lived
    calendar = default_calendar(settings.data_dir)
    with _read(engine) as session:
        firsts = session.exec(
            select(ResultVersion, Batch)
            .join(Task, col(Task.id) == ResultVersion.task_id)
            .join(Batch, col(Batch.id) == Task.batch_id)
            .where(ResultVersion.status == ResultStatus.published, ResultVersion.seq == 1)
        ).all()
        late = 0
        for version, batch in firsts:
            due = publication_due(batch, calendar)
            on = china_day(version.published_at)
            assert version.deadline == due
            assert version.late == (on > due), (batch.code, on, due, version.late)
            late += bool(version.late)
        assert late > 0  # the simulated late publications are on record as late
        decided = session.exec(
            select(ListEntry).where(col(ListEntry.decided_on).is_not(None))
        ).all()
        assert decided
        for e in decided:
            overdue = e.decide_by is not None and e.decided_on > e.decide_by
            assert e.decision_late == overdue, (e.id, e.decided_on, e.decide_by)
            event = session.exec(
                select(ListEvent).where(
                    ListEvent.entry_id == e.id, col(ListEvent.kind).in_(("listed", "rejected"))
                )
            ).one()
            assert json.loads(event.detail)["late"] == overdue


def test_no_batch_drew_before_its_announced_ceremony(lived) -> None:
    engine = lived[0]
    rules = CeremonyRules()
    with _read(engine) as session:
        for batch, draw in session.exec(
            select(Batch, Draw).join(Draw, col(Draw.batch_id) == Batch.id)
        ).all():
            assert as_utc(draw.drawn_at) >= as_utc(batch.ceremony_at), batch.code
            c = session.get(Commitment, draw.commitment_id)
            assert as_utc(c.published_at) <= as_utc(batch.ceremony_at) - rules.notice, batch.code
        withdrawn = session.exec(
            select(Commitment).where(col(Commitment.withdrawn_at).is_not(None))
        ).all()
        # The beacon batch's round could not be had offline: withdrawn in public, redrawn by dice.
        assert len(withdrawn) == 1 and "信标" in withdrawn[0].withdrawn_reason


def test_the_statistics_page_and_the_annual_report_show_the_year(lived) -> None:
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from api.app import create_app
    from supervision.clock import FixedClock
    from tests import pdfcheck

    engine, settings, out, _ = lived
    app = create_app(
        settings.model_copy(
            update={
                "database_url": str(engine.url),
                "allowed_hosts": ["testserver"],
                "embedded_scheduler": False,
                "public_downloads_per_minute": 0,
            }
        ),
        engine=engine,
        clock=FixedClock(datetime(YEAR + 1, 1, 10, 2, tzinfo=UTC)),
    )
    with TestClient(app) as client:
        page = client.get("/statistics")
        assert page.status_code == 200
        row = (
            f'<td data-label="年度">{YEAR}年</td><td class="num" data-label="抽查批次（已抽取）">'
            f'19（19）</td><td class="num" data-label="检查并公示（户）">{out["inspected"]}</td>'
        )
        assert row in page.text
        assert f">{out['listed_after_checks']}</td>" in page.text
        assert f">{out['zombies_handled']}</td>" in page.text
        pdf = client.get(f"/api/v1/reports/annual/{YEAR}.pdf")
        assert pdf.status_code == 200, pdf.text
    text = pdfcheck.text(pdf.content)
    assert "共开展随机抽查19批次" in text
    assert f"完成检查并公示结果{out['inspected']}户，{out['inspectors']}名执法检查人员" in text
    assert (
        f"列入经营异常名录{out['listed']}户（其中根据抽查检查结果列入{out['listed_after_checks']}户）"
        in text
    )
    assert f"处置僵尸企业（长期停业未经营企业）{out['zombies_handled']}户" in text


def test_nothing_internal_leaves_the_lived_year(lived) -> None:
    """The whole public site after a year, crawled as an anonymous visitor: no identity or
    phone number, no private conflict declaration, no recusal note, no reviewer's return
    note anywhere — pages, API answers, bundles, PDFs, open data."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from supervision.planning.models import DrawEvent
    from supervision.registry.models import ConflictDeclaration, Entity, Inspector
    from tests.demo.test_demo_privacy import _crawl, _texts

    engine, settings, *_ = lived
    with _read(engine) as session:
        secrets = {
            v
            for row in session.exec(select(Entity.phone, Entity.legal_rep_id_no))
            for v in row
            if v
        }
        secrets |= {p for p in session.exec(select(Inspector.phone)) if p}
        secrets |= {r for r in session.exec(select(ConflictDeclaration.reason)) if r}
        notes = {n for n in session.exec(select(DrawEvent.note)) if n}
        returned = {n for n in session.exec(select(ResultVersion.review_note)) if n}
        codes = list(session.exec(select(Batch.code).order_by(Batch.code)))
    assert notes and returned  # the year had recusals and returned results
    secrets |= notes | returned
    app = create_app(
        settings.model_copy(
            update={
                "database_url": str(engine.url),
                "allowed_hosts": ["testserver"],
                "embedded_scheduler": False,
                "public_downloads_per_minute": 0,
            }
        ),
        engine=engine,
    )
    start = ["/", "/statistics", "/lists", "/results", "/announcements", "/open-data"]
    for code in codes[:6]:
        start += [f"/batches/{code}", f"/api/v1/batches/{code}/bundle.zip"]
        start += [f"/api/v1/batches/{code}/draw.pdf", f"/api/v1/batches/{code}/tasks"]
    for name in ("results", "list-entries", "batches"):
        start.append(f"/open-data/{name}.csv")
    with TestClient(app) as client:
        pages = _crawl(client, start)
    assert len(pages) > 100
    # Numbers are found as digit runs (one set lookup each), words by substring.
    numbers = {x for x in secrets if x.replace("X", "").isdigit()}
    words = secrets - numbers
    leaks = []
    for url, (kind, body) in pages.items():
        for where, text in _texts(url, kind, body):
            found = set(re.findall(r"\d{11,17}[\dX]?", text)) & numbers
            found |= {w for w in words if w in text}
            if found:
                leaks.append((where, sorted(found)[:3]))
    assert not leaks, leaks


@pytest.mark.e2e
def test_the_year_in_a_browser_on_a_phone(lived, tmp_path) -> None:
    """A newcomer's tour of the year in Chromium at 390×844: home, a batch, its ceremony
    replayed, the in-browser verification, the list, a listed business and why, statistics.
    No page scrolls sideways (the year's long names, hashes and beacon keys included)."""
    from playwright import sync_api

    from api.app import create_app
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENS_COPY, serving
    from tests.strict import need_file

    need_file(CHROMIUM, "chromium")
    engine, settings, out, _ = lived
    app = create_app(
        settings.model_copy(update={"database_url": str(engine.url), "embedded_scheduler": False}),
        engine=engine,
    )
    with _read(engine) as session:
        listed = session.exec(
            select(ListEntry.uscc).where(
                ListEntry.source == "result", ListEntry.state == EntryState.listed
            )
        ).first()
        codes = list(session.exec(select(Batch.code).order_by(Batch.code)))
    joint = codes[5]  # the catering check with the health commission
    SCREENS_COPY.mkdir(parents=True, exist_ok=True)
    with serving(app) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")

        def visit(path: str, name: str) -> str:
            page.goto(base + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 391, f"{path} scrolls sideways on a phone ({width}px)"
            page.screenshot(path=str(SCREENS_COPY / f"year-{name}.png"), full_page=True)
            return page.inner_text("main")

        assert joint in visit("/", "home")
        for code in codes:
            assert "已结束" in visit(f"/batches/{code}", f"batch-{code}")
        ceremony = visit(f"/batches/{joint}/ceremony", "ceremony")
        assert "见证人" in ceremony and "排列5" in ceremony and "种子" in ceremony
        # The projector mode is the planner's (it needs a sign-in): not offered to the public.
        assert "投影演示模式" not in ceremony and "抽取仪式记录（PDF" in ceremony
        page.goto(f"{base}/batches/{joint}/verify")
        page.get_by_role("button", name="开始核验").click()
        verdict = page.locator("#verify-verdict")
        verdict.wait_for(state="visible", timeout=60_000)
        assert verdict.inner_text().startswith("核验通过"), verdict.inner_text()
        page.screenshot(path=str(SCREENS_COPY / "year-verify.png"), full_page=True)
        assert "经营异常名录" in visit("/lists", "lists")
        assert listed in visit(f"/lists?q={listed}", "lists-found")
        record = visit(f"/entities/{listed}", "listed-entity")
        assert "通过登记的住所" in record and "列入决定书文号" in record and codes[0][:7] in record
        text = visit("/statistics", "statistics")
        assert "年度概况" in text and str(out["inspected"]) in text
        visit("/announcements", "announcements")
        browser.close()
