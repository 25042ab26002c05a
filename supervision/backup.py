"""Backups: a consistent snapshot of the database and the stored files, with a manifest of
digests; and the restore that checks the manifest before it replaces anything.

A plain copy of a live SQLite database in WAL mode can lose committed rows (they may still sit
in the -wal file); SQLite's online backup API copies a consistent snapshot while the service
runs. PostgreSQL is dumped with `pg_dump` (one transaction, so consistent) in its custom format
and restored with `pg_restore --clean`. The stored files are content-addressed (their names are
their SHA-256), so they are copied as they are and checked by name.

    backup/
      manifest.json      what, when, from which schema revision, and every file's SHA-256
      database.sqlite3   or database.pgdump
      files/…            the stored files, same layout as storage_dir
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, text

from supervision.db import is_sqlite
from supervision.errors import Invalid

MANIFEST = "manifest.json"
FORMAT = "supervision-backup/1"


@dataclass
class BackupReport:
    path: Path
    database: str
    files: int
    bytes: int
    revision: str


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = u.password
    return [*args, "-d", u.database or "postgres"], env


def backup(engine: Engine, storage_dir: Path, target: Path, *, now: datetime) -> BackupReport:
    """Write a backup folder at ``target`` (which must not exist yet)."""
    if target.exists():
        raise Invalid(f"备份目录 {target} 已存在", f"the backup folder {target} already exists")
    target.mkdir(parents=True)
    url = engine.url.render_as_string(hide_password=False)
    revision = _revision(engine)
    if is_sqlite(engine):
        name = "database.sqlite3"
        source = sqlite3.connect(make_url(url).database)
        dest = sqlite3.connect(target / name)
        try:
            source.backup(dest)  # the online backup API: consistent while others write
        finally:
            dest.close()
            source.close()
    else:
        name = "database.pgdump"
        args, env = _pg_args(url)
        subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "-f", str(target / name), *args],
            check=True,
            env=env,
            capture_output=True,
        )
    files: dict[str, str] = {}
    total = 0
    if storage_dir.is_dir():
        for path in sorted(p for p in storage_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(storage_dir).as_posix()
            if rel.endswith(".tmp") or "/.lock" in rel:
                continue
            dest_path = target / "files" / rel
            dest_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest_path)
            files[rel] = _sha256(dest_path)
            total += dest_path.stat().st_size
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": now.isoformat(),
        "backend": "sqlite" if is_sqlite(engine) else "postgresql",
        "revision": revision,
        "database": {"name": name, "sha256": _sha256(target / name)},
        "files": files,
    }
    (target / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
    )
    return BackupReport(target, name, len(files), total, revision)


def check_backup(source: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every digest it lists (nothing is touched)."""
    path = source / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"备份清单无法读取：{exc}", f"cannot read the manifest: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise Invalid("不是本系统的备份", "not a backup of this system")
    db = source / manifest["database"]["name"]
    if not db.exists() or _sha256(db) != manifest["database"]["sha256"]:
        raise Invalid("备份中的数据库文件缺失或已损坏", "the database file is missing or damaged")
    for rel, digest in manifest["files"].items():
        f = source / "files" / rel
        if not f.exists() or _sha256(f) != digest:
            raise Invalid(
                f"备份中的文件 {rel} 缺失或已损坏", f"stored file {rel} is missing or damaged"
            )
    return manifest


def restore(engine: Engine, storage_dir: Path, source: Path) -> dict[str, Any]:
    """Replace the database and the stored files with the backup's (checked first; the
    service must be stopped). Returns the manifest."""
    manifest = check_backup(source)
    backend = "sqlite" if is_sqlite(engine) else "postgresql"
    if manifest["backend"] != backend:
        raise Invalid(
            f"备份来自 {manifest['backend']}，当前数据库是 {backend}",
            f"the backup is from {manifest['backend']}, the database is {backend}",
        )
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    db = source / manifest["database"]["name"]
    if backend == "sqlite":
        path = Path(make_url(url).database)
        dest = sqlite3.connect(path)
        src = sqlite3.connect(db)
        try:
            src.backup(dest)  # also through the backup API: the WAL is handled for us
        finally:
            src.close()
            dest.close()
    else:
        args, env = _pg_args(url)
        subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
             *args, str(db)],
            check=True,
            env=env,
            capture_output=True,
        )  # fmt: skip
    for rel in manifest["files"]:
        dest_path = storage_dir / rel
        dest_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "files" / rel, dest_path)
    return manifest
