"""Every route's access, compared with the declared table (tests/architecture/access.tsv).

Each route is read from the app: the role dependency it carries (`api.roles`), or whether it
needs a signed-in user at all. A change of access shows up here as a diff of the table; to
accept a deliberate change, regenerate it with `python -m tests.architecture.test_access`.
"""

from pathlib import Path

from fastapi.routing import iter_route_contexts

TABLE = Path(__file__).with_name("access.tsv")


def _calls(dependant) -> list:
    out = []
    for dep in dependant.dependencies:
        out.append(dep.call)
        out.extend(_calls(dep))
    return out


def access_of(route) -> str:  # noqa: ANN001 — a FastAPI route context
    from api.deps import current_user

    calls = _calls(route.dependant)
    gates = [c for c in calls if hasattr(c, "roles")]
    if gates:
        roles = set.intersection(*(set(g.roles) for g in gates))
        return ",".join(sorted(str(r) for r in roles))
    if current_user in calls:
        return "signed-in"
    return "anyone"


def access_table() -> list[str]:
    from api.app import create_app
    from supervision.settings import Settings

    app = create_app(
        Settings(database_url="sqlite://", embedded_scheduler=False, allowed_hosts=["testserver"])
    )
    rows = []
    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is None or not getattr(route, "methods", None):
            continue  # static files, the docs pages
        for method in sorted(set(route.methods) - {"HEAD"}):
            rows.append(f"{method}\t{route.path}\t{access_of(route)}")
    return sorted(rows)


def test_every_route_has_the_declared_access() -> None:
    # The first three columns (method, path, roles) are the gate; a fourth names the
    # object-level rules, checked in test_object_rules.py.
    declared = [
        "\t".join(row.split("\t")[:3]) for row in TABLE.read_text(encoding="utf-8").splitlines()
    ]
    actual = access_table()
    missing = sorted(set(declared) - set(actual))
    extra = sorted(set(actual) - set(declared))
    assert not missing and not extra, (
        "routes differ from tests/architecture/access.tsv\n  declared, not in the app:\n    "
        + "\n    ".join(missing)
        + "\n  in the app, not declared:\n    "
        + "\n    ".join(extra)
    )


def test_no_staff_route_is_open() -> None:
    open_staff = [
        row
        for row in access_table()
        if row.split("\t")[2] == "anyone"
        and row.split("\t")[0] != "GET"
        and not row.split("\t")[1].startswith(("/login", "/logout", "/api/v1/auth/token"))
        and "/ceremony" not in row
    ]
    assert not open_staff, open_staff


if __name__ == "__main__":
    # Rewrite the gates from the app, keeping the object-level rules already declared.
    rules = {
        tuple(row.split("\t")[:2]): row.split("\t")[3]
        for row in TABLE.read_text(encoding="utf-8").splitlines()
        if len(row.split("\t")) > 3
    }
    rows = []
    for row in access_table():
        rule = rules.get(tuple(row.split("\t")[:2]))
        rows.append(f"{row}\t{rule}" if rule else row)
    TABLE.write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {TABLE}")
