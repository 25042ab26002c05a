"""The demo city has an entity for every zombie finding and for compulsory deregistration."""

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import Session, select

from supervision.clock import FixedClock
from supervision.demo.generator import build_demo_city, write_entities_csv
from supervision.enforcement import zombies
from supervision.enforcement.models import EnforcementCandidate
from supervision.enforcement.rulebook import load_rulebook
from tests.demo.test_generator import _read

TODAY = date(2026, 11, 26)


def test_demo_rows_carry_consistent_trading_dates(tmp_path: Path) -> None:
    path = tmp_path / "entities.csv"
    write_entities_csv(path, entities=3000, seed=2018, today=TODAY)
    rows = _read(path)
    opened = [r for r in rows if r["开业日期"]]
    assert 0.9 < len(opened) / len(rows) < 1
    for row in rows:
        established = row["成立日期"]
        assert not row["开业日期"] or established <= row["开业日期"] <= TODAY.isoformat()
        if row["自行停业日期"]:
            assert row["登记状态"] == "存续" and row["开业日期"] <= row["自行停业日期"]
        assert bool(row["吊销日期"]) == (row["登记状态"] == "吊销")
        assert not row["吊销日期"] or established <= row["吊销日期"] <= TODAY.isoformat()
    assert sum(bool(r["自行停业日期"]) for r in rows) >= 5


def test_demo_city_shows_every_candidate_type(
    session: Session, data_dir: Path, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    build_demo_city(
        session, data_dir, tmp_path, entities=6000, inspectors=20, seed=2018, clock=clock
    )
    book = load_rulebook(data_dir)
    created = zombies.all_zombie_candidates(session, clock, book)
    created["compulsory_deregistration"] = zombies.deregistration_candidates(session, clock, book)
    assert all(n > 0 for n in created.values()), created
    keys = Counter(
        key.split(":")[0] for key in session.exec(select(EnforcementCandidate.basis_key)).all()
    )
    assert set(keys) == {"missed", "not_opened", "ceased", "revoked"}


def test_demo_listings_follow_from_the_simulated_reports(
    session: Session, data_dir: Path, tmp_path: Path
) -> None:
    from sqlalchemy import func

    from supervision.accounts.service import UserCreate, create_user
    from supervision.demo.consequences import build_demo_consequences
    from supervision.enforcement.models import EntryState, ListEntry
    from supervision.registry.models import AnnualReport, Entity

    clock = FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=UTC))
    build_demo_city(
        session, data_dir, tmp_path, entities=3000, inspectors=12, seed=2018, clock=clock
    )
    reviewer = create_user(
        session,
        UserCreate(username="demo-rev", display_name="审核", password="x" * 12, role="reviewer"),
        actor="test",
        clock=clock,
    )
    counts = build_demo_consequences(session, clock=clock, reviewer=reviewer)
    listed = session.exec(select(ListEntry.uscc).where(ListEntry.state == EntryState.listed)).all()
    assert counts["abnormal_listed"] == len(listed) > 0
    assert counts["abnormal_proposed"] == counts["abnormal_listed"] + counts["abnormal_rejected"]
    reported_2025 = set(
        session.exec(select(AnnualReport.uscc).where(AnnualReport.year == 2025)).all()
    )
    assert not reported_2025 & set(listed)  # each listing is an entity without its 2025 report
    no_report = session.exec(
        select(func.count())
        .select_from(Entity)
        .where(
            Entity.established_on <= date(2025, 12, 31),
            ~Entity.uscc.in_(select(AnnualReport.uscc).where(AnnualReport.year == 2025)),
        )
    ).one()
    assert len(listed) <= no_report
