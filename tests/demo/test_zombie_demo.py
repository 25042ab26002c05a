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
