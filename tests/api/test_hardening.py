"""The gaps a security probe found, closed: sign-in throttling and its CSRF, cookie writes to the
API, response headers, secrets, non-finite numbers, and request bodies bounded while they
stream (issue 17)."""

import io
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from supervision.accounts.models import LoginFailure
from supervision.accounts.service import UserCreate, create_user
from supervision.audit.models import AuditEntry
from supervision.errors import Invalid
from supervision.settings import Settings, resolve_secret
from tests.conftest import TEST_PASSWORD, post_login


@pytest.fixture
def account(session: Session, clock) -> str:
    create_user(
        session,
        UserCreate(username="li.ping", display_name="李平", password=TEST_PASSWORD, role="planner"),
        actor="test",
        clock=clock,
    )
    session.commit()
    return "li.ping"


def _token(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


# ---- sign-in throttle ----------------------------------------------------------------------


def test_ten_failures_lock_the_account_out_for_the_window(
    client: TestClient, account: str, session: Session, clock
) -> None:
    for _ in range(10):
        assert _token(client, account, "wrong-password").status_code == 401
    # The eleventh try is refused whatever the password — even the right one.
    r = _token(client, account, TEST_PASSWORD)
    assert r.status_code == 429
    assert (
        "登录失败次数过多" in r.json()["detail"]["zh"] and "分钟后再试" in r.json()["detail"]["zh"]
    )
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    lockouts = session.exec(select(AuditEntry).where(AuditEntry.action == "account.lockout")).all()
    assert [(e.object_type, e.object_key) for e in lockouts] == [("account", account)]
    # The sign-in form says the same, in Chinese, with the time to wait.
    page = post_login(client, {"username": account, "password": TEST_PASSWORD})
    assert page.status_code == 429 and "分钟后再试" in page.text and "Retry-After" in page.headers
    # After the window, the right password opens a session, and the failures are forgotten.
    clock.advance(minutes=16)
    assert _token(client, account, TEST_PASSWORD).status_code == 200
    assert not session.exec(select(LoginFailure).where(LoginFailure.username == account)).all()


def test_one_address_trying_many_names_is_locked_out_too(client: TestClient, account) -> None:
    for n in range(30):
        assert _token(client, f"guess{n}", "x").status_code == 401
    assert _token(client, account, TEST_PASSWORD).status_code == 429


def test_failures_are_purged_after_the_window(session: Session, clock, data_dir) -> None:
    from supervision.accounts.jobs import accounts_purge
    from supervision.accounts.throttle import Policy, record_failure

    for _ in range(3):
        record_failure(session, "someone", "10.0.0.1", clock=clock, policy=Policy())
    clock.advance(minutes=20)
    out = accounts_purge(session, clock, Settings(data_dir=data_dir))
    assert out["login_failures"] == 3 and not session.exec(select(LoginFailure)).all()


def test_the_sign_in_form_needs_its_csrf_token(app, client: TestClient, account: str) -> None:
    r = client.post(
        "/login", data={"username": account, "password": TEST_PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403 and "sv_token" not in r.headers.get("set-cookie", "")
    r = client.post(
        "/login",
        data={"username": account, "password": TEST_PASSWORD, "login_token": "0" * 64},
        follow_redirects=False,
    )
    assert r.status_code == 403
    browser = TestClient(app, follow_redirects=False)
    r = post_login(browser, {"username": account, "password": TEST_PASSWORD})
    assert r.status_code == 303 and r.headers["set-cookie"].startswith("sv_token=")


# ---- cookie writes to the API --------------------------------------------------------------


def test_a_cookie_write_to_the_api_needs_the_csrf_header(
    app, client: TestClient, account: str
) -> None:
    browser = TestClient(app, follow_redirects=False)
    assert post_login(browser, {"username": account, "password": TEST_PASSWORD}).status_code == 303
    body = {
        "code": "CJ-2027",
        "year": 2027,
        "name": "2027年度计划",
        "authority": "昌吉市市场监督管理局",
    }
    r = browser.post("/api/v1/plans", json=body)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]["zh"]
    assert browser.get("/api/v1/plans").status_code == 200  # reads are fine
    page = browser.get("/staff").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
    r = browser.post("/api/v1/plans", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    # A bearer token needs no such header (a script is not a browser another site drives).
    bearer = _token(client, account, TEST_PASSWORD).json()["access_token"]
    r = client.post(
        "/api/v1/plans",
        json={**body, "code": "CJ-2028", "year": 2028},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert r.status_code == 201


# ---- headers --------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(app, client: TestClient, account) -> None:
    for path in ("/", "/login", "/api/v1/batches", "/static/site.css", "/nowhere"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
    assert client.get("/login").headers["cache-control"] == "no-store"
    staff = TestClient(app, follow_redirects=False)
    post_login(staff, {"username": account, "password": TEST_PASSWORD})
    assert staff.get("/staff").headers["cache-control"] == "no-store"
    # The API documentation's bundles start with an inline script: there alone it may run.
    assert "'unsafe-inline'" in client.get("/docs").headers["content-security-policy"]
    # No page carries an inline script or style attribute the policy would block.
    for path in ("/", "/login", "/statistics", "/results", "/lists", "/verify"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert ' style="' not in html, path


# ---- secrets ----------------------------------------------------------------------------------


def test_a_secret_is_generated_once_and_a_weak_one_refused(tmp_path: Path) -> None:
    settings = Settings(storage_dir=tmp_path / "files")
    first = resolve_secret(settings)
    path = tmp_path / "secret_key"
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_secret(settings) == first  # kept across restarts
    for weak in ("dev-only-change-me", "short-secret"):
        with pytest.raises(Invalid, match="SECRET_KEY"):
            resolve_secret(Settings(storage_dir=tmp_path / "files", secret_key=weak))
    strong = "k" * 16 + "3f9a" * 8
    assert resolve_secret(Settings(storage_dir=tmp_path / "x", secret_key=strong)) == strong


# ---- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_a_422_not_a_crash(client: TestClient, login, token) -> None:
    planner = login("planner")
    body = f'{{"code": "X", "year": {token}, "name": "n", "authority": "a"}}'
    r = client.post(
        "/api/v1/plans", content=body, headers={**planner, "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert "NaN 和 Infinity 不是有效的数值" in r.text


# ---- bodies -----------------------------------------------------------------------------------


def _temp_files() -> set[str]:
    return set(os.listdir(tempfile.gettempdir()))


def test_an_anonymous_upload_is_refused_before_it_is_read(client: TestClient) -> None:
    sent = {"bytes": 0}

    def body():
        for _ in range(50):
            sent["bytes"] += 1 << 20
            yield b"x" * (1 << 20)

    r = client.post(
        "/api/v1/import/entities",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 401 and r.json()["detail"]["zh"] == "请先登录再上传文件"


def test_bodies_past_the_limit_are_refused_while_they_stream(app, client, login) -> None:
    planner = login("planner")
    limit = app.state.settings.body_max_bytes
    # Declared too large: refused before one byte is read.
    r = client.post(
        "/api/v1/plans",
        content=b"{}",
        headers={**planner, "Content-Type": "application/json", "Content-Length": str(limit + 1)},
    )
    assert r.status_code == 413 and "大小上限" in r.json()["detail"]["zh"]
    # Chunked (no length): refused the moment it passes the limit, leaving no temporary file.
    before = _temp_files()

    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(6):
            yield b"x" * (1 << 20)

    app.state.settings.upload_max_bytes = 3 << 20
    try:
        r = client.post(
            "/api/v1/import/entities",
            content=chunks(),
            headers={**planner, "Content-Type": "multipart/form-data; boundary=b"},
        )
    finally:
        app.state.settings.upload_max_bytes = 200 << 20
    assert r.status_code == 413
    assert _temp_files() - before == set()
    # A page form past the small limit gets a Chinese page.
    r = client.post("/login", content=b"a=" + b"x" * (limit + 10),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 413 and "请求内容超过大小上限" in r.text


def test_an_xlsx_bomb_is_refused_unread(client: TestClient, login) -> None:
    """409 KB that unpacks to 400 MB: refused from the zip's directory, nothing parsed."""
    planner = login("planner")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            block = b"A" * (1 << 20)
            for _ in range(400):
                part.write(block)
    data = buf.getvalue()
    assert len(data) < 1 << 20
    r = client.post(
        "/api/v1/import/entities",
        files={
            "file": (
                "bomb.xlsx",
                data,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        },
        headers=planner,
    )
    assert r.status_code in (400, 422), r.text
    assert "解压后过大" in r.text


def test_a_forged_host_is_refused_and_never_echoed(client: TestClient, tmp_path) -> None:
    r = client.get("/", headers={"Host": "evil.example"})
    assert r.status_code == 400 and "evil.example" not in r.text
    # The default: the public address's host and the loopback names.
    from supervision.settings import allowed_hosts

    hosts = allowed_hosts(Settings(public_url="https://sjsj.changji.gov.cn/"))
    assert "sjsj.changji.gov.cn" in hosts and "127.0.0.1" in hosts and "evil.example" not in hosts


def test_public_downloads_are_limited_per_address(app, client: TestClient, login, clock) -> None:
    """The expensive public files: at most N a minute from one address (429 with the wait);
    pages and staff with a credential are not counted."""
    app.state.settings.public_downloads_per_minute = 3
    try:
        for _ in range(3):
            assert client.get("/open-data/batches.csv").status_code == 200
        r = client.get("/open-data/batches.csv")
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60
        assert "下载过于频繁" in r.text
        assert r.headers["x-frame-options"] == "DENY"  # the guards' refusals carry the headers
        r = client.get("/api/v1/batches/CJ-NONE/bundle.json")
        assert r.status_code == 429 and "下载过于频繁" in r.json()["detail"]["zh"]
        assert client.get("/open-data").status_code == 200  # a page, not a download
        staff = login("planner")
        assert client.get("/open-data/batches.csv", headers=staff).status_code == 200
    finally:
        app.state.settings.public_downloads_per_minute = 0
