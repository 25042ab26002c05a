"""The result pages (api/pages/inspection.py): task list, result form, review, public record."""

import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from api.deps import TOKEN_COOKIE
from api.pages import inspection as pages
from tests.inspection.conftest import record_and_submit
from tests.pages.test_field_errors import field_errors

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
DAY = "2026-09-10"


@pytest.fixture
def browser(app) -> Iterator[Callable[[dict[str, str]], TestClient]]:
    """A browser carrying the session cookie of an API login."""
    app.include_router(pages.router)
    opened: list[TestClient] = []

    def _open(headers: dict[str, str]) -> TestClient:
        token = headers["Authorization"].removeprefix("Bearer ")
        c = TestClient(app, follow_redirects=False, cookies={TOKEN_COOKIE: token})
        opened.append(c)
        return c

    yield _open
    for c in opened:
        c.close()


def csrf(page: str) -> str:
    return CSRF.search(page).group(1)


def test_inspector_records_and_reviewer_approves_through_pages(
    client, draw_batch, member, outsider, login, browser
) -> None:
    tasks = draw_batch()
    task = tasks[0]
    me = browser(member(task))
    listing = me.get("/staff/tasks")
    assert listing.status_code == 200 and f"/staff/tasks/{task}" in listing.text
    assert "2026年10月29日" in listing.text and "已逾期" in listing.text

    page = me.get(f"/staff/tasks/{task}")
    assert page.status_code == 200 and "录入检查结果" in page.text
    token = csrf(page.text)
    partial = {"csrf_token": token, "action": "submit", "SCJ-GS-001.codes": "1"}
    r = me.post(f"/staff/tasks/{task}/result", data=partial)
    assert r.status_code == 400 and "尚未选择检查方式" in r.text
    assert 'value="1" checked' in r.text  # the entered values are kept

    full = {
        "csrf_token": token,
        "action": "submit",
        "SCJ-GS-001.codes": "1",
        "SCJ-GS-001.methods": "desk",
        "SCJ-GS-001.check_date": DAY,
        "SCJ-SP-001.codes": ["A", "4"],
        "SCJ-SP-001.methods": "onsite",
        "SCJ-SP-001.check_date": DAY,
        "SCJ-SP-001.problems": "计量器具未检定",
    }
    r = me.post(f"/staff/tasks/{task}/result", data=full)
    assert r.status_code == 303, r.text

    stranger = browser(outsider([task]))
    assert stranger.get(f"/staff/tasks/{task}").status_code == 403

    record_and_submit(client, tasks[1], member(tasks[1]), DAY)  # submitted, never published
    reviewer = browser(login("reviewer"))
    queue = reviewer.get("/staff/tasks").text
    assert f"/staff/tasks/{task}" in queue and "待审核" in queue
    page = reviewer.get(f"/staff/tasks/{task}").text
    r = reviewer.post(
        f"/staff/tasks/{task}/review", data={"csrf_token": csrf(page), "decision": "approve"}
    )
    assert r.status_code == 303
    page = reviewer.get(f"/staff/tasks/{task}").text
    assert "公示检查结果" in page
    r = reviewer.post(f"/staff/tasks/{task}/publish", data={"csrf_token": csrf(page)})
    assert r.status_code == 303 and "未公示" in unquote(r.cookies.get("sv_flash", ""))
    assert "公示检查结果" in reviewer.get(f"/staff/tasks/{task}").text  # still to publish
    r = reviewer.post(
        f"/staff/tasks/{task}/publish", data={"csrf_token": csrf(page), "confirm": "yes"}
    )
    assert r.status_code == 303

    public = TestClient(client.app)
    shown = public.get("/results").text
    name = client.get(f"/api/v1/tasks/{task}", headers=login("planner")).json()["entity_name"]
    other = client.get(f"/api/v1/tasks/{tasks[1]}", headers=login("planner")).json()["entity_name"]
    assert name in shown and "违反质量技术监督相关规定" in shown
    assert other not in shown
    assert "没有符合条件的已公示检查结果" in public.get("/results", params={"q": other}).text


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def test_uploading_photos_keeps_what_was_typed(browser, draw_batch, member) -> None:
    tasks = draw_batch()
    me = browser(member(tasks[0]))
    page = me.get(f"/staff/tasks/{tasks[0]}").text
    assert 'capture="environment"' in page and "multiple" in page
    typed = {
        "csrf_token": csrf(page),
        "action": "upload",
        "SCJ-GS-001.codes": "1",
        "SCJ-GS-001.problems": "门头招牌与登记名称不一致",
        "SCJ-GS-001.check_date": DAY,
    }
    files = [
        ("file", ("门头1.png", PNG, "image/png")),
        ("file", ("门头2.png", PNG + b"\x00", "image/png")),
    ]
    r = me.post(f"/staff/tasks/{tasks[0]}/result", data=typed, files=files)
    assert r.status_code == 303, r.text
    after = me.get(f"/staff/tasks/{tasks[0]}").text
    assert "门头招牌与登记名称不一致" in after  # the findings survived the upload
    assert "门头1.png" in after and "门头2.png" in after
    assert 'value="1" checked' in after
    # A refused submission shows everything typed again, with the reason.
    r = me.post(
        f"/staff/tasks/{tasks[0]}/result",
        data={**typed, "action": "submit", "SCJ-GS-001.problems": "第二次填写的发现"},
    )
    assert r.status_code == 400 and "第二次填写的发现" in r.text


def test_the_result_form_marks_the_item_and_names_it(
    browser,
    draw_batch,
    member,  # noqa: F811
) -> None:
    task = draw_batch()[0]
    me = browser(member(task))
    page = me.get(f"/staff/tasks/{task}").text
    partial = {"csrf_token": csrf(page), "action": "submit", "SCJ-GS-001.codes": "1"}
    r = me.post(f"/staff/tasks/{task}/result", data=partial)
    assert r.status_code == 400
    found = field_errors(r.text)
    # The first item's gaps sit in its own fieldset; the untouched second item has its own.
    first = [m for k, ms in found.items() if k.startswith("SCJ-GS-001") for m in ms]
    second = [m for k, ms in found.items() if k.startswith("SCJ-SP-001") for m in ms]
    assert any("尚未选择检查方式" in m for m in first)
    assert first and second and not set(first) & set(second)
    # Items are named as a person reads them, the code beside the name — never bare.
    assert all(re.match(r"事项“[^”]+”（SCJ-[A-Z]+-\d{3}）", m) for m in first + second)
    assert "事项SCJ" not in r.text
