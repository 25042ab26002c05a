"""Published PDFs: read back their text, render a page, and keep private data out."""

import io
import shutil
import subprocess
from pathlib import Path

from pypdf import PdfReader

from tests import pdfcheck
from tests.artifacts import SCREENSHOTS
from tests.factories import DICE, create_and_freeze
from tests.strict import need_tool

RENDERS = SCREENSHOTS


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_commitment_and_result_pdfs(client, planner, tmp_path: Path) -> None:
    frozen = create_and_freeze(client, planner)
    r = client.get("/api/v1/batches/CJ-2026-T01/commitment.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdfcheck.check_fonts(r.content)
    pdfcheck.render_first_page(r.content, "doc-commitment")
    text = pdf_text(r.content).replace(" ", "").replace("\n", "")
    assert "随机抽查承诺公告" in text
    # Risk-class strata are sealed, and the paper says so in plain words.
    assert "sr2（密封分层）" in text and frozen["params"]["strata_sha256"][:8] in text
    assert frozen["commitment"][:8] in text
    client.post("/api/v1/batches/CJ-2026-T01/entropy", json={"entropy": [DICE]}, headers=planner)
    r = client.get("/api/v1/batches/CJ-2026-T01/draw.pdf")
    assert r.status_code == 200
    text = pdf_text(r.content)
    tasks = client.get("/api/v1/batches/CJ-2026-T01/tasks").json()
    assert tasks[0]["uscc"] in text and "组长" in text
    assert "13900000000" not in text and "652301198001010011" not in text
    pdftoppm = need_tool("pdftoppm", "poppler-utils")
    if pdftoppm:
        (tmp_path / "draw.pdf").write_bytes(r.content)
        subprocess.run(
            [
                pdftoppm,
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                str(tmp_path / "draw.pdf"),
                str(tmp_path / "page"),
            ],
            check=True,
        )
        png = next(tmp_path.glob("page*.png"))
        assert png.stat().st_size > 10_000  # a real rendered page, not a blank one
        # Kept beside the browser screenshots for a person to look at.
        RENDERS.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, RENDERS / "draw-pdf-page1.png")


def test_commitment_pdf_hidden_for_drafts(client, planner) -> None:
    from tests.factories import batch_body

    client.post("/api/v1/plans/CJ-2026/batches", json=batch_body(), headers=planner)
    assert client.get("/api/v1/batches/CJ-2026-T01/commitment.pdf").status_code == 404


def test_the_ceremony_record_has_the_witnesses_and_their_signature_lines(client, planner) -> None:
    create_and_freeze(client, planner)
    assert client.get("/api/v1/batches/CJ-2026-T01/ceremony.pdf").status_code == 404  # not drawn
    witnesses = [{"name": "马丽", "role": "人大代表"}, {"name": "王建国", "role": "个体工商户代表"}]
    r = client.post(
        "/api/v1/batches/CJ-2026-T01/entropy",
        json={"entropy": [DICE], "witnesses": witnesses},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    seed = r.json()["seed"]
    r = client.get("/api/v1/batches/CJ-2026-T01/ceremony.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdfcheck.check_fonts(r.content)
    pdfcheck.render_first_page(r.content, "doc-ceremony")
    text = pdfcheck.text(r.content)
    for words in (
        "随机抽取仪式记录",
        "公告的仪式时间",
        "2026-11-2610:00（北京时间）",
        "马丽",
        "人大代表",
        "王建国",
        "主持人",
        "记录人",
        "签字",
        seed[:16],
        DICE.replace(" ", ""),
    ):
        assert words in text, words
