"""Risk feedback: entities on a list are drawn in the high-risk stratum, as the rulebook says."""

from datetime import date

from sqlmodel import select

from supervision.enforcement import schemas as s
from supervision.enforcement import service
from supervision.planning.models import Batch
from supervision.planning.pool import pool_records, stratum_labels, stratum_sizes
from supervision.registry.models import Entity
from tests.enforcement.conftest import REVIEWER, at
from tests.factories import batch_body


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
            s.ProposalIn(
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
            service.decide(
                session,
                entry.id,
                s.DecisionIn(
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
