"""Load test (run by hand, loopback only, bounded in time): four app workers on PostgreSQL,
mixed public reads and staff writes for three minutes.

    python bench/bench_load.py [--postgres URL] [--seconds 180] [--workers 4] [--clients 8]

A scratch database is created on the PostgreSQL server, migrated and filled with the demo
city through the product's own command (`supervision demo --entities N`), served by uvicorn
with N workers, and driven by client threads (keep-alive connections) for the given time:
public pages and JSON (home, search, an entity's record, a drawn batch's page, lists,
statistics) and staff writes through the API (new annual plans; list proposals for distinct
entities). Reported: requests and errors per endpoint with p50/p95/p99, and the count check —
every write the server acknowledged (201) is in the database, and nothing more. The scratch
database is dropped at the end.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "demo-password"


def _scratch(url: str) -> tuple[str, object]:
    from sqlalchemy import create_engine, make_url, text

    base = make_url(url)
    name = f"sv_load_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return base.set(database=name).render_as_string(hide_password=False), (admin, name)


def _drop(handle) -> None:
    from sqlalchemy import text

    admin, name = handle
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--entities", type=int, default=5000)
    ap.add_argument("--port", type=int, default=8791)
    args = ap.parse_args()
    import httpx
    from sqlalchemy import create_engine, text

    url, handle = _scratch(args.postgres)
    storage = Path(f"/tmp/sv-load-{os.getpid()}")
    env = {
        **os.environ,
        "SUPERVISION_DATABASE_URL": url,
        "SUPERVISION_STORAGE_DIR": str(storage / "files"),
        "SUPERVISION_PUBLIC_URL": f"http://127.0.0.1:{args.port}",
    }
    cli = [str(Path(sys.executable).parent / "supervision")]
    t0 = time.perf_counter()
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "demo", "--entities", str(args.entities)], env=env, check=True, capture_output=True
    )
    print(f"set-up: scratch database, demo city of {args.entities:,} entities in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    engine = create_engine(url)
    with engine.connect() as conn:
        usccs = [r[0] for r in conn.execute(text("SELECT uscc FROM entity ORDER BY uscc"))]
        names = [r[0] for r in conn.execute(text("SELECT name FROM entity LIMIT 2000"))]
        drawn = conn.execute(
            text("SELECT code FROM batch WHERE state IN ('drawn','in_progress') LIMIT 1")
        ).scalar_one()
        listed = {
            r[0] for r in conn.execute(text("SELECT uscc FROM list_entry WHERE state IN ('proposed','listed')"))
        }  # fmt: skip
    free = [u for u in usccs if u not in listed]
    random.Random(5).shuffle(free)

    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
         "--port", str(args.port), "--workers", str(args.workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{args.port}"
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    acknowledged = {"plans": [], "proposals": []}
    lock = threading.Lock()
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "planner", "password": PASSWORD}
        ).json()["access_token"]
        staff = {"Authorization": f"Bearer {token}"}
        free_iter = iter(free)
        counter = iter(range(10**9))

        def request(rng: random.Random) -> tuple[str, str, str, dict | None]:
            """(label, method, path, json) of the next call: mostly public reads."""
            pick = rng.random()
            if pick < 0.12:
                return "GET /", "GET", "/", None
            if pick < 0.30:
                frag = rng.choice(names)[3:5]
                return "GET /entities?q=", "GET", f"/entities?q={frag}", None
            if pick < 0.48:
                return "GET /entities/{uscc}", "GET", f"/entities/{rng.choice(usccs)}", None
            if pick < 0.60:
                return (
                    "GET /batches/{code}",
                    "GET",
                    f"/batches/{drawn}?page={rng.randint(1, 3)}",
                    None,
                )
            if pick < 0.70:
                q = rng.choice(names)[3:6]
                return "GET /api/v1/public/entities", "GET", f"/api/v1/public/entities?q={q}", None
            if pick < 0.76:
                return "GET /lists", "GET", "/lists", None
            if pick < 0.80:
                return "GET /statistics", "GET", "/statistics", None
            if pick < 0.90:
                n = next(counter)
                body = {"code": f"LOAD-{n}", "year": 2027, "name": f"负载测试计划{n}",
                        "authority": "昌吉市市场监督管理局"}  # fmt: skip
                return "POST /api/v1/plans", "POST", "/api/v1/plans", body
            with lock:
                uscc = next(free_iter, None)
            if uscc is None:
                return "GET /", "GET", "/", None
            body = {"list_kind": "abnormal", "uscc": uscc, "reason_code": "unreachable",
                    "fact_on": "2026-11-20"}  # fmt: skip
            return "POST /api/v1/enforcement/entries", "POST", "/api/v1/enforcement/entries", body

        deadline = time.monotonic() + args.seconds

        def client(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=base, timeout=30) as http:
                while time.monotonic() < deadline:
                    label, method, path, body = request(rng)
                    headers = staff if method == "POST" else {}
                    t = time.perf_counter()
                    try:
                        r = http.request(method, path, json=body, headers=headers)
                        status = r.status_code
                    except httpx.HTTPError as exc:
                        status, r = 0, exc
                        with lock:
                            errors["(transport)"].append(type(exc).__name__)
                    took = time.perf_counter() - t
                    with lock:
                        lat[label].append(took)
                        expected = 201 if method == "POST" else 200
                        if status != expected:
                            errors[label].append(f"{status}")
                        elif label == "POST /api/v1/plans":
                            acknowledged["plans"].append(body["code"])
                        elif method == "POST":
                            acknowledged["proposals"].append(body["uscc"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        started = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    total = sum(len(v) for v in lat.values())
    print(f"\n{args.clients} clients, {args.workers} workers on PostgreSQL, {elapsed:.0f} s: "
          f"{total:,} requests, {total / elapsed:.0f} req/s, "
          f"{sum(len(v) for v in errors.values())} errors")  # fmt: skip
    print(f"{'endpoint':<36}{'n':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for label in sorted(lat):
        xs = sorted(lat[label])
        q = statistics.quantiles(xs, n=100) if len(xs) >= 2 else [xs[0] * 1000] * 99
        print(f"{label:<36}{len(xs):>8}{len(errors[label]):>8}"
              f"{q[49] * 1000:>9.1f}{q[94] * 1000:>9.1f}{q[98] * 1000:>9.1f}")  # fmt: skip
    for label, codes in errors.items():
        if codes:
            print(f"  errors on {label}: {sorted(set(codes))[:5]}")
    with engine.connect() as conn:
        plans = {r[0] for r in conn.execute(text("SELECT code FROM plan WHERE code LIKE 'LOAD-%'"))}
        proposals = {
            r[0] for r in conn.execute(text(
                "SELECT uscc FROM list_entry WHERE source = 'manual' AND fact_on = '2026-11-20'"
            ))
        }  # fmt: skip
    engine.dispose()
    ok_plans = plans == set(acknowledged["plans"])
    ok_props = proposals == set(acknowledged["proposals"])
    print(f"count check: plans acknowledged {len(acknowledged['plans']):,}, in the database "
          f"{len(plans):,} ({'equal' if ok_plans else 'DIFFERENT'}); proposals acknowledged "
          f"{len(acknowledged['proposals']):,}, in the database {len(proposals):,} "
          f"({'equal' if ok_props else 'DIFFERENT'})")  # fmt: skip
    _drop(handle)


if __name__ == "__main__":
    main()
