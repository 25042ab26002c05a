"""The worked examples of DRAW-PROTOCOL.md, reproduced byte for byte and verified."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from supervision.draw import sr1
from supervision.draw.verify import verify_bundle_dir

VECTORS = Path(__file__).parent / "vectors"
ALL_CASES = sorted(p.name for p in VECTORS.iterdir() if p.is_dir())


def protocol_of(case: str) -> str:
    params = json.loads((VECTORS / case / "input" / "params.json").read_text(encoding="utf-8"))
    return params["protocol"]


# The sr1 cases; 05-sealed-strata (sr2) has tests of its own (test_sr2_vectors.py).
CASES = [case for case in ALL_CASES if protocol_of(case) == "sr1"]
FILES = ("pool.tsv", "roster.tsv", "conflicts.tsv")


def read_input(case: str) -> dict[str, Any]:
    folder = VECTORS / case / "input"
    return {
        "files": {name: (folder / name).read_bytes() for name in FILES},
        "params": json.loads((folder / "params.json").read_text(encoding="utf-8")),
        "entropy": json.loads((folder / "entropy.json").read_text(encoding="utf-8")),
        "events": json.loads((folder / "events.json").read_text(encoding="utf-8")),
    }


def run_case(case: str) -> dict[str, Any]:
    given = read_input(case)
    files = given["files"]
    return sr1.run(
        files["pool.tsv"],
        files["roster.tsv"],
        files["conflicts.tsv"],
        given["params"],
        given["entropy"],
        given["events"],
    )


def expected_bundle(case: str) -> dict[str, Any]:
    return json.loads((VECTORS / case / "expected" / "bundle.json").read_text(encoding="utf-8"))


def test_all_four_cases_are_present() -> None:
    assert CASES == ["01-basic", "02-joint-conflicts-maxload", "03-events", "04-dead-ends"]


@pytest.mark.parametrize("case", CASES)
def test_bundle_matches_expected_key_by_key(case: str) -> None:
    bundle, expected = run_case(case), expected_bundle(case)
    assert sorted(bundle) == sorted(expected)
    for key in expected:
        assert bundle[key] == expected[key], key
    # Equal as JSON text too, so that no true/1 or list/tuple confusion hides.
    assert sr1.canonical_json(bundle) == sr1.canonical_json(expected)


@pytest.mark.parametrize("case", CASES)
def test_commitment_and_seed_follow_the_formulas(case: str) -> None:
    expected = expected_bundle(case)
    commitment = sr1.H(sr1.canonical_json(expected["params"]))
    assert commitment == expected["commitment"] == sr1.commitment(expected["params"])
    assert expected["seed"] == sr1.H("\n".join([commitment, *expected["entropy"]]))
    for entry in expected["selected"]:
        assert entry["ticket"] == sr1.entity_ticket(expected["seed"], entry["uscc"])


@pytest.mark.parametrize("case", CASES)
def test_build_params_adds_the_file_fields(case: str) -> None:
    given = read_input(case)
    files = given["files"]
    params = sr1.build_params(
        given["params"], files["pool.tsv"], files["roster.tsv"], files["conflicts.tsv"]
    )
    assert params == expected_bundle(case)["params"]


@pytest.mark.parametrize("case", CASES)
def test_files_are_canonical_byte_for_byte(case: str) -> None:
    given = read_input(case)["files"]
    expected = {name: (VECTORS / case / "expected" / name).read_bytes() for name in FILES}
    assert given == expected
    pool = sr1.parse_pool(given["pool.tsv"])
    roster = sr1.parse_roster(given["roster.tsv"])
    conflicts = sr1.parse_conflicts(given["conflicts.tsv"])
    # The encoders sort, so feeding the records backwards gives the same bytes.
    assert sr1.encode_pool(reversed(list(pool.records()))) == expected["pool.tsv"]
    assert sr1.encode_roster(reversed(roster)) == expected["roster.tsv"]
    assert sr1.encode_conflicts(reversed(conflicts)) == expected["conflicts.tsv"]


@pytest.mark.parametrize("case", CASES)
def test_verifier_accepts_each_expected_folder(case: str) -> None:
    result = verify_bundle_dir(VECTORS / case / "expected")
    assert result.ok, result.first_difference
    assert result.first_difference is None
    assert result.exit_code == 0
    assert any("conflicts.tsv matches" in check for check in result.details)


@pytest.mark.parametrize("case", CASES)
def test_verifier_accepts_a_bundle_whose_conflicts_stay_private(case: str, tmp_path: Path) -> None:
    folder = shutil.copytree(VECTORS / case / "expected", tmp_path / case)
    (folder / "conflicts.tsv").unlink()
    result = verify_bundle_dir(folder)
    assert result.ok, result.first_difference
    assert any("conflicts.tsv not published" in check for check in result.details)
