"""Risk feedback: listed entities and published problem results move entities to a riskier
stratum of the next batches, as the rulebook says."""

from datetime import date

import pytest
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlmodel import select

from supervision.enforcement import decisions, risk, service
from supervision.enforcement import schemas as s
from supervision.enforcement.rulebook import RulebookError, load_rulebook
from supervision.planning.models import Batch, Task, TaskState
from supervision.planning.pool import pool_records, stratum_labels, stratum_sizes
from supervision.registry.models import Entity
from tests.enforcement.conftest import REVIEWER, at, listed
from tests.enforcement.test_rulebook import _copy
from tests.factories import batch_body
from tests.inspection.conftest import approve, full_result, record_and_submit


def _batch(client, planner, session) -> Batch:
    r = client.post("/api/v1/plans/CJ-2026/batches", json=batch_body(), headers=planner)
    assert r.status_code == 201, r.text
    return session.exec(select(Batch).where(Batch.code == "CJ-2026-T01")).one()


def test_listed_entities_count_as_class_d(client, planner, session, book) -> None:
    batch = _batch(client, planner, session)
    labels = stratum_labels(batch)
    before = {u: st for u, st, _ in pool_records(session, batch)}
    sizes_before = stratum_sizes(session, batch)
    low = session.exec(select(Entity).where(Entity.risk_class == "A").order_by(Entity.uscc)).first()
    other = session.exec(
        select(Entity).where(Entity.risk_class == "B").order_by(Entity.uscc)
    ).first()
    assert before[low.uscc] == labels["A"]

    # A proposal alone changes nothing; a listing does; a removal undoes it.
    for uscc in (other.uscc, low.uscc):
        entry = service.propose(
            session,
            s.ProposalCreate(
                list_kind="abnormal",
                uscc=uscc,
                reason_code="unreachable",
                fact_on=date(2026, 11, 2),
            ),
            user=REVIEWER,
            clock=at("2026-11-02"),
            book=book,
        )
        assert {u: st for u, st, _ in pool_records(session, batch)} == before
        if uscc == low.uscc:
            decisions.decide(
                session,
                entry.id,
                s.DecisionCreate(
                    decision="list", reason="无法联系", decision_no="昌市监异列〔2026〕1号"
                ),
                user=REVIEWER,
                clock=at("2026-11-09"),
                book=book,
            )
    after = {u: st for u, st, _ in pool_records(session, batch)}
    assert after[low.uscc] == labels["D"]
    assert {u: st for u, st in after.items() if u != low.uscc} == {
        u: st for u, st in before.items() if u != low.uscc
    }
    sizes = stratum_sizes(session, batch)
    assert sizes[labels["A"]] == sizes_before[labels["A"]] - 1
    assert sizes[labels["D"]] == sizes_before.get(labels["D"], 0) + 1
    counted: dict[str, int] = {}
    for st in after.values():
        counted[st] = counted.get(st, 0) + 1
    assert counted == sizes


# ---- published problem results ------------------------------------------------------------

QUOTAS = {"A": {"count": 5}, "B": {"count": 5}, "C": {"count": 1}, "D": {"count": 1}}
CHECKED = "2026-09-10"  # the check date (完结日期) of every result below


def _classes(session, on: date) -> dict[str, str]:
    """USCC → the class whose stratum the entity is drawn in, for a batch starting `on`."""
    stmt = sa_select(Entity.uscc, risk.stratum_risk_class(on))
    return dict(session.execute(stmt).all())


def _own(session) -> dict[str, str]:
    return dict(session.execute(sa_select(Entity.uscc, Entity.risk_class)).all())


def test_published_problem_results_place_entities_in_class_c(
    client, planner, draw_batch, member, login, session, book
) -> None:
    own = _own(session)
    uscc = {t: session.get(Task, t).uscc for t in draw_batch(quotas=QUOTAS)}
    low = [t for t in uscc if own[uscc[t]] in ("A", "B")]
    # The published one is a B entity, so that a 2026 batch pool still holds it (A entities
    # checked this year are excluded from it).
    published = next(t for t in low if own[uscc[t]] == "B")
    recorded, reviewed, corrected, on_list, clean, withdrawn = [t for t in low if t != published][
        :6
    ]
    reviewer = login("reviewer")
    for task in (published, recorded, reviewed, corrected, on_list, clean, withdrawn):
        codes = ["1"] if task == clean else ["B"]  # B 未按规定公示应当公示的信息 (under A)
        record_and_submit(client, task, member(task), CHECKED, codes)
        if task == recorded:
            continue  # submitted, never reviewed
        approve(client, task, reviewer)
        if task == reviewed:
            continue  # approved, never published
        r = client.post(f"/api/v1/tasks/{task}/publish", headers=reviewer)
        assert r.status_code == 200, r.text
    # A published problem result withdrawn by its correction (更正为未发现问题).
    r = client.post(
        f"/api/v1/tasks/{corrected}/corrections",
        json={"reason": "复核后确认已按规定公示", "result": full_result(CHECKED, codes=["1"])},
        headers=reviewer,
    )
    assert r.status_code == 201, r.text
    # A withdrawn task never carries a result; should one stand on record, it does not count.
    task = session.get(Task, withdrawn)
    task.state = TaskState.withdrawn
    session.add(task)
    listed(session, book, uscc[on_list], "2026-11-02", "2026-11-09")
    session.flush()

    ten_months_later = _classes(session, date(2027, 7, 10))
    assert ten_months_later[uscc[published]] == "C"
    for task in (recorded, reviewed, corrected, clean, withdrawn):
        assert ten_months_later[uscc[task]] == own[uscc[task]], task
    assert ten_months_later[uscc[on_list]] == "D"  # the list rule comes first
    moved = {u for u, c in ten_months_later.items() if c != own[u]}
    assert moved == {uscc[published], uscc[on_list]}

    # The 24 months run back from the batch's first day, the check date included.
    assert _classes(session, date(2028, 9, 10))[uscc[published]] == "C"
    assert _classes(session, date(2028, 9, 11))[uscc[published]] == own[uscc[published]]
    # A check on or after the first day is not "before" it.
    assert _classes(session, date(2026, 9, 10))[uscc[published]] == own[uscc[published]]
    # Under every regime (the 2014 rules, and the 2021 regime built on them, have it too).
    for day, name in ((date(2020, 1, 1), "2014"), (date(2024, 1, 1), "2021")):
        regime = book.regime_on(day)
        assert regime.rulebook == name and regime.risk_feedback[1].risk_class == "C"

    # Through the real pool of the next batch: the published entity moves to C's stratum.
    batch = _batch(client, planner, session)
    labels = stratum_labels(batch)
    pool = {u: st for u, st, _ in pool_records(session, batch)}
    assert pool[uscc[published]] == labels["C"]
    counted: dict[str, int] = {}
    for st in pool.values():
        counted[st] = counted.get(st, 0) + 1
    assert counted == stratum_sizes(session, batch)


def test_the_result_rule_is_one_index_driven_query(session) -> None:
    """EXPLAIN on SQLite: the matching entities are found once, by index (versions by
    status and check date, then their tasks and lines), and the pool rows only probe them."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite")
    stmt = sa_select(Entity.uscc, risk.stratum_risk_class(date(2027, 7, 10)))
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = [row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    scans = [step for step in plan if step.lstrip().startswith("SCAN")]
    assert scans == ["SCAN entity"], plan
    for alias in ("rf_task", "rf_version", "rf_later", "rf_line"):
        assert any(step.startswith(f"SEARCH {alias} USING") for step in plan), (alias, plan)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "{results: [problem], within_months: 24, risk_class: C}",
            '{results: [problem, "99"], within_months: 24, risk_class: C}',
            "risk_feedback[1].results (99)",
        ),
        (
            "{results: [problem], within_months: 24, risk_class: C}",
            "{results: [problem], within_months: 0, risk_class: C}",
            "risk_feedback[1].within_months",
        ),
        (
            "{results: [problem], within_months: 24, risk_class: C}",
            "{results: [problem], within_months: 121, risk_class: C}",
            "risk_feedback[1].within_months",
        ),
        (
            "{results: [problem], within_months: 24, risk_class: C}",
            "{results: [problem], risk_class: C}",
            "risk_feedback[1]",
        ),
        (
            "{results: [problem], within_months: 24, risk_class: C}",
            "{risk_class: C}",
            "risk_feedback[1]",
        ),
        (
            "{lists: [abnormal, serious], risk_class: D}",
            "{lists: [abnormal, serious], within_months: 12, risk_class: D}",
            "risk_feedback[0]",
        ),
    ],
)
def test_malformed_risk_feedback_is_refused(data_dir, tmp_path, old, new, key) -> None:
    data = _copy(data_dir, tmp_path)
    path = data / "rulebook" / "2025.yaml"
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulebookError) as err:
        load_rulebook(data)
    assert (err.value.file, err.value.key) == ("rulebook/2025.yaml", key)
    assert "rulebook/2025.yaml" in err.value.zh


def test_problem_stands_for_every_problem_found_code(book) -> None:
    rule = book.regime_on(date(2026, 1, 1)).risk_feedback[1]
    # `problem` is the record form's problem-found categories with their sub-codes.
    assert set(rule.results) == {"A", "2", "B", "C", "6", "D", "3", "4", "5", "E"}
    assert not {"1", "F", "7", "8", "9"} & set(rule.results)
    assert rule.within_months == 24 and rule.lists == ()
