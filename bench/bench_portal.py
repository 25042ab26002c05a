"""Benchmark: the public portal on a 1,000,000-entity SQLite database (run by hand).

    python bench/bench_portal.py [--entities 1000000] [--clients 16] [--seconds 20]
                                 [--workers 2] [--port 8766] [--db PATH] [--reuse]

Set-up (timed, not part of the load): the real migrations; raw inserts of a million entities
with Chinese names built from a few hundred words (so fragments repeat as they do in a real
registry) — the search index is filled by its triggers as for any insert; 800 inspectors;
then, through the product's services, a batch drawn at 1/3/5/10 % by risk class (sr2, about
30,000 tasks); 2,000 of its results published (rows written directly: the inspection path is
not what is measured); the draw notice PDF and the bundle built once (their build times are
reported: afterwards they are served from storage).

Then uvicorn serves the app on 127.0.0.1 (`--workers` processes) and `--clients` concurrent
keep-alive connections (Python threads with http.client) ask, closed loop, for `--seconds`
per phase:

  floor            GET /api/v1/credit-measures — the stack without the database, same run
  search fragment  GET /entities?q=<2–4 characters of a real name>
  search USCC      GET /entities?q=<an 18-character code> (answers 303 to the record)
  entity page      GET /entities/<uscc> (half of them with a published result)
  batch page       GET /batches/<code>?page=<1..300> of the 30,000-task batch
  draw PDF         GET …/draw.pdf (cached)      — time to first byte and to the last
  bundle.json      GET …/bundle.json (cached)   — idem

Then the two verifiers on the batch's public bundle (no strata.tsv, as a citizen has it): the
standalone verify.py (`python3 verify.py DIR`) and the in-browser verifier's code under Node
(tests/js/run.cjs), each run twice, the faster reported.

Targets (issue 13): fragment p95 < 100 ms, USCC p95 < 20 ms, entity page p95 < 50 ms, batch
page p95 < 100 ms, cached PDF and bundle p95 < 50 ms to first byte, the browser verifier
within 2x the Python one.
"""

import argparse
import http.client
import json
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
sys.path.insert(0, str(ROOT / "bench"))

from bench_restrictions import load_wrk, server_cpu_seconds  # noqa: E402

UNITS = [f"652301-{n:02d}" for n in range(1, 17)]
ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PLACES = ["昌吉市", "昌吉", "新疆", "天山", "庭州", "准噶尔", "北庭", "西域", "丝路", "雪莲"]
WORDS = (
    "金鑫泰丰华盛兴隆瑞祥和安康宏伟达通源茂昌永福润德鸿运恒信诚嘉佳美新宇星辰光明"
    "阳春晨曦绿洲果园葡萄棉花牧业乳品面粉馕坊拉面烤肉干果蜂蜜枸杞红枣番茄辣椒"
)
TRADES = [
    "商贸",
    "餐饮",
    "建材",
    "物流",
    "农业",
    "科技",
    "服装",
    "食品",
    "汽修",
    "电子",
    "文化",
    "装饰",
]
FORMS = ["有限公司", "有限责任公司", "商行", "店", "经营部", "农民专业合作社", "个体工商户"]
CODE = "P-PORTAL"


def _name(rng: random.Random) -> str:
    core = "".join(rng.choice(WORDS) for _ in range(rng.choice((2, 2, 3, 4))))
    return f"{rng.choice(PLACES)}{core}{rng.choice(TRADES)}{rng.choice(FORMS)}"


def setup(db: Path, entities: int, inspectors: int) -> dict:
    from supervision.db import make_engine
    from supervision.migrate import upgrade
    from supervision.registry.uscc import make_uscc

    timings = {}
    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    rng = random.Random(1)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db)
    con.execute("INSERT INTO department VALUES ('SCJ','昌吉市市场监督管理局')")
    con.executemany(
        "INSERT INTO unit VALUES (?,?,?,NULL)",
        [(u, f"第{n}市场监管所", "SCJ") for n, u in enumerate(UNITS, 1)],
    )
    con.execute(
        "INSERT INTO inspection_item (code,name,legal_basis,department_code,object_type,content,"
        "methods,category,qualification,participating_departments,active) VALUES "
        "('SCJ-GS-001','企业公示信息检查','《企业信息公示暂行条例》','SCJ','企业','公示','desk',"
        "'general',NULL,'',1)"
    )
    seen: set[str] = set()
    batch_rows = []
    n = 0
    while n < entities:
        code = make_uscc("9", rng.choice("12"), "652301", "".join(rng.choices(ALPHA, k=8)))
        if code in seen:
            continue
        seen.add(code)
        r = rng.random()
        risk = "A" if r < 0.3 else "B" if r < 0.8 else "C" if r < 0.95 else "D"
        batch_rows.append(
            (
                code,
                1,
                _name(rng),
                "enterprise",
                rng.choice("张王李赵刘陈杨黄") + rng.choice("伟芳娜敏静丽强磊军洋"),
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
        n += 1
        if len(batch_rows) == 50_000 or n == entities:
            con.executemany(
                "INSERT INTO entity (uscc,uscc_check_ok,name,entity_type,legal_rep,registered_address,"
                "business_address,region_code,industry_code,registration_authority,supervising_unit,"
                "established_on,status,legal_rep_id_no,phone,risk_class,created_at,updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                batch_rows,
            )
            batch_rows = []
    con.executemany(
        "INSERT INTO inspector (badge_no,name,department_code,unit_code,qualifications,active,"
        "is_expert,cert_valid_until,phone,created_at,updated_at) VALUES (?,?,?,?,?,1,0,NULL,NULL,?,?)",
        [
            (f"652301{k:05d}", f"检查员{k}", "SCJ", UNITS[k % 16], "", now, now)
            for k in range(inspectors)
        ],
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    timings["registry_s"] = time.perf_counter() - t0
    timings.update(_draw(db))
    return timings


def _draw(db: Path) -> dict:
    from sqlmodel import Session, select

    from reports.documents import draw_result_pdf_file
    from supervision.clock import FixedClock
    from supervision.db import make_engine, transaction
    from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
    from supervision.planning import drawing, freeze, queries, service
    from supervision.planning import schemas as s
    from supervision.planning.models import Batch, Task, TaskState
    from supervision.registry.reference import result_codebook

    out = {}
    CODEBOOK = result_codebook(ROOT / "data").versions[-1].version
    engine = make_engine(f"sqlite:///{db}")
    clock = FixedClock(datetime(2026, 11, 26, 2, tzinfo=UTC))
    storage = db.parent / "files"
    with transaction(engine) as session:
        service.create_plan(
            session,
            s.PlanCreate(
                code="P", year=2026, name="2026年度抽查计划", authority="昌吉市市场监督管理局"
            ),
            actor="bench",
            clock=clock,
        )
        service.publish_plan(session, "P", actor="bench", clock=clock)
        body = s.BatchCreate(
            code=CODE,
            name="全市企业公示信息抽查（基准）",
            initiating_department="SCJ",
            item_codes=["SCJ-GS-001"],
            quotas={
                "A": s.StratumQuota(percent="1"),
                "B": s.StratumQuota(percent="3"),
                "C": s.StratumQuota(percent="5"),
                "D": s.StratumQuota(percent="10"),
            },
            team=[s.TeamSlot(group="SCJ", count=2)],
            cross_unit=True,
            exclusion=s.BatchExclusion(low_risk_once_per_year=False),
            window_start=date(2026, 9, 1),
            window_end=date(2026, 10, 31),
            entropy_plan="基准测试",
            # Announced a day ahead: frozen now, drawn at the ceremony (the clock walks).
            ceremony_at=clock.now() + timedelta(days=1),
        )
        service.create_batch(session, "P", body, actor="bench", clock=clock)
    t = time.perf_counter()
    with transaction(engine) as session:
        freeze.freeze_batch(session, CODE, actor="bench", clock=clock, storage=storage)
    clock.advance(days=1)  # the ceremony
    with transaction(engine) as session:
        drawing.enter_entropy(
            session,
            CODE,
            ["3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"],
            actor="bench",
            clock=clock,
            storage=storage,
        )
    out["freeze_and_draw_s"] = time.perf_counter() - t
    with transaction(engine) as session:
        batch = session.exec(select(Batch).where(Batch.code == CODE)).one()
        tasks = session.exec(
            select(Task)
            .where(Task.batch_id == batch.id, Task.state == TaskState.assigned)
            .order_by(Task.position)
            .limit(2000)
        ).all()
        published = datetime(2026, 11, 10, 2, tzinfo=UTC)
        for k, task in enumerate(tasks):
            v = ResultVersion(
                task_id=task.id,
                seq=1,
                status=ResultStatus.published,
                codebook_version=CODEBOOK,
                created_at=published,
                created_by="bench",
                updated_at=published,
                completed_on=date(2026, 10, 20),
                published_at=published,
                published_by="bench",
                deadline=date(2026, 11, 17),
                late=False,
            )
            session.add(v)
            session.flush()
            session.add(
                ResultLine(
                    version_id=v.id,
                    item_code="SCJ-GS-001",
                    codes="1" if k % 7 else "3",
                    methods="desk",
                    check_date=date(2026, 10, 20),
                )
            )
            task.state = TaskState.published
            session.add(task)
        out["tasks"] = queries.task_summary(session, batch)["total"]
    # Documents are built in read transactions (a document's number is issued in a short
    # transaction of its own, which a held SQLite write lock would block).
    with Session(engine.execution_options(sqlite_read=True)) as session:
        t = time.perf_counter()
        queries.bundle_json_file(session, CODE, storage=storage)
        out["bundle_build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        draw_result_pdf_file(session, CODE, storage=storage)
        out["pdf_build_s"] = time.perf_counter() - t
    engine.dispose()
    return out


def warm(db: Path) -> float:
    """Build the batch's public files with this code (a changed key means a rebuild) before
    the server starts: a 30,000-row PDF takes minutes, which is not what is measured here."""
    from sqlmodel import Session

    from api.artefacts import build_public_files
    from supervision.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    t = time.perf_counter()
    build_public_files(engine, db.parent / "files", CODE)
    with Session(engine.execution_options(sqlite_read=True)) as session:
        from reports.documents import commitment_pdf_file

        commitment_pdf_file(session, CODE, storage=db.parent / "files")
    engine.dispose()
    return time.perf_counter() - t


def percentiles(ms: list[float]) -> str:
    if len(ms) < 2:
        return "no requests"
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  p99 {q[98]:.2f} ms"


def load(port: int, paths: list[str], clients: int, seconds: float) -> tuple[list, list, int]:
    """Closed-loop keep-alive clients: (time to first byte, time to last byte, errors)."""
    first: list[float] = []
    total: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        f, t, bad = [], [], 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop:
            path = rng.choice(paths)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                t1 = time.perf_counter()
                response.read()
                ok = response.status in (200, 303)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                t1, ok = time.perf_counter(), False
            f.append((t1 - t0) * 1000)
            t.append((time.perf_counter() - t0) * 1000)
            bad += not ok
        conn.close()
        with lock:
            first.extend(f)
            total.extend(t)
            errors[0] += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return first, total, errors[0]


def verifiers(port: int, workdir: Path) -> dict:
    """The standalone verify.py and the browser's sr.js (under Node) on the public bundle."""
    import httpx

    folder = workdir / "public" / CODE
    folder.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}/api/v1/batches/{CODE}"
    with httpx.Client(timeout=300) as http:
        (folder / "bundle.json").write_bytes(http.get(f"{base}/bundle.json").content)
        (folder / "pool.tsv").write_bytes(http.get(f"{base}/files/pool.tsv").content)
        (folder / "roster.tsv").write_bytes(http.get(f"{base}/files/roster.tsv").content)
        (workdir / "verify.py").write_bytes(http.get(f"http://127.0.0.1:{port}/verify.py").content)
    out = {"python_s": [], "node_s": [], "node_inner_s": []}
    job = json.dumps([{"op": "verify", "dir": str(folder), "conflicts": False}])
    for _ in range(2):
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(workdir / "verify.py"), str(folder)],
            capture_output=True,
            text=True,
        )
        out["python_s"].append(time.perf_counter() - t)
        out["python_verdict"] = (
            done.stdout.strip().splitlines()[0] if done.stdout else done.stderr[-300:]
        )
        t = time.perf_counter()
        done = subprocess.run(
            ["node", str(ROOT / "tests" / "js" / "run.cjs")],
            input=job,
            capture_output=True,
            text=True,
        )
        out["node_s"].append(time.perf_counter() - t)
        answer = (
            json.loads(done.stdout)[0] if done.returncode == 0 else {"error": done.stderr[-300:]}
        )
        out["node_ok"] = answer.get("ok")
        out["node_inner_s"].append(answer.get("seconds", 0))
        out["node_difference"] = answer.get("difference") or answer.get("error")
    out["bundle_mb"] = (folder / "bundle.json").stat().st_size / 1e6
    out["pool_mb"] = (folder / "pool.tsv").stat().st_size / 1e6
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=1_000_000)
    ap.add_argument("--inspectors", type=int, default=800)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--reuse", action="store_true", help="keep an existing --db (skip set-up)")
    ap.add_argument("--setup-only", action="store_true", help="build --db and stop")
    ap.add_argument(
        "--client",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator (default: wrk when installed — a C client, so the two shared "
        "CPUs go to the server; Python threads share one GIL and add their own waits)",
    )
    args = ap.parse_args()
    import httpx

    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "portal.db"
    if not (args.reuse and db.exists()):
        if db.exists():
            db.unlink()
        timings = setup(db, args.entities, args.inspectors)
        print(
            "setup: "
            + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in timings.items()
            )
        )
    print(f"public files built or found in storage: {warm(db):.1f} s")
    if args.setup_only:
        return
    con = sqlite3.connect(db)
    rng = random.Random(4)
    sample = con.execute("SELECT uscc, name FROM entity ORDER BY random() LIMIT 20000").fetchall()
    with_result = [
        r[0]
        for r in con.execute(
            "SELECT task.uscc FROM task JOIN result_version rv ON rv.task_id = task.id WHERE rv.status = 'published'"
        )
    ]
    con.close()
    fragments = []
    for _, name in sample:
        size = rng.choice((2, 3, 4))
        start = rng.randrange(0, max(1, len(name) - size))
        fragments.append(name[start : start + size])
    env = {
        "SUPERVISION_DATABASE_URL": f"sqlite:///{db}",
        "SUPERVISION_STORAGE_DIR": str(db.parent / "files"),
        # 16 clients from one address: the per-address download limit would measure itself.
        "SUPERVISION_PUBLIC_DOWNLOADS_PER_MINUTE": "0",
        "PATH": "/usr/bin:/bin",
    }
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
        for _ in range(150):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        from urllib.parse import quote

        pages = max(1, 30_000 // 100)
        phases = [
            ("floor (no DB)", ["/api/v1/credit-measures?on=2026-01-01"]),
            ("search fragment", [f"/entities?q={quote(f)}" for f in fragments]),
            ("search USCC", [f"/entities?q={u}" for u, _ in sample]),
            (
                "entity page",
                [f"/entities/{u}" for u in ([u for u, _ in sample[:2000]] + with_result)],
            ),
            ("batch page", [f"/batches/{CODE}?page={p}" for p in range(1, pages + 1)]),
            ("draw PDF (cached)", [f"/api/v1/batches/{CODE}/draw.pdf"]),
            ("bundle.json (cached)", [f"/api/v1/batches/{CODE}/bundle.json"]),
        ]
        for _, paths in phases:
            r = httpx.get(base + paths[0], timeout=600)
            assert r.status_code in (200, 303), (paths[0], r.status_code, r.text[:300])
        load(args.port, [p for _, ps in phases for p in ps[:50]], args.clients, 3)  # warm-up
        client = "wrk, one thread" if args.client == "wrk" else "Python threads"
        print(
            f"{args.clients} concurrent keep-alive clients ({client}), closed loop, {args.seconds:.0f} s a phase; uvicorn workers: {args.workers}"
        )
        # The cached files' goal is to the first byte, which wrk does not report: those two
        # phases always load from Python threads (first and last byte both printed).
        first_byte = {"draw PDF (cached)", "bundle.json (cached)"}
        for name, paths in phases:
            cpu0 = server_cpu_seconds(server.pid)
            if args.client == "wrk" and name not in first_byte:
                rate, text, n, errors = load_wrk(
                    args.port, "", paths, args.clients, args.seconds, Path(tmp.name)
                )
                cpu = (server_cpu_seconds(server.pid) - cpu0) * 1000 / max(n, 1)
                print(
                    f"{name:22s} {rate:7.0f} req/s  last byte  {text}  server CPU {cpu:.2f} ms/req ({n:,} requests, {errors} errors)"
                )
                continue
            first, total, errors = load(args.port, paths, args.clients, args.seconds)
            cpu = (server_cpu_seconds(server.pid) - cpu0) * 1000 / max(len(total), 1)
            print(
                f"{name:22s} {len(total) / args.seconds:7.0f} req/s  first byte {percentiles(first)}"
            )
            print(
                f"{'':22s} {'':13s}last byte  {percentiles(total)}  server CPU {cpu:.2f} ms/req ({len(total):,} requests, {errors} errors)"
            )
        v = verifiers(args.port, Path(tmp.name))
        print(
            f"verifiers on the public bundle ({v['bundle_mb']:.1f} MB bundle.json, {v['pool_mb']:.1f} MB pool.tsv): "
            f"verify.py {min(v['python_s']):.2f} s ({v['python_verdict']}); "
            f"browser sr.js under Node {min(v['node_s']):.2f} s (verification itself {min(v['node_inner_s']):.2f} s, ok={v['node_ok']}, {v['node_difference'] or ''}); "
            f"ratio {min(v['node_s']) / min(v['python_s']):.2f}"
        )
    finally:
        server.terminate()
        server.wait(10)
    tmp.cleanup()


if __name__ == "__main__":
    main()
