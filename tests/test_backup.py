"""Backup and restore round trip (SQLite, and PostgreSQL when the suite runs on it): every
table and every stored file come back as they were, and the audit chain verifies."""

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session
from typer.testing import CliRunner

from supervision.audit.service import anchors, record_change, verify_chain
from supervision.backup import backup, check_backup, restore
from supervision.errors import Invalid
from supervision.storage.service import put_bytes
from tests.factories import small_city


def _tables(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        return {
            name: sorted(
                tuple(map(str, row))
                for row in conn.execute(text(f'SELECT * FROM "{name}"'))  # noqa: S608
            )
            for name in names
            if name != "alembic_version"
        }


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_backup_and_restore_round_trip(fresh_engine, clock, tmp_path: Path) -> None:
    storage = tmp_path / "files"
    with Session(fresh_engine) as session:
        small_city(session, clock, entities=30, inspectors=6)
        put_bytes(session, storage, b"evidence photo", "image/png", clock)
        record_change(session, "t", "registry.entity.update", "entity", "X", {"a": 1}, clock)
        session.commit()
    before, files_before = _tables(fresh_engine), _files(storage)
    target = tmp_path / "backup-2026-11-26"
    report = backup(fresh_engine, storage, target, now=clock.now())
    assert report.files == len(files_before) and report.revision
    manifest = check_backup(target)
    assert set(manifest["files"]) == set(files_before)

    # Life goes on (and goes wrong): rows added, rows deleted, a stored file lost.
    with Session(fresh_engine) as session:
        record_change(session, "t", "registry.entity.update", "entity", "Y", {"b": 2}, clock)
        session.execute(text("DELETE FROM conflict_declaration"))
        session.commit()
    next(iter(p for p in storage.rglob("*") if p.is_file())).unlink()
    assert _tables(fresh_engine) != before

    restore(fresh_engine, storage, target)
    assert _tables(fresh_engine) == before
    assert _files(storage) == files_before
    with Session(fresh_engine) as session:
        assert verify_chain(session, anchors(session)).ok


def test_a_damaged_backup_is_refused_before_anything_is_replaced(
    fresh_engine, clock, tmp_path: Path
) -> None:
    storage = tmp_path / "files"
    with Session(fresh_engine) as session:
        put_bytes(session, storage, b"a stored file", "text/plain", clock)
        session.commit()
    target = tmp_path / "b"
    backup(fresh_engine, storage, target, now=clock.now())
    with pytest.raises(Invalid, match="已存在"):
        backup(fresh_engine, storage, target, now=clock.now())
    damaged = tmp_path / "damaged"
    shutil.copytree(target, damaged)
    stored = next(p for p in (damaged / "files").rglob("*") if p.is_file())
    stored.write_bytes(b"changed")
    before = _tables(fresh_engine)
    with pytest.raises(Invalid, match="损坏"):
        restore(fresh_engine, storage, damaged)
    assert _tables(fresh_engine) == before
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = "something-else"
    (damaged / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(Invalid, match="不是本系统的备份"):
        check_backup(damaged)


def test_the_cli_backs_up_and_asks_before_restoring(
    fresh_engine, tmp_path: Path, monkeypatch
) -> None:
    from supervision.cli import app
    from supervision.settings import get_settings

    monkeypatch.setenv("SUPERVISION_DATABASE_URL", fresh_engine.url.render_as_string(False))
    monkeypatch.setenv("SUPERVISION_STORAGE_DIR", str(tmp_path / "files"))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["backup", str(tmp_path / "bk")])
        assert r.exit_code == 0 and "已备份" in r.output, r.output
        r = runner.invoke(app, ["restore", str(tmp_path / "bk")])
        assert r.exit_code == 1 and "--yes" in r.output
        r = runner.invoke(app, ["restore", str(tmp_path / "bk"), "--yes"])
        assert r.exit_code == 0 and "已从" in r.output, r.output
    finally:
        get_settings.cache_clear()
