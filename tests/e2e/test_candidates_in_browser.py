"""A reviewer reads a zombie candidate's evidence and decides it in a real browser."""

import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

REVIEWER = ("e2e-reviewer", "e2e-password-456")


def test_reviewer_decides_a_candidate_through_the_form(server: Server, chromium, screenshots):
    from supervision.accounts.service import UserCreate, create_user
    from supervision.db import transaction
    from supervision.enforcement import zombies
    from supervision.enforcement.rulebook import rulebook

    clock = server.clock
    with transaction(server.engine) as session:
        create_user(
            session,
            UserCreate(
                username=REVIEWER[0], display_name="刘审核", password=REVIEWER[1], role="reviewer"
            ),
            actor="e2e",
            clock=clock,
        )
        found = zombies.all_zombie_candidates(session, clock, rulebook())
    assert sum(found.values()) > 0, found  # the small city never reported: candidates exist

    page = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{server.url}/login")
    page.get_by_label("用户名").fill(REVIEWER[0])
    page.get_by_label("密码").fill(REVIEWER[1])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server.url}/staff/tasks")  # a reviewer lands on the review queue

    page.get_by_role("link", name="候选与处置").click()
    page.wait_for_url(f"{server.url}/staff/candidates")
    screenshots(page, "candidates")
    first = page.locator("table tbody tr").first
    name = first.locator("td").nth(1).locator("a").inner_text()
    first.locator("td").first.locator("a").click()
    page.get_by_role("heading", name="证据").wait_for()
    assert page.get_by_role("heading", level=1).inner_text() == name
    assert "依据" in page.inner_text("main")

    # Without a note the decision is refused, in Chinese, and nothing is decided.
    page.get_by_role("button", name="提交决定").click()
    page.get_by_text("未执行，请修改").wait_for()
    assert "请填写说明" in page.inner_text("main")
    assert "待决定" in page.inner_text("main")

    page.get_by_label("提出吊销营业执照").check()
    page.get_by_label("说明（核查情况、文书文号等）").fill("实地核查：住所无经营迹象")
    page.get_by_role("button", name="提交决定").click()
    page.get_by_text("已决定：提出吊销营业执照").wait_for()
    main = page.inner_text("main")
    assert "已决定" in main and "实地核查：住所无经营迹象" in main
    assert page.get_by_role("button", name="提交决定").count() == 0
    screenshots(page, "candidate-decided")
