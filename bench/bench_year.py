"""Benchmark: the demo year lived through the services, on SQLite (run by hand).

    python bench/bench_year.py [--year 2026] [--until 2026-12-07] [--entities N]

Two commands, each in a child process of its own on a fresh database and file store, run as a
newcomer runs them:
  baseline   `supervision demo`            the city alone (generate, import, two batches,
                                           the listings due): what the year adds to
  year       `supervision demo --year Y`   the city on the year's eve, the year lived, then
                                           every bundle checked by its own verify.py
Reported: wall time, the child's peak resident memory (its verify.py children are separate
processes, reported with it as the maximum over the children), and the year's own phases as
its progress lines show them. Goal: the year in under five minutes on two cores.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPERVISION = Path(sys.executable).parent / "supervision"


def _run(args: list[str], work: Path) -> tuple[float, float, str]:
    env = {
        **os.environ,
        "SUPERVISION_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "SUPERVISION_STORAGE_DIR": str(work / "files"),
    }
    # A wrapper process per command: its RUSAGE_CHILDREN is that command's tree alone.
    script = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr);"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024;"
        "print(f'@@ {time.perf_counter() - t:.1f} {m:.0f}', file=sys.stderr);"
        "sys.exit(r.returncode)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(SUPERVISION), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    wall, peak = re.search(r"@@ ([\d.]+) (\d+)", done.stderr).groups()
    return float(wall), float(peak), done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=time.localtime().tm_year)
    parser.add_argument("--until", default=None, help="the last day lived (default: today)")
    parser.add_argument("--entities", type=int, default=None)
    args = parser.parse_args()
    size = ["--entities", str(args.entities)] if args.entities else []
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        base_wall, base_peak, _ = _run(["demo", *size], Path(a))
        year = ["demo", "--year", str(args.year), *size]
        if args.until:
            year += ["--until", args.until]
        wall, peak, out = _run(year, Path(b))
    stamps = {
        name: float(m.group(1))
        for name, pattern in (
            ("city", r"\[\s*(\d+) s\] \d{4}-01 "),
            ("lived", r"\[\s*(\d+) s\] 核验"),
        )
        if (m := re.search(pattern, out))
    }
    print(
        f"baseline  supervision demo (the city alone)     {base_wall:7.1f} s  {base_peak:6.0f} MB"
    )
    print(f"year      supervision demo --year {args.year}         {wall:7.1f} s  {peak:6.0f} MB")
    if len(stamps) == 2:
        print(
            f"          city {stamps['city']:.0f} s · the year "
            f"{stamps['lived'] - stamps['city']:.0f} s · bundle checks "
            f"{wall - stamps['lived']:.0f} s (progress stamps, whole seconds)"
        )
    for line in out.splitlines():
        if line.startswith(f"{args.year}年") or line.startswith("结果包核验"):
            print("         ", line)
    print(f"goal: the year under 300 s — {'met' if wall < 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
