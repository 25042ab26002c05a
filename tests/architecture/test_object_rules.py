"""The object-level rules the access table declares (its fourth column), each checked on a real
drawn batch for every route that names it:

* ``own-task`` — an inspector reaches a task only while on its team: another inspector is
  refused (403, or 404 without a word of the task), the team's member gets through the gate.
* ``independent-review`` — a reviewer never reviews or corrects a task they were on: a
  reviewer linked to a member of the team is refused with that reason, another is not.
* ``read-only`` — the liaison (another department's officer) only reads: every route declaring
  it is a GET, and the liaison's only writes are signing in and out and its own password.
"""

import hashlib
import hmac
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from supervision.accounts.models import User
from supervision.accounts.service import UserCreate, create_user, issue_token
from supervision.planning.models import Task, TaskMember, TaskState
from supervision.registry.models import Entity, Inspector
from tests.conftest import TEST_PASSWORD
from tests.factories import DICE, create_and_freeze

TABLE = Path(__file__).with_name("access.tsv")
RULES = {"own-task", "independent-review", "read-only"}
INDEPENDENCE = "审核人员不能审核自己参加的检查任务"
# The smallest JPEG a photo check accepts (SOI, JFIF APP0, EOI).
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def _rows() -> list[tuple[str, str, str, set[str]]]:
    out = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        method, path, access, *rest = line.split("\t")
        out.append((method, path, access, set(rest[0].split(",")) if rest else set()))
    return out


def test_every_declared_rule_is_known_and_every_rule_is_used() -> None:
    used = set().union(*(rules for *_, rules in _rows()))
    assert used == RULES, used ^ RULES


@pytest.fixture
def scene(client: TestClient, planner, session: Session, clock) -> dict:
    """A drawn batch; a task T with its team; tokens for a member of T's team, an inspector on
    no team of T, a reviewer who was on T's team and an independent reviewer."""
    create_and_freeze(client, planner)
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 200, r.text
    task = session.exec(
        select(Task).where(Task.state == TaskState.assigned).order_by(Task.position)
    ).first()
    team = set(session.exec(select(TaskMember.inspector_id).where(TaskMember.task_id == task.id)))
    member_id = next(iter(team))
    outsider_id = next(i for i in session.exec(select(Inspector.id)) if i not in team)
    badge = dict(session.exec(select(Inspector.id, Inspector.badge_no)).all())
    tokens = {}
    for name, role, inspector_id in (
        ("member", "inspector", member_id),
        ("outsider", "inspector", outsider_id),
        ("own-reviewer", "reviewer", member_id),
        ("reviewer", "reviewer", None),
        ("liaison", "liaison", None),
    ):
        user = create_user(
            session,
            UserCreate(
                username=f"rule-{name}",
                display_name=name,
                password=TEST_PASSWORD,
                role=role,
                inspector_badge=badge[inspector_id] if role == "inspector" else None,
            ),
            actor="test",
            clock=clock,
        )
        if role == "reviewer" and inspector_id is not None:
            user.inspector_id = inspector_id  # a reviewer who also inspects
            session.add(user)
        tokens[name] = issue_token(session, user, ttl_hours=12, clock=clock)
    session.commit()
    entity = session.get(Entity, task.entity_id)
    return {"task": task, "entity": entity, "tokens": tokens}


def _call(app, client: TestClient, method: str, template: str, scene: dict, who: str):
    task = scene["task"]
    path = template.replace("{task_id}", str(task.id)).replace("{code}", "CJ-2026-T01")
    path = re.sub(r"\{\w+\}", "0" * 64, path)  # a made-up evidence digest
    if path.endswith("record-form.pdf"):
        path += f"?uscc={task.uscc}"
    token = scene["tokens"][who]
    client.cookies.clear()
    # An upload carries a small file, so a refusal cannot be the form's complaint of none.
    files = {"file": ("photo.jpg", JPEG, "image/jpeg")} if path.endswith("/evidence") else None
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {token}"}
        if method == "GET":
            return client.get(path, headers=headers)
        if files:
            return client.request(method, path, headers=headers, files=files)
        body = {"decision": "approve"} if path.endswith("/review") else {}
        if path.endswith("/corrections"):
            body = {"reason": "更正", "result": {"lines": []}}
        return client.request(method, path, headers=headers, json=body)
    client.cookies.set("sv_token", token)
    if method == "GET":
        return client.get(path)
    csrf = hmac.new(app.state.secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()
    form = {"csrf_token": csrf, **({"decision": "approve"} if path.endswith("/review") else {})}
    return client.request(method, path, data=form, files=files)


def test_own_task_routes_refuse_other_inspectors(app, scene) -> None:
    client = TestClient(app, follow_redirects=False)
    routes = [(m, p) for m, p, _, rules in _rows() if "own-task" in rules]
    assert len(routes) >= 10
    name = scene["entity"].name
    wrong = []
    for method, template in routes:
        outsider = _call(app, client, method, template, scene, "outsider")
        if outsider.status_code not in (403, 404) or name in outsider.text:
            wrong.append((method, template, "outsider", outsider.status_code))
        member = _call(app, client, method, template, scene, "member")
        if member.status_code in (401, 403):
            wrong.append((method, template, "member", member.status_code))
    assert not wrong, wrong


def test_independent_review_routes_refuse_a_reviewer_from_the_team(app, scene) -> None:
    client = TestClient(app, follow_redirects=False)
    routes = [(m, p) for m, p, _, rules in _rows() if "independent-review" in rules]
    assert len(routes) >= 3
    wrong = []
    for method, template in routes:
        own = _call(app, client, method, template, scene, "own-reviewer")
        if own.status_code != 403 or INDEPENDENCE not in own.text:
            wrong.append((method, template, "own-reviewer", own.status_code, own.text[:80]))
        other = _call(app, client, method, template, scene, "reviewer")
        if other.status_code in (401, 403) or INDEPENDENCE in other.text:
            wrong.append((method, template, "reviewer", other.status_code, other.text[:80]))
    assert not wrong, wrong


def test_the_liaison_only_reads() -> None:
    rows = _rows()
    assert all(method == "GET" for method, _, _, rules in rows if "read-only" in rules)
    sign_in = ("/login", "/logout", "/api/v1/auth/", "/staff/password")
    named = [
        (m, p)
        for m, p, access, _ in rows
        if m != "GET" and "liaison" in access.split(",") and not p.startswith(sign_in)
    ]
    assert not named, named
    # A write open to anyone signed in reaches the liaison's gate; each is held by an
    # object-level rule (a task's team, an independent reviewer), which a liaison never meets.
    open_writes = [
        (m, p, rules)
        for m, p, access, rules in rows
        if m != "GET" and access == "signed-in" and not p.startswith(sign_in)
    ]
    assert open_writes and all(
        rules & {"own-task", "independent-review"} for *_, rules in open_writes
    ), open_writes


def test_a_linked_reviewer_user_is_what_the_scene_says(scene, session: Session) -> None:
    """The scene's own-reviewer really is linked to a member of the task's team."""
    user = session.exec(select(User).where(User.username == "rule-own-reviewer")).one()
    members = set(
        session.exec(select(TaskMember.inspector_id).where(TaskMember.task_id == scene["task"].id))
    )
    assert user.inspector_id in members
