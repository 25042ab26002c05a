"""Every route called as every role, and as nobody, against the declared table
(`access.tsv`): a role the table names is let through the gate (whatever the handler then says
of the made-up object: 404, 400, 422…), a role it does not name is refused (403), and nobody
signed in is sent to sign in (401, or the login page). The sign-in routes themselves are the
exception: they are how one signs in."""

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from supervision.accounts.service import UserCreate, create_user, issue_token
from supervision.registry.models import Inspector
from tests.conftest import TEST_PASSWORD
from tests.factories import small_city

TABLE = Path(__file__).with_name("access.tsv")
ROLES = ("admin", "planner", "reviewer", "inspector", "liaison")
# Signing in and out (logging out would end the very sessions the other calls use).
SIGN_IN = ("/login", "/logout", "/api/v1/auth/token", "/api/v1/auth/logout")
# Made-up values for path parameters: shaped like the real ones, naming nothing that exists.
PARAMS = {
    "uscc": "91652301MA77XY121U",
    "code": "CJ-NONE-001",
    "username": "nobody-here",
    "filename": "results.csv",
    "name": "nothing",
    "kind": "abnormal",
}


def _path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), "999999"), template)


@pytest.fixture
def people(app, session: Session, clock) -> dict[str, str]:
    """A bearer token (also the page cookie) per role."""
    small_city(session, clock, entities=5, inspectors=3)
    badge = session.exec(select(Inspector.badge_no)).first()
    tokens = {}
    for role in ROLES:
        user = create_user(
            session,
            UserCreate(
                username=f"gate-{role}",
                display_name=role,
                password=TEST_PASSWORD,
                role=role,
                inspector_badge=badge if role == "inspector" else None,
            ),
            actor="test",
            clock=clock,
        )
        tokens[role] = issue_token(session, user, ttl_hours=12, clock=clock)
    session.commit()
    return tokens


def _call(client: TestClient, app, method: str, path: str, token: str | None):
    headers = {}
    cookies = {}
    data = None
    if token is not None:
        if path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {token}"
        else:
            cookies["sv_token"] = token
            csrf = hmac.new(app.state.secret, b"csrf:" + token.encode(), hashlib.sha256)
            data = {"csrf_token": csrf.hexdigest()}
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    if method == "GET":
        return client.get(path, headers=headers)
    if path.startswith("/api/"):
        return client.request(method, path, headers=headers, json={})
    return client.request(method, path, headers=headers, data=data)


def _refused_anonymous(r) -> bool:
    if r.status_code == 401:
        return True
    return r.status_code in (302, 303, 307) and r.headers["location"].startswith("/login")


def test_every_route_answers_each_role_as_the_table_says(app, people) -> None:
    rows = [line.split("\t") for line in TABLE.read_text(encoding="utf-8").splitlines()]
    client = TestClient(app, follow_redirects=False)
    wrong: list[tuple[str, str, str, int, str]] = []
    calls = 0
    for method, template, access, *_rules in rows:
        if template.startswith(SIGN_IN):
            continue
        path = _path(template)
        allowed = set(access.split(","))
        for role in (None, *ROLES):
            r = _call(client, app, method, path, people[role] if role else None)
            calls += 1
            if access == "anyone":
                ok = r.status_code not in (401, 403) and not _refused_anonymous(r)
            elif role is None:
                ok = _refused_anonymous(r)
            elif access == "signed-in" or role in allowed:
                ok = r.status_code not in (401, 403) and not _refused_anonymous(r)
            else:
                ok = r.status_code == 403
            if not ok:
                wrong.append((method, template, role or "anonymous", r.status_code, r.text[:120]))
    assert calls > 800
    assert not wrong, wrong[:20]
