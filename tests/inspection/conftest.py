"""Drawn batches, team logins and complete results for the inspection tests."""

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from supervision.accounts.models import User
from supervision.planning.models import Batch, Task, TaskMember, TaskState
from tests.factories import DICE, create_and_freeze

ITEMS = ["SCJ-GS-001", "SCJ-SP-001"]
METHODS = {"SCJ-GS-001": ["desk"], "SCJ-SP-001": ["onsite"]}
FEW = {"A": {"count": 1}, "B": {"count": 1}, "C": {"count": 1}, "D": {"count": 1}}


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def line(item: str, day: str, codes: list[str] | None = None, **over) -> dict:
    body = {
        "item_code": item,
        "codes": codes or ["1"],
        "methods": METHODS[item],
        "check_date": day,
    }
    body.update(over)
    return body


def full_result(day: str, items: list[str] = ITEMS, codes: list[str] | None = None) -> dict:
    extra = {"problems": "检查发现的问题"} if codes and codes != ["1"] else {}
    return {"lines": [line(i, day, codes, **extra) for i in items]}


def badges(session: Session, task_id: int, *, active: bool = True) -> list[str]:
    return list(
        session.exec(
            select(TaskMember.badge_no)
            .where(TaskMember.task_id == task_id, TaskMember.active == active)
            .order_by(TaskMember.position)
        )
    )


@pytest.fixture
def draw_batch(
    client: TestClient, planner: dict, session: Session, clock
) -> Callable[..., list[int]]:
    """Create, freeze and draw a batch; return its task ids (with a team) in draw order."""

    def _draw(
        code: str = "CJ-2026-R01",
        *,
        start: str = "2026-09-01",
        end: str = "2026-09-25",
        items: list[str] = ITEMS,
        quotas: dict = FEW,
    ) -> list[int]:
        create_and_freeze(
            client,
            planner,
            code=code,
            item_codes=items,
            quotas=quotas,
            window_start=start,
            window_end=end,
            ceremony_at=clock.now().isoformat(),  # drawn at the (test) clock's moment
        )
        r = client.post(
            f"/api/v1/batches/{code}/entropy", json={"entropy": [DICE]}, headers=planner
        )
        assert r.status_code == 200, r.text
        batch = session.exec(select(Batch).where(Batch.code == code)).one()
        return list(
            session.exec(
                select(Task.id)
                .where(Task.batch_id == batch.id, Task.state == TaskState.assigned)
                .order_by(Task.position)
            )
        )

    return _draw


@pytest.fixture
def member(login, session: Session) -> Callable[[int, int], dict[str, str]]:
    """Headers of an inspector account for the member at `position` of a task's team."""
    cache: dict[str, dict[str, str]] = {}

    def _member(task_id: int, position: int = 0) -> dict[str, str]:
        badge = badges(session, task_id)[position]
        if badge not in cache:
            cache[badge] = login("inspector", inspector_badge=badge)
        return cache[badge]

    return _member


@pytest.fixture
def outsider(login, session: Session) -> Callable[[list[int]], dict[str, str]]:
    """An inspector on none of the given tasks' teams."""

    def _outsider(task_ids: list[int]) -> dict[str, str]:
        on_teams = {b for t in task_ids for b in badges(session, t)}
        from supervision.registry.models import Inspector

        badge = next(
            b
            for b in session.exec(select(Inspector.badge_no).order_by(Inspector.badge_no))
            if b not in on_teams
        )
        return login("inspector", inspector_badge=badge)

    return _outsider


def link_inspector(session: Session, role: str, badge: str) -> None:
    """Give the latest account of a role an inspector link (a reviewer who also inspects)."""
    from supervision.registry.models import Inspector

    user = session.exec(select(User).where(User.role == role).order_by(User.id.desc())).first()
    user.inspector_id = session.exec(select(Inspector.id).where(Inspector.badge_no == badge)).one()
    session.add(user)
    session.commit()


def record_and_submit(
    client: TestClient, task_id: int, headers: dict, day: str, codes: list[str] | None = None
) -> None:
    r = client.put(
        f"/api/v1/tasks/{task_id}/result", json=full_result(day, codes=codes), headers=headers
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/tasks/{task_id}/submit", headers=headers)
    assert r.status_code == 200, r.text


def approve(client: TestClient, task_id: int, headers: dict) -> None:
    r = client.post(
        f"/api/v1/tasks/{task_id}/review", json={"decision": "approve"}, headers=headers
    )
    assert r.status_code == 200, r.text


def iso(d: date) -> str:
    return d.isoformat()
