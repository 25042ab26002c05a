"""Every vector (sr1, and sr2's 05-sealed-strata), reproduced through the database and the
services the API uses."""

import json
from pathlib import Path

import pytest
from sqlmodel import Session

from supervision.planning.replay import replay
from tests.draw.test_sr1_vectors import ALL_CASES

VECTORS = Path(__file__).resolve().parent.parent / "draw" / "vectors"


@pytest.mark.parametrize("case", ALL_CASES)
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
    strata = folder / "expected" / "strata.tsv"
    assert files.strata == (strata.read_bytes() if strata.exists() else None)


def test_one_entitys_credential_checks_its_tag(session: Session, clock, tmp_path: Path) -> None:
    """抽取核验凭据 (DRAW-PROTOCOL §9): an entity's class and salt reproduce its public tag."""
    from supervision.draw import sr1
    from supervision.errors import NotFound
    from supervision.planning.queries import entity_credential

    folder = VECTORS / "05-sealed-strata"
    files = replay(session, folder / "input", storage=tmp_path, clock=clock)
    strata = sr1.parse_strata((folder / "input" / "strata.tsv").read_bytes())
    uscc, stratum, salt = strata.usccs[7], strata.strata[7], strata.salts[7]
    cred = entity_credential(session, "CJ-2026-005", uscc, storage=tmp_path)
    assert (cred["stratum"], cred["salt"], cred["pool_line"]) == (stratum, salt, 8)
    assert cred["ok"] and cred["tag"] == sr1.tag(uscc, stratum, salt)
    assert cred["tag"].encode() in files.pool.splitlines()[7]
    assert cred["pool_sha256"] == files.bundle["params"]["pool_sha256"]
    with pytest.raises(NotFound, match="不在批次"):
        entity_credential(session, "CJ-2026-005", "91652301MA00000070", storage=tmp_path)
