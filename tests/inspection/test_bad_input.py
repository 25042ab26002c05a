"""Refusals: each a clear 4xx naming the reason in Chinese and English, and nothing written."""

import hashlib

import pytest
from sqlmodel import Session

from supervision.audit.models import AuditEntry
from supervision.inspection.models import EvidenceFile, ResultLine, ResultVersion
from supervision.planning.models import Task
from supervision.storage.models import StoredFile
from tests.inspection.conftest import (
    approve,
    count,
    full_result,
    line,
    record_and_submit,
)

DAY = "2026-09-10"
TABLES = (ResultVersion, ResultLine, EvidenceFile, StoredFile, AuditEntry)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def snapshot(session: Session, task_id: int) -> tuple:
    session.expire_all()
    return (*(count(session, t) for t in TABLES), session.get(Task, task_id).state)


def refused(r, status: int, *words: str) -> dict:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail["zh"] and detail["en"], detail
    for w in words:
        assert w in detail["zh"] + detail["en"], (w, detail)
    return detail


@pytest.fixture
def task(draw_batch) -> int:
    return draw_batch()[0]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"lines": [line("SCJ-GS-001", DAY, ["Z9"])]}, ["未知的检查结果代码", "Z9"]),
        ({"lines": [line("SCJ-GS-001", DAY, ["1", "A", "B"])]}, ["不能与发现问题"]),
        ({"lines": [line("SCJ-GS-001", DAY, ["1"], methods=["online"])]}, ["检查方式", "online"]),
        ({"lines": [line("SCJ-GS-001", DAY, ["1"], methods=["by-phone"])]}, ["by-phone"]),
        ({"lines": [line("SCJ-GS-001", "2026-12-25", ["1"])]}, ["晚于今天"]),
        ({"lines": [line("SCJ-GS-001", "2026-08-31", ["1"])]}, ["早于本批次检查开始日期"]),
        ({"lines": [line("SCJ-GS-001", DAY), line("SCJ-GS-001", DAY)]}, ["重复"]),
        ({"lines": [line("SCJ-GS-001", DAY, evidence=["ab" * 32])]}, ["未上传到本任务"]),
        (
            {"lines": [line("SCJ-GS-001", DAY, ["1"], proof={"kind": "site_visit"})]},
            ["无需证明材料"],
        ),
        (
            {"lines": [line("SCJ-GS-001", DAY, ["6"], proof={"kind": "phone_call"})]},
            ["证明方式", "phone_call"],
        ),
        (
            {
                "lines": [
                    line(
                        "SCJ-GS-001",
                        DAY,
                        ["6"],
                        proof={
                            "kind": "registered_letters",
                            "letters": [{"sent_on": "2026-09-01"}, {"sent_on": "2026-09-10"}],
                        },
                    )
                ]
            },
            ["15至30日", "间隔9日"],
        ),
    ],
)
def test_bad_result_is_refused_and_nothing_changes(
    client, task, member, session, body, words
) -> None:
    leader = member(task)
    before = snapshot(session, task)
    refused(client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader), 400, *words)
    assert snapshot(session, task) == before


def test_item_not_in_the_batch(client, draw_batch, member, session) -> None:
    task = draw_batch("CJ-2026-R02", items=["SCJ-GS-001"])[0]
    leader = member(task)
    before = snapshot(session, task)
    for item in ("SCJ-SP-001", "NO-SUCH-ITEM"):
        body = {
            "lines": [{"item_code": item, "codes": ["1"], "methods": ["onsite"], "check_date": DAY}]
        }
        r = client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader)
        refused(r, 400, "不在本批次的抽查事项中", item)
    assert snapshot(session, task) == before


def test_submitting_with_items_missing(client, task, member, session) -> None:
    leader = member(task)
    r = client.post(f"/api/v1/tasks/{task}/submit", headers=leader)
    refused(r, 409, "草稿")
    body = {"lines": [line("SCJ-GS-001", DAY), {"item_code": "SCJ-SP-001", "codes": ["A"]}]}
    assert client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader).status_code == 200
    before = snapshot(session, task)
    detail = refused(client.post(f"/api/v1/tasks/{task}/submit", headers=leader), 400, "不完整")
    gaps = [m["zh"] for m in detail["missing"]]
    assert any("须选择具体问题" in g for g in gaps)  # A needs a sub-code
    assert any("检查方式" in g for g in gaps) and any("检查日期" in g for g in gaps)
    assert snapshot(session, task) == before
    assert session.get(Task, task).state == "in_progress"


def test_cannot_be_reached_needs_its_proof(client, task, member, login, session) -> None:
    leader = member(task)
    body = full_result(DAY)
    body["lines"][0] = line("SCJ-GS-001", DAY, ["6"], problems="登记住所无此企业")
    assert client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader).status_code == 200
    detail = refused(client.post(f"/api/v1/tasks/{task}/submit", headers=leader), 400, "证明方式")
    assert detail["missing"][0]["item_code"] == "SCJ-GS-001"
    # One registered letter so far: a draft may hold it, submission may not.
    first = {
        "kind": "registered_letters",
        "letters": [{"sent_on": "2026-09-02", "tracking_no": "XA1"}],
    }
    body["lines"][0]["proof"] = first
    assert client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader).status_code == 200
    refused(client.post(f"/api/v1/tasks/{task}/submit", headers=leader), 400, "两次挂号信")
    # The second letter 15–30 days later completes the proof.
    body["lines"][0]["proof"]["letters"].append({"sent_on": "2026-09-22", "tracking_no": "XA2"})
    body["lines"][0]["check_date"] = "2026-09-22"
    r = client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader)
    assert r.status_code == 200, r.text
    assert [c["code"] for c in r.json()["lines"][0]["codes"]] == ["A", "2", "6"]  # 6 implies 2, A
    assert r.json()["lines"][0]["proof"]["letters"][1]["sent_on"] == "2026-09-22"
    assert client.post(f"/api/v1/tasks/{task}/submit", headers=leader).status_code == 200


def test_site_visit_needs_date_and_note(client, task, member) -> None:
    leader = member(task)
    body = full_result(DAY)
    body["lines"][1] = line(
        "SCJ-SP-001",
        DAY,
        ["6"],
        problems="人去楼空",
        proof={"kind": "site_visit", "visit_date": DAY},
    )
    assert client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader).status_code == 200
    refused(client.post(f"/api/v1/tasks/{task}/submit", headers=leader), 400, "核查日期和核查情况")
    body["lines"][1]["proof"]["note"] = "经实地核查，该址为空置商铺，物业证明该企业2025年已搬离"
    assert client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader).status_code == 200
    assert client.post(f"/api/v1/tasks/{task}/submit", headers=leader).status_code == 200


def test_evidence_is_checked_by_content_and_size(client, task, member, session) -> None:
    leader = member(task)
    url = f"/api/v1/tasks/{task}/evidence"
    before = snapshot(session, task)
    too_big = JPEG + b"\x00" * (10 * 1024 * 1024 - len(JPEG) + 1)
    refused(
        client.post(url, files={"file": ("big.jpg", too_big, "image/jpeg")}, headers=leader),
        413,
        "10 MB",
    )
    gif = b"GIF89a" + b"\x00" * 32
    r = client.post(url, files={"file": ("photo.jpg", gif, "image/jpeg")}, headers=leader)
    refused(r, 415, "JPEG", "PNG", "PDF")
    exe = b"MZ\x90\x00" + b"\x00" * 32
    refused(
        client.post(url, files={"file": ("scan.pdf", exe, "application/pdf")}, headers=leader), 415
    )
    assert snapshot(session, task) == before

    # Exactly at the limit is accepted; the type comes from the bytes, not the client's label.
    at_limit = JPEG + b"\x00" * (10 * 1024 * 1024 - len(JPEG))
    r = client.post(
        url, files={"file": ("big.jpg", at_limit, "application/octet-stream")}, headers=leader
    )
    assert r.status_code == 201, r.text
    r = client.post(url, files={"file": ("现场记录.jpg", PDF, "image/jpeg")}, headers=leader)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (
        out["media_type"] == "application/pdf" and out["sha256"] == hashlib.sha256(PDF).hexdigest()
    )
    assert out["filename"] == "现场记录.jpg" and out["size"] == len(PDF)
    again = client.post(url, files={"file": ("again.pdf", PDF)}, headers=leader)
    assert again.status_code == 201 and again.json()["sha256"] == out["sha256"]
    assert len(client.get(url, headers=leader).json()) == 2
    got = client.get(f"{url}/{out['sha256']}", headers=leader)
    assert got.content == PDF and got.headers["content-type"] == "application/pdf"
    png = client.post(url, files={"file": ("p.png", PNG)}, headers=leader).json()
    # Lines refer to the task's evidence by hash.
    body = full_result(DAY)
    body["lines"][1]["evidence"] = [out["sha256"], png["sha256"]]
    r = client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader)
    assert r.status_code == 200 and r.json()["lines"][1]["evidence"] == [
        out["sha256"],
        png["sha256"],
    ]


def test_published_result_is_not_edited_without_a_reason(
    client, task, member, login, session
) -> None:
    leader = member(task)
    reviewer = login("reviewer")
    record_and_submit(client, task, leader, DAY)
    approve(client, task, reviewer)
    assert client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer).status_code == 200
    before = snapshot(session, task)
    body = full_result(DAY, codes=["E"])
    refused(
        client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader), 409, "更正", "reason"
    )
    for reason in (None, "", "   "):
        payload = {"result": body} if reason is None else {"reason": reason, "result": body}
        r = client.post(f"/api/v1/tasks/{task}/corrections", json=payload, headers=reviewer)
        refused(r, 400, "理由", "reason")
    # A team member cannot correct it either, and an incomplete correction is refused.
    r = client.post(
        f"/api/v1/tasks/{task}/corrections", json={"reason": "笔误", "result": body}, headers=leader
    )
    refused(r, 403)
    partial = {"reason": "笔误", "result": {"lines": body["lines"][:1]}}
    refused(
        client.post(f"/api/v1/tasks/{task}/corrections", json=partial, headers=reviewer),
        400,
        "不完整",
    )
    refused(client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer), 409, "已公示")
    assert snapshot(session, task) == before
    public = client.get("/api/v1/public/results").json()["items"][0]
    assert public["corrected"] is False


def test_withdrawn_and_unknown_tasks(client, task, member, login, session) -> None:
    leader = member(task)
    r = client.post(
        f"/api/v1/batches/CJ-2026-R01/tasks/{session.get(Task, task).uscc}/withdraw",
        json={"reason": "已注销"},
        headers=login("planner"),
    )
    assert r.status_code == 200, r.text
    refused(client.put(f"/api/v1/tasks/{task}/result", json=full_result(DAY), headers=leader), 403)
    refused(client.get("/api/v1/tasks/999999", headers=leader), 404)
