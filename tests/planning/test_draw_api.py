"""A batch from plan to published bundle through the API, and every refusal on the way."""

import json
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from supervision.draw.verify import verify_bundle
from supervision.planning.models import Draw, DrawEvent, Task, TaskMember
from tests.factories import DICE, batch_body, create_and_freeze


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_full_draw_is_public_and_verifiable(client, planner, session: Session) -> None:
    # A draft is invisible to the public.
    client.post("/api/v1/plans/CJ-2026/batches", json=batch_body("CJ-DRAFT"), headers=planner)
    assert client.get("/api/v1/batches/CJ-DRAFT").status_code == 404
    assert all(b["code"] != "CJ-DRAFT" for b in client.get("/api/v1/batches").json())

    frozen = create_and_freeze(client, planner)
    params = frozen["params"]
    assert params["quotas"] == {"S1": 3, "S2": 6, "S3": 4, "S4": 10}  # 60·5%, 60·10%, 4, 20·50%
    public = client.get("/api/v1/batches/CJ-2026-T01").json()
    assert public["state"] == "frozen"
    assert public["commitments"][0]["commitment"] == frozen["commitment"]

    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 200, r.text
    assert r.json()["selected"] == 23 and r.json()["unassigned"] == []
    tasks = client.get("/api/v1/batches/CJ-2026-T01/tasks").json()
    assert len(tasks) == 23 and all(len(t["team"]) == 2 for t in tasks)

    bundle = client.get("/api/v1/batches/CJ-2026-T01/bundle.json").json()
    assert bundle["seed"] == r.json()["seed"]
    z = zipfile.ZipFile(BytesIO(client.get("/api/v1/batches/CJ-2026-T01/bundle.zip").content))
    pool = z.read("CJ-2026-T01/pool.tsv")
    roster = z.read("CJ-2026-T01/roster.tsv")
    assert verify_bundle(bundle, pool, roster, None).ok
    # Strata from the internal risk classes are sealed (sr2): the public pool carries a
    # distinct salted tag per entity — no label, neutral or not, that two entities share.
    assert bundle["protocol"] == "sr2" and "strata.tsv" not in z.namelist()
    tags = [line.split(b"\t")[1] for line in pool.splitlines()]
    assert len(set(tags)) == len(tags) and all(len(t) == 64 for t in tags)
    assert all(sorted(entry) == ["team", "unassigned", "uscc"] for entry in bundle["selected"])
    assert all("stratum" not in t and "ticket" not in t for t in tasks)
    assert b"13900000000" not in z.read("CJ-2026-T01/bundle.json")


def test_downloaded_verifier_runs_on_its_own(client, planner, tmp_path: Path) -> None:
    create_and_freeze(client, planner)
    client.post("/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner)
    z = zipfile.ZipFile(BytesIO(client.get("/api/v1/batches/CJ-2026-T01/bundle.zip").content))
    out = tmp_path / "citizen"
    z.extractall(out)
    ok = subprocess.run(
        [sys.executable, "-I", str(out / "verify.py"), str(out / "CJ-2026-T01")],
        capture_output=True,
        text=True,
        cwd=out,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bundle_path = out / "CJ-2026-T01" / "bundle.json"
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    bundle["selected"][0]["team"].reverse()
    bundle_path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-I", str(out / "verify.py"), str(out / "CJ-2026-T01")],
        capture_output=True,
        text=True,
        cwd=out,
    )
    assert bad.returncode == 1 and "selected[0].team" in bad.stdout


def test_entropy_refused_before_publication_and_twice(client, planner, session) -> None:
    client.post("/api/v1/plans/CJ-2026/batches", json=batch_body(), headers=planner)
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 409 and "承诺尚未公示" in r.json()["detail"]["zh"]
    assert count(session, Draw) == 0
    client.post("/api/v1/batches/CJ-2026-T01/freeze", headers=planner)
    assert (
        client.post(
            "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner
        ).status_code
        == 200
    )
    tasks_before = count(session, Task)
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": ["1 2 3"]}, headers=planner
    )
    assert r.status_code == 409 and "只能录入一次" in r.json()["detail"]["zh"]
    assert count(session, Task) == tasks_before and count(session, Draw) == 1


@pytest.mark.parametrize(
    ("entropy", "status"),
    [([], 422), ([""], 400), (["6 6 2\n1 5"], 400), (["a\rb"], 400), ("not a list", 422)],
)
def test_bad_entropy_refused(client, planner, session, entropy, status) -> None:
    create_and_freeze(client, planner)
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": entropy}, headers=planner
    )
    assert r.status_code == status, r.text
    assert count(session, Draw) == 0 and count(session, Task) == 0


def test_quota_above_stratum_size_refused(client, planner, session) -> None:
    quotas = {"A": {"count": 10_000}, "B": {"count": 1}}
    client.post("/api/v1/plans/CJ-2026/batches", json=batch_body(quotas=quotas), headers=planner)
    feas = client.get("/api/v1/batches/CJ-2026-T01/feasibility", headers=planner).json()
    assert not feas["ok"] and "超过该层主体数" in feas["problems"][0]["zh"]
    r = client.post("/api/v1/batches/CJ-2026-T01/freeze", headers=planner)
    assert r.status_code == 400 and "超过该层主体数" in r.json()["detail"]["zh"]
    assert client.get("/api/v1/batches/CJ-2026-T01", headers=planner).json()["commitments"] == []


def test_unfillable_team_slot_refused(client, planner) -> None:
    team = [
        {"group": "SCJ", "count": 2, "qualification": None},
        {"group": "WJW", "count": 1, "qualification": "food"},
    ]
    client.post("/api/v1/plans/CJ-2026/batches", json=batch_body(team=team), headers=planner)
    r = client.post("/api/v1/batches/CJ-2026-T01/freeze", headers=planner)
    assert r.status_code == 400 and "无法组队" in r.json()["detail"]["zh"]


def test_capacity_and_cross_unit_warnings(client, planner) -> None:
    client.post("/api/v1/plans/CJ-2026/batches", json=batch_body(max_load=1), headers=planner)
    feas = client.get("/api/v1/batches/CJ-2026-T01/feasibility", headers=planner).json()
    assert feas["ok"] and any("上限" in w["zh"] for w in feas["warnings"])
    assert feas["unassigned"] > 0
    # Freezing needs the acknowledgement, which is then on record.
    r = client.post("/api/v1/batches/CJ-2026-T01/freeze", headers=planner)
    assert r.status_code == 409 and r.json()["detail"]["unassigned"] == feas["unassigned"]
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/freeze",
        params={"acknowledge_unassigned": "true"},
        headers=planner,
    )
    assert r.status_code == 200, r.text


def test_events_recorded_and_refused(client, planner, session) -> None:
    create_and_freeze(client, planner)
    client.post("/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner)
    tasks = client.get("/api/v1/batches/CJ-2026-T01/tasks").json()
    first = tasks[0]
    # Served once before any event; the cached bundle must not hide the events that follow.
    assert client.get("/api/v1/batches/CJ-2026-T01/bundle.json").json()["events"] == []
    outsider = next(
        b
        for b in (f"652301{n:05d}" for n in range(12))
        if b not in {m["badge_no"] for m in first["team"]}
    )
    url = f"/api/v1/batches/CJ-2026-T01/tasks/{first['uscc']}"
    r = client.post(
        f"{url}/recuse", json={"inspector": outsider, "reason": "回避"}, headers=planner
    )
    assert r.status_code == 400 and "team" in r.json()["detail"]["en"]
    assert count(session, DrawEvent) == 0

    leader = first["team"][0]["badge_no"]
    # The published reason is a category; free text is refused there and kept as a note.
    r = client.post(
        f"{url}/recuse", json={"inspector": leader, "reason": "近亲属任股东"}, headers=planner
    )
    assert r.status_code == 422 and count(session, DrawEvent) == 0
    r = client.post(
        f"{url}/recuse",
        json={"inspector": leader, "reason": "回避", "note": "近亲属任股东"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    assert r.json()["event"]["reason"] == "回避"
    assert "近亲属任股东" not in client.get("/api/v1/batches/CJ-2026-T01/bundle.json").text
    assert session.exec(select(DrawEvent)).one().note == "近亲属任股东"
    replacement = r.json()["outcome"]["replacement"]
    assert replacement and replacement != leader
    team_now = client.get("/api/v1/batches/CJ-2026-T01/tasks").json()[0]["team"]
    assert team_now[0]["badge_no"] == replacement  # takes the leader's place

    r = client.post(f"{url}/withdraw", json={"reason": "已注销"}, headers=planner)
    assert r.status_code == 200 and r.json()["seq"] == 2
    r = client.post(f"{url}/withdraw", json={"reason": "已注销"}, headers=planner)
    assert r.status_code == 400
    assert count(session, DrawEvent) == 2
    assert client.post(f"{url}/withdraw", json={"reason": ""}, headers=planner).status_code == 422
    # Members' history is kept: the recused leader's place is inactive, not deleted.
    assert (
        session.exec(
            select(func.count())
            .select_from(TaskMember)
            .where(TaskMember.badge_no == leader, TaskMember.left_event == 1)
        ).one()
        == 1
    )
    bundle = client.get("/api/v1/batches/CJ-2026-T01/bundle.json").json()
    assert [e["seq"] for e in bundle["events"]] == [1, 2]


def test_withdrawn_commitment_stays_on_record(client, planner) -> None:
    first = create_and_freeze(client, planner)
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/withdraw-commitment",
        json={"reason": "抽查范围有误，重新公示"},
        headers=planner,
    )
    assert r.status_code == 200 and r.json()["state"] == "draft"
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 409
    r = client.post("/api/v1/batches/CJ-2026-T01/freeze", headers=planner)
    assert r.status_code == 409 and "完全相同" in r.json()["detail"]["zh"]
    revised = batch_body(entropy_plan="2026-12-02 10:00 现场见证人掷骰子（改期）")
    assert (
        client.put("/api/v1/batches/CJ-2026-T01", json=revised, headers=planner).status_code == 200
    )
    second = client.post("/api/v1/batches/CJ-2026-T01/freeze", headers=planner).json()
    assert second["commitment"] != first["commitment"]
    r = client.put("/api/v1/batches/CJ-2026-T01", json=revised, headers=planner)
    assert r.status_code == 409  # frozen again: never edited
    public = client.get("/api/v1/batches/CJ-2026-T01").json()
    assert [c["commitment"] for c in public["commitments"]] == [
        first["commitment"],
        second["commitment"],
    ]
    assert public["commitments"][0]["withdrawn_reason"] == "抽查范围有误，重新公示"


def test_only_planners_draw(client, planner, login, session: Session) -> None:
    create_and_freeze(client, planner)
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=login("reviewer")
    )
    assert r.status_code == 403
    assert (
        client.post("/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}).status_code
        == 401
    )
    assert count(session, Draw) == 0 and count(session, Task) == 0  # no draw happened
    assert client.get("/api/v1/batches/CJ-2026-T01").json()["state"] == "frozen"


def test_no_events_once_results_are_submitted(client, planner, session: Session) -> None:
    create_and_freeze(client, planner)
    client.post("/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner)
    first = client.get("/api/v1/batches/CJ-2026-T01/tasks").json()[0]
    task = session.exec(select(Task).where(Task.uscc == first["uscc"])).one()
    task.state = "recorded"
    session.add(task)
    session.commit()
    url = f"/api/v1/batches/CJ-2026-T01/tasks/{first['uscc']}"
    leader = first["team"][0]["badge_no"]
    r = client.post(f"{url}/recuse", json={"inspector": leader, "reason": "回避"}, headers=planner)
    assert r.status_code == 409 and "已提交" in r.json()["detail"]["zh"]
    assert (
        client.post(f"{url}/withdraw", json={"reason": "已注销"}, headers=planner).status_code
        == 409
    )
    assert count(session, DrawEvent) == 0


def test_equal_ratios_make_one_public_stratum(client, planner) -> None:
    """Every class at the same ratio: the classes make no difference to the draw, so the batch
    has one stratum and nothing internal reaches its files — sr1, tickets public."""
    same = {risk: {"percent": "10"} for risk in "ABCD"}
    frozen = create_and_freeze(client, planner, quotas=same)
    params = frozen["params"]
    assert params["protocol"] == "sr1" and params["quotas"] == {"ALL": 20}  # 10% of 200
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 200, r.text
    z = zipfile.ZipFile(BytesIO(client.get("/api/v1/batches/CJ-2026-T01/bundle.zip").content))
    pool = z.read("CJ-2026-T01/pool.tsv")
    assert {line.split(b"\t")[1] for line in pool.splitlines()} == {b"ALL"}
    tasks = client.get("/api/v1/batches/CJ-2026-T01/tasks").json()
    assert all(t["stratum"] == "ALL" and len(t["ticket"]) == 64 for t in tasks)
    page = client.get("/batches/CJ-2026-T01").text
    assert "抽取比例相同，不分层（协议 sr1）" in page
    # Unequal ratios (one class at another percent) are strata again, sealed.
    other = {**same, "D": {"percent": "20"}}
    assert (
        create_and_freeze(client, planner, code="CJ-2026-T02", quotas=other)["params"]["protocol"]
        == "sr2"
    )


def test_the_cached_public_batch_page_follows_every_change(client, planner, app) -> None:
    """The anonymous batch page is kept by content: a withdrawal (an event on the chain) or
    an entity renamed in the registry (an audited change) gives a new page at once; a signed-in
    reader never gets the kept copy."""
    create_and_freeze(client, planner)
    client.post("/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner)
    public = TestClient(app)
    first = public.get("/batches/CJ-2026-T01")
    assert first.status_code == 200 and "已撤出" not in first.text
    assert public.get("/batches/CJ-2026-T01").text == first.text
    assert len(app.state.page_cache) == 1  # built once, then served from the cache
    task = client.get("/api/v1/batches/CJ-2026-T01/tasks").json()[0]
    r = client.post(
        f"/api/v1/batches/CJ-2026-T01/tasks/{task['uscc']}/withdraw",
        json={"reason": "已注销"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    assert "已撤出" in public.get("/batches/CJ-2026-T01").text

    r = client.patch(
        f"/api/v1/entities/{task['uscc']}", json={"name": "改名后的测试商行"}, headers=planner
    )
    assert r.status_code == 200, r.text
    assert "改名后的测试商行" in public.get("/batches/CJ-2026-T01").text
    kept = len(app.state.page_cache)
    # A request with a session cookie (its page carries a name and a CSRF token) is neither
    # served from the cache nor kept in it.
    with_cookie = TestClient(app, cookies={"sv_token": "whatever"})
    assert with_cookie.get("/batches/CJ-2026-T01").status_code == 200
    assert len(app.state.page_cache) == kept
