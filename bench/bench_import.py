"""Benchmark the entity import against a raw insert of the same rows (hand-run, not a test).

    python bench/bench_import.py --rows 1000000 [--postgres postgresql+psycopg://…/postgres]

Generates a registration-office style CSV (UTF-8, the first Chinese header of each column in
supervision/registry/columns.py; no annual-report-years column, so both sides write exactly
the same rows into the same table), then, each phase in its own subprocess so that its peak
memory is its own:

- SQLite baseline: csv.reader + sqlite3 executemany of plain INSERTs, one transaction;
- SQLite import: import_entities() into a fresh, migrated database, then commit;
- with --postgres: baseline COPY entity FROM STDIN (psycopg, rows from csv.reader) against
  import_entities(), each in its own scratch database (dropped afterwards).

Goals: import within 2× the baseline on each backend (with --as-exported too: the import then
reads the export form and derives units, types and regions); peak RSS under 1 GB.
"""

import argparse
import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from supervision.db import make_engine
from supervision.migrate import upgrade
from supervision.registry.columns import ENTITY_COLUMNS, ENTITY_STATUS_VALUES, ENTITY_TYPE_VALUES
from supervision.registry.importer import import_entities
from supervision.registry.models import Department, Industry, Region, Unit
from supervision.registry.reference import read_reference
from supervision.registry.uscc import ALPHABET, make_uscc
from supervision.settings import PROJECT_ROOT

FIELDS = [
    "uscc",
    "name",
    "entity_type",
    "legal_rep",
    "phone",
    "registered_address",
    "business_address",
    "region_code",
    "industry_code",
    "registration_authority",
    "supervising_unit",
    "established_on",
    "status",
]
# The entity columns the baseline fills: the file's fields plus what the import derives.
# The province (the region code's first two digits) is written by every writer of an entity.
BASELINE_COLUMNS = [
    *FIELDS,
    "uscc_check_ok",
    "risk_class",
    "created_at",
    "updated_at",
    "province",
]

TOWNSHIPS = [
    ("652301001", "宁边路街道"),
    ("652301002", "延安北路街道"),
    ("652301003", "北京南路街道"),
    ("652301004", "建国路街道"),
    ("652301005", "中山路街道"),
    ("652301006", "绿洲路街道"),
    ("652301100", "硫磺沟镇"),
    ("652301101", "三工镇"),
    ("652301102", "榆树沟镇"),
    ("652301103", "二六工镇"),
    ("652301104", "大西渠镇"),
    ("652301105", "六工镇"),
    ("652301106", "滨湖镇"),
    ("652301107", "佃坝镇"),
    ("652301202", "阿什里哈萨克民族乡"),
    ("652301203", "庙尔沟乡"),
]
UNITS = [f"652301-{i:02d}" for i in range(1, len(TOWNSHIPS) + 1)]
# (section, division, class codes as exports write them, trade words for names)
INDUSTRIES = [
    ("A", "01", ["A0111", "0141"], ["种植", "果蔬"]),
    ("C", "13", ["C1391", "1371"], ["食品加工", "面粉"]),
    ("E", "47", ["E4700", "4790"], ["建筑工程", "建设"]),
    ("F", "51", ["F5124", "5137"], ["商贸", "农资"]),
    ("F", "52", ["F5211", "5212", "F52"], ["超市", "便利店", "百货"]),
    ("G", "54", ["G5430", "5442"], ["物流", "运输"]),
    ("H", "61", ["H6110"], ["宾馆"]),
    ("H", "62", ["H6210", "6220", "H62"], ["餐饮", "小吃", "火锅"]),
    ("I", "65", ["I6510"], ["网络科技"]),
    ("K", "70", ["K7010"], ["房地产开发"]),
    ("L", "72", ["L7212", "7299"], ["商务咨询"]),
    ("O", "80", ["O8010", "8051"], ["美容美发", "洗衣"]),
    ("O", "81", ["O8111"], ["汽车修理"]),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅玲斌海燕"
BRANDS = "天山博格达庭州金丰瑞祥鑫源宏达恒盛新丰盛昌嘉禾润泽华康福顺汇通兴旺永安"
DATA_DIR = PROJECT_ROOT / "data"
ROADS = ["建国路", "延安北路", "北京南路", "宁边西路", "中山路", "绿洲路", "屯河路", "长宁路"]


def org_code(n: int) -> str:
    digits = ""
    for _ in range(8):
        n, r = divmod(n, len(ALPHABET))
        digits = ALPHABET[r] + digits
    return digits


# How a registration system's export writes what the canonical file codes (--as-exported).
EXPORT_HEADER = [
    "统一社会信用代码",
    "企业名称",
    "类型",
    "法定代表人",
    "联系电话",
    "住所",
    "实际经营地址",
    "行政区划",
    "行业代码",
    "登记机关",
    "成立日期",
    "登记状态",
]
EXPORT_TYPES = {
    "企业": ["有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）", "股份有限公司"],
    "公司": ["有限责任公司", "其他有限责任公司"],
    "个体工商户": ["个体工商户"],
    "农民专业合作社": ["农民专业合作社"],
}
REGION_TEXT = {"652301": "新疆维吾尔自治区昌吉回族自治州昌吉市"}


def generate(path: Path, rows: int, seed: int = 20180701, export: Path | None = None) -> None:
    """The canonical CSV (what the baseline inserts); with ``export``, the same rows as a
    registration system writes them: title rows, its headers, types by full legal name, the
    region as text for a county-level code, no supervising-unit column (the import derives it
    from the township in the address, so the canonical file carries the derived station),
    GB18030 with CRLF."""
    rnd = random.Random(seed)
    stations = read_reference(DATA_DIR).station_of_township() if export else {}
    out = export.open("w", encoding="gb18030", newline="") if export else None
    exporter = csv.writer(out, lineterminator="\r\n") if out else None
    if exporter:
        exporter.writerow(["昌吉市市场主体登记信息导出"])
        exporter.writerow(["导出时间：2026-11-25", "导出人：登记窗口"])
        exporter.writerow(EXPORT_HEADER)
    first_day = date(1995, 1, 1).toordinal()
    span = date(2024, 12, 31).toordinal() - first_day
    statuses = ["存续"] * 85 + ["在营"] * 5 + ["吊销，未注销"] * 4 + ["注销"] * 5 + ["歇业"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow([ENTITY_COLUMNS[name][0] for name in FIELDS])
        for n in range(rows):
            roll = rnd.random()
            kind = "2" if roll < 0.62 else ("1" if roll < 0.97 else "3")
            township_index = rnd.randrange(len(TOWNSHIPS))
            township_code, township = TOWNSHIPS[township_index]
            _section, _division, codes, trades = rnd.choice(INDUSTRIES)
            brand = rnd.choice(BRANDS) + rnd.choice(BRANDS)
            trade = rnd.choice(trades)
            if kind == "2":
                name, type_label = f"昌吉市{township}{brand}{trade}店", "个体工商户"
            elif kind == "1":
                name, type_label = f"昌吉市{brand}{trade}有限公司", rnd.choice(["企业", "公司"])
            else:
                name, type_label = f"昌吉市{township}{brand}种植专业合作社", "农民专业合作社"
            uscc = make_uscc("9", kind, "652301", org_code(n))
            if rnd.random() < 0.001:  # issued with a wrong check character: flagged, kept
                uscc = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
            address = f"新疆昌吉市{township}{rnd.choice(ROADS)}{rnd.randrange(1, 999)}号"
            day = date.fromordinal(first_day + rnd.randrange(span))
            fmt = rnd.random()
            if fmt < 0.85:
                established = day.isoformat()
            elif fmt < 0.95:
                established = f"{day.year}/{day.month}/{day.day}"
            else:
                established = day.strftime("%Y%m%d")
            row = [
                uscc,
                name,
                type_label,
                rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
                f"1{rnd.choice('35789')}{rnd.randrange(10**9):09d}",
                address,
                rnd.choice(["", "", address, f"新疆昌吉市{rnd.choice(ROADS)}商铺"]),
                township_code if rnd.random() < 0.9 else "652301",
                rnd.choice(codes),
                "昌吉市市场监督管理局" if rnd.random() < 0.95 else "昌吉回族自治州市场监督管理局",
                stations[township_code] if exporter else UNITS[township_index],
                established,
                rnd.choice(statuses),
            ]
            writer.writerow(row)
            if exporter:
                exporter.writerow(
                    [
                        *row[:2],
                        rnd.choice(EXPORT_TYPES[type_label]),
                        *row[3:7],
                        REGION_TEXT.get(row[7], row[7]),
                        *row[8:10],
                        *row[11:],
                    ]
                )
    if out:
        exporter.writerow(["合计", f"{rows}户"])
        out.close()


def add_reference_rows(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        session.add(Department(code="SCJ", name="昌吉市市场监督管理局"))
        for region in read_reference(DATA_DIR).regions:
            session.add(Region(**region.model_dump()))
        session.flush()
        for code, (_, township) in zip(UNITS, TOWNSHIPS, strict=True):
            session.add(Unit(code=code, name=f"{township}市场监督管理所", department_code="SCJ"))
        sections = sorted({section for section, *_ in INDUSTRIES})
        for section in sections:
            session.add(Industry(code=section, name=section, level="section"))
        for section, division, *_ in INDUSTRIES:
            session.add(
                Industry(code=division, name=division, level="division", parent_code=section)
            )
        session.commit()
    engine.dispose()


# ---- phases (each in its own process) ---------------------------------------------------


def baseline_rows(csv_path: Path, stamp: object) -> Iterator[tuple[object, ...]]:
    """The file's rows as entity tuples, with no checks: labels mapped, dates as written
    (SQLite stores the text, PostgreSQL parses all three generated formats)."""
    with open(csv_path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        region = FIELDS.index("region_code")
        for c in reader:
            yield (
                c[0],
                c[1],
                ENTITY_TYPE_VALUES[c[2]],
                c[3],
                c[4],
                c[5],
                c[6] or None,
                c[7],
                c[8],
                c[9],
                c[10],
                c[11],
                ENTITY_STATUS_VALUES[c[12]],
                True,
                "B",
                stamp,
                stamp,
                c[region][:2],
            )


def phase_sqlite_baseline(csv_path: Path, url: str) -> int:
    conn = sqlite3.connect(make_url(url).database, isolation_level=None)
    # The same connection settings make_engine gives the import.
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    cursor = conn.executemany(
        f"INSERT INTO entity ({', '.join(BASELINE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(BASELINE_COLUMNS))})",
        baseline_rows(csv_path, stamp),
    )
    conn.execute("COMMIT")
    return cursor.rowcount


def phase_postgres_baseline(csv_path: Path, url: str) -> int:
    import psycopg

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn, conn.cursor() as cursor:
        stamp = datetime.now(UTC)
        rows = 0
        with cursor.copy(f"COPY entity ({', '.join(BASELINE_COLUMNS)}) FROM STDIN") as copy:
            for row in baseline_rows(csv_path, stamp):
                copy.write_row(row)
                rows += 1
        conn.commit()
    return rows


def phase_import(csv_path: Path, url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        report = import_entities(session, csv_path, filename=csv_path.name, actor="bench")
        session.commit()
    engine.dispose()
    return report.inserted


PHASES = {
    "sqlite-baseline": phase_sqlite_baseline,
    "postgres-baseline": phase_postgres_baseline,
    "import": phase_import,
}


def run_phase(phase: str, csv_path: Path, url: str) -> dict[str, float]:
    """Run one phase in a fresh interpreter; return its time, rows and peak RSS."""
    out = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--csv", str(csv_path), "--url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(phase: str, csv_path: Path, url: str) -> None:
    start = time.perf_counter()
    rows = PHASES[phase](csv_path, url)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak_kib / 1024}))


# ---- orchestration ------------------------------------------------------------------------


def scratch_postgres(base_url: str) -> tuple[str, object]:
    admin = create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"sv_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", metavar="URL", help="also benchmark on this server")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per phase; the fastest counts (shared machines)"
    )
    parser.add_argument(
        "--as-exported",
        action="store_true",
        help="import the rows as a registration system exports them (derivations on)",
    )
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child_main(args.phase, args.csv, args.url)
        return

    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        work = Path(tmp)
        csv_path = work / "entities.csv"
        export_path = work / "export.csv" if args.as_exported else None
        start = time.perf_counter()
        generate(csv_path, args.rows, export=export_path)
        size_mb = csv_path.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} rows, {size_mb:.1f} MB UTF-8 CSV, {len(FIELDS)} columns, "
            f"no annual-report years, in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        if export_path:
            print(
                f"import reads the export form: {export_path.stat().st_size / 1e6:.1f} MB "
                "GB18030, title rows, no unit column (derived from the address), types by "
                "legal name, county regions as text",
                flush=True,
            )
        phases = [
            ("sqlite", "baseline executemany", "sqlite-baseline"),
            ("sqlite", "import", "import"),
        ]
        if args.postgres:
            phases += [
                ("postgres", "baseline COPY", "postgres-baseline"),
                ("postgres", "import", "import"),
            ]
        runs: dict[tuple[str, str], list[dict[str, float]]] = {}
        # Alternate baseline and import on each round so that load changes hit both alike.
        for round_no in range(1, args.repeat + 1):
            for backend, label, phase in phases:
                if backend == "sqlite":
                    url = f"sqlite:///{work / f'{phase}-{round_no}.db'}"
                    add_reference_rows(url)
                    source = export_path if export_path and phase == "import" else csv_path
                    result = run_phase(phase, source, url)
                    for leftover in work.glob(f"{phase}-{round_no}.db*"):
                        leftover.unlink()
                else:
                    url, drop = scratch_postgres(args.postgres)
                    try:
                        add_reference_rows(url)
                        source = export_path if export_path and phase == "import" else csv_path
                        result = run_phase(phase, source, url)
                    finally:
                        drop()
                runs.setdefault((backend, label), []).append(result)
                print(
                    f"  round {round_no}: {backend} {label}: {result['seconds']:.1f} s", flush=True
                )
    report(runs, args.rows)


def report(runs: dict[tuple[str, str], list[dict[str, float]]], rows: int) -> None:
    print()
    print(f"{'backend':<10}{'phase':<22}{'rows':>11}{'seconds':>10}{'rows/s':>11}{'peak RSS':>11}")
    best: dict[tuple[str, str], float] = {}
    for (backend, label), results in runs.items():
        seconds = best[backend, label] = min(r["seconds"] for r in results)
        peak = max(r["peak_mb"] for r in results)
        print(
            f"{backend:<10}{label:<22}{int(results[0]['rows']):>11,}{seconds:>10.1f}"
            f"{rows / seconds:>11,.0f}{peak:>8.0f} MB"
        )
    for backend, goal in (("sqlite", 2.0), ("postgres", 2.0)):
        times = {label: t for (b, label), t in best.items() if b == backend}
        if len(times) == 2:
            base = next(t for label, t in times.items() if label != "import")
            ratio = times["import"] / base
            verdict = "met" if ratio <= goal else "NOT met"
            print(f"{backend}: import / baseline = {ratio:.2f}x (goal <= {goal:.0f}x: {verdict})")
    peak = max(
        r["peak_mb"] for (_, label), results in runs.items() if label == "import" for r in results
    )
    verdict = "met" if peak < 1024 else "NOT met"
    print(f"peak RSS of the import: {peak:.0f} MB (goal < 1024 MB: {verdict})")


if __name__ == "__main__":
    main()
