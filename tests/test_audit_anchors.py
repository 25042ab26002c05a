"""Tampering with the audit log is detected and named: an edited row, a deleted middle row, a
truncated tail and a tail rewritten with recomputed hashes after a published head (anchor)."""

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from supervision.audit.models import AuditAnchor, AuditEntry
from supervision.audit.service import (
    _entry_hash,
    _record,
    anchor_head,
    anchors,
    record_change,
    verify_chain,
)


def _log(session: Session, clock, n: int, start: int = 0) -> None:
    for k in range(start, start + n):
        record_change(session, "t", "registry.entity.update", "entity", f"E{k}", {"k": k}, clock)
    session.flush()


@pytest.fixture
def anchored(session: Session, clock) -> list[AuditEntry]:
    """Ten rows anchored on day one, five more anchored on day two, three more after."""
    _log(session, clock, 10)
    assert anchor_head(session, clock).entry_id == _rows(session)[-1].id
    clock.advance(days=1)
    _log(session, clock, 5, start=10)
    anchor_head(session, clock)
    _log(session, clock, 3, start=15)
    session.flush()
    assert verify_chain(session, anchors(session)).ok
    return _rows(session)


def _rows(session: Session) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))


def test_the_intact_log_verifies_with_every_anchor(session, anchored, clock) -> None:
    report = verify_chain(session, anchors(session))
    assert report.ok and report.entries == 18 and report.anchors_checked == 2
    # Once a day: a second run the same day publishes the same head.
    again = anchor_head(session, clock)
    assert again.entries == 15 and len(anchors(session)) == 2


def test_an_edited_row_is_named(session, anchored) -> None:
    row = anchored[4]
    row.payload = '{"k":"changed"}'
    session.add(row)
    session.flush()
    report = verify_chain(session, anchors(session))
    assert not report.ok and report.first_bad_id == row.id
    assert "content" in report.reason


def test_a_deleted_middle_row_is_named(session, anchored) -> None:
    session.delete(anchored[6])
    session.flush()
    report = verify_chain(session, anchors(session))
    assert not report.ok and report.first_bad_id == anchored[7].id
    assert "previous row" in report.reason


def test_a_truncated_tail_after_an_anchor_is_named(session, anchored) -> None:
    # Delete the last eight rows: the chain that remains is internally intact.
    for row in anchored[10:]:
        session.delete(row)
    session.flush()
    assert verify_chain(session).ok  # without anchors nothing shows
    report = verify_chain(session, anchors(session))
    assert not report.ok and report.first_bad_id == anchored[14].id
    assert "rows were deleted" in report.reason and "published on" in report.reason


def test_a_tail_rewritten_with_recomputed_hashes_is_named(session, anchored) -> None:
    """The insider's best forgery: change a row before the second anchor and recompute every
    hash after it, so the chain is internally perfect."""
    rows = anchored
    rows[12].payload = '{"k":"forged"}'
    prev = rows[11].hash
    # Recompute in place, last row first would break the unique constraints: move each row's
    # hashes to temporary values, then to the recomputed ones.
    for n, row in enumerate(rows[12:]):
        row.prev_hash, row.hash = f"f{n:063x}", f"e{n:063x}"
        session.add(row)
    session.flush()
    for row in rows[12:]:
        row.prev_hash = prev
        row.hash = _entry_hash(prev, _record(row))
        prev = row.hash
        session.add(row)
    session.flush()
    assert verify_chain(session).ok  # internally perfect
    report = verify_chain(session, anchors(session))
    assert not report.ok and report.first_bad_id == rows[14].id
    assert "history was rewritten" in report.reason


def test_a_kept_copy_of_the_anchors_still_catches_it_when_they_were_wiped_too(
    fresh_engine, clock, tmp_path, monkeypatch
) -> None:
    """The anchors table is in the same database: someone who truncates the log can delete
    the anchors too. A copy kept from /api/v1/public/audit-anchors still tells."""
    from supervision.cli import app
    from supervision.settings import get_settings

    with Session(fresh_engine) as session:
        _log(session, clock, 10)
        anchor_head(session, clock)
        clock.advance(days=1)
        _log(session, clock, 5, start=10)
        anchor_head(session, clock)
        session.commit()
        kept = [a.__dict__ for a in anchors(session)]
        rows = _rows(session)
        for row in rows[12:]:
            session.delete(row)
        for a in session.exec(select(AuditAnchor)):
            session.delete(a)
        session.commit()
    path = tmp_path / "anchors.json"
    path.write_text(json.dumps(kept), encoding="utf-8")
    monkeypatch.setenv("SUPERVISION_DATABASE_URL", str(fresh_engine.url.render_as_string(False)))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        plain = runner.invoke(app, ["audit", "verify"])
        assert plain.exit_code == 0, plain.output  # the database alone cannot tell any more
        checked = runner.invoke(app, ["audit", "verify", "--anchors", str(path)])
        assert checked.exit_code == 1 and "chain broken" in checked.output
        bad = tmp_path / "bad.json"
        bad.write_text("[{]", encoding="utf-8")
        assert runner.invoke(app, ["audit", "verify", "--anchors", str(bad)]).exit_code == 2
    finally:
        get_settings.cache_clear()


def test_the_daily_job_checks_then_anchors_and_the_portal_publishes(
    session, client, clock, data_dir
) -> None:
    from supervision.audit.jobs import audit_chain
    from supervision.settings import Settings

    _log(session, clock, 4)
    out = audit_chain(session, clock, Settings(data_dir=data_dir))
    assert out["entries"] == 4 and out["anchored"]
    session.commit()
    published = client.get("/api/v1/public/audit-anchors").json()
    assert published == [
        {"anchored_on": clock.today().isoformat(), "entry_id": published[0]["entry_id"],
         "entries": 4, "hash": out["anchored"]}
    ]  # fmt: skip
    page = client.get("/audit-anchors").text
    assert out["anchored"] in page
    feed = client.get("/feed.xml").text
    assert "审计日志锚点" in feed
    # A tampered log makes the job fail loudly (and anchor nothing new).
    row = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).first()
    row.payload = "{}"
    session.add(row)
    session.flush()
    clock.advance(days=1)
    with pytest.raises(RuntimeError, match="audit chain broken"):
        audit_chain(session, clock, Settings(data_dir=data_dir))
    assert clock.today() - timedelta(days=1) == date_of_only_anchor(session)


def date_of_only_anchor(session: Session):
    (only,) = anchors(session)
    from datetime import date

    return date.fromisoformat(only.anchored_on)
