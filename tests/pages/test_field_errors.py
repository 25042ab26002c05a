"""Forms show a refusal next to the field it is about (and once at the top): the plan form,
the admin's new-user form and the password change (the inspector's result form, per item:
tests/inspection/test_pages.py)."""

from html.parser import HTMLParser

from tests.pages.conftest import csrf_of


class _FieldErrors(HTMLParser):
    """The error messages printed inside each `.field` block, keyed by its input/select/
    textarea id, and inside each fieldset, keyed by its legend."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[dict] = []
        self.found: dict[str, list[str]] = {}
        self._in_error = False
        self._in_legend = False

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag in ("div", "fieldset"):
            self.stack.append(
                {
                    "tag": tag,
                    "block": "field" in classes or tag == "fieldset",
                    "ids": [],
                    "errors": [],
                    "legend": "",
                }
            )
        if tag in ("input", "select", "textarea") and a.get("id"):
            for frame in reversed(self.stack):
                if frame["block"]:
                    frame["ids"].append(a["id"])
                    break
        self._in_error = tag == "p" and "field-error" in classes
        self._in_legend = tag == "legend"

    def handle_endtag(self, tag) -> None:
        if tag == "p":
            self._in_error = False
        if tag == "legend":
            self._in_legend = False
        if tag in ("div", "fieldset") and self.stack:
            frame = self.stack.pop()
            if frame["block"] and frame["errors"]:
                keys = [frame["legend"]] if frame["tag"] == "fieldset" else frame["ids"]
                for key in keys:
                    self.found.setdefault(key, []).extend(frame["errors"])

    def handle_data(self, data) -> None:
        if self._in_legend and self.stack:
            self.stack[-1]["legend"] += data.strip()
        if self._in_error:
            for frame in reversed(self.stack):
                if frame["block"]:
                    frame["errors"].append(data.strip())
                    break


def field_errors(html: str) -> dict[str, list[str]]:
    parser = _FieldErrors()
    parser.feed(html)
    return parser.found


def test_the_plan_form_marks_the_field(browser, city) -> None:
    planner = browser("planner")
    token = csrf_of(planner, "/staff/plans/new")
    data = {
        "csrf_token": token,
        "code": "CJ-2027",
        "year": "1990",
        "name": "计划",
        "authority": "昌吉市市场监督管理局",
    }
    r = planner.post("/staff/plans/new", data=data)
    assert r.status_code == 400
    found = field_errors(r.text)
    assert list(found) == ["year"] and "年度" in found["year"][0]
    ok = planner.post("/staff/plans/new", data={**data, "year": "2027"})
    assert ok.status_code == 303, field_errors(ok.text)
    again = planner.post("/staff/plans/new", data={**data, "year": "2027"})
    assert again.status_code == 400 and field_errors(again.text) == {
        "code": ["计划编号“CJ-2027”已存在"]
    }


def test_the_new_user_and_password_forms_mark_the_field(browser, city) -> None:
    admin = browser("admin")
    token = csrf_of(admin, "/staff/admin/users")
    base = {
        "csrf_token": token,
        "username": "wu.lan",
        "display_name": "吴兰",
        "role": "inspector",
        "password": "initial-pass-1",
    }
    r = admin.post("/staff/admin/users", data=base)
    assert r.status_code == 400
    assert field_errors(r.text) == {"inspector_badge": ["执法检查人员账号须关联执法证号"]}
    r = admin.post("/staff/admin/users", data={**base, "role": "reviewer", "password": "short"})
    found = field_errors(r.text)
    assert r.status_code == 400 and list(found) == ["password"]
    r = admin.post(
        "/staff/admin/users", data={**base, "role": "reviewer", "username": "web-admin1"}
    )
    assert r.status_code == 409 and list(field_errors(r.text)) == ["username"]

    token = csrf_of(admin, "/staff/password")
    change = {
        "csrf_token": token,
        "current_password": "wrong-password",
        "new_password": "a-new-password-1",
        "confirm_password": "a-new-password-1",
    }
    r = admin.post("/staff/password", data=change)
    assert r.status_code == 400 and field_errors(r.text) == {"current_password": ["当前密码不正确"]}
    r = admin.post("/staff/password", data={**change, "confirm_password": "something-else"})
    assert r.status_code == 400 and field_errors(r.text) == {
        "confirm_password": ["两次输入的新密码不一致"]
    }
