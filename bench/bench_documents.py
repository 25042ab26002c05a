"""Benchmark: the bureau's documents at size (run by hand).

    python bench/bench_documents.py [--db PATH] [--notices 3000] [--results 1000]

Uses the portal benchmark's database (bench/bench_portal.py builds it: a million entities and
a 30,517-task sr2 batch; `--db` points at it, default /tmp/bench/portal.db). Adds, through the
product's services, a batch of about ``--notices`` drawn businesses (counts per risk class),
and writes ``--results`` published results for it directly (the inspection path is not what
is measured). Then, each timed on its own:

  results PDF    抽查结果公示 of the new batch (``--results`` rows)          goal < 5 s
  notices PDF    随机抽查通知书, one per drawn business of the new batch       goal < 60 s
  draw record    随机抽取记录 of the 30,517-task batch, built once           goal < 60 s
  served         the stored draw record over HTTP (uvicorn, one client,
                 100 requests): time to first byte                        goal p95 < 50 ms

Baselines measured in the same run: a one-page document (WeasyPrint's fixed cost), the same
1,000 rows laid out as an HTML table (what the register format replaces), and the floor
endpoint over the same HTTP server.
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CODE = "P-DOCS"
BIG = "P-PORTAL"  # bench_portal.py's batch


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_batch(engine, storage: Path, notices: int, results: int) -> None:
    from sqlmodel import select

    from supervision.clock import FixedClock
    from supervision.db import transaction
    from supervision.inspection.models import ResultLine, ResultStatus, ResultVersion
    from supervision.planning import drawing, freeze, service
    from supervision.planning import schemas as s
    from supervision.planning.models import Batch, Task, TaskState
    from supervision.registry.reference import result_codebook

    clock = FixedClock(datetime(2026, 11, 26, 2, tzinfo=UTC))
    with transaction(engine) as session:
        if session.exec(select(Batch).where(Batch.code == CODE)).first():
            return
        per_class = notices // 4
        body = s.BatchCreate(
            code=CODE,
            name="全市企业公示信息抽查（文书基准）",
            initiating_department="SCJ",
            item_codes=["SCJ-GS-001"],
            quotas={k: s.StratumQuota(count=per_class) for k in "ABCD"},
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
    with transaction(engine) as session:
        freeze.freeze_batch(
            session, CODE, actor="bench", clock=clock, storage=storage, acknowledge_unassigned=True
        )
    clock.advance(days=1)  # the ceremony
    with transaction(engine) as session:
        drawing.enter_entropy(
            session, CODE, ["6 5 4 3 2 1 1 2 3 4 5 6"], actor="bench", clock=clock, storage=storage
        )
    version = result_codebook(ROOT / "data").versions[-1].version
    with transaction(engine) as session:
        batch = session.exec(select(Batch).where(Batch.code == CODE)).one()
        tasks = session.exec(
            select(Task)
            .where(Task.batch_id == batch.id, Task.state == TaskState.assigned)
            .order_by(Task.position)
            .limit(results)
        ).all()
        at = datetime(2026, 11, 10, 2, tzinfo=UTC)
        for k, task in enumerate(tasks):
            v = ResultVersion(
                task_id=task.id,
                seq=1,
                status=ResultStatus.published,
                codebook_version=version,
                created_at=at,
                created_by="bench",
                updated_at=at,
                completed_on=date(2026, 10, 20),
                published_at=at,
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
                    codes="1" if k % 7 else "B",
                    methods="desk",
                    check_date=date(2026, 10, 20),
                )
            )
            task.state = TaskState.published
            session.add(task)


def timed(label: str, fn) -> float:
    t = time.perf_counter()
    out = fn()
    took = time.perf_counter() - t
    size = f", {len(out) / 1e6:.1f} MB" if isinstance(out, bytes) else ""
    print(f"{label:44s} {took:7.2f} s{size}  (peak RSS so far {_peak_mb():,.0f} MB)", flush=True)
    return took


def baselines() -> None:
    from weasyprint import HTML

    timed("baseline: a one-page document", lambda: HTML(string="<p>一页</p>").write_pdf())
    rows = "".join(
        f"<tr><td>{i}</td><td>91652301MA7{i:06d}X</td><td>昌吉市测试商贸{i}号有限公司</td>"
        f"<td>检查员{i}（652301{i:05d}）组长<br>检查员{i + 1}（652301{i + 1:05d}）</td></tr>"
        for i in range(1000)
    )
    style = "<style>table{border-collapse:collapse}td{border:.4pt solid #000}</style>"
    timed(
        "baseline: 1,000 rows as an HTML table",
        lambda: HTML(string=f"{style}<table>{rows}</table>").write_pdf(),
    )


def serve_and_measure(db: Path, port: int) -> None:
    env = {
        **os.environ,
        "SUPERVISION_DATABASE_URL": f"sqlite:///{db}",
        "SUPERVISION_STORAGE_DIR": str(db.parent / "files"),
        "SUPERVISION_PUBLIC_DOWNLOADS_PER_MINUTE": "0",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request(
                    "GET", "/api/v1/credit-measures"
                )
                break
            except OSError:
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for label, path in (
            ("floor GET /api/v1/credit-measures", "/api/v1/credit-measures"),
            (f"stored draw record GET …/{BIG}/draw.pdf", f"/api/v1/batches/{BIG}/draw.pdf"),
        ):
            first: list[float] = []
            size = 0
            for _ in range(101):
                t = time.perf_counter()
                conn.request("GET", path)
                r = conn.getresponse()
                r.read(1)
                first.append((time.perf_counter() - t) * 1000)
                size = 1 + len(r.read())
                assert r.status == 200, (path, r.status)
            q = statistics.quantiles(first[1:], n=100)
            print(
                f"{label:44s} first byte p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  ({size:,} bytes)"
            )
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=Path("/tmp/bench/portal.db"))
    ap.add_argument("--notices", type=int, default=3000)
    ap.add_argument("--results", type=int, default=1000)
    ap.add_argument("--port", type=int, default=8767)
    args = ap.parse_args()
    if not args.db.exists():
        sys.exit(f"{args.db} not found: run bench/bench_portal.py --db {args.db} first")
    os.environ["SUPERVISION_DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ["SUPERVISION_STORAGE_DIR"] = str(args.db.parent / "files")

    from sqlmodel import Session, func, select

    from reports import documents
    from supervision.clock import SystemClock
    from supervision.db import make_engine
    from supervision.migrate import upgrade
    from supervision.planning.models import Batch, Task

    engine = make_engine(f"sqlite:///{args.db}")
    upgrade(engine)  # the portal benchmark's database may predate the latest migrations
    storage = args.db.parent / "files"
    t = time.perf_counter()
    make_batch(engine, storage, args.notices, args.results)
    print(f"set-up (batch {CODE} frozen, drawn, results written): {time.perf_counter() - t:.1f} s")
    ctx = documents.Context(ROOT / "data", storage, SystemClock(), "bench", "https://example.org")
    read = engine.execution_options(sqlite_read=True)
    baselines()
    with Session(read) as session:
        batch = session.exec(select(Batch).where(Batch.code == CODE)).one()
        drawn = session.exec(
            select(func.count()).select_from(Task).where(Task.batch_id == batch.id)
        ).one()
        print(f"{CODE}: {drawn} tasks")
        timed(
            f"results PDF ({args.results:,} rows)",
            lambda: documents.results_pdf(session, CODE, ctx),
        )
        timed(
            f"notices PDF ({drawn:,} drawn)",
            lambda: documents.notices_pdf(session, CODE, ctx),
        )
        timed(
            f"draw record of {BIG} (built, not stored)",
            lambda: documents.draw_record_pdf(session, BIG, ctx),
        )
        t = time.perf_counter()
        documents.draw_result_pdf_file(session, BIG, storage=storage, ctx=ctx)
        print(
            f"draw record stored (built again if its key changed): {time.perf_counter() - t:.1f} s"
        )
    engine.dispose()
    serve_and_measure(args.db, args.port)


if __name__ == "__main__":
    main()
