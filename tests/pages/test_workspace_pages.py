"""The staff workspace: each role lands on its own work; the inspector's tasks are cards by
due date; other departments look a business up by hand."""

import re

from fastapi.testclient import TestClient

from api.roles import LANDING
from supervision.accounts.service import UserCreate, create_user
from tests.conftest import TEST_PASSWORD, post_login


def test_each_role_lands_on_its_own_work(app, session, clock, city) -> None:
    for n, role in enumerate(LANDING):
        badge = "65230100002" if role == "inspector" else None
        create_user(
            session,
            UserCreate(
                username=f"land{n}",
                display_name="落地",
                password=TEST_PASSWORD,
                role=role,
                inspector_badge=badge,
            ),
            actor="test",
            clock=clock,
        )
        session.commit()
        client = TestClient(app, follow_redirects=False)
        r = post_login(client, {"username": f"land{n}", "password": TEST_PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == LANDING[role], role
        assert client.get(LANDING[role]).status_code == 200, role
        # On the way to a page, the sign-in returns there instead.
        client.cookies.clear()
        r = post_login(
            client, {"username": f"land{n}", "password": TEST_PASSWORD, "next": "/results"}
        )
        assert r.headers["location"] == "/results"
        r = post_login(
            client,
            {"username": f"land{n}", "password": TEST_PASSWORD, "next": "//evil.example/x"},
        )
        assert r.headers["location"] == LANDING[role]
    assert LANDING["liaison"] == "/staff/lookup" and LANDING["inspector"] == "/staff/tasks"


def test_the_inspector_sees_task_cards_soonest_deadline_first(
    browser, drawn_batch, session
) -> None:
    from sqlmodel import select

    from supervision.planning.models import TaskMember

    badge = session.exec(select(TaskMember.badge_no).where(TaskMember.active == True)).first()  # noqa: E712
    page = browser("inspector", inspector_badge=badge).get("/staff/tasks").text
    assert '<ol class="records tasks">' in page and "公示截止" in page
    assert "<table" not in page.split("<main")[1]  # cards, no wide table on a phone
    dues = re.findall(r"(\d{4})年(\d{1,2})月(\d{1,2})日", page)
    assert dues


def test_a_liaison_looks_a_business_up_by_hand(browser, city) -> None:
    liaison = browser("liaison")
    page = liaison.get("/staff/lookup")
    assert page.status_code == 200 and "惩戒措施查询" in page.text
    nav = page.text.split('aria-label="工作人员"')[1].split("</ul>")[0]
    assert "惩戒查询" in nav and "检查任务" not in nav  # only what the role can open
    r = liaison.get(
        "/staff/lookup", params={"uscc": city[0], "measure": "procurement", "on": "2026-06-01"}
    )
    assert r.status_code == 200 and "不受限制" in r.text
    r = liaison.get(
        "/staff/lookup", params={"uscc": "91652301MA0000000X", "measure": "procurement"}
    )
    assert r.status_code == 400 and "未找到市场主体" in r.text
    r = liaison.get("/staff/lookup", params={"uscc": city[0], "measure": "nonsense"})
    assert r.status_code == 400 and "未知的惩戒措施" in r.text
    r = liaison.get(
        "/staff/lookup", params={"uscc": city[0], "measure": "procurement", "on": "昨天"}
    )
    assert r.status_code == 400 and "日期格式" in r.text
    assert (
        browser("inspector", inspector_badge="65230100001").get("/staff/lookup").status_code == 403
    )
