"""Candidate pages: planners and reviewers see the evidence, reviewers decide through the form."""

from sqlmodel import Session, select

from supervision.audit.models import AuditEntry
from supervision.enforcement import zombies
from supervision.enforcement.models import CandidateKind, EnforcementCandidate
from tests.enforcement.conftest import book, count, make_entity  # noqa: F401
from tests.pages.conftest import ID_NO, csrf_of


def found(session: Session, clock, book, make_entity) -> dict[str, EnforcementCandidate]:  # noqa: F811
    """One entity never seen to do business (two zombie findings), one that reports."""
    make_entity("K0000001", rep_id=ID_NO)  # 2012, no reports, no opening date
    make_entity("K0000002", reports=tuple(range(2013, 2026)))
    created = zombies.all_zombie_candidates(session, clock, book)
    assert created == {"zombie": 1, "zombie_not_opened": 1, "zombie_ceased_trading": 0}
    session.commit()
    rows = session.exec(select(EnforcementCandidate)).all()
    return {r.basis_key.split(":")[0]: r for r in rows}


def snapshot(session: Session) -> tuple:
    rows = session.exec(select(EnforcementCandidate).order_by(EnforcementCandidate.id)).all()
    return tuple((r.state, r.decision, r.decision_note) for r in rows), count(session, AuditEntry)


def test_candidates_listed_with_their_evidence(browser, session, clock, book, make_entity) -> None:  # noqa: F811
    rows = found(session, clock, book, make_entity)
    assert browser().get("/staff/candidates").status_code in (302, 303)  # to the login page
    planner = browser("planner")
    page = planner.get("/staff/candidates")
    assert page.status_code == 200
    assert "昌吉市K0000001商贸有限公司" in page.text and "K0000002" not in page.text
    assert "连续未报送年度报告" in page.text and "成立后无正当理由超过六个月未开业" in page.text
    assert "僵死企业（2）" in page.text
    assert (
        planner.get("/staff/candidates", params={"kind": "revocation"}).text.count(
            "/staff/candidates/"
        )
        == 0
    )
    assert planner.get("/staff/candidates", params={"kind": "x", "page": "zz"}).status_code == 200

    detail = planner.get(f"/staff/candidates/{rows['not_opened'].id}")
    assert detail.status_code == 200
    assert "开业日期" in detail.text and "无记录" in detail.text
    assert "《公司法》" in detail.text and "2012年5月1日" in detail.text
    assert "作出决定" not in detail.text and "待审核人员决定" in detail.text  # planners read
    missed = planner.get(f"/staff/candidates/{rows['missed'].id}")
    assert "2024、2025" in missed.text and "纳税申报" in missed.text
    assert ID_NO not in detail.text + missed.text + page.text
    assert planner.get("/staff/candidates/999999").status_code == 404
    assert planner.get("/staff/candidates/0").status_code == 400  # pages: bad input is 400


def test_a_reviewer_decides_and_refusals_change_nothing(
    browser,
    session: Session,
    clock,
    book,  # noqa: F811
    make_entity,  # noqa: F811
) -> None:
    rows = found(session, clock, book, make_entity)
    target = rows["not_opened"]
    url = f"/staff/candidates/{target.id}"
    reviewer = browser("reviewer")
    page = reviewer.get(url)
    assert "作出决定" in page.text and "提出吊销营业执照" in page.text
    token = csrf_of(reviewer, url)
    planner = browser("planner")
    before = snapshot(session)
    r = planner.post(
        url + "/decision", data={"csrf_token": csrf_of(planner, url), "decision": "wake_up"}
    )
    assert r.status_code == 403
    r = reviewer.post(url + "/decision", data={"decision": "wake_up"})  # no CSRF token
    assert r.status_code == 403
    note = {"note": "已实地核查"}
    bad = [
        ({"decision": "wake_up"}, "请填写说明"),  # a decision gives its grounds
        ({"decision": "notice", **note}, "此类候选的决定须为"),  # notice: deregistration only
        ({"decision": "burn", **note}, "决定"),
        ({"decision": "wake_up", "note": "x" * 2001}, "说明"),
        ({"decision": "wake_up", "note": "含\x00空字符"}, "说明"),
        ({"decision": "wake_up", "decided_on": "2030-01-01", **note}, "决定日期无效"),
        ({"decision": "wake_up", "decided_on": "not-a-day", **note}, "决定日期"),
    ]
    for form, message in bad:
        r = reviewer.post(url + "/decision", data={"csrf_token": token, **form})
        assert r.status_code == 400, form
        assert "未执行" in r.text and message in r.text, form
        if form.get("note", "").startswith("x"):
            assert form["note"] in r.text  # the entered values are kept
        assert snapshot(session) == before, form

    r = reviewer.post(
        url + "/decision",
        data={"csrf_token": token, "decision": "revocation_proposal", "note": "实地核查无经营迹象"},
    )
    assert r.status_code == 303 and r.headers["location"] == url
    session.expire_all()
    decided = session.get(EnforcementCandidate, target.id)
    assert (decided.state, decided.decision, decided.decision_note) == (
        "decided",
        "revocation_proposal",
        "实地核查无经营迹象",
    )
    assert decided.kind == CandidateKind.zombie
    shown = reviewer.get(url).text
    assert "已决定" in shown and "提出吊销营业执照" in shown and "实地核查无经营迹象" in shown
    after = snapshot(session)
    # Deciding again is refused and changes nothing.
    r = reviewer.post(
        url + "/decision", data={"csrf_token": token, "decision": "dismissed", **note}
    )
    assert r.status_code in (400, 409) and "已作出决定" in r.text
    assert snapshot(session) == after
