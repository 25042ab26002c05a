"""Hand-run benchmark of the pure sr1 protocol at the design size (not a test).

    .venv/bin/python bench/bench_draw_core.py                 # 1,000,000 entities
    .venv/bin/python bench/bench_draw_core.py --entities 50000

Generates a pool (strata A/B/C/D at 30/50/15/5 %, 16 units), a 200-inspector roster in two
departments and a few hundred conflicts; draws 3 % per stratum for a single-department team
and for a joint team; and times each stage against the floor of hashing one ticket per entity.
Goals: selection within 1.5x of that floor, the standalone verifier under 60 s.
"""

import argparse
import hashlib
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from supervision.draw import sr1, standalone_verifier_source
from supervision.registry.uscc import ALPHABET, make_uscc

T = TypeVar("T")
UNITS = [f"652301-{n:02d}" for n in range(1, 17)]
STRATA = {"A": 30, "B": 50, "C": 15, "D": 5}
QUALIFICATIONS = ("drug", "food", "price", "special-equipment")
CONFIGS = {
    "SCJ x2": {
        "team": [{"group": "SCJ", "count": 2, "qualification": None}],
        "max_load": None,
    },
    "SCJ x2 + WJW food x1": {
        "team": [
            {"group": "SCJ", "count": 2, "qualification": None},
            {"group": "WJW", "count": 1, "qualification": "food"},
        ],
        "max_load": 700,
    },
}
ENTROPY = ["3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6", "体彩排列5 第2026321期: 7 0 3 9 1"]


class TimedDraw(sr1.Draw):
    """Draw that notes when selection starts and ends, so pairing can be timed apart."""

    def _initial_selection(self) -> list[tuple[bytes, str]]:
        self.selection_started = time.perf_counter()
        chosen = super()._initial_selection()
        self.selection_ended = time.perf_counter()
        return chosen


def timed(step: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def make_pool(n: int, rnd: random.Random) -> list[tuple[str, str, str]]:
    codes: set[str] = set()
    while len(codes) < n:
        codes.add(make_uscc("9", "1", "652301", "".join(rnd.choices(ALPHABET[:10], k=8))))
    strata = rnd.choices(list(STRATA), weights=list(STRATA.values()), k=n)
    return [(u, s, rnd.choice(UNITS)) for u, s in zip(codes, strata, strict=True)]


def make_roster(rnd: random.Random) -> list[tuple[str, str, str, list[str]]]:
    scj = [
        (f"6523010{n:04d}", "SCJ", UNITS[n % 16], rnd.sample(QUALIFICATIONS, rnd.randint(0, 2)))
        for n in range(140)
    ]
    wjw = [
        (
            f"6523012{n:04d}",
            "WJW",
            f"652301-WJW-{n % 4}",
            rnd.sample(QUALIFICATIONS, rnd.randint(0, 2)),
        )
        for n in range(60)
    ]
    return scj + wjw


def naive_ticket_count(draw: sr1.Draw, roster: list[sr1.Inspector], pool: sr1.Pool) -> int:
    """Tickets the literal rule would hash: one per eligible inspector per slot.

    Replays the loads with set algebra instead of hashing. For an unassigned entity the
    members picked before the failing slot are unknown, so its count may be a little high.
    """
    params = draw.params
    unit_of = dict(zip(pool.usccs, pool.units, strict=True)) if params["cross_unit"] else {}
    same_unit: dict[str, set[str]] = {}
    for inspector in roster:
        same_unit.setdefault(inspector.unit, set()).add(inspector.inspector_id)
    bases = [
        {
            i.inspector_id
            for i in roster
            if i.group == slot["group"]
            and (slot["qualification"] is None or slot["qualification"] in i.qualifications)
        }
        for slot in params["team"]
    ]
    conflicts = draw.excluded_by_conflict()
    load = dict.fromkeys(draw.loads, 0)
    count = 0
    for entry in draw.selected():
        full = {i for i, n in load.items() if n >= (params["max_load"] or 1 << 60)}
        blocked = same_unit.get(unit_of.get(entry["uscc"]), set()) | full
        blocked |= set(conflicts.get(entry["uscc"], ()))
        offset = 0
        for slot, base in zip(params["team"], bases, strict=True):
            eligible = len(base - blocked - set(entry["team"][:offset]))
            count += eligible
            if eligible < slot["count"]:
                break
            offset += slot["count"]
        for inspector in entry["team"]:
            load[inspector] += 1
    return count


def write_bundle(folder: Path, files: dict[str, bytes], bundle: dict[str, Any]) -> None:
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "bundle.json").write_text(sr1.canonical_json(bundle), encoding="utf-8")


# Runs the script as __main__ and reports its own peak memory: a child's ru_maxrss would
# count the benchmark's pages it inherited before exec. VmHWM is per address space.
PEAK_MEMORY_WRAPPER = """
import runpy, sys
script, folder = sys.argv[1:]
sys.argv = [script, folder]
try:
    runpy.run_path(script, run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM")), file=sys.stderr)
sys.exit(code)
"""


def run_standalone(script: Path, folder: Path) -> int:
    """Run the downloadable verifier on the folder; return its peak memory in kB."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", PEAK_MEMORY_WRAPPER, str(script), str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"the verifier rejected the bundle:\n{done.stdout}{done.stderr}")
    return int(done.stderr.split()[-1])


def bench_config(
    name: str,
    config: dict[str, Any],
    files: dict[str, bytes],
    parsed: tuple[sr1.Pool, list[sr1.Inspector], list[tuple[str, str]]],
    workdir: Path,
    script: Path,
) -> list[tuple[str, float, str]]:
    pool, roster, conflict_pairs = parsed
    rows: list[tuple[str, float, str]] = []
    quotas = {s: sr1.quota_from_ratio(n, "3") for s, n in pool.stratum_sizes().items()}
    base = {
        "protocol": "sr1",
        "batch": f"BENCH-{len(pool)}",
        "quotas": quotas,
        "team": config["team"],
        "cross_unit": True,
        "max_load": config["max_load"],
        "entropy_plan": "benchmark",
    }
    params, seconds = timed(
        lambda: sr1.build_params(
            base, files["pool.tsv"], files["roster.tsv"], files["conflicts.tsv"]
        )
    )
    rows.append(("build_params (parse + digests)", seconds, ""))
    conflicts = sr1.conflicts_by_entity(conflict_pairs)
    # Timed right before the draw, so that both see the same load on the machine.
    seed = sr1.H(name)
    _, baseline = timed(
        lambda: [hashlib.sha256((seed + ":E:" + u).encode()).hexdigest() for u in pool.usccs]
    )
    rows.append(("  baseline: 1 hashlib ticket per entity", baseline, ""))
    started = time.perf_counter()
    draw = TimedDraw(params, ENTROPY, pool, roster, conflicts)
    ended = time.perf_counter()
    selection = draw.selection_ended - draw.selection_started
    rows.append(("  set-up (check params, seed)", draw.selection_started - started, ""))
    rows.append(
        (
            f"  selection ({sum(quotas.values()):,} of {len(pool):,})",
            selection,
            f"{selection / baseline:.2f}x baseline",
        )
    )
    naive = naive_ticket_count(draw, roster, pool)
    unassigned = sum(entry["unassigned"] for entry in draw.selected())
    rows.append(
        (
            "  pairing",
            ended - draw.selection_ended,
            f"{draw.stats.inspector_tickets:,} tickets vs {naive:,} naive; {unassigned} unassigned",
        )
    )
    loads = [n for n in draw.loads.values() if n]
    rows.append(("", 0.0, f"loads of paired inspectors: {min(loads)}..{max(loads)}"))
    _, seconds = timed(lambda: apply_events(draw))
    rows.append(("10 events (5 recuse, 5 replace)", seconds, ""))
    bundle = draw.to_bundle()
    text, seconds = timed(lambda: sr1.canonical_json(bundle).encode())
    rows.append(("bundle serialisation", seconds, f"{len(text) / 1e6:.1f} MB"))
    folder = workdir / name.replace(" ", "_").replace("+", "")
    write_bundle(folder, files, bundle)
    peak_kb, seconds = timed(lambda: run_standalone(script, folder))
    rows.append(
        (
            "standalone verifier (python3 -I)",
            seconds,
            f"exit 0, peak memory {peak_kb / 1024:,.0f} MB",
        )
    )
    return rows


def apply_events(draw: sr1.Draw) -> None:
    final = draw.final()
    seq = 0
    for entry in final[:5]:
        if entry["team"]:
            seq += 1
            draw.apply_event(
                {
                    "seq": seq,
                    "type": "recuse",
                    "uscc": entry["uscc"],
                    "inspector": entry["team"][0],
                    "reason": "回避",
                }
            )
    for entry in final[5:10]:
        seq += 1
        draw.apply_event(
            {"seq": seq, "type": "replace_entity", "uscc": entry["uscc"], "reason": "已注销"}
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--conflicts", type=int, default=300)
    parser.add_argument("--random-seed", type=int, default=20261201)
    args = parser.parse_args()
    rnd = random.Random(args.random_seed)

    print(
        f"Python {sys.version.split()[0]}: generating {args.entities:,} entities, "
        f"200 inspectors, {args.conflicts} conflicts…"
    )
    pool_records = make_pool(args.entities, rnd)
    roster_records = make_roster(rnd)
    conflict_pairs = {
        (rnd.choice(roster_records)[0], rnd.choice(pool_records)[0]) for _ in range(args.conflicts)
    }

    rows: list[tuple[str, float, str]] = []
    pool_bytes, seconds = timed(lambda: sr1.encode_pool(pool_records))
    rows.append(("encode pool.tsv", seconds, f"{len(pool_bytes) / 1e6:.1f} MB"))
    pool_records.clear()  # only the encoded file is needed from here on
    files = {
        "pool.tsv": pool_bytes,
        "roster.tsv": sr1.encode_roster(roster_records),
        "conflicts.tsv": sr1.encode_conflicts(conflict_pairs),
    }
    pool, seconds = timed(lambda: sr1.parse_pool(pool_bytes))
    rows.append(("parse pool.tsv", seconds, ""))
    _, seconds = timed(lambda: sr1.digest_bytes(pool_bytes))
    rows.append(("digest pool.tsv", seconds, ""))
    parsed = (
        pool,
        sr1.parse_roster(files["roster.tsv"]),
        sr1.parse_conflicts(files["conflicts.tsv"]),
    )

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        script = workdir / "verify.py"
        script.write_text(standalone_verifier_source(), encoding="utf-8")
        for name, config in CONFIGS.items():
            rows.append((f"[{name}]", 0.0, ""))
            rows += bench_config(name, config, files, parsed, workdir, script)

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{'stage':<42}{'seconds':>9}  note")
    print("-" * 96)
    for label, seconds, note in rows:
        shown = f"{seconds:9.2f}" if seconds else " " * 9
        print(f"{label:<42}{shown}  {note}")
    print("-" * 96)
    print(f"peak memory of the benchmark process (ru_maxrss): {own:,.0f} MB")


if __name__ == "__main__":
    main()
