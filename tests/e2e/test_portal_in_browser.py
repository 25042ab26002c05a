"""The portal as a citizen, a journalist and a business use it, in Chromium on a desktop and
on a 390×844 phone: find a business, read its record after an inspection was published,
follow the feed, take the open data, page a long batch, verify a draw in the browser — and
see a tampered copy named."""

import csv
import io
import json

import feedparser
import httpx
import pytest
from fastapi.responses import FileResponse, JSONResponse

from api.pages import public as public_pages
from supervision.accounts.service import UserCreate, create_user
from supervision.db import transaction
from supervision.planning import drawing, freeze, queries, service
from supervision.planning import schemas as ps
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import Server
from tests.factories import IMMEDIATE, batch_body
from tests.inspection.conftest import full_result

pytestmark = pytest.mark.e2e

CODE = "CJ-2026-P01"
DICE = "3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"
PHONE = {"width": 390, "height": 844}


def _drawn_batch(server: Server) -> list[dict]:
    storage = server.root / "files"
    with transaction(server.engine) as session:
        service.create_plan(
            session,
            ps.PlanCreate(
                code="CJ-2026", year=2026, name="2026年度抽查计划", authority="昌吉市市场监督管理局"
            ),
            actor="e2e",
            clock=server.clock,
        )
        service.publish_plan(session, "CJ-2026", actor="e2e", clock=server.clock)
        body = batch_body(
            CODE,
            item_codes=["SCJ-GS-001", "SCJ-SP-001"],
            quotas={"A": {"count": 6}, "B": {"count": 6}, "C": {"count": 6}, "D": {"count": 6}},
            window_start="2026-11-01",
            window_end="2026-11-25",
        )
        service.create_batch(
            session, "CJ-2026", ps.BatchCreate.model_validate(body), actor="e2e", clock=server.clock
        )
        freeze.freeze_batch(
            session, CODE, actor="e2e", clock=server.clock, storage=storage, rules=IMMEDIATE
        )
        drawing.enter_entropy(
            session, CODE, [DICE], actor="e2e", clock=server.clock, storage=storage, rules=IMMEDIATE
        )
    with transaction(server.engine) as session:
        tasks = queries.drawn_tasks(session, service.get_batch(session, CODE))
        leader = tasks[0].team[0]["badge_no"]
        for username, role, badge in [
            ("e2e-inspector", "inspector", leader),
            ("e2e-reviewer", "reviewer", None),
        ]:
            create_user(
                session,
                UserCreate(
                    username=username,
                    display_name=username,
                    password=TEST_PASSWORD,
                    role=role,
                    inspector_badge=badge,
                ),
                actor="e2e",
                clock=server.clock,
            )
    return [t.model_dump() for t in tasks]


def _publish_first(server: Server) -> str:
    """The inspection path through the API: record, submit, approve, publish."""
    with httpx.Client(base_url=server.url) as http:

        def token(user: str) -> dict:
            r = http.post("/api/v1/auth/token", data={"username": user, "password": TEST_PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        inspector, reviewer = token("e2e-inspector"), token("e2e-reviewer")
        mine = http.get("/api/v1/me/tasks", headers=inspector).json()
        task = next(t for t in mine if t["batch_code"] == CODE)
        for method, path, headers, body in [
            ("PUT", f"/api/v1/tasks/{task['id']}/result", inspector, full_result("2026-11-20")),
            ("POST", f"/api/v1/tasks/{task['id']}/submit", inspector, None),
            ("POST", f"/api/v1/tasks/{task['id']}/review", reviewer, {"decision": "approve"}),
            ("POST", f"/api/v1/tasks/{task['id']}/publish", reviewer, None),
        ]:
            r = http.request(method, path, headers=headers, json=body)
            assert r.status_code == 200, (path, r.text)
        return task["uscc"]


def _tampered_route(server: Server) -> None:
    """A copy of the bundle with one team member swapped, served at /e2e-tampered/CODE/."""
    storage = server.root / "files"

    def bundle() -> JSONResponse:
        with transaction(server.engine) as session:
            data = json.loads(queries.bundle_json_text(session, CODE, storage=storage))
        data["selected"][2]["team"].reverse()
        return JSONResponse(data)

    def frozen(name: str) -> FileResponse:
        with transaction(server.engine) as session:
            return FileResponse(queries.public_frozen_file(session, CODE, name, storage=storage))

    server.app.add_api_route(f"/e2e-tampered/{CODE}/bundle.json", bundle)
    server.app.add_api_route(f"/e2e-tampered/{CODE}/{{name}}", frozen)


def test_a_citizen_finds_a_business_reads_its_record_and_verifies_the_draw(
    server: Server, chromium, screenshots, monkeypatch
) -> None:
    tasks = _drawn_batch(server)
    published = _publish_first(server)
    entity = next(t for t in tasks if t["uscc"] == published)
    _tampered_route(server)
    monkeypatch.setattr(public_pages, "TASKS_PER_PAGE", 10)
    # The pages run under a Content-Security-Policy with no inline script or style: the
    # browser reports anything it had to block.
    blocked: list[str] = []

    def watch(page) -> None:
        page.on(
            "console",
            lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
        )

    for label, viewport in [("desktop", {"width": 1280, "height": 900}), ("phone", PHONE)]:
        context = chromium.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
        page = context.new_page()
        watch(page)

        # Search by a two-character fragment of the name, then by the credit code.
        fragment = entity["entity_name"].removeprefix("昌吉市测试商贸")[:2]
        page.goto(f"{server.url}/")
        page.get_by_role("link", name="查询企业").first.click()
        page.get_by_label("企业名称").fill(fragment)
        page.get_by_role("button", name="查询").click()
        page.get_by_role("link", name=entity["entity_name"]).wait_for()
        screenshots(page, f"portal-search-{label}")
        page.get_by_label("企业名称").fill(published)
        page.get_by_role("button", name="查询").click()
        page.wait_for_url(f"{server.url}/entities/{published}")

        # Its record: registration facts, the published result in the national format.
        text = page.inner_text("main")
        assert "统一社会信用代码" in text and published in text
        assert "“双随机”抽查检查结果" in text and CODE in text and "企业公示信息检查" in text
        assert "13900000000" not in page.content()
        screenshots(page, f"portal-entity-{label}")
        if label == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (
                f"the entity page scrolls sideways on a phone ({width}px)"
            )

        # A long batch page pages (10 a page here), and each entity links to its record.
        page.goto(f"{server.url}/batches/{CODE}")
        assert "第 1 / 3 页，共 24 条" in page.inner_text("main")
        page.get_by_role("link", name="下一页").click()
        page.wait_for_url(f"{server.url}/batches/{CODE}?page=2")
        assert page.locator("table.results tbody tr").count() == 10
        screenshots(page, f"portal-batch-page2-{label}")
        if label == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # The verifier in the browser: passes on the published bundle...
        page.goto(f"{server.url}/batches/{CODE}/verify")
        page.get_by_role("button", name="开始核验").click()
        verdict = page.locator("#verify-verdict")
        verdict.wait_for(state="visible", timeout=60_000)
        assert verdict.inner_text().startswith("核验通过"), verdict.inner_text()
        assert page.locator("#verify-steps li").count() >= 9
        screenshots(page, f"portal-verify-passed-{label}")
        # ...and names the first difference of a tampered copy.
        page.goto(f"{server.url}/batches/{CODE}/verify?source=/e2e-tampered/{CODE}")
        page.get_by_role("button", name="开始核验").click()
        verdict.wait_for(state="visible", timeout=60_000)
        said = verdict.inner_text()
        assert said.startswith("核验未通过") and "selected[2].team" in said, said
        screenshots(page, f"portal-verify-tampered-{label}")
        context.close()

    # The feed is Atom; the open data opens with the expected header.
    with httpx.Client(base_url=server.url) as http:
        feed = feedparser.parse(http.get("/feed.xml").content)
        assert feed.version == "atom10" and not feed.bozo
        assert any(CODE in e.summary for e in feed.entries)
        assert any(e.title.startswith("公示检查结果") for e in feed.entries)
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    watch(page)
    page.goto(f"{server.url}/open-data")
    screenshots(page, "portal-open-data")
    with page.expect_download() as download:
        page.get_by_role("link", name="results.csv").first.click()
    raw = download.value.path().read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["plan_code", "plan_name", "task_code"] and rows[1][6] == published
    page.goto(f"{server.url}/statistics")
    page.wait_for_load_state("load")
    # Six charts, each an SVG file of this site that the browser actually drew.
    drawn = page.eval_on_selector_all(
        "figure.chart img", "els => els.map(e => e.complete && e.naturalWidth > 0)"
    )
    assert drawn == [True] * 6
    # The sample estimate of the drawn batch: one published result is too few to estimate,
    # and the page says so instead of printing a share; no risk class for the public.
    main = page.inner_text("main")
    assert "抽样推断" in main and "样本过少" in main and "按信用风险分类" not in main
    screenshots(page, "portal-statistics")
    page.goto(f"{server.url}/announcements")
    screenshots(page, "portal-announcements")
    page.goto(f"{server.url}/no-such-page")
    assert "页面不存在" in page.inner_text("main")
    page.goto(f"{server.url}/audit-anchors")
    assert "审计锚点" in page.inner_text("main")
    context.close()
    assert blocked == []
