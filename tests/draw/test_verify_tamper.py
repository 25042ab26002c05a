"""Every kind of tampering makes the verifier fail and name the first place that differs."""

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from supervision.draw import _check_no_shared_names, standalone_verifier_source
from supervision.draw.verify import main, verify_bundle, verify_bundle_dir

from .test_sr1_vectors import VECTORS

Bundle = dict[str, Any]


def copy_case(case: str, tmp_path: Path) -> Path:
    return shutil.copytree(VECTORS / case / "expected", tmp_path / case)


def edit_bundle(folder: Path, change: Callable[[Bundle], None]) -> None:
    path = folder / "bundle.json"
    bundle = json.loads(path.read_text(encoding="utf-8"))
    change(bundle)
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")


def first_difference(folder: Path) -> str:
    result = verify_bundle_dir(folder)
    assert not result.ok
    assert result.readable and result.exit_code == 1
    assert result.first_difference is not None
    return result.first_difference


def test_a_changed_pool_line_breaks_the_pool_digest(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)
    pool = folder / "pool.tsv"
    pool.write_bytes(pool.read_bytes().replace(b"\tB\t652301-02\n", b"\tA\t652301-02\n", 1))
    assert first_difference(folder).startswith("pool.tsv digest differs from params.pool_sha256")


def test_a_changed_roster_breaks_the_roster_digest(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    roster = folder / "roster.tsv"
    roster.write_bytes(roster.read_bytes() + b"65230100006\tSCJ\t652301-01\t\n")
    assert first_difference(folder).startswith("roster.tsv digest differs")


def test_a_swapped_team_member_is_named(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    edit_bundle(folder, lambda b: b["selected"][3]["team"].reverse())
    assert first_difference(folder) == (
        'selected[3].team: expected ["65230100001", "65230100003"] '
        'found ["65230100003", "65230100001"]'
    )


def test_a_replaced_team_member_in_final_is_named(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    edit_bundle(folder, lambda b: b["final"][5]["team"].__setitem__(0, "65230100005"))
    assert first_difference(folder).startswith("final[5].team: expected")


def test_a_reordered_event_is_named(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)

    def swap(bundle: Bundle) -> None:
        events = bundle["events"]
        events[1], events[2] = events[2], events[1]

    edit_bundle(folder, swap)
    assert first_difference(folder).startswith(
        "events[1] cannot be applied: event seq is 3 but the next event must have seq 2"
    )


def test_renumbered_reordered_events_break_the_chain(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)

    def swap_and_renumber(bundle: Bundle) -> None:
        events = bundle["events"]
        events[0], events[2] = events[2], events[0]
        events[0]["seq"], events[2]["seq"] = 1, 3

    edit_bundle(folder, swap_and_renumber)
    assert first_difference(folder).startswith("events[0].chain: expected")


def test_a_reordered_recusal_that_no_longer_applies_is_named(tmp_path: Path) -> None:
    folder = copy_case("04-dead-ends", tmp_path)

    def swap_and_renumber(bundle: Bundle) -> None:
        events = bundle["events"]
        events[0], events[1] = events[1], events[0]
        events[0]["seq"], events[1]["seq"] = 1, 2

    edit_bundle(folder, swap_and_renumber)
    assert first_difference(folder) == (
        "events[0] cannot be applied: event 1: inspector 65230200001 is not in the team of "
        "91652302L2EQRFXLXJ (team: 65230200002, 65230200000)"
    )


def test_a_removed_event_is_named(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)
    edit_bundle(folder, lambda b: b["events"].pop(1))
    assert first_difference(folder).startswith("events[1] cannot be applied: event seq is 3")


def test_a_removed_last_event_shows_in_final(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)
    edit_bundle(folder, lambda b: b["events"].pop())
    assert first_difference(folder).startswith("final[0].team: expected")


def test_a_changed_reason_breaks_the_chain(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)
    edit_bundle(folder, lambda b: b["events"][2].__setitem__("reason", "事假"))
    assert first_difference(folder).startswith("events[2].chain: expected")


def test_a_changed_outcome_is_named(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)
    edit_bundle(folder, lambda b: b["events"][1]["outcome"].__setitem__("unassigned", True))
    assert first_difference(folder) == "events[1].outcome.unassigned: expected false found true"


def test_a_changed_entropy_string_breaks_the_seed(tmp_path: Path) -> None:
    folder = copy_case("02-joint-conflicts-maxload", tmp_path)
    edit_bundle(folder, lambda b: b["entropy"].__setitem__(0, "6 6 2 1 6"))
    assert first_difference(folder).startswith("seed: expected")


def test_a_changed_quota_breaks_the_commitment(tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)
    edit_bundle(folder, lambda b: b["params"]["quotas"].__setitem__("A", 3))
    assert first_difference(folder).startswith("commitment: expected")


def test_an_impossible_quota_is_explained(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    edit_bundle(folder, lambda b: b["params"]["quotas"].__setitem__("A", 5))
    assert first_difference(folder).startswith("params.quotas['A'] must be an integer from 0 to 2")


def test_a_changed_ticket_is_named(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    edit_bundle(folder, lambda b: b["selected"][2].__setitem__("ticket", "0" * 64))
    assert first_difference(folder).startswith("selected[2].ticket: expected")


def test_a_dropped_entity_is_named(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    edit_bundle(folder, lambda b: b["selected"].pop(4))
    assert first_difference(folder).startswith("selected[4].uscc: expected")


def test_a_changed_conflict_list_is_named_when_the_file_is_published(tmp_path: Path) -> None:
    folder = copy_case("02-joint-conflicts-maxload", tmp_path)
    edit_bundle(folder, lambda b: b["excluded_by_conflict"].pop("91652301HKGX6C909H"))
    assert first_difference(folder) == (
        'excluded_by_conflict["91652301HKGX6C909H"]: missing (expected ["65230100000"])'
    )


def test_without_the_file_a_removed_conflict_changes_the_pairing(tmp_path: Path) -> None:
    folder = copy_case("02-joint-conflicts-maxload", tmp_path)
    (folder / "conflicts.tsv").unlink()
    edit_bundle(folder, lambda b: b["excluded_by_conflict"].pop("91652301FXHKAD4N2N"))
    assert first_difference(folder) == (
        'selected[14].team: expected ["65230100007", "65230100009", "65230120001"] '
        'found ["65230100007", "65230100005", "65230120001"]'
    )


def test_without_the_file_a_conflict_of_an_unselected_entity_is_named(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    (folder / "conflicts.tsv").unlink()
    edit_bundle(
        folder, lambda b: b["excluded_by_conflict"].__setitem__("916523010F4KLK1H5T", ["x"])
    )
    assert first_difference(folder) == (
        'excluded_by_conflict["916523010F4KLK1H5T"]: unexpected (found ["x"])'
    )


def test_an_unexpected_bundle_key_is_named_but_meta_is_ignored(tmp_path: Path) -> None:
    folder = copy_case("01-basic", tmp_path)
    edit_bundle(folder, lambda b: b.__setitem__("meta", {"authority": "昌吉市市场监督管理局"}))
    assert verify_bundle_dir(folder).ok
    edit_bundle(folder, lambda b: b.__setitem__("notes", "x"))
    assert first_difference(folder) == "bundle.json has an unexpected key 'notes'"


def test_a_boolean_for_an_integer_is_a_difference() -> None:
    case = VECTORS / "01-basic" / "expected"
    bundle = json.loads((case / "bundle.json").read_text(encoding="utf-8"))
    bundle["selected"][0]["unassigned"] = 0
    result = verify_bundle(
        bundle, (case / "pool.tsv").read_bytes(), (case / "roster.tsv").read_bytes()
    )
    assert result.first_difference == "selected[0].unassigned: expected false found 0"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "roster.tsv").unlink(), "cannot read"),
        (lambda f: (f / "bundle.json").write_text("{", encoding="utf-8"), "not valid UTF-8 JSON"),
        (
            lambda f: (f / "bundle.json").write_text('{"a": 1, "a": 2}', encoding="utf-8"),
            "appears twice",
        ),
    ],
)
def test_unreadable_input_exits_with_2(
    tmp_path: Path, damage: Callable[[Path], None], message: str
) -> None:
    folder = copy_case("01-basic", tmp_path)
    damage(folder)
    result = verify_bundle_dir(folder)
    assert not result.ok and not result.readable and result.exit_code == 2
    assert message in (result.first_difference or "")


def test_the_command_line_prints_a_bilingual_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(VECTORS / "03-events" / "expected")]) == 0
    out = capsys.readouterr().out
    assert "核验通过" in out and "VERIFIED" in out
    folder = copy_case("03-events", tmp_path)
    edit_bundle(folder, lambda b: b["events"].pop(1))
    assert main([str(folder)]) == 1
    out = capsys.readouterr().out
    assert "核验未通过" in out and "NOT VERIFIED" in out and "events[1]" in out
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "无法读取" in capsys.readouterr().out


# --- The standalone script citizens download ----------------------------------------------


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A folder of its own, so nothing beside the script can be imported by accident.
    script = tmp_path_factory.mktemp("citizen") / "verify.py"
    script.write_text(standalone_verifier_source(), encoding="utf-8")
    return script


def run_standalone(script: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(script), str(folder)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=script.parent,
    )


def test_the_standalone_script_carries_no_product_import(standalone: Path) -> None:
    imports = [
        line.strip()
        for line in standalone.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(("import ", "from "))
    ]
    assert "import sys" in imports and "import hashlib" in imports
    assert not [line for line in imports if "supervision" in line or line.startswith("from .")]


@pytest.mark.parametrize("case", ["02-joint-conflicts-maxload", "03-events"])
def test_the_standalone_script_verifies_a_vector(standalone: Path, case: str) -> None:
    done = run_standalone(standalone, VECTORS / case / "expected")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "核验通过" in done.stdout and "VERIFIED" in done.stdout


def test_the_standalone_script_rejects_a_tampered_bundle(standalone: Path, tmp_path: Path) -> None:
    folder = copy_case("03-events", tmp_path)
    edit_bundle(folder, lambda b: b["events"][3].__setitem__("inspector", "65230100002"))
    done = run_standalone(standalone, folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT VERIFIED" in done.stdout
    assert "events[3] cannot be applied" in done.stdout
    assert "65230100002 is not in the team of 916523013X3LXPMPXT" in done.stdout


def test_the_standalone_script_exits_2_on_a_missing_folder(
    standalone: Path, tmp_path: Path
) -> None:
    done = run_standalone(standalone, tmp_path / "nowhere")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "CANNOT READ" in done.stdout


def test_the_builder_refuses_names_that_would_clash() -> None:
    with pytest.raises(RuntimeError, match="Draw"):
        _check_no_shared_names("class Draw:\n    pass\n", "def Draw():\n    pass\n")
    with pytest.raises(RuntimeError, match="json"):
        _check_no_shared_names("import json\n", "json = None\n")
    _check_no_shared_names("import json\nX = 1\n", "import json\nY = 2\n")
