"""Zombie findings (missed reports with tax data, not opened, self-suspended) and compulsory
deregistration by the revocation date, each on a fixed day."""

import io
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from supervision.audit.models import AuditEntry
from supervision.calendar.dates import add_months, add_years
from supervision.enforcement import schemas as s
from supervision.enforcement import zombies
from supervision.enforcement.jobs import enforcement_zombies
from supervision.enforcement.models import CandidateKind, EnforcementCandidate
from supervision.errors import Invalid
from supervision.registry.importer import import_tax_filings
from supervision.registry.models import Entity, TaxFiling
from supervision.settings import Settings
from tests.enforcement.conftest import REVIEWER, at, count

TODAY = "2026-11-26"  # regime 2025; annual reports for 2024 and 2025 are due and missed


@pytest.fixture
def entity(session: Session, make_entity) -> Callable[..., str]:
    """entity(org, opened=…, ceased=…, revoked=…, **make_entity options) → USCC.

    Entities are opened the day after establishment unless `opened=None`, and have filed
    their reports up to 2025 unless `reports=` says otherwise (so that only the finding under
    test sees them).
    """

    def _make(
        org: str,
        *,
        opened: str | None = "",
        ceased: str | None = None,
        revoked: str | None = None,
        **options,
    ) -> str:
        options.setdefault("reports", tuple(range(2013, 2026)))
        uscc = make_entity(org, **options)
        established = date.fromisoformat(options.get("established", "2012-05-01"))
        values = {
            "opened_on": date.fromordinal(established.toordinal() + 1)
            if opened == ""
            else (date.fromisoformat(opened) if opened else None),
            "ceased_trading_on": date.fromisoformat(ceased) if ceased else None,
            "revoked_on": date.fromisoformat(revoked) if revoked else None,
        }
        session.execute(update(Entity).where(Entity.uscc == uscc).values(**values))
        return uscc

    return _make


def candidates(session: Session, kind: CandidateKind = CandidateKind.zombie) -> dict[str, dict]:
    rows = zombies.list_candidates(session, kind=kind, state=None, limit=1000)
    return {r.uscc: {"basis_key": r.basis_key, **r.evidence} for r in rows}


# ---- calendar arithmetic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2026-05-26", 6, "2026-11-26"),
        ("2026-08-31", 6, "2027-02-28"),
        ("2027-08-31", 6, "2028-02-29"),
        ("2026-11-30", -9, "2026-02-28"),
        ("2026-01-15", 12, "2027-01-15"),
    ],
)
def test_add_months(day: str, months: int, expected: str) -> None:
    assert add_months(date.fromisoformat(day), months) == date.fromisoformat(expected)


def test_cutoffs_follow_the_calendar() -> None:
    def latest(today: str, ok: Callable[[date, date], bool]) -> date:
        end = date.fromisoformat(today)
        return zombies.last_day_with(lambda d: ok(d, end), end)

    # More than 6 months: on 31 August, established on 28 February is (28 August < 31 August).
    assert latest("2026-08-31", lambda d, t: add_months(d, 6) < t) == date(2026, 2, 28)
    assert latest("2026-11-26", lambda d, t: add_months(d, 6) < t) == date(2026, 5, 25)
    assert latest("2026-11-26", lambda d, t: add_months(d, 6) <= t) == date(2026, 5, 26)
    # 3 years from 29 February 2024 end on 28 February 2027.
    three = lambda d, t: add_years(d, 3) <= t  # noqa: E731
    assert latest("2027-02-28", three) == date(2024, 2, 29)
    assert latest("2027-02-27", three) == date(2024, 2, 27)


# ---- not opened -------------------------------------------------------------------------------


def test_not_opened_more_than_six_months_after_establishment(session, book, entity) -> None:
    late = entity("N0000001", opened=None, established="2026-05-25", reports=())  # 6 mo: 11-25
    entity("N0000002", opened=None, established="2026-05-26", reports=())  # today: not more
    entity("N0000003", established="2020-01-01")  # opened
    entity("N0000004", opened=None, established="2020-01-01", entity_type="individual", reports=())
    entity(
        "N0000005", opened=None, established="2020-01-01", status="suspended", reports=()
    )  # 歇业
    entity("N0000006", opened=None, established="2020-01-01", status="revoked", reports=())
    entity(
        "N0000007", opened=None, established="2020-01-01", ceased="2026-10-01", reports=()
    )  # it opened
    entity("N0000008", opened=None)  # no opening date, but its annual reports show business
    old = entity("N0000009", opened=None, reports=())  # 2012, never a sign of business
    taxed = entity("N0000010", opened=None, reports=())
    session.add(TaxFiling(uscc=taxed, year=2024, filed=True))  # a tax return shows business
    session.flush()
    clock = at(TODAY)
    assert zombies.not_opened_candidates(session, clock, book) == 2
    assert zombies.not_opened_candidates(session, clock, book) == 0  # idempotent
    found = candidates(session)
    assert set(found) == {late, old}
    evidence = found[late]
    assert evidence["basis_key"] == "not_opened"
    assert evidence["finding"] == "not_opened"
    assert evidence["established_on"] == "2026-05-25"
    assert evidence["months"] == 6 and evidence["opened_on"] is None
    assert evidence["annual_reports_filed"] == 0 and evidence["tax_returns_filed"] == 0
    assert evidence["legal_basis"] == "《公司法》（2023年修订）第二百六十条第一款"
    row = session.exec(select(EnforcementCandidate).where(EnforcementCandidate.uscc == late)).one()
    assert (row.kind, row.rulebook, row.found_on, row.state) == (
        CandidateKind.zombie,
        "2025",
        date(2026, 11, 26),
        "open",
    )
    # The next day the second one is over six months too.
    assert zombies.not_opened_candidates(session, at("2026-11-27"), book) == 1
    actions = session.exec(select(AuditEntry.action)).all()
    assert actions.count("enforcement.candidates.zombie_not_opened") == 2


def test_not_opened_under_the_2014_rules_cites_the_old_article(session, book, entity) -> None:
    uscc = entity("N0000011", opened=None, established="2017-01-01", reports=())
    assert zombies.not_opened_candidates(session, at("2019-03-01"), book) == 1
    evidence = candidates(session)[uscc]
    assert "第二百一十一条" in evidence["legal_basis"]


# ---- self-suspended -----------------------------------------------------------------------


def test_self_suspended_for_six_months(session, book, entity) -> None:
    six = entity("C0000001", ceased="2026-05-26")  # six months exactly today
    entity("C0000002", ceased="2026-05-27")  # one day short
    entity("C0000003", ceased="2025-01-01", status="suspended")  # lawful 歇业 filed
    entity("C0000004", ceased="2025-01-01", entity_type="individual")
    long_ago = entity("C0000005", ceased="2024-02-29")
    clock = at(TODAY)
    assert zombies.ceased_trading_candidates(session, clock, book) == 2
    assert zombies.ceased_trading_candidates(session, clock, book) == 0  # idempotent
    found = candidates(session)
    assert set(found) == {six, long_ago}
    evidence = found[six]
    assert evidence["basis_key"] == "ceased:2026-05-26"
    assert evidence["finding"] == "ceased_trading"
    assert evidence["ceased_trading_on"] == "2026-05-26" and evidence["months"] == 6
    assert "第二百六十条" in evidence["legal_basis"]
    # Trading resumed, then stopped again: a new finding for the new date.
    session.execute(
        update(Entity).where(Entity.uscc == six).values(ceased_trading_on=date(2026, 5, 1))
    )
    assert zombies.ceased_trading_candidates(session, clock, book) == 1
    keys = session.exec(
        select(EnforcementCandidate.basis_key).where(EnforcementCandidate.uscc == six)
    ).all()
    assert sorted(keys) == ["ceased:2026-05-01", "ceased:2026-05-26"]


def test_trading_candidates_are_decided_like_other_zombies(session, book, entity) -> None:
    entity("D0000001", ceased="2025-01-01")
    entity("D0000002", opened=None, established="2025-01-01", reports=())
    clock = at(TODAY)
    created = zombies.all_zombie_candidates(session, clock, book)
    assert created == {"zombie": 0, "zombie_not_opened": 1, "zombie_ceased_trading": 1}
    rows = zombies.list_candidates(session, kind=CandidateKind.zombie, state="open")
    first, second = rows
    with pytest.raises(Invalid) as refused:
        zombies.decide_candidate(
            session,
            first.id,
            s.CandidateDecisionCreate(decision="notice", note="公告"),
            user=REVIEWER,
            clock=clock,
        )
    assert "wake_up" in refused.value.en
    done = zombies.decide_candidate(
        session,
        first.id,
        s.CandidateDecisionCreate(decision="revocation_proposal", note="实地核查：无经营迹象"),
        user=REVIEWER,
        clock=clock,
    )
    assert done.decision == "revocation_proposal"
    done = zombies.decide_candidate(
        session,
        second.id,
        s.CandidateDecisionCreate(decision="wake_up", note="已恢复经营"),
        user=REVIEWER,
        clock=clock,
    )
    assert done.state == "decided"


# ---- missed annual reports and tax returns ------------------------------------------------


def test_missed_reports_with_and_without_tax_data(session, book, entity) -> None:
    no_tax = entity("T0000001", reports=(2022, 2023))
    filed = entity("T0000002", reports=(2022, 2023))
    not_filed = entity("T0000003", reports=(2022, 2023))
    partial = entity("T0000004", reports=(2022, 2023))
    other_year = entity("T0000005", reports=(2022, 2023))
    session.add_all(
        [
            TaxFiling(uscc=filed, year=2024, filed=False),
            TaxFiling(uscc=filed, year=2025, filed=True, filed_on=date(2026, 3, 15)),
            TaxFiling(uscc=not_filed, year=2024, filed=False),
            TaxFiling(uscc=not_filed, year=2025, filed=False),
            TaxFiling(uscc=partial, year=2024, filed=False),
            TaxFiling(uscc=other_year, year=2023, filed=True, filed_on=date(2024, 5, 1)),
        ]
    )
    session.flush()
    clock = at(TODAY)
    assert zombies.zombie_candidates(session, clock, book) == 4
    assert zombies.zombie_candidates(session, clock, book) == 0  # idempotent
    found = candidates(session)
    assert set(found) == {no_tax, not_filed, partial, other_year}  # a return in 2025: not one
    assert all(e["basis_key"] == "missed:2024-2025" for e in found.values())
    assert all(e["missing_annual_reports"] == [2024, 2025] for e in found.values())
    assert found[no_tax]["tax_returns"] == {
        "checked": True,
        "not_filed": [],
        "no_data": [2024, 2025],
        "note": "未导入2024、2025年度的纳税申报数据，仅依据年报认定",
    }
    assert found[other_year]["tax_returns"]["no_data"] == [2024, 2025]
    assert found[not_filed]["tax_returns"]["not_filed"] == [2024, 2025]
    assert found[not_filed]["tax_returns"]["no_data"] == []
    assert "均未申报" in found[not_filed]["tax_returns"]["note"]
    assert found[partial]["tax_returns"]["not_filed"] == [2024]
    assert found[partial]["tax_returns"]["no_data"] == [2025]


def test_imported_tax_filings_rule_an_entity_out(session, book, entity) -> None:
    sleepy = entity("T0000011", reports=(2022, 2023))
    busy = entity("T0000012", reports=(2022, 2023))
    data = (
        "统一社会信用代码,年度,是否申报,申报日期\r\n"
        f"{sleepy},2024,否,\r\n{sleepy},2025,否,\r\n{busy},2024,是,2025-04-30\r\n"
    ).encode()
    clock = at(TODAY)
    report = import_tax_filings(
        session, io.BytesIO(data), filename="tax.csv", actor="t", clock=clock
    )
    assert report.inserted == 3
    assert zombies.zombie_candidates(session, clock, book) == 1
    assert candidates(session)[sleepy]["tax_returns"]["not_filed"] == [2024, 2025]


# ---- compulsory deregistration ------------------------------------------------------------


def test_deregistration_counts_from_the_revocation_date(session, book, entity) -> None:
    old_stamp = datetime(2015, 1, 1, tzinfo=UTC)
    over = entity("R0000001", status="revoked", revoked="2023-11-25")  # 3 years + 1 day
    exact = entity("R0000002", status="revoked", revoked="2023-11-26")  # 3 years today
    entity("R0000003", status="revoked", revoked="2023-11-27")  # 3 years − 1 day
    entity("R0000004", status="revoked", revoked="2025-01-06", updated=old_stamp)  # recent
    entity("R0000005", status="revoked", updated=old_stamp)  # no revocation date: skipped
    entity("R0000006", status="deregistered", revoked="2020-01-01")  # already deregistered
    # An individual business: 公司法 Art. 241 binds companies (the rule's entity_types).
    entity("R0000007", status="revoked", revoked="2020-01-01", entity_type="individual")
    # Nor a partnership or a sole proprietorship: enterprises, but not companies — their
    # names carry no company form (《公司法》第七条).
    entity(
        "R0000008", status="revoked", revoked="2020-01-01", name="昌吉市丰源商贸中心（有限合伙）"
    )
    entity("R0000009", status="revoked", revoked="2020-01-01", name="昌吉市老王便利店（个人独资）")
    clock = at(TODAY)
    assert zombies.deregistration_candidates(session, clock, book) == 2
    assert zombies.deregistration_candidates(session, clock, book) == 0  # idempotent
    found = candidates(session, CandidateKind.compulsory_deregistration)
    assert set(found) == {over, exact}
    evidence = found[over]
    assert evidence["basis_key"] == "revoked"
    assert evidence["revoked_on"] == "2023-11-25"
    # Found after 2025-10-10: the 90-day notice of 《强制注销公司登记制度实施办法》.
    assert (evidence["revoked_years"], evidence["notice_days"]) == (3, 90)
    assert evidence["legal_basis"] == (
        "《公司法》（2023）第二百四十一条；《强制注销公司登记制度实施办法》（2025年10月10日起施行）"
    )
    assert zombies.deregistration_candidates(session, at("2026-11-27"), book) == 1


def test_a_2022_revocation_gets_the_90_day_notice_only_from_2025_10_10(
    session, book, entity
) -> None:
    """《公司法》（2023）第二百四十一条: a company whose licence was revoked (or ordered closed,
    or whose registration was cancelled) three years ago may be deregistered after a public
    notice — 60 days by the 2023 law until SAMR's 《强制注销公司登记制度实施办法》 set 90
    from 2025-10-10 (DOMAIN §10)."""
    before = entity("R0000011", status="revoked", revoked="2022-06-01")
    assert zombies.deregistration_candidates(session, at("2025-10-09"), book) == 1
    assert candidates(session, CandidateKind.compulsory_deregistration)[before]["notice_days"] == 60
    after = entity("R0000012", status="revoked", revoked="2022-06-02")
    assert zombies.deregistration_candidates(session, at("2025-10-10"), book) == 1
    found = candidates(session, CandidateKind.compulsory_deregistration)
    assert found[after]["notice_days"] == 90 and "实施办法" in found[after]["legal_basis"]


def test_monthly_job_runs_every_finding(session, book, entity, data_dir) -> None:
    entity("J0000001", reports=(2022, 2023))
    entity("J0000002", opened=None, established="2025-01-01", reports=())
    entity("J0000003", ceased="2025-01-01")
    entity("J0000004", status="revoked", revoked="2020-01-01")
    settings = Settings(data_dir=data_dir)
    detail = enforcement_zombies(session, at(TODAY), settings)
    assert detail == {
        "zombie": 1,
        "zombie_not_opened": 1,
        "zombie_ceased_trading": 1,
        "compulsory_deregistration": 1,
    }
    assert set(enforcement_zombies(session, at(TODAY), settings).values()) == {0}
    assert count(session, EnforcementCandidate) == 4
