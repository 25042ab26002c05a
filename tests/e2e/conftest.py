"""A real server for browser tests: uvicorn in a thread, on a fresh database of its own.

SQLite in tmp_path, or a scratch PostgreSQL database when SUPERVISION_TEST_DATABASE_URL is
set. The server runs on an injected clock fixed to the tests' dates (E2E_NOW), never on the
machine's: the tests keep passing as the calendar moves on (checked under `faketime`).
"""

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from supervision.clock import FixedClock
from tests.artifacts import SCREENSHOTS
from tests.conftest import _scratch_postgres
from tests.strict import need_file

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS_COPY = SCREENSHOTS
PLANNER = ("e2e-planner", "e2e-password-123")


# The tests' "now": before the batch windows and ceremonies their forms type in.
E2E_NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@dataclass
class Server:
    url: str
    root: Path
    engine: Engine
    clock: FixedClock
    app: Any = None  # the served application (a test may add a route to it)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    from api.app import create_app
    from supervision.accounts.service import UserCreate, create_user
    from supervision.db import make_engine, transaction
    from supervision.migrate import upgrade
    from supervision.settings import Settings
    from tests.factories import small_city

    pg = os.environ.get("SUPERVISION_TEST_DATABASE_URL")
    urls = _scratch_postgres(pg) if pg else iter([f"sqlite:///{tmp_path / 'e2e.db'}"])
    url = next(urls)
    engine = make_engine(url)
    upgrade(engine)
    clock = FixedClock(E2E_NOW)
    with transaction(engine) as session:
        small_city(session, clock)
        create_user(
            session,
            UserCreate(
                username=PLANNER[0], display_name="李计划", password=PLANNER[1], role="planner"
            ),
            actor="e2e",
            clock=clock,
        )
    settings = Settings(database_url=url, storage_dir=tmp_path / "files", embedded_scheduler=False)
    app = create_app(settings, engine=engine, clock=clock)
    try:
        with serving(app) as base:
            yield Server(base, tmp_path, engine, clock, app)
    finally:
        engine.dispose()
        for _ in urls:  # drops the scratch PostgreSQL database
            pass


@contextmanager
def serving(app) -> Iterator[str]:  # noqa: ANN001
    """Serve `app` with uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def chromium():
    """A headless Chromium from Debian (never a Playwright download)."""
    need_file(CHROMIUM, "chromium")
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def screenshots(tmp_path: Path):
    """shoot(page, name): a full-page PNG in tmp_path, kept in the run's artefacts
    (var/test-artifacts/screenshots/, or $SUPERVISION_TEST_ARTIFACTS) for review."""
    folder = tmp_path / "screenshots"
    folder.mkdir()

    def shoot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        SCREENS_COPY.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENS_COPY / path.name)
        return path

    return shoot
