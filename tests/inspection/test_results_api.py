"""A task from draft to published result through the API, and who may do what."""

from sqlmodel import Session, select

from supervision.audit.service import verify_chain
from supervision.inspection.models import ResultVersion
from tests.inspection.conftest import (
    approve,
    badges,
    full_result,
    line,
    link_inspector,
    record_and_submit,
)

DAY = "2026-09-10"


def test_task_goes_from_draft_to_published(client, draw_batch, member, login, session) -> None:
    tasks = draw_batch()
    task = tasks[0]
    leader = member(task, 0)
    second = member(task, 1)

    mine = client.get("/api/v1/me/tasks", headers=leader).json()
    assert [t["id"] for t in mine] == [task]
    view = mine[0]
    assert view["my_role"] == "leader" and view["team"][0]["leader"] is True
    assert [i["code"] for i in view["items"]] == ["SCJ-GS-001", "SCJ-SP-001"]
    assert view["deadline"]["due"] == "2026-10-29"  # 20 working days after 2026-09-25
    assert view["deadline"]["overdue"] is True  # the clock stands at 2026-11-26
    assert {m["item_code"] for m in view["missing"]} == {"SCJ-GS-001", "SCJ-SP-001"}

    # A draft may leave items out; what is missing is listed.
    r = client.put(
        f"/api/v1/tasks/{task}/result",
        json={
            "lines": [line("SCJ-SP-001", DAY, ["A", "3"], problems="过期食品", handling="责令下架")]
        },
        headers=leader,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "draft"
    assert [c["code"] for c in r.json()["lines"][0]["codes"]] == ["A", "3"]
    missing = client.get(f"/api/v1/tasks/{task}", headers=leader).json()["missing"]
    assert [m["item_code"] for m in missing] == ["SCJ-GS-001"]
    assert client.get(f"/api/v1/tasks/{task}", headers=leader).json()["state"] == "in_progress"

    # Any member of the team completes and submits it.
    body = full_result(DAY)
    body["lines"][1] = line("SCJ-SP-001", DAY, ["3"], problems="过期食品", handling="责令下架")
    assert client.put(f"/api/v1/tasks/{task}/result", json=body, headers=second).status_code == 200
    r = client.post(f"/api/v1/tasks/{task}/submit", headers=second)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted" and r.json()["completed_on"] == DAY
    # Submitted results are frozen for the team until reviewed.
    r = client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader)
    assert r.status_code == 409

    reviewer = login("reviewer")
    queue = client.get("/api/v1/review/queue", headers=reviewer).json()
    assert [t["id"] for t in queue] == [task]
    r = client.post(f"/api/v1/tasks/{task}/review", json={"decision": "return"}, headers=reviewer)
    assert r.status_code == 400 and "理由" in r.json()["detail"]["zh"]
    r = client.post(
        f"/api/v1/tasks/{task}/review",
        json={"decision": "return", "reason": "请补充处理情况的文书编号"},
        headers=reviewer,
    )
    assert r.status_code == 200 and r.json()["status"] == "returned"
    back = client.get("/api/v1/me/tasks", headers=leader).json()[0]
    assert back["state"] == "returned" and back["returned_reason"] == "请补充处理情况的文书编号"

    # The team answers with a new version; the returned one stays on record.
    body["lines"][1]["handling"] = "责令下架，文书编号 昌市监责改〔2026〕12号"
    r = client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader)
    assert r.status_code == 200 and r.json()["seq"] == 2
    assert client.post(f"/api/v1/tasks/{task}/submit", headers=leader).status_code == 200
    approve(client, task, reviewer)
    # Not public before publication.
    assert client.get("/api/v1/public/results").json()["total"] == 0

    r = client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    assert r.json()["deadline"] == "2026-10-29" and r.json()["late"] is True
    public = client.get("/api/v1/public/results").json()
    assert public["total"] == 1 and public["counts"] == {"1": 1, "3": 1, "A": 1}
    record = public["items"][0]
    assert record["plan_code"] == "CJ-2026" and record["batch_code"] == "CJ-2026-R01"
    assert record["check_type"] == "不定向" and record["authority"] == "昌吉市市场监督管理局"
    assert record["completed_on"] == DAY and record["corrected"] is False
    assert [[c["code"] for c in i["results"]] for i in record["items"]] == [["1"], ["A", "3"]]
    assert "risk" not in str(record) and "13900000000" not in str(public)

    statuses = [
        v["status"] for v in client.get(f"/api/v1/tasks/{task}/versions", headers=reviewer).json()
    ]
    assert statuses == ["returned", "published"]
    assert verify_chain(session).ok


def test_another_team_cannot_read_or_write(
    client, draw_batch, member, outsider, login, session
) -> None:
    tasks = draw_batch()
    task = tasks[0]
    stranger = outsider([task])
    assert all(t["id"] != task for t in client.get("/api/v1/me/tasks", headers=stranger).json())
    for method, path, kwargs in [
        ("get", f"/api/v1/tasks/{task}", {}),
        ("get", f"/api/v1/tasks/{task}/result", {}),
        ("get", f"/api/v1/tasks/{task}/versions", {}),
        ("get", f"/api/v1/tasks/{task}/evidence", {}),
        ("put", f"/api/v1/tasks/{task}/result", {"json": full_result(DAY)}),
        ("post", f"/api/v1/tasks/{task}/submit", {}),
        (
            "post",
            f"/api/v1/tasks/{task}/evidence",
            {"files": {"file": ("a.png", b"\x89PNG\r\n\x1a\n")}},
        ),
    ]:
        r = getattr(client, method)(path, headers=stranger, **kwargs)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["detail"]["zh"] and r.json()["detail"]["en"]
    # Staff who oversee may read, but only the team records.
    planner = login("planner")
    assert client.get(f"/api/v1/tasks/{task}", headers=planner).status_code == 200
    assert (
        client.put(
            f"/api/v1/tasks/{task}/result", json=full_result(DAY), headers=planner
        ).status_code
        == 403
    )
    # A recused member loses access with the place.
    leader_badge = badges(session, task)[0]
    headers = member(task, 0)
    r = client.post(
        f"/api/v1/batches/CJ-2026-R01/tasks/{_uscc(session, task)}/recuse",
        json={"inspector": leader_badge, "reason": "回避", "note": "近亲属在该企业任职"},
        headers=login("planner"),
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/tasks/{task}", headers=headers).status_code == 403
    # Anonymous visitors are asked to log in.
    assert client.get(f"/api/v1/tasks/{task}").status_code == 401


def _uscc(session: Session, task_id: int) -> str:
    from supervision.planning.models import Task

    return session.get(Task, task_id).uscc


def test_reviewer_on_the_team_cannot_review(client, draw_batch, member, login, session) -> None:
    task = draw_batch()[0]
    record_and_submit(client, task, member(task), DAY)
    on_team = login("reviewer")
    link_inspector(session, "reviewer", badges(session, task)[1])
    r = client.post(f"/api/v1/tasks/{task}/review", json={"decision": "approve"}, headers=on_team)
    assert r.status_code == 403
    assert "自己参加" in r.json()["detail"]["zh"] and "they are on" in r.json()["detail"]["en"]
    assert all(t["id"] != task for t in client.get("/api/v1/review/queue", headers=on_team).json())
    # Inspectors and planners do not review at all.
    for headers in (member(task, 0), login("planner")):
        r = client.post(
            f"/api/v1/tasks/{task}/review", json={"decision": "approve"}, headers=headers
        )
        assert r.status_code == 403
    status = session.exec(select(ResultVersion.status).where(ResultVersion.task_id == task)).one()
    assert status == "submitted"
    approve(client, task, login("reviewer"))  # an independent reviewer may


def test_public_sees_only_published(client, draw_batch, member, login) -> None:
    tasks = draw_batch()
    reviewer = login("reviewer")
    published, approved, submitted, draft = tasks[:4]
    for t in (published, approved, submitted):
        record_and_submit(client, t, member(t), DAY, codes=["E"] if t == approved else None)
    client.put(
        f"/api/v1/tasks/{draft}/result", json=full_result(DAY, codes=["F"]), headers=member(draft)
    )
    for t in (published, approved):
        approve(client, t, reviewer)
    assert client.post(f"/api/v1/tasks/{published}/publish", headers=reviewer).status_code == 200

    page = client.get("/api/v1/public/results").json()
    assert page["total"] == 1 and len(page["items"]) == 1
    assert set(page["counts"]) == {"1"}  # counts only published results: no E, no F
    uscc = {t: _task_uscc(client, t, reviewer) for t in tasks[:4]}
    names = {t: _task_name(client, t, reviewer) for t in tasks[:4]}
    assert page["items"][0]["uscc"] == uscc[published]
    for t in (approved, submitted, draft):
        for q in (uscc[t], uscc[t][:10], names[t]):
            found = client.get("/api/v1/public/results", params={"q": q}).json()
            assert all(i["uscc"] != uscc[t] for i in found["items"]), q
            assert found["counts"].get("E", 0) == 0 and found["counts"].get("F", 0) == 0
    assert (
        client.get("/api/v1/public/results", params={"batch": "CJ-2026-R01"}).json()["total"] == 1
    )
    assert client.get("/api/v1/public/results", params={"batch": "NOPE"}).json()["total"] == 0
    assert client.get("/api/v1/public/results", params={"q": uscc[approved]}).json()["total"] == 0
    # Staff statistics are not public.
    assert client.get("/api/v1/batches/CJ-2026-R01/stats").status_code == 401
    assert client.get("/api/v1/batches/CJ-2026-R01/stats", headers=member(draft)).status_code == 403


def _task_uscc(client, task_id: int, headers: dict) -> str:
    return client.get(f"/api/v1/tasks/{task_id}", headers=headers).json()["uscc"]


def _task_name(client, task_id: int, headers: dict) -> str:
    return client.get(f"/api/v1/tasks/{task_id}", headers=headers).json()["entity_name"]


def test_correction_is_a_new_version_and_shown_as_corrected(
    client, draw_batch, member, login
) -> None:
    task = draw_batch()[0]
    reviewer = login("reviewer")
    record_and_submit(client, task, member(task), DAY)
    approve(client, task, reviewer)
    client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer)

    fixed = full_result(DAY)
    fixed["lines"][0] = line("SCJ-GS-001", DAY, ["B"], problems="未公示2025年度报告")
    r = client.post(
        f"/api/v1/tasks/{task}/corrections",
        json={"reason": "录入错误：年报未公示", "result": fixed},
        headers=reviewer,
    )
    assert r.status_code == 201, r.text
    assert r.json()["seq"] == 2 and r.json()["corrects_seq"] == 1
    public = client.get("/api/v1/public/results").json()
    assert public["total"] == 1 and public["counts"] == {"1": 1, "A": 1, "2": 1, "B": 1}
    record = public["items"][0]
    assert record["corrected"] is True and record["corrected_on"] == "2026-11-26"
    assert [c["code"] for c in record["items"][0]["results"]] == ["A", "2", "B"]
    versions = client.get(f"/api/v1/tasks/{task}/versions", headers=reviewer).json()
    assert [(v["seq"], v["status"]) for v in versions] == [(1, "published"), (2, "published")]
    assert [c["code"] for c in versions[0]["lines"][0]["codes"]] == ["1"]  # the old one stays


def test_batch_publication_and_stats(client, draw_batch, member, login) -> None:
    tasks = draw_batch()
    reviewer = login("reviewer")
    record_and_submit(client, tasks[0], member(tasks[0]), DAY)
    record_and_submit(client, tasks[1], member(tasks[1]), DAY, codes=["A", "B"])
    for t in tasks[:2]:
        approve(client, t, reviewer)
    r = client.post("/api/v1/batches/CJ-2026-R01/publish-results", headers=reviewer)
    assert r.status_code == 200, r.text
    out = r.json()
    assert sorted(out["published"]) == sorted(tasks[:2]) and sorted(out["late"]) == sorted(
        tasks[:2]
    )
    assert {n["task_id"] for n in out["not_ready"]} == set(tasks[2:])

    stats = client.get("/api/v1/batches/CJ-2026-R01/stats", headers=reviewer).json()
    assert stats["drawn"] == len(tasks) and stats["published"] == 2 and stats["recorded"] == 2
    assert stats["published_late"] == 2 and stats["on_time_rate"] == 0.0
    assert stats["overdue"] == len(tasks) - 2
    assert (
        stats["problem_rate"] == 0.5
        and stats["problem_rate_ci95"][0] < 0.5 < stats["problem_rate_ci95"][1]
    )
    assert {c["code"]: c["tasks"] for c in stats["by_category"]} == {"1": 1, "A": 1, "2": 1, "B": 1}
    assert sum(b["tasks"] for b in stats["by_risk_class"]) == len(tasks)
    assert stats["deadline"]["due"] == "2026-10-29" and stats["deadline"]["overdue"] is True
    plan = client.get("/api/v1/plans/CJ-2026/stats", headers=reviewer).json()
    assert plan["scope"] == "plan" and plan["published"] == 2 and plan["deadline"] is None


def test_a_batch_whose_every_result_is_published_is_over(client, draw_batch, member, login) -> None:
    """Published to the last task: the batch shows 已结束 and takes no more team changes."""
    tasks = draw_batch()
    reviewer = login("reviewer")
    planner = login("planner")
    for t in tasks:
        record_and_submit(client, t, member(t), DAY)
        approve(client, t, reviewer)
    last = tasks.pop()
    r = client.post("/api/v1/batches/CJ-2026-R01/publish-results", headers=reviewer)
    assert r.status_code == 200 and len(r.json()["published"]) == len(tasks) + 1
    batch = client.get("/api/v1/batches/CJ-2026-R01").json()
    assert batch["state"] == "closed"
    assert "已结束" in client.get("/batches/CJ-2026-R01").text
    uscc = _task_uscc(client, last, reviewer)
    r = client.post(
        f"/api/v1/batches/CJ-2026-R01/tasks/{uscc}/withdraw",
        json={"reason": "已注销"},
        headers=planner,
    )
    assert r.status_code == 409 and "不在检查阶段" in r.json()["detail"]["zh"]


def test_a_batch_with_a_result_still_open_stays_in_progress(
    client, draw_batch, member, login
) -> None:
    tasks = draw_batch()
    reviewer = login("reviewer")
    for t in tasks[:-1]:
        record_and_submit(client, t, member(t), DAY)
        approve(client, t, reviewer)
        assert client.post(f"/api/v1/tasks/{t}/publish", headers=reviewer).status_code == 200
    assert client.get("/api/v1/batches/CJ-2026-R01").json()["state"] == "in_progress"
