"""An import keeps at most a bounded number of the file's keys in memory; the rest go to a
private temporary database on disk. Duplicates, snapshots and checks of stored records read
through both, so a file of any size is checked as a small one is."""

import pytest
from sqlmodel import Session, select

from supervision.registry.importer import seen as seen_module
from supervision.registry.importer.seen import SeenKeys
from supervision.registry.models import Entity
from tests.factories import small_city
from tests.registry import test_zombie_dates
from tests.registry.test_importer import code, count, entity_row, refused, run, to_csv


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two keys in memory: every file of more rows spills."""
    monkeypatch.setattr(seen_module, "HELD", 2)


def test_keys_are_found_in_memory_and_on_disk() -> None:
    seen = SeenKeys(held=3)
    for line, key in enumerate("abcdefg", start=2):
        assert seen.first_line(key) is None
        seen.add(key, line)
    assert seen.spill is not None and seen.spilled == 6 and len(seen.recent) == 1
    assert [seen.first_line(k) for k in "abcdefgh"] == [2, 3, 4, 5, 6, 7, 8, None]
    assert "a" in seen and "g" in seen and "h" not in seen and len(seen) == 7
    assert seen["d"] == 5
    with pytest.raises(KeyError):
        seen["h"]
    seen.close()
    assert seen.spill is None and "a" not in seen


def test_a_duplicate_far_from_its_first_line_is_found(session: Session, tiny) -> None:
    rows = [entity_row(n) for n in range(1, 9)] + [entity_row(9, 统一社会信用代码=code(2))]
    report = refused(session, to_csv(rows))
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.line == 10 and "第3行" in error.reason_zh
    assert count(session, Entity) == 0  # nothing written


def test_a_large_file_imports_whole(session: Session, tiny) -> None:
    rows = [entity_row(n) for n in range(1, 30)]
    report = run(session, to_csv(rows))
    assert report.ok and report.inserted == 29 and count(session, Entity) == 29
    again = run(session, to_csv(rows))
    assert again.ok and (again.inserted, again.updated, again.unchanged) == (0, 0, 29)


def test_a_snapshot_reads_the_keys_on_disk(session: Session, clock, tiny) -> None:
    usccs = small_city(session, clock, entities=12, inspectors=2)
    listed = usccs[:9]
    rows = [
        entity_row(n, 统一社会信用代码=u, 管辖单位代码="652301-01")
        for n, u in enumerate(listed, start=1)
    ]
    report = run(session, to_csv(rows), snapshot_of="6523")
    assert report.ok and report.absent_total == 3
    assert {a["uscc"] for a in report.absent} == set(usccs[9:])
    assert session.exec(select(Entity.uscc).order_by(Entity.uscc)).all() == sorted(usccs)


def test_stored_records_are_checked_at_their_lines(session: Session, tiny) -> None:
    test_zombie_dates.test_a_partial_file_cannot_contradict_stored_dates(session)
