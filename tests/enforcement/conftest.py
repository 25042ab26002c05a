"""Entities, a reviewer and the rulebook for the enforcement tests; the inspection fixtures."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import insert
from sqlmodel import Session, func, select

from supervision.clock import FixedClock
from supervision.enforcement import decisions, service
from supervision.enforcement import schemas as s
from supervision.enforcement.models import ListEntry, ListKind
from supervision.enforcement.rulebook import Rulebook, load_rulebook
from supervision.registry.models import AnnualReport, Department, Entity, Unit
from tests.inspection.conftest import draw_batch, member  # noqa: F401
from tests.uscc_reference import uscc as build_uscc

REVIEWER = SimpleNamespace(username="reviewer-t", role="reviewer")
# An administrator: in a single bureau it acts for the provincial authority or the level above.
ADMIN = SimpleNamespace(username="admin-t", role="admin")
PLANNER = SimpleNamespace(username="planner-t")


def at(day: str) -> FixedClock:
    """A clock standing at 10:00 China time on a day."""
    d = date.fromisoformat(day)
    return FixedClock(datetime(d.year, d.month, d.day, 2, 0, tzinfo=UTC))


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture(scope="session")
def book(data_dir) -> Rulebook:
    return load_rulebook(data_dir)


@pytest.fixture
def make_entity(session: Session) -> Callable[..., str]:
    """make_entity(org, type=…, rep_id=…, established=…, status=…, reports=[years]) → USCC."""
    if session.get(Department, "SCJ") is None:
        session.add(Department(code="SCJ", name="昌吉市市场监督管理局"))
        session.flush()
        session.add(Unit(code="652301-01", name="第1市场监管所", department_code="SCJ"))
        session.flush()

    def _make(
        org: str,
        *,
        entity_type: str = "enterprise",
        rep_id: str | None = None,
        established: str = "2012-05-01",
        status: str = "active",
        reports: tuple[int, ...] = (),
        updated: datetime | None = None,
        name: str | None = None,
    ) -> str:
        kind = {"enterprise": "1", "individual": "2", "cooperative": "3"}[entity_type]
        uscc = build_uscc("652301", org, kind=kind)
        stamp = updated or datetime(2012, 5, 1, tzinfo=UTC)
        session.execute(
            insert(Entity),
            [
                {
                    "uscc": uscc,
                    "uscc_check_ok": True,
                    "name": name or f"昌吉市{org}商贸有限公司",
                    "entity_type": entity_type,
                    "legal_rep": "李四",
                    "legal_rep_id_no": rep_id,
                    "registered_address": "昌吉市延安北路1号",
                    "region_code": "652301",
                    "industry_code": "51",
                    "registration_authority": "昌吉市市场监督管理局",
                    "supervising_unit": "652301-01",
                    "established_on": date.fromisoformat(established),
                    "status": status,
                    "risk_class": "B",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            ],
        )
        for y in reports:
            session.add(AnnualReport(uscc=uscc, year=y, filed_on=date(y + 1, 5, 1)))
        session.flush()
        return uscc

    return _make


def proposed(
    session: Session,
    book: Rulebook,
    uscc: str,
    fact_on: str,
    *,
    kind: str = "abnormal",
    reason: str = "unreachable",
) -> ListEntry:
    clock = at(fact_on)
    data = s.ProposalCreate(
        list_kind=ListKind(kind), uscc=uscc, reason_code=reason, fact_on=date.fromisoformat(fact_on)
    )
    return service.propose(session, data, user=PLANNER, clock=clock, book=book)


def listed(
    session: Session,
    book: Rulebook,
    uscc: str,
    fact_on: str,
    decided_on: str,
    *,
    kind: str = "abnormal",
    reason: str = "unreachable",
    no: str = "昌市监异列〔2016〕1号",
) -> ListEntry:
    entry = proposed(session, book, uscc, fact_on, kind=kind, reason=reason)
    data = s.DecisionCreate(decision="list", reason="经核查属实", decision_no=no)
    return decisions.decide(session, entry.id, data, user=REVIEWER, clock=at(decided_on), book=book)
