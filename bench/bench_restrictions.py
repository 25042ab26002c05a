"""Benchmark: the restrictions lookup on a 1,000,000-entity SQLite database (run by hand).

    python bench/bench_restrictions.py [--entities 1000000] [--entries 6000] [--clients 16]
                                       [--seconds 20] [--workers 2] [--port 8765] [--db PATH]

Set-up (not measured): the real migrations, then raw executemany inserts of the entities (one
legal representative in five holds two companies), list entries on both lists (listed, removed,
serious) and a liaison account. Then uvicorn serves the app on 127.0.0.1 only (`--workers`
processes), and `--clients` concurrent keep-alive connections ask, closed-loop (each sends its
next request when the answer to the last one arrived), for a bounded time:

  floor      GET /api/v1/credit-measures — the whole stack, no database, no token: the baseline
             of what the framework alone costs, measured in the same run
  auth/me    GET /api/v1/auth/me — the token check and the request's transaction
  lookup     GET /api/v1/entities/{uscc}/restrictions?measure=…&on=… — half of the asks about
             listed entities or their representatives' other companies, half about any entity;
             measures mixed, a fifth of them the legal-representative bar
  raw SQL    the lookup's queries in-process on one connection (no HTTP), for scale

The load comes from wrk (a C client: `apt-get install wrk`) so that the two shared CPUs go to
the server rather than to the load generator; without wrk, Python threads with http.client do
it (`--client python`), which eats about half a core and inflates the latencies.

Reported: requests/s, p50/p95/p99 latency, and the server's CPU time per request (all worker
processes, from /proc), per phase. The target is p95 < 20 ms for lookup with 16 clients.
"""

import argparse
import http.client
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
MEASURES = [
    "procurement",
    "bidding",
    "land",
    "honours",
    "credit_certificate",
    "honours_recommendation",
    "trademark_recommendation",
    "legal_rep_bar",
    "legal_rep_bar",
]
PASSWORD = "bench-password-1"


def setup(db: Path, entities: int, entries: int) -> tuple[list[str], list[str]]:
    """Fill a migrated database with raw inserts; return (all USCCs sample, interesting USCCs)."""
    from supervision.db import make_engine
    from supervision.migrate import upgrade
    from supervision.registry.uscc import make_uscc

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    rng = random.Random(1)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db)
    con.execute("INSERT INTO department VALUES ('SCJ','昌吉市市场监督管理局')")
    con.execute("INSERT INTO unit VALUES ('652301-01','第1所','SCJ',NULL)")
    seen: set[str] = set()
    codes: list[str] = []
    rows = []
    rep = 0
    while len(rows) < entities:
        code = make_uscc("9", rng.choice("12"), "652301", "".join(rng.choices(ALPHA, k=8)))
        if code in seen:
            continue
        seen.add(code)
        codes.append(code)
        # Every fifth representative holds a second company.
        if len(rows) % 5 != 1:
            rep += 1
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
                "51",
                "昌吉市市场监督管理局",
                "652301-01",
                "2015-01-01",
                "active",
                f"ID{rep:016d}",
                None,
                "B",
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
    listed = rng.sample(range(entities), entries)
    entry_rows = []
    for n, i in enumerate(listed):
        kind = "serious" if n % 6 == 0 else "abnormal"
        state = "removed" if n % 4 == 3 else "listed"
        decided = date(2024, 1, 2) + timedelta(days=n % 900)
        removed = decided + timedelta(days=200) if state == "removed" else None
        expires = decided.replace(year=decided.year + 3) if kind == "serious" else None
        reason = "serious_violation" if kind == "serious" else "unreachable"
        entry_rows.append(
            (
                kind,
                codes[i],
                reason,
                "2025",
                "listed",
                state,
                "manual",
                f"manual:{n}",
                decided.isoformat(),
                now,
                "bench",
                None,
                "",
                f"昌市监列〔{decided.year}〕{n}号",
                decided.isoformat(),
                "bench",
                "核实",
                "《企业信息公示暂行条例》",
                "昌吉市市场监督管理局",
                0,
                expires.isoformat() if expires else None,
                removed.isoformat() if removed else None,
            )
        )
    con.executemany(
        "INSERT INTO list_entry (list_kind,uscc,reason_code,rulebook,mode,state,source,source_ref,"
        "fact_on,proposed_at,proposed_by,decide_by,note,decision_no,decided_on,decided_by,"
        "decision_reason,legal_basis,authority,decision_late,expires_on,removed_on) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        entry_rows,
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()

    from sqlmodel import Session

    from supervision.accounts.service import UserCreate, create_user

    with Session(engine) as session:
        create_user(
            session,
            UserCreate(
                username="liaison", display_name="对接系统", password=PASSWORD, role="liaison"
            ),
            actor="bench",
        )
        session.commit()
    engine.dispose()
    interesting = [codes[i] for i in listed]
    # Their representatives' other companies (the neighbours that share an id number).
    interesting += [codes[i + 1] for i in listed if i + 1 < entities and (i + 1) % 5 == 1]
    return rng.sample(codes, min(50_000, entities)), interesting


def percentiles(ms: list[float]) -> str:
    if not ms:
        return "no requests"
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  p99 {q[98]:.2f} ms"


def load(port: int, token: str, paths: list[str], clients: int, seconds: float) -> tuple[list, int]:
    """`clients` threads, each with one keep-alive connection (http.client: a lean client, so
    the shared CPUs go to the server rather than to the load generator)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        bad = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop:
            path = rng.choice(paths)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ok = False
            mine.append((time.perf_counter() - t0) * 1000)
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


WRK_SCRIPT = """
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(tonumber(args[2]))
end
function request()
  return wrk.format("GET", paths[math.random(#paths)], HEADERS)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000))
end
"""


def load_wrk(
    port: int, token: str, paths: list[str], clients: int, seconds: float, workdir: Path
) -> tuple[float, str, int, int]:
    """wrk, one thread, `clients` connections: (req/s, percentiles text, requests, errors).
    An empty `token` sends no Authorization header (the public portal)."""
    script = workdir / "lookup.lua"
    headers = f'{{["Authorization"] = "Bearer {token}"}}' if token else "{}"
    script.write_text(WRK_SCRIPT.replace("HEADERS", headers))
    listing = workdir / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{clients}",
            f"-d{seconds:.0f}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(listing),
            "7",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    n, errors, micros, p50, p95, p99 = line.split()[1:]
    rate = int(n) / (int(micros) / 1e6)
    return (
        rate,
        f"p50 {float(p50):.2f} ms  p95 {float(p95):.2f} ms  p99 {float(p99):.2f} ms",
        int(n),
        int(errors),
    )


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and its worker processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return total / tick


def raw_sql(db: Path, codes: list[str], n: int = 20_000) -> list[float]:
    """The lookup's own queries, in-process, on one connection."""
    con = sqlite3.connect(db)
    rng = random.Random(3)
    out = []
    for _ in range(n):
        u = rng.choice(codes)
        t0 = time.perf_counter()
        rep = con.execute(
            "SELECT uscc,name,legal_rep_id_no FROM entity WHERE uscc=?", (u,)
        ).fetchone()
        con.execute(
            "SELECT * FROM list_entry JOIN entity ON entity.uscc=list_entry.uscc "
            "WHERE list_entry.uscc=? AND list_kind IN ('abnormal','serious') "
            "AND state IN ('listed','removed') AND decided_on<=?",
            (u, "2025-06-01"),
        ).fetchall()
        con.execute(
            "SELECT * FROM list_entry JOIN entity ON entity.uscc=list_entry.uscc "
            "WHERE entity.legal_rep_id_no=? AND list_kind='serious' "
            "AND state IN ('listed','removed') AND decided_on<=?",
            (rep[2], "2025-06-01"),
        ).fetchall()
        out.append((time.perf_counter() - t0) * 1000)
    con.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--entries", type=int, default=6_000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator (default: wrk when installed)",
    )
    ap.add_argument("--reuse", action="store_true", help="keep an existing --db (skip set-up)")
    args = ap.parse_args()
    import httpx

    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "bench.db"
    t0 = time.perf_counter()
    if args.reuse and db.exists():
        con = sqlite3.connect(db)
        codes = [r[0] for r in con.execute("SELECT uscc FROM entity ORDER BY random() LIMIT 50000")]
        interesting = [r[0] for r in con.execute("SELECT uscc FROM list_entry")]
        con.close()
    else:
        if db.exists():
            db.unlink()
        codes, interesting = setup(db, args.entities, args.entries)
    print(
        f"setup: {args.entities:,} entities, {args.entries:,} list entries "
        f"in {time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs shared by server and "
        f"clients; uvicorn workers: {args.workers}"
    )

    env = {"SUPERVISION_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        r = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "liaison", "password": PASSWORD}
        )
        token = r.json()["access_token"]
        rng = random.Random(2)
        days = ["2024-06-01", "2025-06-01", "2026-06-01", "2026-11-26"]
        paths = []
        for i in range(20_000):
            u = rng.choice(interesting) if i % 2 else rng.choice(codes)
            paths.append(
                f"/api/v1/entities/{u}/restrictions?measure={rng.choice(MEASURES)}"
                f"&on={rng.choice(days)}"
            )
        sample = httpx.get(base + paths[1], headers={"Authorization": f"Bearer {token}"})
        assert sample.status_code == 200, sample.text

        def run(todo: list[str], seconds: float) -> tuple[float, str, int, int]:
            if args.client == "wrk":
                return load_wrk(args.port, token, todo, args.clients, seconds, Path(tmp.name))
            lat, errors = load(args.port, token, todo, args.clients, seconds)
            return len(lat) / seconds, percentiles(lat), len(lat), errors

        run(paths[:200], 3)  # warm-up: every worker's connections, caches and statements
        phases = (
            ("floor (no DB)", ["/api/v1/credit-measures?on=2026-01-01"]),
            ("auth/me (app tx)", ["/api/v1/auth/me"]),
            ("lookup", paths),
        )
        print(f"client: {args.client}, {args.clients} concurrent connections, closed loop")
        for name, todo in phases:
            cpu0 = server_cpu_seconds(server.pid)
            rate, pct, n, errors = run(todo, args.seconds)
            cpu = (server_cpu_seconds(server.pid) - cpu0) * 1000 / max(n, 1)
            print(
                f"{name:18s} {rate:8.0f} req/s  {pct}  server CPU {cpu:.2f} ms/req  "
                f"({n:,} requests, {errors} not 200, {args.seconds:.0f} s)"
            )
        hits = sum(
            httpx.get(base + p, headers={"Authorization": f"Bearer {token}"}).json()["restricted"]
            for p in paths[:400]
        )
        print(f"restricted answers in a sample of 400 asks: {hits}")
    finally:
        server.terminate()
        server.wait(10)
    lat = raw_sql(db, codes)
    print(f"{'raw SQL (in-proc)':18s} {percentiles(lat)}  ({len(lat):,} lookups, one thread)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
