"""One task's evidence never comes out of, or into, another task."""

from sqlmodel import Session

from supervision.inspection.models import ResultVersion
from tests.inspection.conftest import badges, count, full_result
from tests.inspection.test_bad_input import JPEG


def test_evidence_of_one_task_is_refused_through_another_tasks_url(
    client, draw_batch, member, session: Session
) -> None:
    tasks = draw_batch()
    a, b = (
        tasks[0],
        next(
            t
            for t in tasks[1:]
            if set(badges(session, t)) & set(badges(session, tasks[0])) == set()
        ),
    )
    photo = JPEG + b"task-a-only"
    r = client.post(
        f"/api/v1/tasks/{a}/evidence",
        files={"file": ("现场.jpg", photo, "image/jpeg")},
        headers=member(a),
    )
    assert r.status_code == 201, r.text
    sha = r.json()["sha256"]
    assert client.get(f"/api/v1/tasks/{a}/evidence/{sha}", headers=member(a)).content == photo

    # B's own team asks for A's file through B's URL: B has no such file.
    r = client.get(f"/api/v1/tasks/{b}/evidence/{sha}", headers=member(b))
    assert r.status_code == 404 and "本任务没有该证据文件" in r.json()["detail"]["zh"]
    assert photo not in r.content
    # A's team through B's URL: not a reader of B.
    r = client.get(f"/api/v1/tasks/{b}/evidence/{sha}", headers=member(a))
    assert r.status_code == 403 and photo not in r.content
    assert sha not in client.get(f"/api/v1/tasks/{b}/evidence", headers=member(b)).text

    # B's result cannot cite A's evidence either, and nothing is written.
    versions = count(session, ResultVersion)
    body = full_result("2026-09-10")
    body["lines"][0]["evidence"] = [sha]
    r = client.put(f"/api/v1/tasks/{b}/result", json=body, headers=member(b))
    assert r.status_code == 400, r.text
    assert f"证据文件 {sha[:12]}… 未上传到本任务" in r.json()["detail"]["zh"]
    assert count(session, ResultVersion) == versions
