"""Test database: built by running the real migrations, once per run.

SQLite by default; PostgreSQL as well when SUPERVISION_TEST_DATABASE_URL is set (a scratch
database is created next to the one named and dropped afterwards). Each test runs inside a
transaction that is rolled back, so tests stay isolated and fast.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from supervision.db import make_engine
from supervision.migrate import upgrade

pytest_plugins = ["tests.strict"]


def _scratch_postgres(url: str) -> Iterator[str]:
    base = make_url(url)
    name = f"sv_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> None:
    from supervision.accounts.service import use_fast_hashing_for_tests

    use_fast_hashing_for_tests()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pg = os.environ.get("SUPERVISION_TEST_DATABASE_URL")
    if pg:
        yield from _scratch_postgres(pg)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit stays inside an outer transaction rolled back at the end."""
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
            yield s
        outer.rollback()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data"


# ---- API fixtures -------------------------------------------------------------------------

from datetime import UTC, datetime  # noqa: E402

from fastapi.testclient import TestClient  # noqa: E402

from supervision.clock import FixedClock  # noqa: E402

TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))


@pytest.fixture
def app(engine: Engine, session: Session, clock: FixedClock):
    from fastapi import Request

    from api.app import create_app
    from api.deps import get_session, refused
    from supervision.settings import Settings

    # TestClient addresses "testserver"; generated-request tests download far more than a
    # person would (the per-address download limit is tested on its own).
    settings = Settings(
        database_url=str(engine.url),
        allowed_hosts=["testserver"],
        public_downloads_per_minute=0,
        ceremony_notice_hours=0,  # batch_body's ceremony is the test clock's moment
        embedded_scheduler=False,  # whatever the environment says: tests run jobs themselves
    )
    application = create_app(settings, engine=engine, clock=clock)

    def _test_session(request: Request) -> Iterator[Session]:
        # The app's rule (api.deps.get_session) on the test's session.
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        if refused(request):
            session.rollback()
        else:
            session.commit()

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def login(client: TestClient, session: Session, clock: FixedClock):
    """login(role, inspector_badge=None) → Authorization headers for a fresh user of that role."""
    from supervision.accounts.service import UserCreate, create_user

    counter = {"n": 0}
    cache: dict[str, dict[str, str]] = {}

    def _login(role: str, inspector_badge: str | None = None) -> dict[str, str]:
        counter["n"] += 1
        username = f"{role}{counter['n']}"
        create_user(
            session,
            UserCreate(
                username=username,
                display_name=f"测试{role}",
                password=TEST_PASSWORD,
                role=role,
                inspector_badge=inspector_badge,
            ),
            actor="test",
            clock=clock,
        )
        session.commit()
        r = client.post(
            "/api/v1/auth/token", data={"username": username, "password": TEST_PASSWORD}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def _cached(role: str) -> dict[str, str]:
        """One user per role for the whole test (generated-request tests call this often)."""
        if role not in cache:
            cache[role] = _login(role)
        return cache[role]

    _login.cached = _cached
    return _login


@pytest.fixture
def fresh_engine(tmp_path: Path) -> Iterator[Engine]:
    """A database of its own, committed to for real (for concurrency tests), then discarded."""
    pg = os.environ.get("SUPERVISION_TEST_DATABASE_URL")
    urls = _scratch_postgres(pg) if pg else iter([f"sqlite:///{tmp_path / 'fresh.db'}"])
    url = next(urls)
    eng = make_engine(url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        for _ in urls:  # drops the scratch PostgreSQL database
            pass


@pytest.fixture
def planner(client: TestClient, login, session: Session, clock, app, tmp_path: Path) -> dict:
    app.state.settings.storage_dir = tmp_path / "files"
    from tests.factories import small_city

    small_city(session, clock)
    session.commit()
    headers = login("planner")
    r = client.post(
        "/api/v1/plans",
        json={
            "code": "CJ-2026",
            "year": 2026,
            "name": "2026年度抽查计划",
            "authority": "昌吉市市场监督管理局",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/plans/CJ-2026/publish", headers=headers).status_code == 200
    return headers


def post_login(client: TestClient, data: dict[str, str]):
    """Sign in through the /login form as a browser does: the form first (its own CSRF cookie
    and token), then the POST with the token."""
    import re

    page = client.get("/login")
    token = re.search(r'name="login_token" value="([0-9a-f]+)"', page.text)
    assert token, "the sign-in form carries a CSRF token"
    return client.post("/login", data={**data, "login_token": token.group(1)})
