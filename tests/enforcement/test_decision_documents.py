"""List decisions on paper: one per entity, the decision number the reviewer gave, the reason,
basis, objection period, review and lawsuit notice; a bulk decision prints as one PDF."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests import pdfcheck
from tests.enforcement.conftest import listed


def test_listing_and_removal_decisions_print_with_their_remedies(
    client: TestClient, login, session: Session, book, make_entity
) -> None:
    first = make_entity("K0000011")
    second = make_entity("K0000012")
    a = listed(session, book, first, "2026-03-02", "2026-03-09", no="昌市监异列〔2026〕21号")
    b = listed(session, book, second, "2026-03-02", "2026-03-09", no="昌市监异列〔2026〕22号")
    session.commit()
    reviewer = login("reviewer")
    r = client.get(f"/api/v1/enforcement/decisions.pdf?ids={a.id},{b.id}", headers=reviewer)
    assert r.status_code == 200, r.text
    pdfcheck.check_fonts(r.content)
    assert pdfcheck.pages(r.content) == 2
    text = pdfcheck.text(r.content)
    for uscc, no in ((first, "昌市监异列〔2026〕21号"), (second, "昌市监异列〔2026〕22号")):
        assert uscc in text and no in text
    assert "列入经营异常名录决定书" in text and "2026年3月9日" in text
    assert "30日内" in text and "六十日内向昌吉市人民政府申请行政复议" in text
    assert "六个月内依法向人民法院提起行政诉讼" in text and "不得申请简易注销登记" in text
    pdfcheck.render_first_page(r.content, "doc-decision")

    # Bad input: not numbers, an unknown entry, an undecided proposal.
    for bad in ("1;2", "", "0", "1,", "1," * 5000 + "1"):
        r = client.get(f"/api/v1/enforcement/decisions.pdf?ids={bad}", headers=reviewer)
        assert r.status_code == 422, bad
    r = client.get("/api/v1/enforcement/entries/999999/decision.pdf", headers=reviewer)
    assert r.status_code == 404
    assert client.get(f"/api/v1/enforcement/entries/{a.id}/decision.pdf").status_code == 401


def test_each_decision_of_a_bulk_print_numbers_its_own_pages(
    client: TestClient, login, session: Session, book, make_entity
) -> None:
    ids = []
    for n in range(3):
        uscc = make_entity(f"K00000{20 + n}")
        no = f"昌市监异列〔2026〕{30 + n}号"
        ids.append(listed(session, book, uscc, "2026-03-02", "2026-03-09", no=no).id)
    session.commit()
    reviewer = login("reviewer")
    r = client.get(
        f"/api/v1/enforcement/decisions.pdf?ids={','.join(map(str, ids))}", headers=reviewer
    )
    assert r.status_code == 200
    assert pdfcheck.pages(r.content) == 3
    # Three one-page documents, each "— 1 —"; never "— 2 —".
    assert pdfcheck.text(r.content).count("—1—") == 3
