"""05-sealed-strata (protocol sr2, DRAW-PROTOCOL §9): reproduced byte for byte, verified as the
auditor (with strata.tsv) and as the public (without it), and tampered with on both copies."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from supervision.draw import sr1
from supervision.draw.verify import main, verify_bundle_dir

CASE = Path(__file__).parent / "vectors" / "05-sealed-strata"
INPUT, AUDITOR, PUBLIC = CASE / "input", CASE / "expected", CASE / "public"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def run_case() -> dict[str, Any]:
    return sr1.run(
        (INPUT / "pool.tsv").read_bytes(),
        (INPUT / "roster.tsv").read_bytes(),
        (INPUT / "conflicts.tsv").read_bytes(),
        _json(INPUT / "params.json"),
        _json(INPUT / "entropy.json"),
        _json(INPUT / "events.json"),
        strata_bytes=(INPUT / "strata.tsv").read_bytes(),
    )


def test_the_bundle_is_reproduced_byte_for_byte() -> None:
    bundle, expected = run_case(), _json(AUDITOR / "bundle.json")
    assert sorted(bundle) == sorted(expected)
    for key in expected:
        assert bundle[key] == expected[key], key
    assert sr1.canonical_json(bundle) == sr1.canonical_json(expected)
    # The public copy publishes the same bundle; only the private files differ.
    assert sr1.canonical_json(_json(PUBLIC / "bundle.json")) == sr1.canonical_json(expected)
    for name in ("pool.tsv", "roster.tsv", "conflicts.tsv", "strata.tsv"):
        assert (AUDITOR / name).read_bytes() == (INPUT / name).read_bytes(), name
    for name in ("pool.tsv", "roster.tsv"):
        assert (PUBLIC / name).read_bytes() == (INPUT / name).read_bytes(), name
    assert not (PUBLIC / "strata.tsv").exists() and not (PUBLIC / "conflicts.tsv").exists()


def test_nothing_published_tells_a_class() -> None:
    bundle = run_case()
    assert bundle["protocol"] == bundle["params"]["protocol"] == "sr2"
    for entry in bundle["selected"]:
        assert sorted(entry) == ["team", "unassigned", "uscc"]
    pool = sr1.parse_pool((PUBLIC / "pool.tsv").read_bytes())
    strata = sr1.parse_strata((INPUT / "strata.tsv").read_bytes())
    classes = set(strata.strata)
    assert len(classes) == 4 and not classes & set(pool.strata)  # tags, never labels
    assert len(set(pool.strata)) == len(pool)  # every tag distinct: no label shared
    assert bundle["params"]["strata_sizes"] == strata.sizes()


def test_tickets_and_tags_follow_the_formulas() -> None:
    bundle = run_case()
    seed = bundle["seed"]
    strata = sr1.parse_strata((INPUT / "strata.tsv").read_bytes())
    pool = sr1.parse_pool((INPUT / "pool.tsv").read_bytes())
    for uscc, stratum, salt, published in zip(
        strata.usccs, strata.strata, strata.salts, pool.strata, strict=True
    ):
        assert sr1.tag(uscc, stratum, salt) == sr1.H(f"sr2:S:{uscc}:{stratum}:{salt}") == published
    order = [entry["uscc"] for entry in bundle["selected"]]
    assert order == sorted(order, key=lambda u: (sr1.order_ticket(seed, u), u))
    assert sr1.order_ticket(seed, order[0]) == sr1.H(f"{seed}:P:{order[0]}")
    # Per stratum, the quota with the smallest salted TE(u) = H(seed:E:u:SALT(u)).
    salt_of = dict(zip(strata.usccs, strata.salts, strict=True))
    stratum_of = dict(zip(strata.usccs, strata.strata, strict=True))
    for stratum, quota in bundle["params"]["quotas"].items():
        members = [u for u in strata.usccs if stratum_of[u] == stratum]
        ranked = sorted(members, key=lambda u: (sr1.H(f"{seed}:E:{u}:{salt_of[u]}"), u))
        assert {u for u in order if stratum_of[u] == stratum} == set(ranked[:quota])


def test_the_auditor_verifies_everything() -> None:
    result = verify_bundle_dir(AUDITOR)
    assert result.ok, result.first_difference
    assert result.unchecked == ()
    assert any("strata.tsv matches" in check for check in result.details)


def test_the_public_verifies_as_far_as_it_can_and_says_what_it_could_not(capsys) -> None:
    result = verify_bundle_dir(PUBLIC)
    assert result.ok, result.first_difference
    strata_digest = _json(PUBLIC / "bundle.json")["params"]["strata_sha256"]
    assert any("each stratum's quota" in item for item in result.unchecked)
    assert any("replaced a withdrawn one" in item for item in result.unchecked)
    assert any(strata_digest in item for item in result.unchecked)
    assert main([str(PUBLIC)]) == 0
    out = capsys.readouterr().out
    assert "核验通过（部分）" in out and "VERIFIED AS FAR AS THE PUBLIC CAN" in out
    assert strata_digest in out


def _copy(folder: Path, tmp_path: Path) -> Path:
    return shutil.copytree(folder, tmp_path / folder.name)


def _edit_bundle(folder: Path, change) -> None:  # noqa: ANN001
    path = folder / "bundle.json"
    bundle = _json(path)
    change(bundle)
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")


def _edit_line(path: Path, line: int, column: int, value: str) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = lines[line].split("\t")
    fields[column] = value
    lines[line] = "\t".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")


def _swap_team(bundle: dict[str, Any]) -> None:
    team = bundle["selected"][0]["team"]
    team[0], team[1] = team[1], team[0]


def _reorder(bundle: dict[str, Any]) -> None:
    bundle["selected"][0], bundle["selected"][1] = bundle["selected"][1], bundle["selected"][0]


def _outside_replacement(bundle: dict[str, Any]) -> None:
    bundle["events"][1]["outcome"]["replacement_uscc"] = "91652301MA00000070"


@pytest.mark.parametrize("copy", [AUDITOR, PUBLIC], ids=["auditor", "public"])
@pytest.mark.parametrize(
    ("change", "place"),
    [
        (_swap_team, "selected[0].team"),
        (_reorder, "selected[0]"),
    ],
    ids=["swapped-team-member", "reordered-selection"],
)
def test_tampered_bundles_name_the_place(copy: Path, change, place: str, tmp_path: Path) -> None:  # noqa: ANN001
    folder = _copy(copy, tmp_path)
    _edit_bundle(folder, change)
    result = verify_bundle_dir(folder)
    assert not result.ok
    assert result.first_difference.startswith(place), result.first_difference


def test_a_replacement_outside_the_pool_is_named(tmp_path: Path) -> None:
    public = _copy(PUBLIC, tmp_path)
    _edit_bundle(public, _outside_replacement)
    result = verify_bundle_dir(public)
    assert not result.ok
    assert "events[1]" in result.first_difference
    assert "91652301MA00000070 is not in the pool" in result.first_difference
    auditor = _copy(AUDITOR, tmp_path / "a")
    _edit_bundle(auditor, _outside_replacement)
    result = verify_bundle_dir(auditor)
    assert not result.ok and result.first_difference.startswith("events[1].outcome")


def test_a_changed_salt_is_named(tmp_path: Path) -> None:
    folder = _copy(AUDITOR, tmp_path)
    _edit_line(folder / "strata.tsv", 0, 2, "0" * 32)
    result = verify_bundle_dir(folder)
    assert not result.ok and "strata.tsv digest differs" in result.first_difference


def test_a_changed_tag_is_named(tmp_path: Path) -> None:
    for copy in (AUDITOR, PUBLIC):
        folder = _copy(copy, tmp_path / copy.name)
        _edit_line(folder / "pool.tsv", 3, 1, "0" * 64)
        result = verify_bundle_dir(folder)
        assert not result.ok and "pool.tsv digest differs" in result.first_difference


def test_a_salt_that_does_not_match_its_tag_is_named_even_with_a_fixed_digest() -> None:
    """One entity's credential: its own stratum and salt check its tag in pool.tsv."""
    pool_bytes = (INPUT / "pool.tsv").read_bytes()
    strata = sr1.parse_strata((INPUT / "strata.tsv").read_bytes())
    pool = sr1.parse_pool(pool_bytes)
    sr1.check_strata(strata, pool)
    strata.salts[4] = "f" * 32
    with pytest.raises(sr1.TsvError, match=f"pool.tsv line 5: the tag of {strata.usccs[4]}"):
        sr1.check_strata(strata, pool)


def test_sr1_refuses_strata_and_sr2_refuses_missing_strata() -> None:
    params = _json(INPUT / "params.json")
    files = [(INPUT / n).read_bytes() for n in ("pool.tsv", "roster.tsv", "conflicts.tsv")]
    with pytest.raises(sr1.ParamsError, match="protocol sr2 needs strata.tsv"):
        sr1.run(*files, params, ["1"], [])
    with pytest.raises(sr1.ParamsError, match="strata.tsv belongs to protocol sr2"):
        sr1.run(
            *files,
            {**params, "protocol": "sr1"},
            ["1"],
            [],
            strata_bytes=(INPUT / "strata.tsv").read_bytes(),
        )


def test_the_standalone_script_verifies_both_copies(tmp_path_factory) -> None:  # noqa: ANN001
    from supervision.draw import standalone_verifier_source
    from tests.draw.test_verify_tamper import run_standalone

    script = tmp_path_factory.mktemp("citizen") / "verify.py"
    script.write_text(standalone_verifier_source(), encoding="utf-8")
    public = run_standalone(script, PUBLIC)
    assert public.returncode == 0, public.stdout + public.stderr
    assert "VERIFIED AS FAR AS THE PUBLIC CAN" in public.stdout
    assert _json(PUBLIC / "bundle.json")["params"]["strata_sha256"] in public.stdout
    auditor = run_standalone(script, AUDITOR)
    assert auditor.returncode == 0, auditor.stdout + auditor.stderr
    assert "VERIFIED: an independent recomputation matches" in auditor.stdout
