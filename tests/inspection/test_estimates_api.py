"""A batch's sample estimate through the API: public without risk classes, staff with them."""

from fastapi.testclient import TestClient

from tests.inspection.conftest import approve, record_and_submit

MANY = {"A": {"count": 3}, "B": {"count": 3}, "C": {"count": 3}, "D": {"count": 3}}


def test_a_batch_estimate_through_the_api_keeps_risk_classes_for_staff(
    client: TestClient, draw_batch, member, login
) -> None:
    tasks = draw_batch(quotas=MANY)
    reviewer = login("reviewer")
    public = TestClient(client.app)
    r = public.get("/api/v1/batches/CJ-2026-R01/estimates")
    assert r.status_code == 200
    assert r.json()["results"] == 0 and r.json()["overall"]["too_small"]
    for i, task in enumerate(tasks):
        codes = ["A", "B"] if i % 3 == 0 else ["1"]
        record_and_submit(client, task, member(task), "2026-09-10", codes=codes)
        approve(client, task, reviewer)
        assert client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer).status_code == 200
    body = public.get("/api/v1/batches/CJ-2026-R01/estimates").json()
    assert body["results"] == len(tasks) and body["overall"]["problems"] == len(tasks[::3])
    overall = body["overall"]
    if overall["too_small"] is None:
        assert overall["low"] <= overall["share"] <= overall["high"]
    assert body["strata"] == []
    assert body["industries"] and body["units"]
    staff = client.get("/api/v1/batches/CJ-2026-R01/estimates", headers=reviewer).json()
    assert [s["label"] for s in staff["strata"]] == ["A", "B", "C", "D"]
    assert sum(s["estimate"]["sampled"] for s in staff["strata"]) == len(tasks)
    assert public.get("/api/v1/batches/NOPE/estimates").status_code == 404


def test_the_statistics_page_estimates_with_risk_classes_for_staff_only(
    client: TestClient, draw_batch, member, login, session
) -> None:
    from supervision.accounts.service import UserCreate, create_user
    from tests.conftest import TEST_PASSWORD, post_login

    tasks = draw_batch(quotas=MANY)
    reviewer = login("reviewer")
    for i, task in enumerate(tasks):
        record_and_submit(
            client, task, member(task), "2026-09-10", codes=["A", "B"] if i % 4 == 0 else ["1"]
        )
        approve(client, task, reviewer)
        assert client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer).status_code == 200
    public = TestClient(client.app)
    html = public.get("/statistics?batch=CJ-2026-R01").text
    assert "抽样推断" in html and "CJ-2026-R01" in html and "按行业门类" in html
    assert "按信用风险分类" not in html
    assert 'href="/api/v1/reports/annual/2026.pdf"' in html

    create_user(
        session,
        UserCreate(
            username="stats-rev", display_name="审核", password=TEST_PASSWORD, role="reviewer"
        ),
        actor="test",
        clock=client.app.state.clock,
    )
    session.commit()
    staff = TestClient(client.app, follow_redirects=False)
    assert (
        post_login(staff, {"username": "stats-rev", "password": TEST_PASSWORD}).status_code == 303
    )
    html = staff.get("/statistics?batch=CJ-2026-R01").text
    assert "按信用风险分类" in html and "内部" in html
