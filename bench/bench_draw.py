"""Benchmark: freeze, draw and persist a 1,000,000-entity batch on SQLite (run by hand).

    python bench/bench_draw.py [--entities 1000000] [--inspectors 200] [--percent 3]

The same batch is frozen, drawn and persisted on the same registry under sr1 and under sr2
(sealed strata: a salt and a tag per entity at freeze, salted entity tickets), each run in a
measuring process of its own on a fresh copy of the registry, --repeat times interleaved;
the fastest run of each protocol is reported, and the sr2/sr1 ratio.

Phases, each in the same process after a separate set-up process has filled the database:
  baseline   computing one SHA-256 entity ticket per pool entity with hashlib alone
  freeze     pool/roster/conflict queries → canonical TSV → params → commitment → storage
  protocol   sr1 selection + pairing on the frozen files (what the draw computes)
  draw       enter_entropy end to end: protocol + tasks and team places persisted
  bundle     export_bundle (rebuilds the state from the frozen files) + JSON
  verifier   the standalone verifier recomputing the whole bundle
Peak memory is the measuring process's maximum resident set size.
"""

import argparse
import hashlib
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UNITS = [f"652301-{n:02d}" for n in range(1, 17)]
ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def setup(db: Path, entities: int, inspectors: int) -> None:
    """Fill a migrated database quickly with raw inserts (not measured)."""
    from supervision.db import make_engine
    from supervision.migrate import upgrade
    from supervision.registry.uscc import make_uscc

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    rng = random.Random(1)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db)
    con.execute("INSERT INTO department VALUES ('SCJ','昌吉市市场监督管理局')")
    con.executemany(
        "INSERT INTO unit VALUES (?,?,?,NULL)",
        [(u, f"第{n}所", "SCJ") for n, u in enumerate(UNITS, 1)],
    )
    con.execute(
        "INSERT INTO inspection_item (code,name,legal_basis,department_code,object_type,content,"
        "methods,category,qualification,participating_departments,active) VALUES "
        "('SCJ-GS-001','企业公示信息检查','《企业信息公示暂行条例》','SCJ','企业','公示','desk',"
        "'general',NULL,'',1)"
    )
    seen: set[str] = set()
    rows = []
    while len(rows) < entities:
        code = make_uscc("9", rng.choice("12"), "652301", "".join(rng.choices(ALPHA, k=8)))
        if code in seen:
            continue
        seen.add(code)
        r = rng.random()
        risk = "A" if r < 0.3 else "B" if r < 0.8 else "C" if r < 0.95 else "D"
        rows.append(
            (
                code,
                1,
                f"主体{len(rows)}",
                "enterprise",
                "张三",
                "昌吉市",
                None,
                "652301",
                "F51",
                "昌吉市市场监督管理局",
                rng.choice(UNITS),
                "2015-01-01",
                "active",
                None,
                None,
                risk,
                now,
                now,
            )
        )
    con.executemany(
        "INSERT INTO entity (uscc,uscc_check_ok,name,entity_type,legal_rep,registered_address,"
        "business_address,region_code,industry_code,registration_authority,supervising_unit,"
        "established_on,status,legal_rep_id_no,phone,risk_class,created_at,updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.executemany(
        "INSERT INTO inspector (badge_no,name,department_code,unit_code,qualifications,active,"
        "is_expert,cert_valid_until,phone,created_at,updated_at) VALUES (?,?,?,?,?,1,0,NULL,NULL,?,?)",
        [
            (
                f"652301{n:05d}",
                f"检查员{n}",
                "SCJ",
                UNITS[n % 16],
                "food" if n % 3 == 0 else "",
                now,
                now,
            )
            for n in range(inspectors)
        ],
    )
    ids = [r[0] for r in con.execute("SELECT id FROM inspector")]
    ents = [r[0] for r in con.execute("SELECT id FROM entity ORDER BY random() LIMIT 300")]
    con.executemany(
        "INSERT INTO conflict_declaration (inspector_id,entity_id,reason,valid_from,declared_at) "
        "VALUES (?,?,'近亲属','2020-01-01',?)",
        [(rng.choice(ids), e, now) for e in ents],
    )
    con.commit()
    con.close()


def measure(db: Path, percent: str, protocol: str) -> dict:
    from supervision.clock import FixedClock
    from supervision.db import make_engine, transaction
    from supervision.draw import sr1
    from supervision.draw.verify import verify_bundle
    from supervision.planning import bundle, drawing, freeze, service
    from supervision.planning import schemas as s
    from supervision.storage.service import get_bytes

    engine = make_engine(f"sqlite:///{db}")
    clock = FixedClock(datetime(2026, 11, 26, 2, tzinfo=UTC))
    storage = db.parent / "files"
    out: dict = {}
    code = f"B-{protocol}"
    with transaction(engine) as session:
        from sqlmodel import select

        from supervision.planning.models import Plan

        if session.exec(select(Plan).where(Plan.code == "P")).first() is None:
            service.create_plan(
                session,
                s.PlanCreate(code="P", year=2026, name="计划", authority="局"),
                actor="bench",
                clock=clock,
            )
        body = s.BatchCreate(
            code=code,
            name="百万级基准批次",
            initiating_department="SCJ",
            item_codes=["SCJ-GS-001"],
            quotas={k: s.StratumQuota(percent=percent) for k in "ABCD"},
            team=[s.TeamSlot(group="SCJ", count=2)],
            cross_unit=True,
            exclusion=s.BatchExclusion(low_risk_once_per_year=False),
            window_start=date(2026, 12, 1),
            window_end=date(2026, 12, 31),
            entropy_plan="基准测试",
            # Announced a day ahead: frozen now, drawn at the ceremony (the clock walks).
            ceremony_at=clock.now() + timedelta(days=1),
        )
        service.create_batch(session, "P", body, actor="bench", clock=clock)
    with transaction(engine) as session:
        t, cpu = time.perf_counter(), time.process_time()
        c, _ = freeze.freeze_batch(
            session, code, actor="bench", clock=clock, storage=storage, protocol=protocol
        )
        out["freeze_s"] = time.perf_counter() - t
        out["freeze_cpu_s"] = time.process_time() - cpu
        out["pool_size"] = c.pool_size
    entropy = ["3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"]
    pool_b = get_bytes(storage, c.pool_sha256)
    seed = sr1.seed(c.commitment, entropy)
    usccs = sr1.parse_pool(pool_b).usccs
    t = time.perf_counter()
    for u in usccs:
        hashlib.sha256((seed + ":E:" + u).encode()).hexdigest()
    out["baseline_hashlib_s"] = time.perf_counter() - t
    t = time.perf_counter()
    state = drawing.sr1_draw(storage, c, entropy)
    out["protocol_s"] = time.perf_counter() - t
    out["pairing_tickets"] = state.stats.inspector_tickets
    out["selected"] = len(state.selected())
    del state  # the service's draw below builds its own: do not count two draws in memory
    clock.advance(days=1)  # the ceremony
    with transaction(engine) as session:
        t, cpu = time.perf_counter(), time.process_time()
        d = drawing.enter_entropy(
            session, code, entropy, actor="bench", clock=clock, storage=storage
        )
        out["draw_total_s"] = time.perf_counter() - t
        out["draw_cpu_s"] = time.process_time() - cpu
        out["unassigned"] = d.unassigned_count
    with transaction(engine) as session:
        t = time.perf_counter()
        files = bundle.export_bundle(session, code, storage=storage)
        text = json.dumps(files.bundle, ensure_ascii=False)
        out["bundle_s"] = time.perf_counter() - t
        out["bundle_mb"] = len(text.encode()) / 1e6
    t = time.perf_counter()
    result = verify_bundle(json.loads(text), files.pool, files.roster, None)
    out["verifier_s"] = time.perf_counter() - t
    out["verified"] = result.ok
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def report(r: dict, inspectors: int, protocol: str) -> float:
    persist = r["draw_total_s"] - r["protocol_s"]
    print(
        f"\n== {protocol}: pool {r['pool_size']:,} · selected {r['selected']:,} · unassigned "
        f"{r['unassigned']}"
    )
    print(f"{'phase':<34}{'seconds':>10}")
    rows = [
        ("baseline: 1 hashlib ticket/entity", r["baseline_hashlib_s"]),
        ("freeze (pool→TSV→commitment)", r["freeze_s"]),
        ("protocol: selection + pairing", r["protocol_s"]),
        ("persist tasks (draw − protocol)", persist),
        ("draw total (entropy → tasks)", r["draw_total_s"]),
        ("freeze + draw + persist", r["freeze_s"] + r["draw_total_s"]),
        ("bundle export", r["bundle_s"]),
        ("standalone verifier", r["verifier_s"]),
    ]
    for name, sec in rows:
        print(f"{name:<34}{sec:>10.2f}")
    print(
        f"pairing tickets computed: {r['pairing_tickets']:,} "
        f"(naive: {r['selected'] * inspectors:,} upper bound)"
    )
    print(f"bundle.json {r['bundle_mb']:.1f} MB · verified: {r['verified']}")
    print(f"peak memory (measuring process): {r['peak_rss_mb']:.0f} MB")
    return r["freeze_s"] + r["draw_total_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--inspectors", type=int, default=200)
    ap.add_argument("--percent", default="3")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each protocol, interleaved")
    ap.add_argument("--phase", choices=["setup", "measure"], help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--protocol", default="sr1", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase == "setup":
        setup(Path(args.db), args.entities, args.inspectors)
        return
    if args.phase == "measure":
        print(json.dumps(measure(Path(args.db), args.percent, args.protocol)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                "setup",
                "--db",
                str(db),
                "--entities",
                str(args.entities),
                "--inspectors",
                str(args.inspectors),
            ],
            check=True,
        )
        print(
            f"set-up ({args.entities:,} entities, {args.inspectors} inspectors): "
            f"{time.perf_counter() - t:.1f} s"
        )
        # The machine is shared and noisy: each protocol is measured --repeat times,
        # interleaved, each run on a fresh copy of the same registry; the fastest run of
        # each is reported (the least disturbed), and the ratio of the two.
        best: dict[str, dict] = {}
        cpus: dict[str, list[float]] = {}
        for n in range(args.repeat):
            for protocol in ("sr1", "sr2"):
                run = Path(tmp) / f"run-{n}-{protocol}"
                run.mkdir()
                shutil.copy(db, run / "bench.db")
                res = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--phase",
                        "measure",
                        "--db",
                        str(run / "bench.db"),
                        "--percent",
                        args.percent,
                        "--protocol",
                        protocol,
                    ],
                    capture_output=True,
                    text=True,
                )
                if res.returncode:
                    sys.exit(res.stderr)
                r = json.loads(res.stdout.strip().splitlines()[-1])
                total = r["freeze_s"] + r["draw_total_s"]
                cpu = r["freeze_cpu_s"] + r["draw_cpu_s"]
                print(
                    f"run {n + 1} {protocol}: freeze + draw + persist {total:.2f} s "
                    f"(CPU {cpu:.2f} s)"
                )
                if protocol not in best or total < best[protocol]["total"]:
                    best[protocol] = {**r, "total": total}
                cpus.setdefault(protocol, []).append(cpu)
                shutil.rmtree(run)
        totals = {p: report(best[p], args.inspectors, p) for p in ("sr1", "sr2")}
    print(
        f"\nfreeze + draw + persist, sr2 / sr1 (fastest of {args.repeat} each): "
        f"{totals['sr2'] / totals['sr1']:.2f}x (goal <= 1.2x)"
    )
    cpu = {p: min(v) for p, v in cpus.items()}
    print(
        f"the same in CPU time of the measuring process (least CPU of {args.repeat} each): "
        f"sr1 {cpu['sr1']:.2f} s, sr2 {cpu['sr2']:.2f} s, {cpu['sr2'] / cpu['sr1']:.2f}x"
    )


if __name__ == "__main__":
    main()
