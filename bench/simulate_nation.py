"""Simulate a national batch on a registry distributed by province (hand-run, not a test).

    .venv/bin/python bench/simulate_nation.py [--entities 3100000] [--workdir /var/tmp/nation]

Citus is not installable on these machines (no package for Debian's PostgreSQL 15 here), so
the national shape of docs/scale.md is simulated with what it relies on: 31 shards, one per
province, each a database of its own (SQLite files, each an ordered table of its entities —
what a Citus worker's shard of `entity` returns for `ORDER BY uscc`), sized by the provinces'
approximate shares of the nation's market entities, with 0.5 % of entities registered in one
province and now living in another. The phases, each in a process of its own:

  generate  the synthetic registry: one file per shard, and the same rows in one file (the
            single-server baseline)
  single    the single server: its rows in USCC order → the freeze's writer (sr2: pool.tsv and
            strata.tsv, every salt derived from the code so both runs can be compared)
  merged    the coordinator: 31 ordered shard streams merged on the code
            (`supervision.planning.shards.merged_pool`) → the same writer
  route     lookups by credit code routed to one shard (`shard_of`: the movers' directory, then
            the code's province), each answered by that shard alone

It checks that the merged files are byte for byte the single server's (same SHA-256), that
every routed lookup finds its entity on the first shard asked, and extrapolates the merge's
time and the files' sizes to 180 million entities.
"""

import argparse
import hashlib
import json
import random
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervision.draw import sr1  # noqa: E402
from supervision.planning.freeze import write_pool_files  # noqa: E402
from supervision.planning.shards import code_province, merged_pool, shard_of  # noqa: E402
from supervision.registry.uscc import ALPHABET, make_uscc  # noqa: E402

PHASES = ["generate", "single", "merged", "route"]
NATION = 180_000_000
MOVERS = 0.005
# Approximate shares of the nation's market entities by province (rounded; the simulation
# needs the shape — one province near a tenth, several under one percent — not the census).
SHARES = {
    "44": 10.0, "37": 7.5, "32": 7.5, "33": 5.8, "41": 5.8, "51": 4.6, "13": 4.5, "42": 4.4,
    "34": 4.0, "35": 3.8, "43": 3.5, "45": 3.2, "53": 3.2, "61": 3.0, "21": 2.7, "36": 2.5,
    "50": 2.2, "14": 2.2, "52": 2.2, "31": 1.9, "46": 1.9, "23": 1.8, "22": 1.7, "15": 1.6,
    "65": 1.6, "62": 1.5, "11": 1.4, "12": 0.9, "64": 0.5, "63": 0.3, "54": 0.3,
}  # fmt: skip
STRATA = ("A", "B", "C", "D")
ORG_TYPES = (("1", 70), ("2", 25), ("3", 5))  # enterprises, individual businesses, co-ops


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _digits(n: int, width: int) -> str:
    """`n` in the code alphabet's base (31: GB 32100 leaves out I, O, S, V, Z), `width` long."""
    out = []
    for _ in range(width):
        n, d = divmod(n, len(ALPHABET))
        out.append(ALPHABET[d])
    return "".join(reversed(out))


def _salt(uscc: str) -> str:
    return hashlib.sha256(b"simulate_nation:" + uscc.encode()).hexdigest()[: sr1.SALT_LENGTH]


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    return db


def _ordered(path: Path):
    """A shard's entities in USCC order, streamed (the shard's own ordered scan)."""
    db = sqlite3.connect(path)
    try:
        yield from db.execute("SELECT uscc, stratum, unit FROM entity ORDER BY uscc")
    finally:
        db.close()


def phase_generate(args: argparse.Namespace) -> dict:
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("*.db"):
        old.unlink()
    rng = random.Random(18)
    total = sum(SHARES.values())
    schema = "CREATE TABLE entity (uscc TEXT PRIMARY KEY, stratum TEXT, unit TEXT) WITHOUT ROWID"
    single = _open(work / "single.db")
    single.execute(schema)
    shards = {p: _open(work / f"shard-{p}.db") for p in SHARES}
    for db in shards.values():
        db.execute(schema)
    movers: dict[str, str] = {}
    types, weights = zip(*ORG_TYPES, strict=True)
    started = time.perf_counter()
    for province, share in SHARES.items():
        by_home: dict[str, list[tuple[str, str, str]]] = {}
        for k in range(round(args.entities * share / total)):
            region = f"{province}{rng.randrange(1, 30):02d}{rng.randrange(1, 20):02d}"
            # Two random characters and the counter: unique within the province (and the
            # province is in the code's region), scattered in code order.
            body = "".join(rng.choices(ALPHABET, k=2)) + _digits(k, 6)
            uscc = make_uscc("9", rng.choices(types, weights)[0], region, body)
            home = province
            if rng.random() < MOVERS:  # registered here, now living elsewhere
                home = rng.choice([p for p in SHARES if p != province])
                movers[uscc] = home
            by_home.setdefault(home, []).append(
                (uscc, rng.choice(STRATA), f"{home}0100-{k % 16:02d}")
            )
        for home, rows in by_home.items():
            shards[home].executemany("INSERT INTO entity VALUES (?, ?, ?)", rows)
            single.executemany("INSERT INTO entity VALUES (?, ?, ?)", rows)
    for db in [single, *shards.values()]:
        db.commit()
        db.close()
    size = sqlite3.connect(work / "single.db").execute("SELECT count(*) FROM entity").fetchone()[0]
    (work / "movers.json").write_text(json.dumps(movers))
    return {
        "entities": size,
        "shards": len(shards),
        "largest_shard": max(
            sqlite3.connect(work / f"shard-{p}.db")
            .execute("SELECT count(*) FROM entity")
            .fetchone()[0]
            for p in SHARES
        ),
        "movers": len(movers),
        "seconds": time.perf_counter() - started,
    }


def _write(records, work: Path, name: str) -> dict:
    started = time.perf_counter()
    pool, paths = write_pool_files(records, work / name, sealed=True, salt=_salt)
    seconds = time.perf_counter() - started
    out = {
        "seconds": seconds,
        "entities": len(pool),
        "pool_sha256": pool.sha256,
        "strata_sha256": pool.strata_sha256,
        "pool_bytes": paths[0].stat().st_size,
        "strata_bytes": paths[1].stat().st_size,
        "peak_mb": _rss_mb(),
    }
    for path in paths:
        path.unlink()
    return out


def phase_single(args: argparse.Namespace) -> dict:
    work = Path(args.workdir)
    return _write(_ordered(work / "single.db"), work, "single")


def phase_merged(args: argparse.Namespace) -> dict:
    work = Path(args.workdir)
    streams = [_ordered(work / f"shard-{p}.db") for p in sorted(SHARES)]
    return _write(merged_pool(streams), work, "merged")


def phase_route(args: argparse.Namespace) -> dict:
    work = Path(args.workdir)
    movers = json.loads((work / "movers.json").read_text())
    shards = {p: sqlite3.connect(work / f"shard-{p}.db") for p in SHARES}
    single = sqlite3.connect(work / "single.db")
    codes = [r[0] for r in single.execute("SELECT uscc FROM entity ORDER BY random() LIMIT 100000")]
    codes += list(movers)[:1000]
    started = time.perf_counter()
    first_ask, by_code = 0, 0
    for uscc in codes:
        found = (
            shards[shard_of(uscc, movers)]
            .execute("SELECT unit FROM entity WHERE uscc = ?", (uscc,))
            .fetchone()
        )
        first_ask += found is not None
        by_code += code_province(uscc) == shard_of(uscc, movers)
    seconds = time.perf_counter() - started
    return {
        "lookups": len(codes),
        "found_on_first_shard": first_ask,
        "routed_by_code_alone": by_code,
        "us_per_lookup": seconds / len(codes) * 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entities", type=int, default=3_100_000)
    ap.add_argument("--workdir", default="/var/tmp/nation")
    ap.add_argument("--only", default=",".join(PHASES))
    ap.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(globals()[f"phase_{args.phase}"](args)))
        return
    results: dict[str, dict] = {}
    for phase in args.only.split(","):
        print(f"[{time.strftime('%H:%M:%S')}] {phase} …", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--phase", phase, "--entities", str(args.entities),
             "--workdir", args.workdir],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        results[phase] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {json.dumps(results[phase])}", file=sys.stderr, flush=True)
    report(results)


def report(r: dict[str, dict]) -> None:
    print(f"\n== a national batch in {len(SHARES)} province shards ==")
    if "single" in r and "merged" in r:
        s, m = r["single"], r["merged"]
        same = (s["pool_sha256"], s["strata_sha256"]) == (m["pool_sha256"], m["strata_sha256"])
        print(f"pool.tsv + strata.tsv, {m['entities']:,} entities: merged from the shards "
              f"{m['seconds']:.1f} s, {m['peak_mb']:.0f} MB; one server {s['seconds']:.1f} s, "
              f"{s['peak_mb']:.0f} MB; identical files: {same}")  # fmt: skip
        per = m["seconds"] / m["entities"]
        scale = NATION / m["entities"]
        print(f"extrapolated to {NATION:,}: merge and write {per * NATION / 60:.0f} min "
              f"(one core), pool.tsv {m['pool_bytes'] * scale / 1e9:.1f} GB, "
              f"strata.tsv {m['strata_bytes'] * scale / 1e9:.1f} GB")  # fmt: skip
        if not same:
            raise SystemExit("the merged files differ from the single server's")
    if "route" in r:
        q = r["route"]
        print(f"lookups by code: {q['found_on_first_shard']:,} of {q['lookups']:,} found on the "
              f"first shard asked ({q['routed_by_code_alone']:,} by the code alone, the rest "
              f"through the movers' directory), {q['us_per_lookup']:.0f} µs each")  # fmt: skip
        if q["found_on_first_shard"] != q["lookups"]:
            raise SystemExit("a lookup missed its shard")


if __name__ == "__main__":
    main()
