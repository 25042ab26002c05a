"""The administrator's pages and every user's password change: accounts are created, linked,
disabled and reset from the pages; a changed password ends every old session; the audit log
filters and checks its chain."""

import re

from fastapi.testclient import TestClient

from tests.conftest import post_login
from tests.pages.conftest import csrf_of

NEW_PASSWORD = "a-new-password-2026"


def _login(client: TestClient, username: str, password: str) -> int:
    return post_login(client, {"username": username, "password": password}).status_code


def test_an_admin_creates_a_user_who_changes_the_password_and_old_sessions_end(
    browser, city, app
) -> None:
    admin = browser("admin")
    page = admin.get("/staff/admin/users")
    assert page.status_code == 200 and "新建用户" in page.text
    token = csrf_of(admin, "/staff/admin/users")
    # A mistake first: an inspector account without a badge is refused, values kept.
    r = admin.post(
        "/staff/admin/users",
        data={
            "csrf_token": token,
            "username": "zhang.min",
            "display_name": "张敏",
            "role": "inspector",
            "password": "initial-pass-1",
        },
    )
    assert r.status_code == 400 and "须关联执法证号" in r.text and 'value="zhang.min"' in r.text
    r = admin.post(
        "/staff/admin/users",
        data={
            "csrf_token": token,
            "username": "zhang.min",
            "display_name": "张敏",
            "role": "inspector",
            "inspector_badge": "65230100003",
            "password": "initial-pass-1",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/staff/admin/users/zhang.min"
    assert "65230100003" in admin.get("/staff/admin/users").text

    # The user signs in on two devices, then changes the password on one.
    phone, desk = TestClient(app, follow_redirects=False), TestClient(app, follow_redirects=False)
    assert _login(phone, "zhang.min", "initial-pass-1") == 303
    assert _login(desk, "zhang.min", "initial-pass-1") == 303
    assert desk.get("/staff/tasks").status_code == 200
    token = csrf_of(phone, "/staff/password")
    wrong = phone.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "current_password": "nope-nope",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.text
    mismatch = phone.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "current_password": "initial-pass-1",
            "new_password": NEW_PASSWORD,
            "confirm_password": "other-one-123",
        },
    )
    assert mismatch.status_code == 400 and "不一致" in mismatch.text
    r = phone.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "current_password": "initial-pass-1",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/login"
    # Every old session has ended, on both devices; only the new password opens one.
    assert desk.get("/staff/tasks").status_code == 303
    assert phone.get("/staff/tasks").status_code == 303
    assert _login(desk, "zhang.min", "initial-pass-1") == 401
    assert _login(desk, "zhang.min", NEW_PASSWORD) == 303
    assert desk.get("/staff/tasks").status_code == 200

    # The admin disables the account: its session ends at once; then resets the password.
    token = csrf_of(admin, "/staff/admin/users/zhang.min")
    r = admin.post(
        "/staff/admin/users/zhang.min",
        data={
            "csrf_token": token,
            "display_name": "张敏",
            "role": "inspector",
            "inspector_badge": "65230100003",
        },
    )
    assert r.status_code == 303
    assert desk.get("/staff/tasks").status_code == 303
    assert _login(desk, "zhang.min", NEW_PASSWORD) == 401
    r = admin.post(
        "/staff/admin/users/zhang.min/password", data={"csrf_token": token, "new_password": "short"}
    )
    assert r.status_code == 400 and "新密码" in r.text
    r = admin.post(
        "/staff/admin/users/zhang.min/password",
        data={"csrf_token": token, "new_password": "reset-pass-2026"},
    )
    assert r.status_code == 303
    history = admin.get("/staff/admin/users/zhang.min").text
    for label in ("新建账号", "本人修改密码", "修改账号", "管理员重置密码"):
        assert label in history

    # The audit log: filtered by object, and the chain checked.
    log = admin.get("/staff/admin/audit", params={"object": "zhang.min"}).text
    assert "本人修改密码" in log and "新建抽查批次" not in log
    checked = admin.get("/staff/admin/audit", params={"check": "yes"}).text
    assert "哈希链完整" in checked
    for bad in ({"since": "not-a-date"}, {"page": "-1"}, {"actor": "x" * 500}, {"action": "'"}):
        assert admin.get("/staff/admin/audit", params=bad).status_code == 200


def test_an_admin_cannot_lock_themselves_out_and_others_cannot_administer(browser, city) -> None:
    admin = browser("admin")
    me = admin.get("/staff/admin/users").text.split('href="/staff/admin/users/')[1].split('"')[0]
    token = csrf_of(admin, "/staff/admin/users")
    r = admin.post(f"/staff/admin/users/{me}", data={"csrf_token": token, "role": "admin"})
    assert r.status_code == 409 and "不能停用自己的账号" in r.text
    planner = browser("planner")
    for path in ("/staff/admin/users", "/staff/admin/audit", "/staff/admin/status"):
        assert planner.get(path).status_code == 403
    assert (
        planner.post("/staff/admin/users", data={"csrf_token": csrf_of(planner)}).status_code == 403
    )
    assert browser().get("/staff/password").status_code == 303  # anonymous: to the login page


def test_the_status_page_says_what_is_in_force_and_what_is_to_confirm(browser, city) -> None:
    page = browser("admin").get("/staff/admin/status").text
    assert "现行" in page and "待确认的规定" in page and "2025" in page
    assert "工作日历" in page and "已公布" in page


def test_the_admin_enters_a_years_arrangement_from_the_status_page(
    browser, city, app, tmp_path
) -> None:
    """2027 shows as 暂定 until its arrangement is entered; a wrong file is refused with the
    reason and changes nothing; the right one is taken (into a copy of the data folder)."""
    import shutil

    from tests.calendar.test_provisional import ANNOUNCED

    data = tmp_path / "data"
    shutil.copytree(app.state.settings.data_dir, data)
    app.state.settings.data_dir = data
    admin = browser("admin")
    page = admin.get("/staff/admin/status").text
    assert "暂定" in page and "录入已公布的放假安排" in page
    token = csrf_of(admin, "/staff/admin/status")
    bad = admin.post(
        "/staff/admin/calendar",
        data={"csrf_token": token, "year": "2027"},
        files={"file": ("2027.yaml", b"year: 2027\nstatus: pending\n", "text/yaml")},
    )
    notice = re.findall(r"未执行：</strong>([^<]*)", bad.text)
    assert bad.status_code == 400 and "announced" in "".join(notice), notice
    assert b"pending" in (data / "calendar" / "2027.yaml").read_bytes()
    ok = admin.post(
        "/staff/admin/calendar",
        data={"csrf_token": token, "year": "2027"},
        files={"file": ("2027.yaml", ANNOUNCED, "text/yaml")},
    )
    assert ok.status_code == 303
    assert (data / "calendar" / "2027.yaml").read_bytes() == ANNOUNCED
    page = admin.get("/staff/admin/status").text
    assert "test notice" in page


def test_the_api_administers_accounts_too(client, login, session) -> None:
    admin = login("admin")
    r = client.post(
        "/api/v1/users",
        json={
            "username": "li.hua",
            "display_name": "李华",
            "password": "initial-pass-1",
            "role": "reviewer",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    session.commit()
    token = client.post(
        "/api/v1/auth/token", data={"username": "li.hua", "password": "initial-pass-1"}
    ).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=mine).status_code == 200
    assert [u["username"] for u in client.get("/api/v1/users", headers=admin).json()].count(
        "li.hua"
    ) == 1
    assert client.get("/api/v1/users", headers=mine).status_code == 403
    r = client.post(
        "/api/v1/auth/password",
        json={"current_password": "initial-pass-1", "new_password": NEW_PASSWORD},
        headers=mine,
    )
    assert r.status_code == 204, r.text
    assert client.get("/api/v1/auth/me", headers=mine).status_code == 401
    r = client.patch("/api/v1/users/li.hua", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": "li.hua", "password": NEW_PASSWORD}
        ).status_code
        == 401
    )
    assert (
        client.patch("/api/v1/users/nobody", json={"active": False}, headers=admin).status_code
        == 404
    )
    assert (
        client.patch("/api/v1/users/li.hua", json={"role": "emperor"}, headers=admin).status_code
        == 422
    )
    r = client.post(
        "/api/v1/users/li.hua/password", json={"new_password": "reset-pass-2026"}, headers=admin
    )
    assert r.status_code == 204
