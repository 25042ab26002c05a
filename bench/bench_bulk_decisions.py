"""Benchmark: one bulk decision of 6,000 missed-annual-report proposals on SQLite (by hand).

    python bench/bench_bulk_decisions.py [--proposals 6000] [--repeat 2]

Set-up (not measured): the real migrations, the entities by raw inserts, the proposals through
the service (`propose`). Measured: `decide_many` listing all of them as one act — each its own
decision record, number, event and audit row — and the commit, in one transaction, as the
bulk form runs it. Baseline in the same run: deciding the same number of proposals one by one
through `decide` (what a reviewer clicking through would cost the server).
Goal (issue 14): under 10 s for 6,000.
"""

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def setup(db: Path, n: int) -> None:
    from sqlmodel import Session

    from supervision.accounts.service import UserCreate, create_user
    from supervision.clock import FixedClock
    from supervision.db import make_engine
    from supervision.enforcement import schemas as s
    from supervision.enforcement import service
    from supervision.enforcement.rulebook import rulebook
    from supervision.migrate import upgrade
    from supervision.registry.uscc import make_uscc

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    rng = random.Random(1)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db)
    codes: set[str] = set()
    while len(codes) < 2 * n:
        codes.add(make_uscc("9", "1", "652301", "".join(rng.choices(ALPHA, k=8))))
    con.executemany(
        "INSERT INTO entity (uscc,uscc_check_ok,name,entity_type,legal_rep,registered_address,"
        "business_address,region_code,industry_code,registration_authority,supervising_unit,"
        "established_on,status,legal_rep_id_no,phone,risk_class,created_at,updated_at) "
        "VALUES (?,1,?,'enterprise','张三','昌吉市',NULL,'652301','F51','昌吉市市场监督管理局',"
        "'652301-01','2015-01-01','active',NULL,NULL,'B',?,?)",
        [(c, f"主体{k}", now, now) for k, c in enumerate(sorted(codes))],
    )
    con.commit()
    con.close()
    clock = FixedClock(datetime(2026, 7, 20, 2, tzinfo=UTC))
    book = rulebook(ROOT / "data")
    with Session(engine) as session:
        user = create_user(
            session,
            UserCreate(
                username="planner", display_name="计划", password="bench-pass-1", role="planner"
            ),
            actor="bench",
            clock=clock,
        )
        create_user(
            session,
            UserCreate(
                username="reviewer", display_name="审核", password="bench-pass-1", role="reviewer"
            ),
            actor="bench",
            clock=clock,
        )
        for c in sorted(codes):
            service.propose(
                session,
                s.ProposalCreate(
                    list_kind="abnormal",
                    uscc=c,
                    reason_code="annual_report",
                    fact_on=date(2026, 7, 1),
                ),
                user=user,
                clock=clock,
                book=book,
            )
        session.commit()
    engine.dispose()


def measure(db: Path, n: int) -> tuple[float, float, int]:
    from sqlmodel import Session, func, select

    from supervision.accounts.models import User
    from supervision.audit.models import AuditEntry
    from supervision.clock import FixedClock
    from supervision.db import make_engine
    from supervision.enforcement import decisions
    from supervision.enforcement import schemas as s
    from supervision.enforcement.models import EntryState, ListEntry
    from supervision.enforcement.rulebook import rulebook

    engine = make_engine(f"sqlite:///{db}")
    clock = FixedClock(datetime(2026, 7, 20, 2, tzinfo=UTC))
    book = rulebook(ROOT / "data")
    with Session(engine) as session:
        reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
        ids = list(
            session.exec(
                select(ListEntry.id)
                .where(ListEntry.state == EntryState.proposed)
                .order_by(ListEntry.id)
            )
        )
        bulk_ids, one_ids = ids[:n], ids[n : 2 * n]
        audit0 = session.exec(select(func.count()).select_from(AuditEntry)).one()
        t = time.perf_counter()
        data = s.BulkDecisionCreate(
            entry_ids=bulk_ids,
            decision="list",
            reason="未按期公示2025年度年度报告",
            decision_no_prefix="昌市监异列〔2026〕",
            first_number=1,
            decided_on=date(2026, 7, 15),
        )
        out = decisions.decide_many(session, data, user=reviewer, clock=clock, book=book)
        session.commit()
        bulk = time.perf_counter() - t
        rows = session.exec(select(func.count()).select_from(AuditEntry)).one() - audit0
        assert len(out.decided) == n, out.refused[:3]
        t = time.perf_counter()
        for k, entry_id in enumerate(one_ids):
            decisions.decide(
                session,
                entry_id,
                s.DecisionCreate(
                    decision="list",
                    reason="逐条",
                    decision_no=f"逐〔2026〕{k}号",
                    decided_on=date(2026, 7, 15),
                ),
                user=reviewer,
                clock=clock,
                book=book,
            )
        session.commit()
        one_by_one = time.perf_counter() - t
    engine.dispose()
    return bulk, one_by_one, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proposals", type=int, default=6000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    results = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bulk.db"
            t = time.perf_counter()
            setup(db, args.proposals)
            print(
                f"setup: {2 * args.proposals:,} entities and proposals in {time.perf_counter() - t:.1f} s"
            )
            bulk, one, rows = measure(db, args.proposals)
            results.append((bulk, one))
            print(
                f"bulk decision of {args.proposals:,}: {bulk:.2f} s ({rows:,} audit rows); "
                f"baseline one by one through decide(): {one:.2f} s"
            )
    print(
        f"fastest: bulk {min(r[0] for r in results):.2f} s, one by one {min(r[1] for r in results):.2f} s (goal < 10 s)"
    )


if __name__ == "__main__":
    main()
