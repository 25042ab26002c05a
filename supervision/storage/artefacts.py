"""Heavy public artefacts — bundle.json and bundle.zip, the draw and commitment PDFs — built
once per content and served from storage.

An artefact is named by the SHA-256 of a *content key*: whatever fully determines its bytes
(for a bundle: the commitment, the seed, the last chain link and the meta), computed from a
few small queries. The first request for a key builds the file, under a lock both inside the
process (threads) and across worker processes (``flock`` on a lock file), so four parallel
requests build it once and the other three wait and read it; every later request is a file
read. A change of content (a recusal, a withdrawal) is a new key and a new file; the old one
is left for anyone still downloading it and removed by ``prune``.

The file is written to a temporary name and renamed into place, so a reader never sees half
an artefact, even after a crash.
"""

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

ARTEFACT_DIR = "artefacts"
KEEP_SECONDS = 7 * 24 * 3600
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def content_key(*parts: object) -> str:
    """A digest of the parts (their repr joined by NUL): the artefact's identity."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _safe(name: str) -> str:
    out = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return out.strip(".") or "artefact"


@contextmanager
def _locked(folder: Path, key: str) -> Iterator[None]:
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f".{key}.lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def artefact(
    storage: Path,
    name: str,
    key: str,
    build: Callable[[], bytes] | None = None,
    *,
    write: Callable[[BinaryIO], None] | None = None,
) -> Path:
    """The file for ``key``, built by ``build()`` — or written straight into the file by
    ``write(file)``, for artefacts too large to hold — if no process has built it yet."""
    if (build is None) == (write is None):
        raise TypeError("give build or write")
    folder = storage / ARTEFACT_DIR / key[:2]
    path = folder / f"{key}-{_safe(name)}"
    if path.exists():
        return path
    with _locked(folder, key):
        if path.exists():  # another thread or worker built it while we waited
            return path
        tmp = folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "wb") as fh:
                if write is not None:
                    write(fh)
                else:
                    assert build is not None
                    fh.write(build())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def prune(storage: Path, *, older_than: float = KEEP_SECONDS, now: float | None = None) -> int:
    """Remove artefacts nobody has read for ``older_than`` seconds (they are rebuilt on
    demand); returns how many files went."""
    root = storage / ARTEFACT_DIR
    if not root.exists():
        return 0
    cutoff = (now if now is not None else time.time()) - older_than
    removed = 0
    for path in root.glob("*/*"):
        st = path.stat()
        if max(st.st_atime, st.st_mtime) < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
