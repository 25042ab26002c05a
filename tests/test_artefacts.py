"""Heavy public artefacts are built once per content and then read from storage."""

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from supervision.storage import artefacts


def test_parallel_requests_build_an_artefact_once(tmp_path: Path) -> None:
    built = []

    def build() -> bytes:
        built.append(1)
        time.sleep(0.2)
        return b"%PDF-1.7 ..."

    key = artefacts.content_key("draw.pdf", "CJ-2026-001", "chain")
    paths = []
    threads = [
        threading.Thread(
            target=lambda: paths.append(artefacts.artefact(tmp_path, "x.pdf", key, build))
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len(set(paths)) == 1
    assert paths[0].read_bytes() == b"%PDF-1.7 ..."
    assert not list(paths[0].parent.glob("*.tmp"))  # written under a temporary name, renamed


def test_a_failed_build_leaves_nothing_and_the_next_request_builds(tmp_path: Path) -> None:
    key = artefacts.content_key("k")

    def broken() -> bytes:
        raise RuntimeError("renderer crashed")

    try:
        artefacts.artefact(tmp_path, "a.pdf", key, broken)
    except RuntimeError:
        pass
    assert not [
        p for p in (tmp_path / "artefacts").rglob("*") if p.is_file() and "lock" not in p.name
    ]
    assert artefacts.artefact(tmp_path, "a.pdf", key, lambda: b"ok").read_bytes() == b"ok"


def test_prune_removes_only_what_nobody_read_lately(tmp_path: Path) -> None:
    old = artefacts.artefact(tmp_path, "old", artefacts.content_key("old"), lambda: b"1")
    new = artefacts.artefact(tmp_path, "new", artefacts.content_key("new"), lambda: b"2")
    import os

    os.utime(old, (time.time() - 10 * 24 * 3600,) * 2)
    assert artefacts.prune(tmp_path) >= 1
    assert not old.exists() and new.exists()


def test_bundle_and_pdfs_are_served_from_storage_until_the_draw_changes(
    client: TestClient, planner: dict, app, monkeypatch
) -> None:
    from tests.factories import create_and_freeze
    from tests.pages.conftest import DICE

    create_and_freeze(client, planner, code="CJ-2026-A01")
    r = client.post(
        "/api/v1/batches/CJ-2026-A01/entropy", json={"entropy": [DICE]}, headers=planner
    )
    assert r.status_code == 200, r.text
    calls = {"n": 0}
    real = artefacts.artefact

    def counting(storage, name, key, build=None, *, write=None):
        def counted() -> bytes:
            calls["n"] += 1
            return build()

        def counted_write(out) -> None:
            calls["n"] += 1
            write(out)

        if write is not None:
            return real(storage, name, key, write=counted_write)
        return real(storage, name, key, counted)

    from reports import documents
    from supervision.planning import queries

    monkeypatch.setattr(queries, "artefact", counting)
    monkeypatch.setattr(documents, "artefact", counting)
    urls = [
        f"/api/v1/batches/CJ-2026-A01/{f}"
        for f in ("bundle.json", "bundle.zip", "draw.pdf", "commitment.pdf")
    ]
    first = [client.get(u) for u in urls]
    assert all(r.status_code == 200 for r in first), [r.text[:200] for r in first]
    assert calls["n"] == 4
    again = [client.get(u) for u in urls]
    assert calls["n"] == 4 and [r.content for r in again] == [r.content for r in first]
    assert first[2].content.startswith(b"%PDF") and "etag" in first[2].headers

    # A withdrawn entity changes the draw: bundle and draw notice are rebuilt, the
    # commitment notice is not.
    uscc = client.get("/api/v1/batches/CJ-2026-A01/tasks").json()[0]["uscc"]
    r = client.post(
        f"/api/v1/batches/CJ-2026-A01/tasks/{uscc}/withdraw",
        json={"reason": "已注销"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    changed = [client.get(u) for u in urls]
    assert calls["n"] == 7
    assert changed[0].content != first[0].content and changed[3].content == first[3].content
