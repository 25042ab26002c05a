"""The administrator's view of the scheduler in Chromium: every job with its next run, the
last runs with outcome and duration, a failure with its message (also in the inbox), and a
beacon job for a batch withdrawn meanwhile that did nothing and says why."""

from datetime import timedelta

import pytest

from supervision.accounts.service import UserCreate, create_user
from supervision.db import transaction
from supervision.jobs.catalog import all_jobs
from supervision.jobs.runner import HEARTBEAT, Job, run_job
from supervision.planning import freeze, service
from supervision.planning import schemas as ps
from supervision.planning.ceremony import CeremonyRules
from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import Server
from tests.factories import batch_body

pytestmark = pytest.mark.e2e
CODE = "CJ-2026-J01"


def _export_fails(session, clock, settings):
    raise RuntimeError("共享交换平台连接超时（10 秒）")


def test_the_jobs_page_shows_runs_failures_and_why(server: Server, chromium, screenshots) -> None:
    settings = server.app.state.settings
    rules = CeremonyRules.of(settings)
    at = server.clock.now() + timedelta(hours=25)
    with transaction(server.engine) as session:
        create_user(
            session,
            UserCreate(
                username="e2e-admin", display_name="赵管理", password=TEST_PASSWORD, role="admin"
            ),
            actor="e2e",
            clock=server.clock,
        )
        service.create_plan(
            session,
            ps.PlanCreate(
                code="CJ-2026", year=2026, name="2026年度抽查计划", authority="昌吉市市场监督管理局"
            ),
            actor="e2e",
            clock=server.clock,
        )
        body = batch_body(
            CODE,
            ceremony_at=at.isoformat(),
            entropy_source="beacon",
            beacon_chain="quicknet",
            entropy_plan="",
        )
        service.create_batch(
            session,
            "CJ-2026",
            ps.BatchCreate.model_validate(body),
            actor="e2e",
            clock=server.clock,
            rules=rules,
        )
        freeze.freeze_batch(
            session,
            CODE,
            actor="e2e",
            clock=server.clock,
            storage=settings.storage_dir,
            rules=rules,
        )
        freeze.withdraw_commitment(
            session, CODE, "检查事项调整，重新公告", actor="e2e", clock=server.clock
        )
    server.clock.advance(hours=26)
    run_job(server.engine, all_jobs()["planning.ceremonies"], server.clock, settings)
    run_job(server.engine, HEARTBEAT, server.clock, settings)
    run_job(
        server.engine,
        Job("registry.exchange", _export_fails, description="向共享平台推送名录"),
        server.clock,
        settings,
    )

    staff = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = staff.new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill("e2e-admin")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出登录").wait_for()
    page.get_by_role("link", name="定时任务").click()
    page.wait_for_url(f"{server.url}/staff/jobs")
    main = page.inner_text("main")
    assert "调度服务运行中" in main  # the heartbeat just ran
    assert "按公告时间定时冻结批次" in main and "每天 07:30（北京时间）" in main
    assert "共享交换平台连接超时" in main and "失败" in main
    assert f"{CODE}" in main and "公开撤回" in main and "不抽取" in main
    screenshots(page, "jobs-page")
    page.get_by_role("link", name="消息").click()
    assert "向共享平台推送名录" in page.inner_text("main")
    screenshots(page, "inbox")
    page.get_by_role("button", name="全部标为已读").click()
    page.get_by_text("已将").wait_for()

    # The withdrawn beacon commitment stays on the public batch page, its 192-character
    # public key inside the committed words: it wraps, the page does not scroll sideways.
    for width, height in ((1280, 900), (390, 844)):
        public = chromium.new_context(viewport={"width": width, "height": height})
        page = public.new_page()
        page.goto(f"{server.url}/batches/{CODE}")
        assert "public_key=" in page.inner_text("main") and "已撤回" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        screenshots(page, f"beacon-batch-{width}")
        public.close()
