"""Registry endpoints: roles, validation, privacy and nothing written on refusal."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from supervision.registry.models import Department, Entity, Unit
from tests.uscc_reference import uscc

GOOD = uscc("652301", "MA77XY12")


@pytest.fixture
def units(session: Session) -> None:
    session.add(Department(code="SCJ", name="昌吉市市场监督管理局"))
    session.add(Department(code="WJW", name="昌吉市卫生健康委员会"))
    session.flush()
    session.add(Unit(code="652301-01", name="宁边路市场监管所", department_code="SCJ"))
    session.add(Unit(code="652301-02", name="三工市场监管所", department_code="SCJ"))
    session.commit()


def entity_body(**over) -> dict:
    body = {
        "uscc": GOOD,
        "name": "昌吉市天山商贸有限公司",
        "entity_type": "enterprise",
        "legal_rep": "王建国",
        "registered_address": "昌吉市延安北路1号",
        "region_code": "652301",
        "industry_code": "F51",
        "registration_authority": "昌吉市市场监督管理局",
        "supervising_unit": "652301-01",
        "established_on": "2015-06-01",
        "risk_class": "C",
        "phone": "13900000000",
        "legal_rep_id_no": "652301198001010011",
        "annual_report_years": [2023, 2024],
    }
    body.update(over)
    return body


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_login_rejects_wrong_password(client: TestClient, login) -> None:
    login("planner")
    r = client.post("/api/v1/auth/token", data={"username": "planner1", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["detail"]["zh"] == "用户名或密码错误"


def test_entity_create_read_update(client: TestClient, login, units) -> None:
    planner = login("planner")
    r = client.post("/api/v1/entities", json=entity_body(), headers=planner)
    assert r.status_code == 201, r.text
    assert r.json()["warnings"] == []
    assert r.json()["entity"]["annual_report_years"] == [2023, 2024]
    r = client.patch(f"/api/v1/entities/{GOOD}", json={"status": "suspended"}, headers=planner)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = client.get("/api/v1/entities", params={"q": "天山", "status": "suspended"}, headers=planner)
    assert r.json()["total"] == 1 and r.json()["items"][0]["uscc"] == GOOD


def test_flagged_check_character_accepted_with_warning(
    client: TestClient, login, units, session: Session
) -> None:
    bad_check = GOOD[:17] + ("0" if GOOD[17] != "0" else "1")
    r = client.post("/api/v1/entities", json=entity_body(uscc=bad_check), headers=login("planner"))
    assert r.status_code == 201
    assert "校验位" in r.json()["warnings"][0]
    assert r.json()["entity"]["uscc_check_ok"] is False


@pytest.mark.parametrize(
    ("uscc", "fragment"),
    [
        ("91652301MA77XY12", "18位"),
        ("91652301MA77XY12IO", "字符"),
        ("9165230XMA77XY121U", "行政区划"),
    ],
)
def test_malformed_uscc_rejected(
    client: TestClient, login, units, session: Session, uscc: str, fragment: str
) -> None:
    r = client.post("/api/v1/entities", json=entity_body(uscc=uscc), headers=login("planner"))
    assert r.status_code == 422
    assert fragment in r.text
    assert count(session, Entity) == 0


def test_duplicate_and_unknown_unit_refused(client: TestClient, login, units, session) -> None:
    planner = login("planner")
    assert client.post("/api/v1/entities", json=entity_body(), headers=planner).status_code == 201
    r = client.post("/api/v1/entities", json=entity_body(), headers=planner)
    assert r.status_code == 409 and "已存在" in r.json()["detail"]["zh"]
    other = uscc("652301", "MA77XY13", kind="2")
    r = client.post(
        "/api/v1/entities", json=entity_body(uscc=other, supervising_unit="nope"), headers=planner
    )
    assert r.status_code == 400 and "管辖单位" in r.json()["detail"]["zh"]
    assert count(session, Entity) == 1


@pytest.mark.parametrize(
    "over",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"name": "a\tb"},
        {"entity_type": "corp"},
        {"established_on": "2015-13-01"},
        {"region_code": "65230"},
        {"surprise": 1},
        {"risk_class": "E"},
    ],
)
def test_hostile_entity_bodies_refused(client, login, units, session, over: dict) -> None:
    r = client.post("/api/v1/entities", json=entity_body(**over), headers=login("planner"))
    assert r.status_code == 422, r.text
    assert count(session, Entity) == 0


def test_future_establishment_refused(client, login, units, session) -> None:
    r = client.post(
        "/api/v1/entities", json=entity_body(established_on="2030-01-01"), headers=login("planner")
    )
    assert r.status_code == 400
    assert count(session, Entity) == 0


def test_roles_enforced(client: TestClient, login, units) -> None:
    assert client.get("/api/v1/entities").status_code == 401
    liaison = login("liaison")
    assert client.get("/api/v1/entities", headers=liaison).status_code == 403
    reviewer = login("reviewer")
    assert client.get("/api/v1/entities", headers=reviewer).status_code == 200
    r = client.post("/api/v1/entities", json=entity_body(), headers=reviewer)
    assert r.status_code == 403 and "无权" in r.json()["detail"]["zh"]


def test_inspectors_and_conflicts(client: TestClient, login, units, session) -> None:
    planner = login("planner")
    body = {
        "badge_no": "65230100001",
        "name": "李明",
        "department_code": "SCJ",
        "unit_code": "652301-02",
        "qualifications": ["price", "food", "food"],
    }
    r = client.post("/api/v1/inspectors", json=body, headers=planner)
    assert r.status_code == 201 and r.json()["qualifications"] == ["food", "price"]
    r = client.get("/api/v1/inspectors", params={"qualification": "foo"}, headers=planner)
    assert r.json()["total"] == 0
    r = client.get("/api/v1/inspectors", params={"qualification": "food"}, headers=planner)
    assert r.json()["total"] == 1
    client.post("/api/v1/entities", json=entity_body(), headers=planner)
    conflict = {
        "inspector_badge": "65230100001",
        "uscc": GOOD,
        "reason": "近亲属在该企业任职",
        "valid_from": "2026-01-01",
    }
    r = client.post("/api/v1/conflicts", json=conflict, headers=planner)
    assert r.status_code == 201
    assert client.post("/api/v1/conflicts", json=conflict, headers=planner).status_code == 409
    # An inspector declares only their own conflicts.
    inspector = login("inspector", inspector_badge="65230100001")
    other = dict(conflict, inspector_badge="65230100002", valid_from="2026-02-01")
    assert client.post("/api/v1/conflicts", json=other, headers=inspector).status_code == 403
    # Conflicts are private: the inspector role cannot list them.
    assert client.get("/api/v1/conflicts", headers=inspector).status_code == 403


def test_item_list_is_public(client: TestClient, login, units) -> None:
    item = {
        "code": "SCJ-GS-001",
        "name": "企业公示信息检查",
        "legal_basis": "《企业信息公示暂行条例》第十六条",
        "department_code": "SCJ",
        "object_type": "企业",
        "content": "年度报告、即时信息公示情况",
        "methods": ["desk", "onsite"],
        "category": "general",
    }
    assert client.post("/api/v1/items", json=item).status_code == 401
    assert client.post("/api/v1/items", json=item, headers=login("planner")).status_code == 201
    r = client.get("/api/v1/items")
    assert r.status_code == 200 and r.json()[0]["methods"] == ["desk", "onsite"]


def test_nul_is_refused_everywhere(client: TestClient, login, units, session) -> None:
    planner = login("planner")
    assert (
        client.get("/api/v1/entities", params={"q": "a\x00b"}, headers=planner).status_code == 422
    )
    assert client.get("/api/v1/items/SCJ%00X").status_code == 404
    r = client.post("/api/v1/entities", json=entity_body(name="天山\x00商贸"), headers=planner)
    assert r.status_code == 422 and "NUL" in r.text
    assert count(session, Entity) == 0
