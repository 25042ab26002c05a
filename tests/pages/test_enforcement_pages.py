"""List pages: the public lists show only published listings; reviewers decide and remove."""

import re
from datetime import date

from sqlmodel import Session, select

from supervision.audit.models import AuditEntry
from supervision.enforcement.models import EntryState, ListEntry, ListEvent
from supervision.registry.models import Entity
from tests.enforcement.conftest import book, count, listed, make_entity, proposed  # noqa: F401
from tests.pages.conftest import ID_NO, PHONE, csrf_of

TABLES = (ListEntry, ListEvent, AuditEntry)


def snapshot(session: Session) -> dict[str, int]:
    return {m.__name__: count(session, m) for m in TABLES}


def private_entity(session: Session, make_entity, org: str) -> str:  # noqa: F811
    uscc = make_entity(org, rep_id=ID_NO)
    entity = session.exec(select(Entity).where(Entity.uscc == uscc)).one()
    entity.phone = PHONE
    session.add(entity)
    session.flush()
    return uscc


def test_public_list_shows_listings_only_and_nothing_private(
    browser,
    session: Session,
    make_entity,  # noqa: F811
    book,  # noqa: F811
) -> None:
    shown = private_entity(session, make_entity, "L0000001")
    pending = private_entity(session, make_entity, "L0000002")
    listed(session, book, shown, "2026-11-02", "2026-11-10", no="昌市监异列〔2026〕7号")
    proposed(session, book, pending, "2026-11-03")
    session.commit()
    public = browser()

    for url in ("/lists", "/lists/abnormal"):
        r = public.get(url)
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert "昌吉市L0000001商贸有限公司" in r.text and shown in r.text
        assert "昌市监异列〔2026〕7号" in r.text and "2026年11月10日" in r.text
        assert "无法联系" in r.text and "市场监督管理局" in r.text
        # A proposal is not published until it is decided.
        assert "L0000002" not in r.text and pending not in r.text
        assert ID_NO not in r.text and PHONE not in r.text and "legal_rep" not in r.text
    assert "L0000001" not in public.get("/lists/serious").text
    assert "L0000001" in public.get("/lists/abnormal", params={"q": shown[:10]}).text
    assert "L0000001" not in public.get("/lists/abnormal", params={"q": "没有这家"}).text
    assert public.get("/lists/abnormal", params={"page": "zz"}).status_code == 200
    assert public.get("/lists/other").status_code == 404


def test_a_reviewer_decides_through_the_form(
    browser,
    session: Session,
    make_entity,  # noqa: F811
    book,  # noqa: F811
) -> None:
    uscc = private_entity(session, make_entity, "L0000003")
    entry = proposed(session, book, uscc, "2026-11-20")
    session.commit()
    public = browser()
    assert "L0000003" not in public.get("/lists").text

    reviewer = browser("reviewer")
    overview = reviewer.get("/staff/enforcement")
    assert overview.status_code == 200 and "昌吉市L0000003商贸有限公司" in overview.text
    assert f"/staff/enforcement/{entry.id}" in overview.text
    page = reviewer.get(f"/staff/enforcement/{entry.id}")
    assert page.status_code == 200 and "作出决定" in page.text and "提出列入建议" in page.text
    token = csrf_of(reviewer, f"/staff/enforcement/{entry.id}")
    url = f"/staff/enforcement/{entry.id}/decision"
    form = {
        "csrf_token": token,
        "decision": "list",
        "decision_no": "昌市监异列〔2026〕9号",
        "decided_on": "2026-11-25",
        "reason": "",
    }

    before = snapshot(session)
    assert reviewer.post(url, data={**form, "csrf_token": "bad"}).status_code == 403
    refused = reviewer.post(url, data=form)
    assert refused.status_code == 400 and "请填写理由" in refused.text
    assert 'value="昌市监异列〔2026〕9号"' in refused.text  # the entered values are kept
    session.expire_all()
    assert snapshot(session) == before
    assert session.get(ListEntry, entry.id).state == EntryState.proposed

    r = reviewer.post(url, data={**form, "reason": "实地核查无法联系"})
    assert r.status_code == 400 and "请先勾选确认" in r.text  # irreversible: confirm first
    assert session.get(ListEntry, entry.id).state == EntryState.proposed
    form["confirm"] = "yes"
    r = reviewer.post(url, data={**form, "reason": "实地核查无法联系"})
    assert r.status_code == 303 and r.headers["location"] == f"/staff/enforcement/{entry.id}"
    session.expire_all()
    row = session.get(ListEntry, entry.id)
    assert row.state == EntryState.listed and row.decision_no == "昌市监异列〔2026〕9号"
    page = reviewer.get(r.headers["location"])
    assert "已决定列入" in page.text and "决定列入" in page.text and "移出" in page.text

    r = public.get("/lists")
    assert "昌吉市L0000003商贸有限公司" in r.text and "昌市监异列〔2026〕9号" in r.text
    assert ID_NO not in r.text and PHONE not in r.text
    again = reviewer.post(url, data={**form, "reason": "再次决定"})
    assert again.status_code == 400 and "已作出决定" in again.text


def test_removal_needs_correction_evidence(
    browser,
    session: Session,
    make_entity,  # noqa: F811
    book,  # noqa: F811
) -> None:
    uscc = make_entity("L0000004")
    entry = listed(session, book, uscc, "2026-11-02", "2026-11-10")
    session.commit()
    reviewer = browser("reviewer")
    page = f"/staff/enforcement/{entry.id}"
    form = {
        "csrf_token": csrf_of(reviewer, page),
        "applied_on": "2026-11-20",
        "verified_on": "2026-11-21",
        "decided_on": "2026-11-24",
        "decision_no": "昌市监异移〔2026〕3号",
        "reason": "已恢复联系",
        "evidence_kind": ["", "", ""],
        "evidence_reference": ["", "", ""],
        "evidence_note": ["", "", ""],
    }
    before = snapshot(session)
    r = reviewer.post(f"{page}/removal", data=form)
    assert r.status_code == 400 and "移出须列明更正证据" in r.text
    assert 'value="昌市监异移〔2026〕3号"' in r.text
    session.expire_all()
    assert snapshot(session) == before
    assert session.get(ListEntry, entry.id).state == EntryState.listed

    ok = reviewer.post(
        f"{page}/removal",
        data={**form, "evidence_kind": ["contact_restored", "", ""],
              "evidence_reference": ["实地核查记录", "", ""]},
    )  # fmt: skip
    assert ok.status_code == 303, ok.text
    session.expire_all()
    assert session.get(ListEntry, entry.id).state == EntryState.removed
    public = browser().get("/lists").text
    assert "昌吉市L0000004商贸有限公司" in public and "已移出" in public
    assert "2026年11月24日" in public


def test_roles_follow_the_api(
    browser,
    city,
    session: Session,
    make_entity,  # noqa: F811
    book,  # noqa: F811
) -> None:
    uscc = make_entity("L0000005")
    entry = proposed(session, book, uscc, "2026-11-20")
    session.commit()
    anonymous = browser()
    r = anonymous.get("/staff/enforcement")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fstaff%2Fenforcement"
    assert anonymous.get(f"/staff/enforcement/{entry.id}").status_code == 303

    inspector = browser("inspector", inspector_badge="65230100000")
    r = inspector.get("/staff/enforcement")
    assert r.status_code == 403 and "无权" in r.text and "text/html" in r.headers["content-type"]
    assert inspector.get(f"/staff/enforcement/{entry.id}").status_code == 403
    assert "信用监管" not in inspector.get("/staff").text

    planner = browser("planner")
    page = planner.get(f"/staff/enforcement/{entry.id}")
    assert page.status_code == 200 and "作出决定" not in page.text
    assert "信用监管" in planner.get("/staff").text
    r = planner.post(
        f"/staff/enforcement/{entry.id}/decision",
        data={"csrf_token": csrf_of(planner), "decision": "reject", "reason": "规划人员不能决定"},
    )
    assert r.status_code == 403
    session.expire_all()
    assert session.get(ListEntry, entry.id).state == EntryState.proposed
    assert planner.get("/staff/enforcement/999999").status_code == 404


def test_planner_proposes_and_an_objection_is_recorded_and_decided(
    browser,
    session: Session,
    make_entity,  # noqa: F811
    book,  # noqa: F811
) -> None:
    uscc = make_entity("L0000006")
    session.commit()
    planner = browser("planner")
    token = csrf_of(planner, "/staff/enforcement")
    form = {
        "csrf_token": token,
        "list_kind": "abnormal",
        "uscc": "123",
        "reason_code": "unreachable",
        "fact_on": "2026-11-20",
        "note": "两次挂号信退回",
    }
    refused = planner.post("/staff/enforcement", data=form)
    assert refused.status_code == 400 and "统一社会信用代码" in refused.text
    assert "两次挂号信退回" in refused.text
    r = planner.post("/staff/enforcement", data={**form, "uscc": uscc})
    assert r.status_code == 303, r.text
    entry_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert "昌吉市L0000006商贸有限公司" in planner.get("/staff/enforcement").text

    reviewer = browser("reviewer")
    page = f"/staff/enforcement/{entry_id}"
    token = csrf_of(reviewer, page)
    decision = {"csrf_token": token, "decision": "list", "decision_no": "昌市监异列〔2026〕11号",
                "decided_on": "2026-11-24", "reason": "经核查属实", "confirm": "yes"}  # fmt: skip
    assert reviewer.post(f"{page}/decision", data=decision).status_code == 303
    objection = {"csrf_token": csrf_of(planner, page), "filed_on": "2026-11-25",
                 "grounds": "企业称已恢复经营"}  # fmt: skip
    assert planner.post(f"{page}/objections", data=objection).status_code == 303
    assert "异议待处理" in reviewer.get(page).text
    outcome = {"csrf_token": token, "outcome": "upheld", "reason": "住所可以联系"}
    assert planner.post(f"{page}/objections/decision", data=outcome).status_code == 403
    r = reviewer.post(f"{page}/objections/decision", data=outcome)
    assert r.status_code == 303, r.text
    session.expire_all()
    assert session.get(ListEntry, entry_id).state == EntryState.withdrawn
    text = reviewer.get(page).text
    assert "异议成立，撤销列入" in text and "企业称已恢复经营" in text
    assert "L0000006" not in browser().get("/lists").text


def test_provisional_deadlines_objection_clocks_and_orders_are_shown(
    browser,
    session: Session,
    make_entity,  # noqa: F811
    book,  # noqa: F811
) -> None:
    """A deadline reaching into 2027 (no announced arrangement) reads 暂定 on the reviewer's
    pages and in the API; an open objection shows its acceptance clock; an instant-information
    proposal asks for the written order first."""
    from supervision.enforcement import decisions
    from supervision.enforcement import schemas as es
    from tests.enforcement.conftest import REVIEWER, at

    late_year = proposed(session, book, make_entity("L0000011"), "2026-12-20")
    order = proposed(session, book, make_entity("L0000012"), "2026-11-02", reason="instant_info")
    objected = listed(session, book, make_entity("L0000013"), "2026-11-02", "2026-11-10")
    decisions.file_objection(
        session,
        objected.id,
        es.ObjectionCreate(filed_on=date(2026, 11, 20), grounds="一直在登记住所经营"),
        user=REVIEWER,
        clock=at("2026-11-20"),
        book=book,
    )
    session.commit()
    reviewer = browser("reviewer")
    page = reviewer.get(f"/staff/enforcement/{late_year.id}").text
    assert "2027年1月4日" in page and "暂定" in page
    overview = reviewer.get("/staff/enforcement").text
    assert "待处理的异议（1）" in overview and "待受理" in overview
    page = reviewer.get(f"/staff/enforcement/{objected.id}").text
    # Filed Friday 20 November: accept by Friday 27 November.
    assert "2026年11月27日" in page and "受理异议" in page and "前决定是否受理" in page
    page = reviewer.get(f"/staff/enforcement/{order.id}").text
    assert "登记责令公示通知" in page and "第七条" in page
    token = csrf_of(reviewer, f"/staff/enforcement/{order.id}")
    r = reviewer.post(
        f"/staff/enforcement/{order.id}/decision",
        data={
            "csrf_token": token,
            "decision": "list",
            "decision_no": "n1",
            "reason": "x",
            "confirm": "yes",
        },
    )
    assert r.status_code == 400 and "须先书面责令限期公示" in r.text, re.findall(
        r"<li>([^<]*)</li>", r.text
    )[:5]
    r = reviewer.post(
        f"/staff/enforcement/{order.id}/order",
        data={"csrf_token": token, "order_no": "昌市监责〔2026〕9号", "ordered_on": "2026-11-03"},
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(ListEntry, order.id).fact_on == date(2026, 11, 13)
