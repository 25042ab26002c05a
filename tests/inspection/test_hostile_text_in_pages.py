"""Hostile names and texts rendered into every page family come out escaped (no XSS).

Entity and inspector names, the plan's and batch's names, a withdrawal reason, published
findings, a listing's decision number and reason all carry markup; every public and staff page
that shows them must print it as text.
"""

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from api.deps import TOKEN_COOKIE
from supervision.enforcement import zombies
from supervision.enforcement.models import ListEntry
from supervision.planning.models import Batch, Plan, Task
from supervision.registry.models import Entity, Inspector
from tests.enforcement.conftest import book, listed  # noqa: F401
from tests.inspection.conftest import FEW, approve, full_result

PAYLOAD = '<script>alert("xss")</script>"><img src=x onerror=alert(1)>'
SHORT = "<script>alert(1)</script>"  # for columns of 50 characters (inspector names)
RAW = ("<script>alert(", "<img src=x")  # what must never reach a page unescaped
ESCAPED = "&lt;script&gt;alert("


def assert_escaped(page: TestClient, url: str) -> str:
    r = page.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    for raw in RAW:
        assert raw not in r.text, (url, raw)
    assert ESCAPED in r.text, f"{url} does not show the hostile text at all"
    return r.text


@pytest.fixture
def as_role(app, login) -> Iterator[Callable[..., TestClient]]:
    opened: list[TestClient] = []

    def _open(role: str, badge: str | None = None) -> TestClient:
        token = login(role, badge)["Authorization"].removeprefix("Bearer ")
        c = TestClient(app, follow_redirects=False, cookies={TOKEN_COOKIE: token})
        opened.append(c)
        return c

    yield _open
    for c in opened:
        c.close()


def test_hostile_texts_are_escaped_on_every_page_family(
    client,
    planner,
    login,
    member,
    session: Session,
    clock,
    as_role,
    book,  # noqa: F811
) -> None:
    hostile = {"name": f"批次{PAYLOAD}"}
    r = client.post(
        "/api/v1/plans/CJ-2026/batches",
        json={
            "code": "CJ-2026-X01",
            "name": hostile["name"],
            "initiating_department": "SCJ",
            "item_codes": ["SCJ-GS-001", "SCJ-SP-001"],
            "quotas": FEW,
            "team": [{"group": "SCJ", "count": 2, "qualification": None}],
            "cross_unit": True,
            "max_load": None,
            "window_start": "2026-09-01",
            "window_end": "2026-09-25",
            "entropy_plan": f"掷骰子{PAYLOAD}",
            "ceremony_at": "2026-11-26T10:00:00+08:00",
            "ceremony_place": f"大厅{PAYLOAD}",
        },
        headers=planner,
    )
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/batches/CJ-2026-X01/freeze", headers=planner).status_code == 200
    r = client.post(
        "/api/v1/batches/CJ-2026-X01/entropy", json={"entropy": ["3 6 1 4"]}, headers=planner
    )
    assert r.status_code == 200, r.text
    # Names are data that came in through an import: make every one of them hostile.
    session.execute(update(Entity).values(name=Entity.name + PAYLOAD))
    session.execute(update(Inspector).values(name="检查员" + SHORT))
    session.execute(update(Plan).values(name="计划" + PAYLOAD))
    session.commit()
    batch = session.exec(select(Batch).where(Batch.code == "CJ-2026-X01")).one()
    tasks = session.exec(select(Task).where(Task.batch_id == batch.id).order_by(Task.position))
    tasks = list(tasks)
    first, second = tasks[0], tasks[1]
    # A withdrawal with a hostile (public) reason.
    r = client.post(
        f"/api/v1/batches/CJ-2026-X01/tasks/{second.uscc}/withdraw",
        json={"reason": f"已注销{PAYLOAD}"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    # A published result whose findings carry markup.
    body = full_result("2026-09-10", codes=["B"])
    for line in body["lines"]:
        line["problems"] = f"发现问题{PAYLOAD}"
    team = member(first.id)
    r = client.put(f"/api/v1/tasks/{first.id}/result", json=body, headers=team)
    assert r.status_code == 200, r.text
    assert client.post(f"/api/v1/tasks/{first.id}/submit", headers=team).status_code == 200
    reviewer = login("reviewer")
    approve(client, first.id, reviewer)
    r = client.post(f"/api/v1/tasks/{first.id}/publish", headers=reviewer)
    assert r.status_code == 200, r.text
    # A listing with a hostile decision number, and zombie candidates with hostile names.
    entry = listed(session, book, first.uscc, "2026-09-10", "2026-09-20", no=f"异列{PAYLOAD}")
    zombies.all_zombie_candidates(session, clock, book)
    session.commit()
    entry_id = session.exec(select(ListEntry.id).where(ListEntry.id == entry.id)).one()

    public = TestClient(client.app, follow_redirects=False)
    for url in (
        "/",
        "/plans/CJ-2026",
        "/batches/CJ-2026-X01",
        "/batches/CJ-2026-X01/ceremony",
        "/results",
        "/lists/abnormal",
    ):
        assert_escaped(public, url)

    staff_planner = as_role("planner")
    for url in (
        "/staff",
        "/staff/entities",
        f"/staff/entities/{first.uscc}",
        "/staff/inspectors",
        "/staff/plans/CJ-2026",
        "/staff/batches/CJ-2026-X01",
        "/staff/candidates",
    ):
        assert_escaped(staff_planner, url)
    staff_reviewer = as_role("reviewer")
    for url in (
        f"/staff/tasks/{first.id}",
        "/staff/enforcement",
        f"/staff/enforcement/{entry_id}",
    ):
        assert_escaped(staff_reviewer, url)
    badge = session.exec(
        select(Inspector.badge_no).where(Inspector.id == first_member(session, first))
    ).one()
    assert_escaped(as_role("inspector", badge), "/staff/tasks")


def first_member(session: Session, task: Task) -> int:
    from supervision.planning.models import TaskMember

    return session.exec(
        select(TaskMember.inspector_id)
        .where(TaskMember.task_id == task.id, TaskMember.active)
        .order_by(TaskMember.position)
    ).first()
