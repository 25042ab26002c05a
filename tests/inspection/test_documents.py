"""The bureau's documents read back: each one's facts (names, codes, document numbers, hashes,
counts, page numbers), its fonts embedded, its first page rendered; numbers kept and never
reused; clear refusals for documents whose facts do not exist yet."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from supervision.documents.models import DocumentNumber
from tests import pdfcheck
from tests.factories import create_and_freeze
from tests.inspection.conftest import approve, record_and_submit

DAY = "2026-09-10"
CODE = "CJ-2026-R01"


@pytest.fixture
def published(client: TestClient, draw_batch, member, login) -> dict:
    """A drawn batch with two published results (one with a problem) and one only recorded."""
    tasks = draw_batch()
    reviewer = login("reviewer")
    for task, codes in ((tasks[0], ["A", "B"]), (tasks[1], ["1"])):
        record_and_submit(client, task, member(task), DAY, codes=codes)
        approve(client, task, reviewer)
        assert client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer).status_code == 200
    record_and_submit(client, tasks[2], member(tasks[2]), DAY)
    rows = client.get(f"/api/v1/batches/{CODE}/tasks").json()
    by_id = {t: client.get(f"/api/v1/tasks/{t}", headers=reviewer).json() for t in tasks}
    return {"tasks": tasks, "rows": rows, "by_id": by_id, "reviewer": reviewer}


def _get(client: TestClient, url: str, headers: dict | None = None) -> bytes:
    r = client.get(url, headers=headers or {})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "application/pdf"
    pdfcheck.check_fonts(r.content)
    return r.content


def test_the_public_documents_of_a_batch(client: TestClient, published, session: Session) -> None:
    public = TestClient(client.app)
    data = _get(public, f"/api/v1/batches/{CODE}/announcement.pdf")
    text = pdfcheck.text(data)
    bundle = public.get(f"/api/v1/batches/{CODE}/bundle.json").json()
    assert "昌吉市市场监督管理局" in text and "昌市监抽告〔2026〕1号" in text
    assert "关于开展" in text and "抽查事项" in text and "企业公示信息检查" in text
    assert "".join(bundle["commitment"][:16]) in text  # the commitment, in groups of eight
    assert "各信用风险类别各抽取1户" in text and "现场见证人掷骰子" in text  # ratio, entropy
    pdfcheck.render_first_page(data, "doc-announcement")

    data = _get(public, f"/api/v1/batches/{CODE}/draw.pdf")
    text = pdfcheck.text(data)
    assert "随机抽取记录" in text and "昌市监抽记〔2026〕1号" in text
    assert bundle["seed"] in text and bundle["commitment"] in text
    for row in published["rows"]:
        assert row["uscc"] in text and row["entity_name"] in text
    assert f"第1页共{pdfcheck.pages(data)}页" in text
    assert "13900000000" not in text and "652301198001010011" not in text
    pdfcheck.render_first_page(data, "doc-draw-record")

    data = _get(public, f"/api/v1/batches/{CODE}/results.pdf")
    text = pdfcheck.text(data)
    first, second, unpublished = (published["by_id"][t] for t in published["tasks"][:3])
    assert "抽查检查结果公示" in text and "昌市监抽公〔2026〕1号" in text
    assert first["uscc"] in text and second["uscc"] in text
    assert unpublished["uscc"] not in text  # recorded but not published: not on the paper
    assert "已公示检查结果2户" in text and "未发现问题" in text
    pdfcheck.render_first_page(data, "doc-results")

    # Printed again: the same numbers, no new ones.
    before = len(session.exec(select(DocumentNumber)).all())
    _get(public, f"/api/v1/batches/{CODE}/announcement.pdf")
    _get(public, f"/api/v1/batches/{CODE}/draw.pdf")
    assert len(session.exec(select(DocumentNumber)).all()) == before


def test_notices_one_per_drawn_business_numbered_in_series(
    client: TestClient, published, session: Session
) -> None:
    planner = {"Authorization": published["reviewer"]["Authorization"]}
    data = _get(client, f"/api/v1/batches/{CODE}/notices.pdf", planner)
    text = pdfcheck.text(data)
    assigned = [r for r in published["rows"] if r["team"]]
    # Each notice is a document of its own: it starts on a new page and numbers its pages.
    assert text.count("—1—") == len(assigned) and "随机抽查通知书" in text
    numbers = re.findall(r"昌市监抽通〔2026〕(\d+)号", text)
    assert sorted(map(int, numbers)) == list(range(1, len(assigned) + 1))
    for row in assigned:
        assert row["uscc"] in text and row["entity_name"] in text
        for m in row["team"]:
            assert m["name"] in text and m["badge_no"] in text
    assert "随机抽查通知书" in text and "不配合检查情节严重" in text and "请准备：" in text
    pdfcheck.render_first_page(data, "doc-notice")
    # One business's notice, printed again later: its own number, unchanged.
    one = assigned[1]
    again = pdfcheck.text(
        _get(client, f"/api/v1/batches/{CODE}/notices.pdf?uscc={one['uscc']}", planner)
    )
    assert re.findall(r"昌市监抽通〔2026〕(\d+)号", again) == [numbers[1]]
    r = client.get(f"/api/v1/batches/{CODE}/notices.zip", headers=planner)
    assert r.status_code == 200 and r.content[:2] == b"PK"
    rows = session.exec(select(DocumentNumber).where(DocumentNumber.kind == "notice")).all()
    assert len(rows) == len(assigned)  # the zip reused the numbers


def test_record_forms_blank_and_filled(client: TestClient, published, member, login) -> None:
    task = published["tasks"][0]
    inspector = member(task)
    detail = published["by_id"][task]
    data = _get(client, f"/api/v1/batches/{CODE}/record-form.pdf", inspector)
    text = pdfcheck.text(data)
    assert "检查记录表" in text and "□1未发现问题" in text and "检查人员签名" in text
    pdfcheck.render_first_page(data, "doc-record-form-blank")
    filled = pdfcheck.text(
        _get(client, f"/api/v1/batches/{CODE}/record-form.pdf?uscc={detail['uscc']}", inspector)
    )
    assert detail["entity_name"] in filled and "2026年9月10日" in filled
    assert "B未按规定公示应当公示的信息" in filled
    # Another task's filled form is not this inspector's to print.
    other = published["by_id"][published["tasks"][1]]
    if inspector not in (member(published["tasks"][1], i) for i in range(len(other["team"]))):
        r = client.get(
            f"/api/v1/batches/{CODE}/record-form.pdf?uscc={other['uscc']}", headers=inspector
        )
        assert r.status_code == 403


def test_the_plan_and_the_annual_report(client: TestClient, published, planner) -> None:
    # A second batch of the year, frozen and not yet drawn: the report counts drawn ones only.
    create_and_freeze(client, planner, code="CJ-2026-T12")
    public = TestClient(client.app)
    data = _get(public, "/api/v1/plans/CJ-2026/plan.pdf")
    text = pdfcheck.text(data)
    assert "昌市监抽计〔2026〕1号" in text and CODE in text
    pdfcheck.render_first_page(data, "doc-plan")
    data = _get(public, "/api/v1/reports/annual/2026.pdf")
    text = pdfcheck.text(data)
    assert "2026年度“双随机、一公开”监管工作报告" in text and "昌市监抽报〔2026〕1号" in text
    assert "完成检查并公示结果2户" in text and "共开展随机抽查1批次" in text
    assert "检查发现问题1户次" in text
    pdfcheck.render_first_page(data, "doc-annual")


def test_documents_without_their_facts_are_refused_clearly(
    client: TestClient, planner, draw_batch
) -> None:
    create_and_freeze(client, planner, code="CJ-2026-T09")
    public = TestClient(client.app)
    r = public.get("/api/v1/batches/CJ-2026-T09/draw.pdf")
    assert r.status_code == 404 and "尚未抽取" in r.json()["detail"]["zh"]
    r = public.get("/api/v1/reports/annual/2031.pdf")
    assert r.status_code == 404 and "没有年度抽查工作计划" in r.json()["detail"]["zh"]
    draw_batch()
    r = public.get(f"/api/v1/batches/{CODE}/results.pdf")
    assert r.status_code == 404 and "还没有已公示的检查结果" in r.json()["detail"]["zh"]
    r = client.get(f"/api/v1/batches/{CODE}/notices.pdf?uscc=NOTACODE", headers=planner)
    assert r.status_code == 422
    assert public.get(f"/api/v1/batches/{CODE}/notices.pdf").status_code == 401
    assert public.get("/api/v1/batches/NOPE/announcement.pdf").status_code == 404


def test_the_cli_prints_each_document_and_refuses_clearly(
    client: TestClient, published, session: Session, tmp_path, monkeypatch
) -> None:
    """`supervision report …` on the test's database (its connection: what the requests
    above wrote is not committed outside the test's transaction)."""
    from typer.testing import CliRunner

    from reports import cli as reports_cli
    from reports.cli import app as cli
    from supervision import cli as core_cli

    monkeypatch.setattr(core_cli, "_engine", lambda: session.connection())
    monkeypatch.setattr(reports_cli, "get_settings", lambda: client.app.state.settings)
    runner = CliRunner()
    for args, words in (
        (["draw", CODE], "随机抽取记录"),
        (["notices", CODE], "随机抽查通知书"),
        (["results", CODE], "抽查检查结果公示"),
        (["record-form", CODE], "检查记录表"),
        (["plan", "CJ-2026"], "昌市监抽计〔2026〕"),
        (["annual", "2026"], "监管工作报告"),
    ):
        out = tmp_path / f"{args[0]}.pdf"
        r = runner.invoke(cli, ["report", *args, "--out", str(out)])
        assert r.exit_code == 0, (args, r.output)
        assert words in pdfcheck.text(out.read_bytes())
    r = runner.invoke(cli, ["report", "annual", "2031", "--out", str(tmp_path / "x.pdf")])
    assert r.exit_code == 1 and "没有年度抽查工作计划" in r.output
    assert not (tmp_path / "x.pdf").exists()  # nothing half-written, nothing empty


def test_an_sr1_draw_record_appends_the_tickets(client: TestClient, planner) -> None:
    from tests.factories import DICE

    same = {k: {"percent": "10"} for k in "ABCD"}  # one ratio for all: one public stratum, sr1
    frozen = create_and_freeze(client, planner, code="CJ-2026-T11", quotas=same)
    assert frozen["params"]["protocol"] == "sr1"
    r = client.post(
        "/api/v1/batches/CJ-2026-T11/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 200, r.text
    data = _get(TestClient(client.app), "/api/v1/batches/CJ-2026-T11/draw.pdf")
    text = pdfcheck.text(data)
    assert "附：抽中对象签号（sr1）" in text
    bundle = client.get("/api/v1/batches/CJ-2026-T11/bundle.json").json()
    for row in bundle["selected"]:
        assert row["ticket"] in text
    announcement = pdfcheck.text(_get(client, "/api/v1/batches/CJ-2026-T11/announcement.pdf"))
    assert "统一按10%抽取" in announcement
