"""Every code a page prints comes with its Chinese name: no bare `revoked`, `food`,
`annual_report` or `unassigned` in what a person reads (attributes and links may carry codes).
Here on the pages' test city; tests/demo/test_demo_privacy.py scans the whole demo."""

from tests.pages.code_scan import bare_codes, code_words


def test_no_page_prints_a_bare_code(browser, drawn_batch, data_dir) -> None:
    codes = code_words(data_dir)
    # Roles are not scanned (usernames are often the role's word); /open-data is left out: it
    # documents the files' values, each code beside its name, as a schema does.
    pages = {
        "planner": [
            "/staff",
            f"/staff/batches/{drawn_batch}",
            "/staff/entities",
            "/staff/inspectors",
            "/staff/tasks",
        ],
        "reviewer": ["/staff/enforcement", "/staff/candidates", "/staff/tasks", "/staff/lookup"],
        "admin": ["/staff/admin/users", "/staff/admin/audit", "/staff/admin/status"],
        None: [
            "/",
            f"/batches/{drawn_batch}",
            "/announcements",
            "/statistics",
            "/lists",
            "/results",
            "/items",
        ],
    }
    bare = []
    for role, paths in pages.items():
        client = browser(role)
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, (role, path)
            found = bare_codes(r.text, codes)
            if found:
                bare.append((role, path, found))
    assert not bare, bare
