"""Every sr1 vector, reproduced through the database and the services the API uses."""

import json
from pathlib import Path

import pytest
from sqlmodel import Session

from supervision.planning.replay import replay

VECTORS = Path(__file__).resolve().parent.parent / "draw" / "vectors"
from tests.draw.test_sr1_vectors import CASES  # noqa: E402 — the sr1 vectors


@pytest.mark.parametrize("case", CASES)
def test_replay_reproduces_vector(case: str, session: Session, clock, tmp_path: Path) -> None:
    folder = VECTORS / case
    files = replay(session, folder / "input", storage=tmp_path, clock=clock)
    expected = json.loads((folder / "expected" / "bundle.json").read_text(encoding="utf-8"))
    got = {k: v for k, v in files.bundle.items() if k != "meta"}
    for key in expected:
        assert got[key] == expected[key], key
    assert set(got) == set(expected)
    assert files.pool == (folder / "expected" / "pool.tsv").read_bytes()
    assert files.roster == (folder / "expected" / "roster.tsv").read_bytes()
    assert files.conflicts == (folder / "expected" / "conflicts.tsv").read_bytes()
