"""Least privilege, role by role: every API list and page of entities, inspectors and tasks
returns exactly the fields `supervision.disclosure` declares for the reader's role, and an
inspector reads only the entities of his or her own tasks."""

import pytest
from sqlmodel import Session, select

from supervision.disclosure import TABLE, Audience, visible
from supervision.planning.models import Task, TaskMember
from supervision.registry import schemas as rs
from supervision.registry.models import Entity, Inspector
from tests.pages.conftest import ID_NO, PHONE

INSPECTOR_PHONE = "13811112222"
STAFF_ROLES = ("planner", "reviewer", "admin", "inspector")


def _own_usccs(session: Session, badge: str) -> set[str]:
    return set(
        session.exec(
            select(Task.uscc)
            .join(TaskMember, TaskMember.task_id == Task.id)
            .where(TaskMember.badge_no == badge, TaskMember.active == True)  # noqa: E712
            .where(Task.state != "withdrawn")
        )
    )


@pytest.fixture
def readers(browser, drawn_batch, session: Session):
    """A browser per role; the inspector is on tasks of the drawn batch; inspectors have phones."""
    for inspector in session.exec(select(Inspector)):
        inspector.phone = INSPECTOR_PHONE
        session.add(inspector)
    session.commit()
    badge = session.exec(
        select(TaskMember.badge_no).where(TaskMember.active == True)  # noqa: E712
    ).first()
    clients = {role: browser(role) for role in ("planner", "reviewer", "admin", "liaison")}
    clients["inspector"] = browser("inspector", inspector_badge=badge)
    clients["public"] = browser()
    return clients, badge


def test_the_table_covers_every_field_of_the_read_schemas() -> None:
    assert set(TABLE["entity"]) == set(rs.EntityStaff.model_fields)
    assert set(TABLE["inspector"]) == set(rs.InspectorStaff.model_fields)
    for record in TABLE.values():
        for marks in record.values():
            assert marks[Audience.liaison] == "."  # the liaison reads the lookup only


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_entity_lists_and_details_carry_only_the_declared_fields(readers, session, role) -> None:
    clients, badge = readers
    client = clients[role]
    fields = visible("entity", Audience(role))
    body = client.get("/api/v1/entities?page_size=200").json()
    assert body["items"], body
    for item in body["items"]:
        assert set(item) == fields, set(item) ^ fields
    detail = client.get(f"/api/v1/entities/{body['items'][0]['uscc']}").json()
    assert set(detail) == fields
    page = client.get("/staff/entities").text
    assert ("<th>风险分类</th>" in page) == ("risk_class" in fields)
    entity_page = client.get(f"/staff/entities/{body['items'][0]['uscc']}").text
    assert (ID_NO in entity_page) == ("legal_rep_id_no" in fields)
    assert (PHONE in entity_page) == ("phone" in fields)
    if role == "inspector":
        own = _own_usccs(session, badge)
        assert {i["uscc"] for i in body["items"]} == own and body["total"] == len(own)


def test_an_inspector_reads_only_the_entities_of_own_tasks(readers, session) -> None:
    clients, badge = readers
    inspector = clients["inspector"]
    own = _own_usccs(session, badge)
    other = session.exec(select(Entity.uscc).where(Entity.uscc.not_in(own))).first()
    assert inspector.get(f"/api/v1/entities/{other}").status_code == 403
    assert inspector.get(f"/staff/entities/{other}").status_code == 403
    # Filtering by a field the role cannot see would reveal it row by row.
    assert inspector.get("/api/v1/entities?risk_class=D").status_code == 403
    assert inspector.get("/api/v1/entities?uscc_check_ok=false").status_code == 403
    assert inspector.get("/staff/entities?risk=D").status_code == 403
    page = inspector.get("/staff/entities").text
    assert all(u in page for u in own) and other not in page


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_inspector_lists_carry_only_the_declared_fields(readers, role) -> None:
    clients, _ = readers
    client = clients[role]
    fields = visible("inspector", Audience(role))
    body = client.get("/api/v1/inspectors?page_size=200").json()
    for item in body["items"]:
        assert set(item) == fields
    detail = client.get(f"/api/v1/inspectors/{body['items'][0]['badge_no']}").json()
    assert set(detail) == fields
    page = client.get("/staff/inspectors").text
    assert (INSPECTOR_PHONE in page) == ("phone" in fields)


@pytest.mark.parametrize("role", (*STAFF_ROLES, "public"))
def test_task_lists_carry_only_the_declared_fields(readers, drawn_batch, role) -> None:
    clients, _ = readers
    rows = clients[role].get(f"/api/v1/batches/{drawn_batch}/tasks").json()
    assert rows
    internal = role in ("planner", "reviewer", "admin")
    # The fixture's batch stratifies by risk class, so it is sealed: strata are internal.
    fields = visible("task", Audience(role), sealed=True)
    for row in rows:
        assert set(row) == fields
        if not internal:
            assert row["state"] in ("assigned", "unassigned", "withdrawn", "published")


@pytest.mark.parametrize(
    "path", ("/api/v1/entities", "/api/v1/inspectors", "/staff/entities", "/staff/inspectors")
)
def test_the_liaison_and_the_public_read_no_registry_list(readers, path) -> None:
    clients, _ = readers
    assert clients["liaison"].get(path).status_code == 403
    assert clients["public"].get(path).status_code in (401, 303)
