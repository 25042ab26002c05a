"""The lists, restrictions and candidates through the API: roles, privacy, refusals."""

from sqlmodel import select

from supervision.audit.models import AuditEntry
from supervision.enforcement.models import EnforcementCandidate, ListEntry, ListEvent
from tests.enforcement.conftest import count, listed

REP_ID = "652301198001011234"
TABLES = (ListEntry, ListEvent, EnforcementCandidate, AuditEntry)


def snapshot(session) -> dict:
    return {m.__name__: count(session, m) for m in TABLES}


def ask(client, headers, uscc, measure, on):
    return client.get(
        f"/api/v1/entities/{uscc}/restrictions",
        params={"measure": measure, "on": on},
        headers=headers,
    )


def test_restrictions_before_during_after_and_for_the_representatives_other_company(
    client, login, session, make_entity
) -> None:
    bad = make_entity("H0000001", rep_id=REP_ID)
    other = make_entity("H0000002", rep_id=REP_ID)  # same legal representative
    stranger = make_entity("H0000003", rep_id="652301199002022345")
    session.commit()
    liaison = login("liaison")
    reviewer = login("reviewer")
    planner = login("planner")

    r = client.post(
        "/api/v1/enforcement/entries",
        json={
            "list_kind": "serious",
            "uscc": bad,
            "reason_code": "serious_violation",
            "fact_on": "2026-03-02",
        },
        headers=planner,
    )
    assert r.status_code == 201, r.text
    entry = r.json()["id"]
    assert ask(client, liaison, bad, "procurement", "2026-03-05").json()["restricted"] is False
    r = client.post(
        f"/api/v1/enforcement/entries/{entry}/decision",
        json={
            "decision": "list",
            "reason": "因销售假冒伪劣商品受到较重行政处罚",
            "decision_no": "昌市监严列〔2026〕2号",
            "decided_on": "2026-03-09",
        },
        headers=reviewer,
    )
    assert r.status_code == 200, r.text
    assert r.json()["expires_on"] == "2029-03-09"

    during = ask(client, liaison, bad, "procurement", "2026-04-01").json()
    assert during["restricted"] is True
    reason = during["reasons"][0]
    assert reason["via"] == "entity" and reason["decision_no"] == "昌市监严列〔2026〕2号"
    assert reason["until"] == "2029-03-09" and "第十九条" in reason["measure_basis"]
    assert "总局令第44号" in reason["listing_basis"]

    # The representative is barred at the other company; the identity number never shows.
    via = ask(client, liaison, other, "legal_rep_bar", "2026-04-01")
    assert via.status_code == 200 and via.json()["restricted"] is True
    hit = via.json()["reasons"][0]
    assert (hit["via"], hit["uscc"], hit["until"]) == ("legal_rep", bad, "2029-03-09")
    assert REP_ID not in via.text and "legal_rep_id_no" not in via.text
    # …but the other company itself is not on a list.
    assert ask(client, liaison, other, "procurement", "2026-04-01").json()["restricted"] is False
    assert (
        ask(client, liaison, stranger, "legal_rep_bar", "2026-04-01").json()["restricted"] is False
    )

    # Early removal after one year ends the entity's restriction; the 3-year bar runs on.
    r = client.post(
        f"/api/v1/enforcement/entries/{entry}/removal",
        json={
            "applied_on": "2026-11-20",
            "decision_no": "x",
            "reason": "已履行",
            "evidence": [{"kind": "penalty_performed", "reference": "缴款书"}],
        },
        headers=reviewer,
    )
    assert r.status_code == 409 and "1年" in r.json()["detail"]["zh"]

    # The public list shows name, code, reason, date and authority — nothing private.
    pub = client.get("/api/v1/lists/serious/entries").json()
    assert pub["total"] == 1
    item = pub["items"][0]
    assert set(item) == {
        "list_kind",
        "entity_name",
        "uscc",
        "reason",
        "listed_on",
        "decision_no",
        "authority",
        "legal_basis",
        "removed_on",
        "removal_no",
        "removal_reason",
    }
    assert item["authority"] == "昌吉市市场监督管理局"
    text = client.get("/api/v1/lists/serious/entries", params={"q": "H0000001"}).text
    assert REP_ID not in text and "risk_class" not in text


def test_roles_and_unknowns(client, login, session, make_entity) -> None:
    uscc = make_entity("J0000001")
    session.commit()
    assert ask(client, {}, uscc, "procurement", "2026-01-01").status_code == 401
    liaison = login("liaison")
    r = ask(client, liaison, uscc, "free_lunch", "2026-01-01")
    assert r.status_code == 400 and "credit_certificate" in r.json()["detail"]["en"]
    missing = "91652301MA0000000X"
    assert ask(client, liaison, missing, "procurement", "2026-01-01").status_code in (404, 422)
    assert client.get("/api/v1/enforcement/entries", headers=liaison).status_code == 403
    measures = client.get("/api/v1/credit-measures", params={"on": "2026-01-01"}).json()
    assert {m["code"] for m in measures} >= {
        "procurement",
        "bidding",
        "land",
        "honours",
        "credit_certificate",
        "honours_recommendation",
        "trademark_recommendation",
        "legal_rep_bar",
    }


def test_removal_without_evidence_is_refused_and_nothing_changes(
    client, login, session, book, make_entity
) -> None:
    uscc = make_entity("K0000001")
    entry = listed(session, book, uscc, "2026-03-02", "2026-03-09")
    session.commit()
    reviewer = login("reviewer")
    url = f"/api/v1/enforcement/entries/{entry.id}/removal"
    body = {
        "applied_on": "2026-11-20",
        "verified_on": "2026-11-20",
        "decision_no": "昌市监异移〔2026〕7号",
        "reason": "已恢复联系",
    }
    before = snapshot(session)
    r = client.post(url, json=body, headers=reviewer)
    assert r.status_code == 400 and "更正证据" in r.json()["detail"]["zh"]
    r = client.post(
        url,
        json={**body, "evidence": [{"kind": "reports_filed", "reference": "年报"}]},
        headers=reviewer,
    )
    assert r.status_code == 400 and "new_address_registered" in r.json()["detail"]["en"]
    assert snapshot(session) == before
    session.refresh(entry)
    assert entry.state == "listed" and entry.removed_on is None
    good = {**body, "evidence": [{"kind": "contact_restored", "reference": "实地核查记录"}]}
    # Unreachable: the removal runs from the verified correction, which must be given.
    unverified = {k: v for k, v in good.items() if k != "verified_on"}
    r = client.post(url, json=unverified, headers=reviewer)
    assert r.status_code == 400 and "核实日期" in r.json()["detail"]["zh"]
    assert snapshot(session) == before
    r = client.post(url, json=good, headers=reviewer)
    assert r.status_code == 200 and r.json()["state"] == "removed"
    assert r.json()["removal_evidence"][0]["kind"] == "contact_restored"


def test_annual_report_removal_needs_the_report_on_file(
    client, login, session, book, make_entity
) -> None:
    from supervision.enforcement import service
    from tests.enforcement.conftest import at

    uscc = make_entity("K0000002")
    service.propose_annual_report_listings(session, at("2026-07-01"), 2026, book=book)
    entry = session.exec(select(ListEntry).where(ListEntry.uscc == uscc)).one()
    session.commit()
    reviewer = login("reviewer")
    r = client.post(
        f"/api/v1/enforcement/entries/{entry.id}/decision",
        json={
            "decision": "list",
            "reason": "未年报",
            "decision_no": "昌市监异列〔2026〕9号",
            "decided_on": "2026-07-10",
        },
        headers=reviewer,
    )
    assert r.status_code == 200, r.text
    before = snapshot(session)
    r = client.post(
        f"/api/v1/enforcement/entries/{entry.id}/removal",
        json={
            "applied_on": "2026-11-20",
            "decision_no": "昌市监异移〔2026〕8号",
            "reason": "已补报",
            "evidence": [{"kind": "reports_filed", "reference": "企业称已补报"}],
        },
        headers=reviewer,
    )
    assert r.status_code == 400 and "2025" in r.json()["detail"]["zh"]
    assert snapshot(session) == before


def test_second_decision_is_refused_and_nothing_changes(
    client, login, session, book, make_entity
) -> None:
    uscc = make_entity("L0000001")
    entry = listed(session, book, uscc, "2026-03-02", "2026-03-09")
    session.commit()
    reviewer = login("reviewer")
    before = snapshot(session)
    for decision in ("list", "reject"):
        r = client.post(
            f"/api/v1/enforcement/entries/{entry.id}/decision",
            json={
                "decision": decision,
                "reason": "再次决定",
                "decision_no": "昌市监异列〔2026〕2号",
            },
            headers=reviewer,
        )
        assert r.status_code == 409 and "已作出决定" in r.json()["detail"]["zh"]
    assert snapshot(session) == before
    session.refresh(entry)
    assert entry.decision_no == "昌市监异列〔2016〕1号"
    # Also refused: a listing without its decision number, a planner deciding, a date ahead.
    second = client.post(
        "/api/v1/enforcement/entries",
        json={
            "list_kind": "abnormal",
            "uscc": uscc,
            "reason_code": "instant_info",
            "fact_on": "2026-11-02",
        },
        headers=login("planner"),
    )
    assert second.status_code == 201, second.text
    url = f"/api/v1/enforcement/entries/{second.json()['id']}/decision"
    planner = login("planner")
    before = snapshot(session)
    r = client.post(url, json={"decision": "list", "reason": "x"}, headers=reviewer)
    assert r.status_code == 400 and "文号" in r.json()["detail"]["zh"]
    r = client.post(
        url, json={"decision": "list", "reason": "x", "decision_no": "n"}, headers=planner
    )
    assert r.status_code == 403
    r = client.post(
        url,
        json={"decision": "list", "reason": "x", "decision_no": "n", "decided_on": "2027-01-04"},
        headers=reviewer,
    )
    assert r.status_code == 400
    assert snapshot(session) == before
    # An unknown reason for the regime of the fact's date (false_info left the list in 2024).
    r = client.post(
        "/api/v1/enforcement/entries",
        json={
            "list_kind": "abnormal",
            "uscc": uscc,
            "reason_code": "false_info",
            "fact_on": "2025-02-03",
        },
        headers=reviewer,
    )
    assert r.status_code == 400 and "false_info" in r.json()["detail"]["en"]


def test_published_results_propose_listings(
    client, draw_batch, member, login, session, book
) -> None:
    from tests.inspection.conftest import approve, full_result, line

    task = draw_batch()[0]
    leader = member(task)
    body = full_result("2026-09-10")
    body["lines"][0] = line(
        "SCJ-GS-001",
        "2026-09-10",
        ["6"],
        problems="登记住所无此企业",
        proof={
            "kind": "site_visit",
            "visit_date": "2026-09-10",
            "note": "经实地核查，该址为空置商铺",
        },
    )
    assert client.put(f"/api/v1/tasks/{task}/result", json=body, headers=leader).status_code == 200
    assert client.post(f"/api/v1/tasks/{task}/submit", headers=leader).status_code == 200
    reviewer = login("reviewer")
    approve(client, task, reviewer)
    assert client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer).status_code == 200

    planner = login("planner")
    r = client.post("/api/v1/enforcement/jobs/results", headers=planner)
    assert r.status_code == 200 and r.json()["created"] == 1
    assert client.post("/api/v1/enforcement/jobs/results", headers=planner).json()["created"] == 0
    entries = client.get(
        "/api/v1/enforcement/entries", params={"state": "proposed"}, headers=reviewer
    ).json()
    assert len(entries) == 1
    e = entries[0]
    assert (e["reason_code"], e["source"], e["source_ref"], e["rulebook"]) == (
        "unreachable",
        "result",
        f"task:{task}",
        "2025",
    )
    # Counted from the verification — the check's completion on 2026-09-10 — not from the
    # publication (DOMAIN §10): 10 working days later is 2026-09-23 (Sunday 09-20 is a
    # make-up workday); a proposal made late, as this one, is already overdue and shows it.
    assert e["fact_on"] == "2026-09-10" and e["decide_by"] == "2026-09-23"
    history = client.get(f"/api/v1/entities/{e['uscc']}/list-history", headers=reviewer).json()
    assert [ev["kind"] for ev in history[0]["events"]] == ["proposed"]


def test_jobs_through_the_api(client, login, session, make_entity) -> None:
    make_entity("M0000001", reports=(2022, 2023))
    session.commit()
    planner = login("planner")
    r = client.post(
        "/api/v1/enforcement/jobs/annual-reports", params={"year": 2026}, headers=planner
    )
    assert r.status_code == 200 and r.json()["created"] == 1
    r = client.post(
        "/api/v1/enforcement/jobs/annual-reports", params={"year": 2027}, headers=planner
    )
    assert r.status_code == 409
    r = client.post("/api/v1/enforcement/jobs/zombies", headers=planner)
    assert r.json()["detail"] == {
        "zombie": 1,
        "zombie_not_opened": 0,
        "zombie_ceased_trading": 0,
        "compulsory_deregistration": 0,
    }
    cands = client.get("/api/v1/enforcement/candidates", headers=planner).json()
    reviewer = login("reviewer")
    url = f"/api/v1/enforcement/candidates/{cands[0]['id']}/decision"
    r = client.post(url, json={"decision": "notice", "note": "x"}, headers=reviewer)
    assert r.status_code == 400
    r = client.post(
        url, json={"decision": "wake_up", "note": "已电话联系，承诺补报"}, headers=reviewer
    )
    assert r.status_code == 200 and r.json()["decision"] == "wake_up"
    assert (
        client.post(url, json={"decision": "wake_up", "note": "x"}, headers=reviewer).status_code
        == 409
    )
    r = client.post("/api/v1/enforcement/jobs/escalation", headers=planner)
    assert r.status_code == 200
