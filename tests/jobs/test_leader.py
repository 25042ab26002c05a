"""Two `supervision scheduler` processes against one database: one leads, each slot runs once;
`kill -9` of the leader and the other takes over within the bound stated here.

On PostgreSQL (the CI's second run) the election is the advisory lock on a dedicated
connection; on SQLite the file lock beside the database. Ticks are one second here."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from supervision.jobs.models import JobRun

POLL = 0.5  # the standby's poll
TICK = 1  # seconds
TAKEOVER_BOUND = 5.0  # seconds from kill -9 to the first slot run by the standby


def _start(engine: Engine, tmp_path: Path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SUPERVISION_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SUPERVISION_STORAGE_DIR": str(tmp_path / "files"),
        "SUPERVISION_SCHEDULER_TICK_SECONDS": str(TICK),
        "PYTHONUNBUFFERED": "1",
    }
    exe = Path(sys.executable).parent / "supervision"
    return subprocess.Popen(
        [str(exe), "scheduler", "--poll", str(POLL)],
        env=env,
        stdout=(tmp_path / f"{name}.out").open("w"),
        stderr=subprocess.STDOUT,
    )


def _beats(engine: Engine) -> list[tuple[str, datetime, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(JobRun)
            # A slot claimed but still running has no outcome yet (its claim commits first).
            .where(JobRun.job == "scheduler.heartbeat", col(JobRun.finished_at).is_not(None))
            .order_by(JobRun.slot)
        ).all()
        return [(r.slot, r.started_at, json.loads(r.detail)["runner"]) for r in rows]


def _wait(predicate, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_two_schedulers_one_leader_each_slot_once_and_takeover(fresh_engine, tmp_path) -> None:
    a = _start(fresh_engine, tmp_path, "a")
    b = None
    try:
        _wait(lambda: len(_beats(fresh_engine)) >= 2, 60)
        b = _start(fresh_engine, tmp_path, "b")
        time.sleep(4)  # both running: only the leader runs slots
        before = _beats(fresh_engine)
        host = before[0][2].split(":")[0]
        assert {runner for _, _, runner in before} == {f"{host}:{a.pid}"}, before
        os.kill(a.pid, signal.SIGKILL)
        a.wait()
        killed = time.monotonic()
        b_name = f"{host}:{b.pid}"
        _wait(lambda: any(r == b_name for _, _, r in _beats(fresh_engine)), 30)
        takeover = time.monotonic() - killed
        time.sleep(2)
        after = _beats(fresh_engine)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
    print(f"takeover after kill -9: {takeover:.2f} s")
    assert takeover < TAKEOVER_BOUND, takeover
    slots = Counter(slot for slot, _, _ in after)
    assert all(n == 1 for n in slots.values())  # each slot ran once
    runners = [r for _, _, r in after]
    # First A's slots, then B's: never interleaved, never both.
    switch = runners.index(b_name)
    assert set(runners[:switch]) == {before[0][2]} and set(runners[switch:]) == {b_name}
    with Session(fresh_engine) as session:
        jobs = Counter((r.job, r.slot) for r in session.exec(select(JobRun)).all())
    assert max(jobs.values()) == 1
