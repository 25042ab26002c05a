"""Small registries built directly in the test database (no data files involved)."""

import random
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import Session

from supervision.clock import Clock
from supervision.planning.ceremony import CeremonyRules
from supervision.registry.models import Department, Entity, InspectionItem, Inspector, Unit
from tests.uscc_reference import uscc

DICE = "3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"
# Freeze and draw at the ceremony's very moment (tests of other things than the ceremony).
IMMEDIATE = CeremonyRules(notice=timedelta(0))
UNITS = [f"652301-{n:02d}" for n in range(1, 5)]
ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def small_city(
    session: Session, clock: Clock, *, entities: int = 200, inspectors: int = 12, seed: int = 7
) -> list[str]:
    """Departments SCJ/WJW, four stations, two items, entities across A–D, inspectors."""
    rng = random.Random(seed)
    session.add_all(
        [
            Department(code="SCJ", name="昌吉市市场监督管理局"),
            Department(code="WJW", name="昌吉市卫生健康委员会"),
        ]
    )
    session.flush()
    session.add_all(
        [
            Unit(code=u, name=f"第{n + 1}市场监管所", department_code="SCJ")
            for n, u in enumerate(UNITS)
        ]
    )
    session.add(Unit(code="652301-WJW", name="卫健委监督所", department_code="WJW"))
    session.add_all(
        [
            InspectionItem(
                code="SCJ-GS-001",
                name="企业公示信息检查",
                legal_basis="《企业信息公示暂行条例》",
                department_code="SCJ",
                object_type="企业",
                content="公示信息",
                methods="desk,onsite",
                category="general",
            ),
            InspectionItem(
                code="SCJ-SP-001",
                name="食品经营检查",
                legal_basis="《食品安全法》",
                department_code="SCJ",
                object_type="食品经营者",
                content="食品经营",
                methods="onsite",
                category="key",
                qualification="food",
            ),
        ]
    )
    session.flush()
    now = clock.now()
    usccs = sorted(
        {uscc("652301", "".join(rng.choice(ALPHA) for _ in range(8))) for _ in range(entities)}
    )
    session.execute(
        insert(Entity),
        [
            {
                "uscc": u,
                "uscc_check_ok": True,
                "name": f"昌吉市测试商贸{n}号有限公司",
                "entity_type": "enterprise",
                "legal_rep": "张三",
                "registered_address": "昌吉市",
                "region_code": "652301",
                "industry_code": "F51",
                "registration_authority": "昌吉市市场监督管理局",
                "supervising_unit": UNITS[n % len(UNITS)],
                "established_on": date(2015, 1, 1),
                "status": "active",
                "risk_class": "ABCD"[min(3, n % 10 // 3)],
                "phone": "13900000000",
                "legal_rep_id_no": "652301198001010011",
                "created_at": now,
                "updated_at": now,
            }
            for n, u in enumerate(usccs)
        ],
    )
    session.execute(
        insert(Inspector),
        [
            {
                "badge_no": f"652301{n:05d}",
                "name": f"检查员{n}",
                "department_code": "SCJ",
                "unit_code": UNITS[n % len(UNITS)],
                "qualifications": "food" if n % 2 else "",
                "active": True,
                "is_expert": False,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(inspectors)
        ],
    )
    session.flush()
    return usccs


def batch_body(code: str = "CJ-2026-T01", **over) -> dict:
    body = {
        "code": code,
        "name": "2026年企业公示信息抽查",
        "initiating_department": "SCJ",
        "item_codes": ["SCJ-GS-001"],
        "quotas": {
            "A": {"percent": "5"},
            "B": {"percent": "10"},
            "C": {"count": 4},
            "D": {"percent": "50"},
        },
        "team": [{"group": "SCJ", "count": 2, "qualification": None}],
        "cross_unit": True,
        "max_load": None,
        "window_start": "2026-12-01",
        "window_end": "2026-12-31",
        "entropy_plan": "2026-11-30 10:00 现场见证人掷骰子",
        # The test clock's moment: with IMMEDIATE rules (no notice) a test may freeze and
        # draw at once; the ceremony's own rules are tested in tests/planning/test_ceremony.py.
        "ceremony_at": "2026-11-26T10:00:00+08:00",
    }
    body.update(over)
    return body


def create_and_freeze(client: TestClient, headers: dict, **over) -> dict:
    r = client.post("/api/v1/plans/CJ-2026/batches", json=batch_body(**over), headers=headers)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    r = client.post(f"/api/v1/batches/{code}/freeze", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
