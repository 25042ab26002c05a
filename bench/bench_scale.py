"""Benchmark the product at province scale on PostgreSQL (hand-run, not a test).

    python bench/bench_scale.py --entities 10000000 --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        [--workdir /var/tmp/scale] [--keep] [--only PHASE,...]

The registry is the demo city's, written by the demo generator at the asked size (its export
files: UTF-8 CSV with the registration office's Chinese headers and the filed annual-report
years). Each phase runs in a process of its own, so its peak memory is its own:

  generate   the demo generator writes entities.csv and inspectors.csv
  copy       baseline: raw COPY of the same rows (entity + annual_report, parsed from the same
             file with csv.reader, labels mapped, nothing checked) into a freshly migrated
             scratch database with the same indexes
  import     the product's import_entities() of the same file into the kept database
             (then, not timed, the inspectors and their conflicts)
  batch      a batch over the whole registry at 1 % of every risk class under sr2, teams of
             two from every inspector: freeze + draw + persist, peak memory
  bundle     the public bundle written to files (bundle.json, pool.tsv, roster.tsv)
  verify     the standalone verifier (python -m supervision.draw.verify) on the public files
  portal     the public search, the entity page and the restrictions lookup under 16
             clients on loopback (wrk when installed), with the no-database floor measured
             in the same run

Goals (issue #18): import ≤ 1.5× the COPY; freeze + draw + persist < 120 s and < 2 GB;
verifier < 5 min and < 2 GB; search p95 < 100 ms, entity page p95 < 50 ms, restrictions
p95 < 20 ms. The kept database (sv_scale_<N>) lets later phases run again with --only.
"""

import argparse
import csv
import json
import re
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PHASES = ["generate", "copy", "import", "batch", "bundle", "verify", "portal"]
GENERATOR_TODAY = date(2026, 11, 26)  # the demo files are reproducible: a fixed day
BATCH_CODE = "SCALE"
YEAR_SEPARATORS = re.compile(r"[,;，、\s]+")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _db_url(base: str, name: str) -> str:
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _recreate(base: str, name: str) -> str:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return _db_url(base, name)


def _drop(base: str, name: str) -> None:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _prepare(url: str) -> None:
    """Migrate and load the reference data (regions, industries, departments, units, items)."""
    from sqlmodel import Session

    from supervision.db import make_engine
    from supervision.migrate import upgrade
    from supervision.registry.reference import load_reference_data
    from supervision.settings import PROJECT_ROOT

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        load_reference_data(session, PROJECT_ROOT / "data", actor="bench")
        session.commit()
    engine.dispose()


# ---- phases (each in its own process) ---------------------------------------------------


def phase_generate(args: argparse.Namespace) -> dict:
    from supervision.demo.generator import write_entities_csv, write_inspectors_csv
    from supervision.settings import PROJECT_ROOT

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_entities_csv(
        work / "entities.csv",
        entities=args.entities,
        seed=2018,
        today=GENERATOR_TODAY,
        data_dir=PROJECT_ROOT / "data",
    )
    write_inspectors_csv(
        work / "inspectors.csv",
        inspectors=args.inspectors,
        seed=2018,
        today=GENERATOR_TODAY,
        data_dir=PROJECT_ROOT / "data",
    )
    return {
        "seconds": time.perf_counter() - started,
        "csv_mb": (work / "entities.csv").stat().st_size / 1e6,
    }


ENTITY_DB_COLUMNS = [
    "uscc",
    "name",
    "entity_type",
    "legal_rep",
    "legal_rep_id_no",
    "phone",
    "registered_address",
    "business_address",
    "region_code",
    "industry_code",
    "registration_authority",
    "supervising_unit",
    "established_on",
    "status",
    "opened_on",
    "ceased_trading_on",
    "revoked_on",
    "risk_class",
]


def _copy_rows(csv_path: Path, stamp: datetime):
    """(entity tuple, [annual-report years]) per line: labels mapped, nothing checked."""
    from supervision.registry.columns import (
        ENTITY_COLUMNS,
        ENTITY_STATUS_VALUES,
        ENTITY_TYPE_VALUES,
    )

    by_header = {h: field for field, headers in ENTITY_COLUMNS.items() for h in headers}
    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        fields = [by_header[h] for h in next(reader)]
        at = {field: n for n, field in enumerate(fields)}
        picks = [at[c] for c in ENTITY_DB_COLUMNS]
        kind, status, years = at["entity_type"], at["status"], at["annual_report_years"]
        region = at["region_code"]
        for c in reader:
            c[kind] = ENTITY_TYPE_VALUES[c[kind]]
            c[status] = ENTITY_STATUS_VALUES[c[status]]
            row = [c[i] or None for i in picks]
            yield (*row, True, stamp, stamp, c[region][:2]), c[years]


def phase_copy(args: argparse.Namespace) -> dict:
    import psycopg

    name = f"sv_scale_copy_{args.entities}"
    url = _recreate(args.postgres, name)
    try:
        _prepare(url)
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        started = time.perf_counter()
        rows = reports = 0
        stamp = datetime.now(UTC)
        columns = ", ".join(
            [*ENTITY_DB_COLUMNS, "uscc_check_ok", "created_at", "updated_at", "province"]
        )
        with psycopg.connect(plain) as conn, conn.cursor() as cur:
            years_rows: list[tuple[str, int]] = []
            with cur.copy(f"COPY entity ({columns}) FROM STDIN") as copy:
                for row, years in _copy_rows(Path(args.workdir) / "entities.csv", stamp):
                    copy.write_row(row)
                    rows += 1
                    if years:
                        years_rows.extend(
                            (row[0], int(y)) for y in YEAR_SEPARATORS.split(years) if y
                        )
            with cur.copy("COPY annual_report (uscc, year) FROM STDIN") as copy:
                for r in years_rows:
                    copy.write_row(r)
                    reports += 1
            conn.commit()
        return {"seconds": time.perf_counter() - started, "rows": rows, "reports": reports}
    finally:
        _drop(args.postgres, name)


def phase_import(args: argparse.Namespace) -> dict:
    from sqlmodel import Session

    from supervision.db import make_engine
    from supervision.registry.importer import import_entities

    url = _recreate(args.postgres, args.dbname)
    _prepare(url)
    engine = make_engine(url)
    path = Path(args.workdir) / "entities.csv"
    started = time.perf_counter()
    with Session(engine) as session:
        report = import_entities(session, path, filename=path.name, actor="bench")
        session.commit()
    seconds = time.perf_counter() - started
    # Not timed: the inspectors, and the statistics the planner relies on after a bulk load.
    from supervision.registry.importer import import_inspectors

    inspectors = Path(args.workdir) / "inspectors.csv"
    with Session(engine) as session:
        import_inspectors(session, inspectors, filename=inspectors.name, actor="bench")
        session.commit()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"seconds": seconds, "rows": report.inserted}


# A province-wide batch: every risk class, differentiated ratios (so sr2), about 1 %.
PERCENTS = {"A": "0.65", "B": "1.15", "C": "1.7", "D": "2.3"}
ENTROPY = ["3 6 1 4 4 2 5 6 1 1 3 2 6 5 4 4 2 1 3 6"]


def phase_batch(args: argparse.Namespace) -> dict:
    import gc

    from sqlalchemy import func, select

    from supervision.clock import FixedClock
    from supervision.db import make_engine, transaction
    from supervision.planning import drawing, freeze, service
    from supervision.planning import schemas as s
    from supervision.planning.models import Batch, Plan, Task

    engine = make_engine(_db_url(args.postgres, args.dbname))
    storage = Path(args.workdir) / "files"
    clock = FixedClock(datetime(2026, 11, 26, 2, tzinfo=UTC))
    # A new batch each run (the code names the run); the bundle phase takes the latest.
    code = f"{BATCH_CODE}-{datetime.now():%m%d%H%M%S}"
    (Path(args.workdir) / "batch-code.txt").write_text(code)
    with transaction(engine) as session:
        if session.execute(select(Plan.id).where(Plan.code == "SCALE")).first() is None:
            service.create_plan(
                session,
                s.PlanCreate(code="SCALE", year=2026, name="规模基准计划", authority="市场监管局"),
                actor="bench",
                clock=clock,
            )
        body = s.BatchCreate(
            code=code,
            name="全省企业公示信息抽查（规模基准）",
            initiating_department="SCJ",
            item_codes=["SCJ-GS-001"],
            quotas={k: s.StratumQuota(percent=v) for k, v in PERCENTS.items()},
            team=[s.TeamSlot(group="SCJ", count=2)],
            cross_unit=True,
            exclusion=s.BatchExclusion(low_risk_once_per_year=False),
            window_start=date(2026, 12, 1),
            window_end=date(2026, 12, 31),
            ceremony_at=clock.now() + timedelta(days=1),
        )
        service.create_batch(session, "SCALE", body, actor="bench", clock=clock)
    gc.collect()
    out: dict = {}
    started = time.perf_counter()
    with transaction(engine) as session:
        c, _ = freeze.freeze_batch(
            session,
            code,
            actor="bench",
            clock=clock,
            storage=storage,
            acknowledge_unassigned=True,
        )
        out["pool"] = c.pool_size
        out["protocol"] = json.loads(c.params_json)["protocol"]
    out["freeze_s"] = time.perf_counter() - started
    out["freeze_peak_mb"] = _rss_mb()
    clock.advance(days=1)  # the ceremony
    started = time.perf_counter()
    with transaction(engine) as session:
        d = drawing.enter_entropy(
            session, code, ENTROPY, actor="bench", clock=clock, storage=storage
        )
        out["unassigned"] = d.unassigned_count
    out["draw_s"] = time.perf_counter() - started
    with transaction(engine) as session:
        batch_id = session.execute(select(Batch.id).where(Batch.code == code)).scalar()
        out["tasks"] = session.execute(
            select(func.count()).select_from(Task).where(Task.batch_id == batch_id)
        ).scalar()
    from supervision.storage.service import get_bytes

    out["roster"] = get_bytes(storage, c.roster_sha256).count(b"\n")
    out["total_s"] = out["freeze_s"] + out["draw_s"]
    engine.dispose()
    return out


def phase_bundle(args: argparse.Namespace) -> dict:
    from supervision.db import make_engine, transaction
    from supervision.planning import bundle

    engine = make_engine(_db_url(args.postgres, args.dbname))
    storage = Path(args.workdir) / "files"
    out_dir = Path(args.workdir) / "bundle"
    started = time.perf_counter()
    with transaction(engine) as session:
        code = (Path(args.workdir) / "batch-code.txt").read_text()
        files = bundle.export_bundle(session, code, storage=storage)
        bundle.write_bundle_dir(files, out_dir, with_private=False)
    engine.dispose()
    return {
        "seconds": time.perf_counter() - started,
        "pool_mb": (out_dir / "pool.tsv").stat().st_size / 1e6,
        "bundle_mb": (out_dir / "bundle.json").stat().st_size / 1e6,
    }


def phase_verify(args: argparse.Namespace) -> dict:
    """The standalone verifier, as a citizen runs it: the downloaded single file."""
    from supervision.draw import standalone_verifier_source

    script = Path(args.workdir) / "verify.py"
    script.write_text(standalone_verifier_source(), encoding="utf-8")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), str(Path(args.workdir) / "bundle")],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "exit": done.returncode,
        "verdict": done.stdout.strip().splitlines()[0]
        if done.stdout.strip()
        else done.stderr[-300:],
        "verifier_peak_mb": _children_rss_mb(),
    }


LIST_ENTRIES_PER_MILLION = 6_000  # as bench_restrictions.py's registry


def _portal_setup(url: str, entities: int) -> None:
    """List entries (abnormal and serious, some removed) and a liaison account, written
    directly as the restrictions benchmark writes them: set-up, not measured."""
    from bench_restrictions import PASSWORD
    from sqlmodel import Session

    from supervision.accounts.models import User
    from supervision.accounts.service import UserCreate, create_user
    from supervision.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        if not conn.execute(
            text("SELECT count(*) FROM list_entry WHERE source = 'manual'")
        ).scalar():
            _list_entries(conn, entities)
    # As a province does after its initial load: VACUUM sets the visibility map and the rows'
    # hint bits (else the first reads of every row write them back, during the measurement)
    # and ANALYZE the statistics; autovacuum would do both, at some point, inside a phase.
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    print(f"  VACUUM (ANALYZE): {time.perf_counter() - started:.0f} s", file=sys.stderr)
    # The portal's working set read into the operating system's page cache (pg_prewarm's
    # 'read' mode): every table and index but the annual reports and tax filings, which no
    # portal page reads. A province's portal runs with it in memory; on these machines idle
    # page cache is reclaimed (DAMON), so without this the first touch of most rows goes to
    # the disk during the measurement.
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        blocks = conn.execute(
            text(
                "SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                "AND c.relkind IN ('r', 'i') AND c.relname NOT LIKE 'annual_report%' "
                "AND c.relname NOT LIKE 'tax_filing%'"
            )
        ).scalar_one()
    print(
        f"  pg_prewarm: {blocks * 8 / 1024:,.0f} MB in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    with Session(engine) as session:
        if session.query(User).filter(User.username == "liaison").first() is None:
            create_user(
                session,
                UserCreate(
                    username="liaison", display_name="对接系统", password=PASSWORD, role="liaison"
                ),
                actor="bench",
            )
            session.commit()
    engine.dispose()


def _list_entries(conn, entities: int) -> None:
    """The benchmark's decided list entries, about 6,000 per million entities."""
    n = max(100, entities * LIST_ENTRIES_PER_MILLION // 1_000_000)
    codes = [
        r[0]
        for r in conn.execute(
            text("SELECT uscc FROM entity TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT :n"),
            {"n": n},
        )
    ]
    rows = []
    now = datetime.now(UTC)
    for k, code in enumerate(codes):
        kind = "serious" if k % 6 == 0 else "abnormal"
        state = "removed" if k % 4 == 3 else "listed"
        decided = date(2024, 1, 2) + timedelta(days=k % 900)
        rows.append(
            {
                "kind": kind,
                "uscc": code,
                "reason": "serious_violation" if kind == "serious" else "unreachable",
                "state": state,
                "ref": f"manual:{k}",
                "decided": decided,
                "now": now,
                "no": f"昌市监列〔{decided.year}〕{k}号",
                "expires": decided.replace(year=decided.year + 3) if kind == "serious" else None,
                "removed": decided + timedelta(days=200) if state == "removed" else None,
            }
        )
    conn.execute(
        text(
            "INSERT INTO list_entry (list_kind,uscc,reason_code,rulebook,mode,state,source,"
            "source_ref,fact_on,proposed_at,proposed_by,note,decision_no,decided_on,"
            "decided_by,decision_reason,legal_basis,authority,decision_late,expires_on,"
            "removed_on) VALUES (:kind,:uscc,:reason,'2025','listed',:state,'manual',:ref,"
            ":decided,:now,'bench','',:no,:decided,'bench','核实','《企业信息公示暂行条例》',"
            "'昌吉市市场监督管理局',false,:expires,:removed)"
        ),
        rows,
    )


def phase_portal(args: argparse.Namespace) -> dict:
    """16 clients on loopback against two uvicorn workers on the kept database."""
    import random
    import shutil
    import tempfile
    from urllib.parse import quote

    import httpx
    from bench_restrictions import MEASURES, PASSWORD, load_wrk

    url = _db_url(args.postgres, args.dbname)
    _portal_setup(url, args.entities)
    engine = create_engine(make_url(url))
    with engine.connect() as conn:
        sample = conn.execute(
            text(
                "SELECT uscc, name FROM entity TABLESAMPLE SYSTEM (0.5) REPEATABLE (3) LIMIT 20000"
            )
        ).all()
        listed = [r[0] for r in conn.execute(text("SELECT uscc FROM list_entry"))]
        drawn = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT e.uscc FROM task t JOIN entity e ON e.id = t.entity_id "
                    "ORDER BY t.id LIMIT 2000"
                )
            )
        ]
    engine.dispose()
    rng = random.Random(4)
    fragments = []
    for _, name in sample:
        size = rng.choice((2, 3, 4))
        start = rng.randrange(0, max(1, len(name) - size))
        fragments.append(name[start : start + size])
    days = ["2024-06-01", "2025-06-01", "2026-06-01", "2026-11-26"]
    lookups = [
        f"/api/v1/entities/{rng.choice(listed) if k % 2 else rng.choice(sample)[0]}"
        f"/restrictions?measure={rng.choice(MEASURES)}&on={rng.choice(days)}"
        for k in range(20_000)
    ]
    env = {
        "SUPERVISION_DATABASE_URL": url,
        "SUPERVISION_STORAGE_DIR": str(Path(args.workdir) / "files"),
        "SUPERVISION_PUBLIC_DOWNLOADS_PER_MINUTE": "0",
        "PATH": "/usr/bin:/bin",
    }
    port = 8767
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    out: dict = {}
    work = Path(tempfile.mkdtemp())
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "liaison", "password": PASSWORD}
        ).json()["access_token"]
        # The fragment search last: its slowest queries outlive the phase in the database
        # and would be measured by the next phase otherwise.
        phases = [
            ("floor", "", ["/api/v1/credit-measures?on=2026-01-01"]),
            ("search_uscc", "", [f"/entities?q={u}" for u, _ in sample]),
            ("entity_page", "", [f"/entities/{u}" for u in [u for u, _ in sample[:2000]] + drawn]),
            ("restrictions", token, lookups),
            ("search_fragment", "", [f"/entities?q={quote(f)}" for f in fragments]),
        ]
        for _, auth, paths in phases:
            headers = {"Authorization": f"Bearer {auth}"} if auth else {}
            r = httpx.get(base + paths[0], headers=headers, timeout=600)
            assert r.status_code in (200, 303), (paths[0], r.status_code, r.text[:300])
            load_wrk(port, auth, paths[:300], args.clients, 3, work)  # warm-up
        for name, auth, paths in phases:
            _quiet(url)
            rate, pct, n, errors = load_wrk(port, auth, paths, args.clients, args.seconds, work)
            out[name] = {"rate": rate, "text": pct, "requests": n, "errors": errors}
            out[name]["p95"] = float(pct.split("p95 ")[1].split(" ms")[0])
            print(
                f"{name}: {rate:.0f} req/s {pct} ({n} requests, {errors} errors)", file=sys.stderr
            )
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # workers still inside a slow search
            server.kill()
            server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    return out


def _quiet(url: str, limit: float = 60) -> None:
    """Wait until no query of an earlier phase still runs in the database, nor an autovacuum
    worker anywhere (and a moment)."""
    engine = create_engine(make_url(url))
    deadline = time.monotonic() + limit
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE (state = 'active' "
                    "AND datname = current_database() AND pid <> pg_backend_pid()) "
                    "OR backend_type = 'autovacuum worker'"
                )
            ).scalar()
            if not busy:
                break
            time.sleep(0.5)
    engine.dispose()
    time.sleep(2)


PHASE_FUNCS = {
    "portal": phase_portal,
    "generate": phase_generate,
    "copy": phase_copy,
    "import": phase_import,
    "batch": phase_batch,
    "bundle": phase_bundle,
    "verify": phase_verify,
}


def child_main(args: argparse.Namespace) -> None:
    out = PHASE_FUNCS[args.phase](args)
    out["peak_mb"] = _rss_mb()
    print(json.dumps(out))


def run_phase(phase: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--phase", phase, *args.passthrough]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"phase {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entities", type=int, default=10_000_000)
    ap.add_argument("--inspectors", type=int, default=2_000)
    ap.add_argument("--postgres", required=True, metavar="URL")
    ap.add_argument("--workdir", default=None, help="where the files go (default /var/tmp/scale-N)")
    ap.add_argument("--only", default=",".join(PHASES), help="comma-separated phases to run")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.workdir = args.workdir or f"/var/tmp/scale-{args.entities}"
    args.dbname = f"sv_scale_{args.entities}"
    args.passthrough = [
        f"--entities={args.entities}",
        f"--inspectors={args.inspectors}",
        f"--postgres={args.postgres}",
        f"--workdir={args.workdir}",
        f"--clients={args.clients}",
        f"--seconds={args.seconds}",
    ]
    if args.phase:
        child_main(args)
        return
    results: dict[str, dict] = {}
    for phase in [p for p in PHASES if p in args.only.split(",")]:
        if phase not in PHASE_FUNCS:
            continue
        print(f"[{datetime.now():%H:%M:%S}] {phase} …", flush=True)
        results[phase] = run_phase(phase, args)
        print(f"  {json.dumps(results[phase])}", flush=True)
    report(results, args)


def report(results: dict[str, dict], args: argparse.Namespace) -> None:
    print(f"\n== {args.entities:,} entities, PostgreSQL ==")
    if "copy" in results and "import" in results:
        base, imp = results["copy"]["seconds"], results["import"]["seconds"]
        ratio = imp / base
        print(
            f"import {imp:.1f} s ({args.entities / imp:,.0f} rows/s, peak "
            f"{results['import']['peak_mb']:.0f} MB) vs raw COPY {base:.1f} s: {ratio:.2f}x "
            f"(goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})"
        )
    if "batch" in results:
        b = results["batch"]
        print(
            f"batch ({b['protocol']}): pool {b['pool']:,}, roster {b['roster']:,}, "
            f"{b['tasks']:,} tasks, "
            f"{b['unassigned']} unassigned: freeze {b['freeze_s']:.1f} s + draw and persist "
            f"{b['draw_s']:.1f} s = {b['total_s']:.1f} s (goal < 120 s: "
            f"{'met' if b['total_s'] < 120 else 'NOT met'}); peak {b['peak_mb']:.0f} MB "
            f"(goal < 2048 MB: {'met' if b['peak_mb'] < 2048 else 'NOT met'})"
        )
    if "bundle" in results:
        b = results["bundle"]
        print(
            f"public bundle written in {b['seconds']:.1f} s: pool.tsv {b['pool_mb']:.0f} MB, "
            f"bundle.json {b['bundle_mb']:.1f} MB, peak {b['peak_mb']:.0f} MB"
        )
    if "verify" in results:
        v = results["verify"]
        print(
            f"standalone verifier: {v['seconds']:.1f} s (goal < 300 s: "
            f"{'met' if v['seconds'] < 300 else 'NOT met'}), peak {v['verifier_peak_mb']:.0f} MB "
            f"(goal < 2048 MB), exit {v['exit']}: {v['verdict']}"
        )
    if "portal" in results:
        p = results["portal"]
        print(
            f"portal, {args.clients} clients (wrk), 2 uvicorn workers, {args.seconds:.0f} s a phase:"
        )
        goals = {"search_fragment": 100, "search_uscc": 100, "entity_page": 50, "restrictions": 20}
        for name in ("floor", *goals):
            r = p[name]
            goal = goals.get(name)
            verdict = (
                ""
                if goal is None
                else f" (goal p95 < {goal} ms: {'met' if r['p95'] < goal else 'NOT met'})"
            )
            print(
                f"  {name:16s} {r['rate']:7.0f} req/s  {r['text']}{verdict}  "
                f"[{r['requests']:,} requests, {r['errors']} errors]"
            )


if __name__ == "__main__":
    main()
