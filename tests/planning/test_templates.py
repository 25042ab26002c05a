"""Recurring batches: a plan's template creates each period's batch ahead of its ceremony,
the scheduler freezes it at its announced time, and the planner draws at the ceremony."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from supervision.planning.jobs import ceremonies, templates
from supervision.planning.models import Batch
from tests.factories import DICE, batch_body


def _template_body(**over) -> dict:
    batch = batch_body()
    for key in ("code", "name", "window_start", "window_end", "ceremony_at", "entropy_plan"):
        batch.pop(key)
    body = {
        "code_prefix": "CJ-Q-",
        "name": "企业公示信息季度抽查",
        "cadence": "quarterly",
        "ceremony_day": 14,
        "ceremony_time": "10:00",
        "batch": batch,
    }
    body.update(over)
    return body


@pytest.fixture
def planned(app, planner, login, clock):
    app.state.settings.ceremony_notice_hours = 24
    app.state.settings.token_ttl_hours = 24 * 400
    planner.update(login("planner"))
    clock.at = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    return clock


def test_a_quarterly_template_makes_each_batch_in_time(
    client, planner, planned, session: Session, app
) -> None:
    r = client.post("/api/v1/plans/CJ-2026/templates", json=_template_body(), headers=planner)
    assert r.status_code == 201, r.text
    settings = app.state.settings
    # 20 March: Q1's ceremony is past, Q2's creation day (1 April) not yet come.
    assert templates(session, planned, settings)["steps"] == []
    planned.at = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # 08:00 on 1 April in China
    steps = templates(session, planned, settings)["steps"]
    assert steps == [{"batch": "CJ-Q-2026Q2", "action": "template", "ok": True}]
    assert templates(session, planned, settings)["steps"] == []  # once
    public = client.get("/api/v1/batches/CJ-Q-2026Q2", headers=planner).json()
    assert public["name"] == "企业公示信息季度抽查（2026年第2季度）"
    assert public["ceremony_at"].startswith("2026-04-15T02:00")  # 10:00 Beijing time
    assert public["window_start"] == "2026-04-18" and public["window_end"] == "2026-06-30"
    assert public["entropy_plan"].startswith("2026-04-15 10:00（北京时间）在")
    assert public["state"] == "draft"
    # The scheduler freezes it 48 h before its ceremony …
    planned.at = datetime(2026, 4, 13, 2, 0, tzinfo=UTC)
    assert ceremonies(session, planned, settings)["steps"][0]["ok"] is True
    assert session.exec(select(Batch.state).where(Batch.code == "CJ-Q-2026Q2")).one() == "frozen"
    # … and the planner draws at it.
    planned.at = datetime(2026, 4, 15, 2, 5, tzinfo=UTC)
    r = client.post(
        "/api/v1/batches/CJ-Q-2026Q2/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 200, r.text
    listed = client.get("/api/v1/plans/CJ-2026/templates", headers=planner).json()
    assert listed[0]["batches"] == ["CJ-Q-2026Q2"]


def test_bad_templates_are_refused_and_nothing_is_kept(client, planner, planned, session) -> None:
    with_code = _template_body()
    with_code["batch"]["code"] = "X"
    cases = [
        (with_code, 422),
        (_template_body(cadence="weekly"), 422),
        (_template_body(ceremony_time="25:00"), 422),
        (_template_body(ceremony_day=40), 422),
        (_template_body(code_prefix="含 空格"), 422),
        (_template_body(freeze_hours_before=12), 400),  # inside the 24 h notice
        (_template_body(freeze_hours_before=24 * 20, create_days_before=14), 400),
        (_template_body(batch={**_template_body()["batch"], "item_codes": ["NOPE"]}), 400),
        (_template_body(batch={**_template_body()["batch"], "entropy_source": "beacon"}), 400),
        (_template_body(batch={**_template_body()["batch"], "quotas": {}}), 400),
    ]
    for body, status in cases:
        r = client.post("/api/v1/plans/CJ-2026/templates", json=body, headers=planner)
        assert r.status_code == status, (body, r.text)
    assert client.get("/api/v1/plans/CJ-2026/templates", headers=planner).json() == []
    ok = client.post("/api/v1/plans/CJ-2026/templates", json=_template_body(), headers=planner)
    assert ok.status_code == 201
    again = client.post("/api/v1/plans/CJ-2026/templates", json=_template_body(), headers=planner)
    assert again.status_code == 409
    assert (
        client.post(
            "/api/v1/plans/NOPE/templates", json=_template_body(), headers=planner
        ).status_code
        == 404
    )
