"""Store bytes under their SHA-256 (var/files/ab/cd/abcd…); identical content is stored once.

A file written for a transaction that later rolls back stays on disk unreferenced: harmless,
because its name is its content.
"""

import hashlib
import os
import tempfile
from pathlib import Path

from sqlmodel import Session

from supervision.clock import Clock, SystemClock
from supervision.errors import NotFound
from supervision.storage.models import StoredFile


def _path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def put_bytes(
    session: Session,
    root: Path,
    data: bytes,
    media_type: str,
    clock: Clock | None = None,
    *,
    sha256: str | None = None,
) -> str:
    """Store ``data`` under its SHA-256; ``sha256`` is that digest when the caller has just
    computed it from these very bytes (a frozen file's), so a large file is hashed once."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    path = _path(root, sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    _record(session, sha, len(data), media_type, clock)
    return sha


def put_file(
    session: Session,
    root: Path,
    written: Path,
    media_type: str,
    clock: Clock | None = None,
    *,
    sha256: str,
) -> str:
    """Move a file just written beside the store (on the same file system) into it under
    ``sha256``, the digest its writer computed while writing: a file of gigabytes is never
    held in memory nor read again."""
    path = _path(root, sha256)
    size = written.stat().st_size
    if path.exists():
        written.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(written, path)
    _record(session, sha256, size, media_type, clock)
    return sha256


def _record(session: Session, sha: str, size: int, media_type: str, clock: Clock | None) -> None:
    if session.get(StoredFile, sha) is None:
        session.add(
            StoredFile(
                sha256=sha,
                size=size,
                media_type=media_type,
                created_at=(clock or SystemClock()).now(),
            )
        )
        session.flush()


def stored_path(root: Path, sha256: str) -> Path:
    """Where a stored file lies, for serving it as it is (the reader checks its digest: every
    file served this way is named by a digest the reader already holds)."""
    path = _path(root, sha256)
    if not path.exists():
        raise NotFound(f"文件{sha256[:12]}…不存在", f"stored file {sha256} is missing")
    return path


def get_bytes(root: Path, sha256: str) -> bytes:
    """Read a stored file back, checking that its content still matches its name."""
    path = _path(root, sha256)
    if not path.exists():
        raise NotFound(f"文件{sha256[:12]}…不存在", f"stored file {sha256} is missing")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise NotFound(f"文件{sha256[:12]}…内容已被改动", f"stored file {sha256} is corrupted")
    return data
