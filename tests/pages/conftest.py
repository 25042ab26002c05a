"""Page fixtures: a small city, browsers logged in by role, and batches in every state."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.pages.public import task_views
from supervision.accounts.service import UserCreate, create_user
from supervision.clock import FixedClock
from supervision.planning import drawing, events, freeze, service
from supervision.planning import schemas as ps
from supervision.registry.schemas import ConflictCreate
from supervision.registry.service import declare_conflict
from tests.conftest import TEST_PASSWORD, post_login
from tests.factories import IMMEDIATE, batch_body, small_city

DICE = "3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"
PHONE = "13900000000"
ID_NO = "652301198001010011"
PRIVATE_RECUSAL_NOTE = "住院手术，病假两周"
PRIVATE_CONFLICT_REASON = "配偶持有该企业股份（私密）"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@pytest.fixture
def city(session: Session, clock: FixedClock, app, tmp_path: Path) -> list[str]:
    app.state.settings.storage_dir = tmp_path / "files"
    usccs = small_city(session, clock)
    service.create_plan(
        session,
        ps.PlanCreate(
            code="CJ-2026", year=2026, name="2026年度抽查计划", authority="昌吉市市场监督管理局"
        ),
        actor="test",
        clock=clock,
    )
    service.publish_plan(session, "CJ-2026", actor="test", clock=clock)
    session.commit()
    return usccs


@pytest.fixture
def browser(app, session: Session, clock: FixedClock) -> Iterator[Callable[..., TestClient]]:
    """browser(role=None) → a TestClient of its own, logged in through the /login form."""
    clients: list[TestClient] = []
    counter = {"n": 0}

    def open_browser(role: str | None = None, inspector_badge: str | None = None) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        if role is None:
            return client
        counter["n"] += 1
        username = f"web-{role}{counter['n']}"
        create_user(
            session,
            UserCreate(
                username=username,
                display_name=f"页面{role}",
                password=TEST_PASSWORD,
                role=role,
                inspector_badge=inspector_badge,
            ),
            actor="test",
            clock=clock,
        )
        session.commit()
        r = post_login(client, {"username": username, "password": TEST_PASSWORD})
        assert r.status_code == 303, r.text
        return client

    yield open_browser
    for client in clients:
        client.__exit__(None, None, None)


def csrf_of(client: TestClient, page: str = "/staff") -> str:
    match = CSRF.search(client.get(page).text)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def make_batch(session: Session, clock: FixedClock, code: str = "CJ-2026-T01", **over) -> str:
    service.create_batch(
        session,
        "CJ-2026",
        ps.BatchCreate.model_validate(batch_body(code, **over)),
        actor="planner",
        clock=clock,
    )
    session.commit()
    return code


@pytest.fixture
def frozen_batch(city, session: Session, clock: FixedClock, app) -> str:
    code = make_batch(session, clock)
    freeze.freeze_batch(
        session,
        code,
        actor="planner",
        clock=clock,
        storage=app.state.settings.storage_dir,
        rules=IMMEDIATE,
    )
    session.commit()
    return code


@pytest.fixture
def drawn_batch(city, session: Session, clock: FixedClock, app) -> str:
    """A drawn batch with a declared (private) conflict, a recusal and a withdrawn entity."""
    storage = app.state.settings.storage_dir
    declare_conflict(
        session,
        ConflictCreate(
            inspector_badge="65230100001",
            uscc=city[0],
            reason=PRIVATE_CONFLICT_REASON,
            valid_from="2026-01-01",
        ),
        actor="test",
        clock=clock,
    )
    code = make_batch(session, clock)
    freeze.freeze_batch(
        session, code, actor="planner", clock=clock, storage=storage, rules=IMMEDIATE
    )
    drawing.enter_entropy(
        session, code, [DICE], actor="planner", clock=clock, storage=storage, rules=IMMEDIATE
    )
    session.commit()
    tasks = task_views(session, service.get_batch(session, code))
    first = tasks[0]
    events.recuse(
        session,
        code,
        first.uscc,
        first.team[0]["badge_no"],
        "因病",
        actor="planner",
        clock=clock,
        storage=storage,
        note=PRIVATE_RECUSAL_NOTE,
    )
    events.withdraw_entity(
        session, code, tasks[1].uscc, "已注销", actor="planner", clock=clock, storage=storage
    )
    session.commit()
    return code
