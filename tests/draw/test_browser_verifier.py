"""The in-browser verifier (api/static/verify/sr.js), a second implementation of the
protocol, run under Node on every vector and every tampering the Python verifier catches.

Both verifiers must agree: a vector verifies in both; a tampered bundle fails in both, and
the browser names the place in Chinese. SHA-256 and canonical JSON are compared with
Python's on inputs chosen to hit block boundaries and escaping rules.
"""

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

from supervision.draw import sr1
from supervision.draw.verify import verify_bundle_dir
from tests.strict import need_tool

from .test_sr1_vectors import VECTORS

RUNNER = Path(__file__).resolve().parents[1] / "js" / "run.cjs"
CASES = sorted(p.name for p in VECTORS.iterdir() if p.is_dir())


def run_js(jobs: list[dict[str, Any]]) -> list[Any]:
    node = need_tool("node", "nodejs")
    done = subprocess.run(
        [node, str(RUNNER)], input=json.dumps(jobs), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    for a in answers:
        assert not (isinstance(a, dict) and "error" in a), a["error"]
    return answers


def test_every_vector_verifies_in_the_browser_as_in_python() -> None:
    jobs = []
    for case in CASES:
        for conflicts in (True, False):
            jobs.append(
                {"op": "verify", "dir": str(VECTORS / case / "expected"), "conflicts": conflicts}
            )
    public = VECTORS / "05-sealed-strata" / "public"
    jobs.append({"op": "verify", "dir": str(public), "conflicts": False})
    for job, answer in zip(jobs, run_js(jobs), strict=True):
        assert answer["ok"], (job, answer["difference"])
        sealed = json.loads((Path(job["dir"]) / "bundle.json").read_text())["protocol"] == "sr2"
        assert bool(answer["unchecked"]) == sealed
        assert len(answer["passed"]) >= 9
    assert len(jobs) == 2 * len(CASES) + 1 and len(CASES) == 5


def _tampered(case: str, tmp: Path, change, where: str = "expected") -> Path:
    folder = shutil.copytree(VECTORS / case / where, tmp / f"{case}-{len(list(tmp.iterdir()))}")
    path = folder / "bundle.json"
    bundle = json.loads(path.read_text(encoding="utf-8"))
    change(bundle, folder)
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


def _set(path: list, value: Any):
    def change(bundle: dict, folder: Path) -> None:
        target = bundle
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _pool_line(bundle: dict, folder: Path) -> None:
    pool = folder / "pool.tsv"
    lines = pool.read_bytes().split(b"\n")
    usccs = [line.split(b"\t")[0] for line in lines if line]
    lines[0] = lines[0].replace(usccs[0], usccs[0][:-1] + (b"X" if usccs[0][-1:] != b"X" else b"Y"))
    pool.write_bytes(b"\n".join(lines))


def _swap_events(bundle: dict, folder: Path) -> None:
    bundle["events"][0], bundle["events"][1] = bundle["events"][1], bundle["events"][0]


def _drop_entity(bundle: dict, folder: Path) -> None:
    bundle["selected"].pop()


def _reverse_team(bundle: dict, folder: Path) -> None:
    bundle["selected"][1]["team"].reverse()


TAMPERS = [
    ("01-basic", _pool_line, "pool.tsv 的 SHA-256"),
    ("01-basic", _reverse_team, "selected[1].team"),
    ("01-basic", _drop_entity, "selected"),
    ("01-basic", _set(["entropy", 0], "3 6 1 4 4 2 5 6 1 2"), "seed"),
    ("01-basic", _set(["params", "quotas", "A"], 0), "commitment"),
    ("01-basic", _set(["selected", 0, "ticket"], "0" * 64), "selected[0].ticket"),
    ("03-events", _swap_events, "events[0]"),
    ("03-events", _set(["events", 0, "reason"], "改了理由"), "events[0].chain"),
    ("03-events", _set(["final", 0, "uscc"], "91652301000000000X"), "final[0].uscc"),
    ("02-joint-conflicts-maxload", _set(["excluded_by_conflict"], {}), ""),
    ("05-sealed-strata", _drop_entity, "selected"),
    ("05-sealed-strata", _reverse_team, "selected[1].team"),
    ("05-sealed-strata", _set(["params", "strata_sizes", "A"], 11), ""),
]


def test_every_tampering_fails_in_both_verifiers_and_is_named_in_chinese(tmp_path: Path) -> None:
    folders = []
    for case, change, _ in TAMPERS:
        where = "public" if case.startswith("05") else "expected"
        folders.append(_tampered(case, tmp_path, change, where))
    answers = run_js([{"op": "verify", "dir": str(f), "conflicts": False} for f in folders])
    for (case, _, fragment), folder, answer in zip(TAMPERS, folders, answers, strict=True):
        python = verify_bundle_dir(folder)
        assert not python.ok, (case, fragment)
        assert not answer["ok"], (case, fragment, answer)
        assert fragment in answer["difference"], (fragment, answer["difference"])
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["difference"])


def test_sha256_agrees_with_hashlib_across_block_boundaries() -> None:
    rng = random.Random(5)
    blobs = [
        bytes(rng.getrandbits(8) for _ in range(n)) for n in [*range(0, 130), 1000, 4095, 65536]
    ]
    blobs.append("中文与 emoji 😀".encode())
    answers = run_js([{"op": "sha256", "hex": b.hex()} for b in blobs])
    assert answers == [hashlib.sha256(b).hexdigest() for b in blobs]


def test_canonical_json_agrees_with_the_protocol_module() -> None:
    rng = random.Random(11)
    alphabet = [
        "a",
        "Z",
        "中",
        "\u00e9",
        '"',
        "\\",
        "\n",
        "\t",
        "\x00",
        "\x1f",
        "\x7f",
        "\u2028",
        "😀",
        "/",
        " ",
    ]

    def value(depth: int) -> Any:
        kind = rng.randrange(7 if depth < 3 else 4)
        if kind == 0:
            return rng.choice([None, True, False])
        if kind == 1:
            return rng.randrange(-(10**12), 10**12)
        if kind in (2, 3):
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
        if kind in (4, 5):
            return {
                "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 4))): value(depth + 1)
                for _ in range(rng.randrange(4))
            }
        return [value(depth + 1) for _ in range(rng.randrange(4))]

    values = [value(0) for _ in range(300)]
    answers = run_js([{"op": "canonical", "value": v} for v in values])
    assert answers == [sr1.canonical_json(v) for v in values]
